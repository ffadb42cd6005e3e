"""``scripts/gpu_check.sh`` where CUDA cannot load (CI has no GPU): it says why in one
sentence, runs the parity tests (skipped), and prints the preview, export and batch figures
measured on the CPU; without --allow-cpu it exits 3 so a GPU machine's failure shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from limelight.core.engine import available_devices

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_falls_back_to_the_cpu_and_says_why() -> None:
    if "CUDA" in available_devices():
        pytest.skip("CUDA works here: the fallback cannot be seen (run the script itself)")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHON": sys.executable}
    proc = subprocess.run(["bash", "scripts/gpu_check.sh", "--no-install", "--quick",
                           "--allow-cpu"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=env)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    (why,) = [ln for ln in out.splitlines() if ln.startswith("== CUDA is not usable here: ")]
    assert why.endswith(".") and ("driver" in why or "limelight[cuda]" in why)
    assert "SKIPPED" in out and "CPU fallback" in out
    for figure in ("preview at 1 MP: fast pass", "x the decode+encode floor", "photos/s"):
        assert figure in out, out
    bad = subprocess.run(["bash", "scripts/gpu_check.sh", "--bogus"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "usage" in bad.stderr
