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


def test_the_command_starts_numpy_without_a_blas_thread_pool() -> None:
    """``limelight`` sets OPENBLAS_NUM_THREADS=1 before numpy is first imported (OpenBLAS
    starts a thread per core at import, tens of ms of every command; Limelight's numpy
    products are 3-vectors), unless the user has set it."""
    import os

    code = ("import os, sys, contextlib, limelight.cli as cli\n"
            "assert 'numpy' not in sys.modules\n"
            "with contextlib.suppress(SystemExit): cli.main(['--version'])\n"
            "print(os.environ.get('OPENBLAS_NUM_THREADS'))")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    for given, seen in ((None, "1"), ("3", "3")):
        if given is not None:
            env["OPENBLAS_NUM_THREADS"] = given
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env=env).stdout.split()
        assert out[-1] == seen
