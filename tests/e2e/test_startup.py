"""Start-up: what ``limelight enhance`` imports before it works (issue 19: the whole process
counts, so nothing is imported that the command does not use)."""

from __future__ import annotations

import subprocess
import sys


def test_enhance_path_imports_neither_tifffile_nor_package_metadata() -> None:
    """The CLI and the export pipeline load without tifffile (TIFF only) and
    importlib.metadata (``--version`` only); ``--version`` still reports the version."""
    code = ("import sys, limelight.cli, limelight.core.pipeline; "
            "print(sorted(m for m in ('tifffile', 'importlib.metadata') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
    version = subprocess.run([sys.executable, "-m", "limelight.cli", "--version"],
                             capture_output=True, text=True, check=True).stdout
    assert version.startswith("limelight ") and len(version.split()) == 2
