"""Issue #17, item 1 in the editor: neither the sidecar recipe nor an export ever replaces the
open photo, named directly, through a symlink or through a hard link."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from gui_helpers import open_and_wait  # type: ignore[import-not-found]

pytestmark = pytest.mark.gui


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _aliases(photo: Path, tmp_path: Path) -> list[Path]:
    link = tmp_path / "alias.png"
    link.symlink_to(photo)
    hard = tmp_path / "hard.png"
    os.link(photo, hard)
    return [photo, link, hard, tmp_path / "." / photo.name]


def test_recipe_save_never_replaces_the_photo(qtbot, window, photo: Path,  # noqa: ANN001
                                               tmp_path: Path) -> None:
    open_and_wait(qtbot, window, photo)
    errors: list[str] = []
    window.show_error = errors.append
    before = _sha(photo)
    for target in _aliases(photo, tmp_path):
        assert not window.files.save_recipe(target), target
    assert _sha(photo) == before
    # the same same-file test as the CLI's -o (not only 'not a recipe', which a photo that
    # happens to start with '{' would pass)
    assert len(errors) == 4 and all("would overwrite the input" in e for e in errors), errors


def test_export_never_replaces_the_photo(qtbot, window, photo: Path,  # noqa: ANN001
                                         tmp_path: Path) -> None:
    open_and_wait(qtbot, window, photo)
    before = _sha(photo)
    for target in _aliases(photo, tmp_path):
        task = window.files.start_export(target, fmt="PNG", bit_depth=8)
        failures: list[str] = []
        task.failed.connect(failures.append)
        with qtbot.waitSignal(task.finished, timeout=30000):
            pass
        assert failures and "overwrite the input" in failures[0], (target, failures)
    assert _sha(photo) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
