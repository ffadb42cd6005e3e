"""Issue #17, item 8: ONNX Runtime's telemetry client neither warns nor writes anything.

As a user whose HOME is not writable, 'limelight enhance' printed ONNX Runtime's
"Failed to persist telemetry device ID" warning; with a writable one it wrote a device ID
under ~/.cache/Microsoft. An unusable XDG_CACHE_HOME (a file) reproduces the first as root.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage


def _enhance(tmp: Path, zoo: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    photo = tmp / "p.png"
    PILImage.fromarray(np.full((24, 32, 3), 30, np.uint8)).save(photo)
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env["XDG_CACHE_HOME"] = str(cache)
    return subprocess.run(
        [sys.executable, "-m", "limelight.cli", "enhance", str(photo), "-o", str(tmp / "o.png"),
         "--zoo", str(zoo)], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize("cache_kind", ["unusable", "writable"])
def test_no_telemetry_warning_or_files(cache_kind: str, tiny_zoo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    if cache_kind == "unusable":
        cache.write_text("a file where a folder should be")
    else:
        cache.mkdir()
    done = _enhance(tmp_path, tiny_zoo, cache)
    assert done.returncode == 0, done.stderr
    assert "telemetry" not in done.stderr.lower() and "onnxruntime" not in done.stderr, done.stderr
    if cache_kind == "writable":  # Limelight's own cache of optimised graphs only
        assert [p.name for p in cache.iterdir()] in ([], ["limelight"]), list(cache.iterdir())
