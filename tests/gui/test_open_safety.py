"""Issue 18 (5): a photo that cannot be opened changes nothing in the window, says why in a
dialog naming the file, and never leads to a recipe written for another photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gui_helpers import idle, open_and_wait  # type: ignore[import-not-found]
from PIL import Image

from limelight.core.masks import Ellipse
from limelight.core.recipe import sidecar_path

pytestmark = pytest.mark.gui


def _bad_photos(folder: Path) -> list[tuple[Path, str]]:
    """(file, a word its reason must contain): a 1x1 image, text named .jpg, a cut JPEG."""
    one = folder / "one.jpg"
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(one)
    text = folder / "notes.jpg"
    text.write_text("a shopping list, not a photo\n")
    full = folder / "full.jpg"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 80, (120, 160, 3), dtype=np.uint8)).save(full, quality=90)
    cut = folder / "cut.jpg"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 3])
    return [(one, "1x1"), (text, "text"), (cut, "truncated")]


def test_bad_files_change_nothing_and_name_the_file(qtbot, window, photo: Path,
                                                    tmp_path: Path) -> None:
    open_and_wait(qtbot, window, photo)
    window.add_shape(Ellipse(0.5, 0.5, 0.2, 0.3), "Ellipse")
    idle(qtbot, window)
    assert window.files.save_recipe()
    recipe = sidecar_path(photo)
    saved = recipe.read_bytes()
    window.add_shape(Ellipse(0.3, 0.3, 0.1, 0.1), "Ellipse")  # an unsaved edit on top
    idle(qtbot, window)
    doc, state, title = window.doc, window.doc.state, window.windowTitle()
    before = window.canvas.after_item.array.copy()
    asked: list[bool] = []
    window.ask_save_changes = lambda: asked.append(True) or pytest.fail("asked before checking")
    for bad, word in _bad_photos(tmp_path):
        assert not window.open_path(bad)
        title_text, text = window.error_dialogs[-1]
        assert bad.name in title_text and bad.name in text and word in text.lower(), text
        assert window.doc is doc and window.doc.state == state
        assert window.windowTitle() == title
        np.testing.assert_array_equal(window.canvas.after_item.array, before)
        assert window.files.save_recipe()  # Ctrl+S: still the photo on screen's own recipe
        assert not sidecar_path(bad).exists()
        assert window.undo_stack.canUndo()
        window.undo_stack.undo()  # back to the saved edit: the sidecar is byte-identical
        assert window.files.save_recipe()
        assert recipe.read_bytes() == saved
        window.undo_stack.redo()
    assert len(window.error_dialogs) == 3 and not asked
    window.doc.mark_saved()  # (closing the window after the test asks nothing)


def test_the_save_question_comes_after_the_new_photo_is_checked(qtbot, window, photo: Path,
                                                                 tmp_path: Path) -> None:
    open_and_wait(qtbot, window, photo)
    window.add_shape(Ellipse(0.5, 0.5, 0.2, 0.3), "Ellipse")
    idle(qtbot, window)
    asked: list[bool] = []
    from PySide6.QtWidgets import QMessageBox

    def ask() -> QMessageBox.StandardButton:
        asked.append(True)
        return QMessageBox.StandardButton.Cancel

    window.ask_save_changes = ask
    text = tmp_path / "text.jpg"
    text.write_text("not a photo")
    assert not window.open_path(text)
    assert not asked, "the save question came before the photo was checked"
    other = tmp_path / "other.png"
    Image.fromarray(np.full((40, 60, 3), 30, np.uint8)).save(other)
    assert not window.open_path(other)  # a good photo: asked, and cancelled
    assert asked and window.doc.path == photo
    window.doc.mark_saved()
