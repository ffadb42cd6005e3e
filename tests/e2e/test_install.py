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
        "limelight/gui/app.py", "limelight/resources/samples/sample_dark.jpg",
        "limelight_models/__init__.py",  # ships; without torch its import says what to install
    ):
        assert required in names, f"{required} missing from {wheel.name}"
    # the benchmarks and the tiny test models (bench/) stay out of the shipped package
    dev = sorted(n for n in names if n.startswith("bench/") or "tinyzoo" in n
                 or Path(n).stem.startswith("bench"))
    assert not dev, f"developer modules in {wheel.name}: {dev}"
    # every ONNX model and manifest present in resources/zoo ships too
    for f in (ROOT / "resources" / "zoo").glob("*"):
        if f.suffix in (".onnx", ".json", ".md"):
            assert f"limelight/resources/zoo/{f.name}" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry).decode()
    assert "limelight = limelight.cli:main" in text


def test_training_package_without_torch_says_what_to_install() -> None:
    """The wheel ships limelight_models; where torch is missing (a plain ``pip install
    limelight``) importing it fails with one clear sentence naming the extra."""
    probe = ("import sys; sys.modules['torch'] = None\n"
             "try:\n    import limelight_models.config\n"
             "except ImportError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.strip() == "limelight_models needs PyTorch: pip install 'limelight[train]'"
