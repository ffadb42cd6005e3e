"""Issue 18, item 2: a luminance range on a light keeps a lamp inside it unlit, in the
preview and in the export alike, with a soft roll-off; it is saved with the light."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gui_helpers import idle, open_and_wait  # type: ignore[import-not-found]
from PIL import Image

from limelight.core.imageio import read_image
from limelight.core.recipe import load_recipe, sidecar_path

pytestmark = pytest.mark.gui


def _photo_with_lamp(path: Path) -> Path:
    """A dark 240x160 photo with a lit lamp shade (a disc at 140) on its right."""
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[0:160, 0:240]
    img = 25 + 20 * xx / 240 + rng.normal(0, 2, (160, 240))
    lamp = (xx - 180) ** 2 + (yy - 60) ** 2 < 22**2
    img[lamp] = 140
    rgb = np.clip(np.stack([img, img * 0.95, img * 0.85], -1), 0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(path)
    return path


def test_a_range_keeps_the_lamp_out_of_the_light(qtbot, window, tmp_path: Path) -> None:
    photo = _photo_with_lamp(tmp_path / "lamp.png")
    open_and_wait(qtbot, window, photo)
    window.add_light("whole")
    window.set_knob("degree", 2.0)
    idle(qtbot, window)
    yy, xx = np.mgrid[0:160, 0:240]
    lamp = (xx - 180) ** 2 + (yy - 60) ** 2 < 14**2  # the lamp's core
    dark = xx < 100
    src = window.doc.display
    lit = window._last_result.display
    assert (lit[dark].astype(int) - src[dark]).mean() > 3
    assert window._last_result.mask[1][lamp].min() == 1.0  # the lamp is in the light...
    assert (lit[lamp] != src[lamp]).any()  # ...and changed by it
    # the range slider, as a user drags its top handle to 50 %
    window.mask_panel.luma_range.setValue((0.0, 35.0))
    idle(qtbot, window)
    spec = window.doc.state.light.mask
    assert spec.range_high == pytest.approx(0.35) and spec.has_range
    ranged = window._last_result
    np.testing.assert_array_equal(ranged.display[lamp], src[lamp])  # the lamp as it was
    assert (ranged.display[dark].astype(int) - src[dark]).mean() > 3  # the room still lit
    assert ranged.mask[1][lamp].max() == 0.0
    window.set_overlay(True)  # the overlay shows the lamp left out of the light
    alpha = window.canvas.overlay_item.array[..., 3]
    assert alpha[lamp].max() == 0 and alpha[dark].min() > 0
    window.set_overlay(False)
    soft = ranged.mask[1][(xx - 180) ** 2 + (yy - 60) ** 2 > 30**2]
    assert soft.min() > 0.0 or soft.max() == 1.0  # outside the lamp: lit
    # export and recipe: the same rule at full resolution
    assert window.files.save_recipe()
    assert load_recipe(sidecar_path(photo)).layers[0].mask.range_high == pytest.approx(0.35)
    out = tmp_path / "lamp_lit.png"
    task = window.files.start_export(out, fmt="PNG", bit_depth=8)
    with qtbot.waitSignal(task.finished, timeout=30000):
        pass
    exported, source = read_image(out).pixels, read_image(photo).pixels
    np.testing.assert_array_equal(exported[lamp], source[lamp])
    assert (exported[dark].astype(int) - source[dark]).mean() > 3
    window.undo_stack.undo()
    assert not window.doc.state.light.mask.has_range
    idle(qtbot, window)
