"""models/train_queue.sh runs the Python of the environment, not a fixed virtualenv path."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "models" / "train_queue.sh"
#: A stand-in for Python: finishes the run it is given (writes summary.json) and says who ran.
FAKE = """#!/usr/bin/env bash
out=""; while [ $# -gt 0 ]; do [ "$1" = --out ] && out=$2; shift; done
echo "{\\"by\\": \\"$(basename "$0")\\"}" > "$out/summary.json"
"""


def _fake(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(FAKE, encoding="utf-8")
    (folder / name).chmod(0o755)
    return folder / name


@pytest.mark.parametrize("how", ["python3 on PATH", "PYTHON"])
def test_the_queue_runs_the_environments_python(how: str, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    _fake(bin_dir, "python3")
    env = {k: v for k, v in os.environ.items() if k not in ("PY", "PYTHON")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", RUNS=str(tmp_path / "runs"),
               MAX_PASSES="1", RETRY_WAIT="0")
    if how == "PYTHON":
        env["PYTHON"] = str(_fake(tmp_path / "other", "chosen-python"))
    subprocess.run(["bash", str(SCRIPT)], env=env, check=True, capture_output=True,
                   timeout=300)
    runs = sorted((tmp_path / "runs").iterdir())
    assert runs and all((r / "summary.json").is_file() for r in runs)
    who = {(r / "summary.json").read_text(encoding="utf-8").strip() for r in runs}
    assert who == {'{"by": "python3"}' if how != "PYTHON" else '{"by": "chosen-python"}'}
