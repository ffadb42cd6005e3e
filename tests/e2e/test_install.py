"""The wheel built from the repository carries the packages and the run-time resources."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_carries_packages_and_resources(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path), "-q"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("limelight-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "limelight/cli.py", "limelight/core/engine.py", "limelight/core/pipeline.py",
        "limelight/gui/app.py", "limelight/bench.py",
        "limelight/resources/samples/sample_dark.jpg",
    ):
        assert required in names, f"{required} missing from {wheel.name}"
    # every ONNX model and manifest present in resources/zoo ships too
    for f in (ROOT / "resources" / "zoo").glob("*"):
        if f.suffix in (".onnx", ".json", ".md"):
            assert f"limelight/resources/zoo/{f.name}" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry).decode()
    assert "limelight = limelight.cli:main" in text
