"""The README's test command is exactly what ``.ci/run`` runs (and it runs mypy)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_test_command_is_the_ci_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    develop = readme.split("Develop (", 1)[1]
    command = re.search(r"```sh\n(.+?)\n```", develop, flags=re.S)
    assert command is not None and command.group(1).strip() == ci
    assert ci.endswith("&& pytest && mypy")
