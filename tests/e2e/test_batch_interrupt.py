"""Ctrl-C during a batch (issue #17, item 2), with a real SIGINT sent to a real process:
exit 130, the summary printed, the report's state "interrupted", no good photo failed,
nothing half-written left."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gated_batch import GATED, wait_for_gate  # beside this file
from PIL import Image as PILImage

from limelight.core.atomic import TEMP_PREFIX
from limelight.core.imageio import read_image

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process")


def test_sigint_stops_a_batch_cleanly(tiny_zoo: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    # a 1600x2400 JPEG, copied; the child is held after its first photo (gated_batch.py), so
    # the signal comes midway however fast or loaded the machine is
    rng = np.random.default_rng(0)
    base = np.linspace(5, 80, 2400)[None, :, None] + rng.normal(0, 3, (1600, 1, 3))
    PILImage.fromarray(np.clip(base, 0, 255).astype(np.uint8).repeat(1, 0)).save(
        src / "p00.jpg", quality=90)
    for i in range(1, 6):
        shutil.copyfile(src / "p00.jpg", src / f"p{i:03d}.jpg")
    out = tmp_path / "out"
    report = out / "limelight-batch-report.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(GATED), "batch", str(src), "--out", str(out),
         "--zoo", str(tiny_zoo), "--jobs", "2", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        before = wait_for_gate(proc)
        proc.send_signal(signal.SIGINT)
        out_text, err = proc.communicate(timeout=120)
        out_text = "".join(before) + out_text
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert "done" in out_text and "interrupted" in out_text  # the summary line
    doc = json.loads(report.read_text())
    assert doc["state"] == "interrupted"
    statuses = [f["status"] for f in doc["files"]]
    assert "failed" not in statuses and "pending" not in statuses, doc["summary"]
    assert statuses.count("done") == 1 and "cancelled" in statuses  # stopped at the gate
    for f in doc["files"]:
        path = Path(f["output"])
        if f["status"] == "done":
            assert read_image(path).pixels.shape == (1600, 2400, 3)
        else:
            assert not path.exists(), f  # nothing half-written
    assert not [p for p in out.iterdir() if p.name.startswith(TEMP_PREFIX)]
