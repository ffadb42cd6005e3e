"""Issue 18, item 2: the auto-mask brush: a stroke snaps to edges in the photo, in the
editor's mask and in the saved recipe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gui_helpers import drag, idle, open_and_wait  # type: ignore[import-not-found]
from PIL import Image

from limelight.core.recipe import load_recipe, sidecar_path

pytestmark = pytest.mark.gui


def _two_tone(path: Path) -> Path:
    """240x160: a dark wall (x < 120) beside a brighter door (x >= 120)."""
    rng = np.random.default_rng(2)
    img = np.full((160, 240), 25.0)
    img[:, 120:] = 90.0
    img += rng.normal(0, 1.5, img.shape)
    rgb = np.clip(np.stack([img, img * 0.95, img * 0.9], -1), 0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(path)
    return path


def _stroke(qtbot, window) -> np.ndarray:  # noqa: ANN001
    """A vertical stroke at x = 100, radius 30 px (it crosses the edge at x = 120)."""
    window.mask_panel.brush_size.setValue(30 / 160)
    with qtbot.waitSignal(window.preview_applied, timeout=20000):
        drag(window.canvas, [(100, 40 + 4 * k) for k in range(21)])
    idle(qtbot, window)
    return window.doc.area_a().copy()


def test_the_auto_mask_brush_stops_at_the_door(qtbot, window, tmp_path: Path) -> None:
    photo = _two_tone(tmp_path / "door.png")
    open_and_wait(qtbot, window, photo)
    window.mask_panel.brush_hardness.setValue(1.0)
    plain = _stroke(qtbot, window)
    window.undo_stack.undo()
    window.mask_panel.auto_mask.setChecked(True)
    snapped = _stroke(qtbot, window)
    stroke = window.doc.state.spec.shapes[-1]
    assert stroke.auto is True
    door = (slice(70, 90), slice(124, 128))  # inside the brush, beyond the edge
    wall = (slice(70, 90), slice(85, 115))
    assert plain[door].mean() > 0.8
    assert snapped[door].mean() < 0.2
    assert snapped[wall].mean() > 0.8
    assert window.files.save_recipe()
    saved = load_recipe(sidecar_path(photo)).layers[0].mask.shapes[-1]
    assert saved.auto is True
    window.undo_stack.undo()
    idle(qtbot, window)
