"""Issue 18, item 4: at 100 % the visible region is rendered from the full-resolution
photo with the export's own computation: its pixels are the exported file's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gui_helpers import dark_photo, idle, open_and_wait  # type: ignore[import-not-found]

from limelight.core.imageio import read_image
from limelight.core.masks import Ellipse

pytestmark = pytest.mark.gui


def test_one_to_one_shows_the_exports_pixels(qtbot, window, tmp_path: Path) -> None:
    photo = dark_photo(tmp_path / "big.png", width=2000, height=1300)  # proxy: 1280 px
    open_and_wait(qtbot, window, photo)
    assert window.doc.proxy_hw[1] < 2000
    window.add_light("ellipse")
    window.add_shape(Ellipse(0.5, 0.5, 0.3, 0.35), "Ellipse")
    idle(qtbot, window)
    assert not window.canvas.detail_item.isVisible()  # at Fit: the proxy
    with qtbot.waitSignal(window.detail_shown, timeout=30000):
        window.canvas.actual_pixels()
    out = tmp_path / "export.png"
    task = window.files.start_export(out, fmt="PNG", bit_depth=8)
    with qtbot.waitSignal(task.finished, timeout=60000):
        pass
    exported = read_image(out).pixels
    qtbot.waitUntil(lambda: not window._detail_timer.isActive()
                    and not (window._detail_task and window._detail_task.running))
    x0, y0, x1, y1 = window.detail_region
    item = window.canvas.detail_item
    assert item.isVisible() and item.array.shape == (y1 - y0, x1 - x0, 3)
    assert (x1 - x0) * (y1 - y0) > 200_000  # a real part of the photo, pixel for pixel
    np.testing.assert_array_equal(item.array, exported[y0:y1, x0:x1])
    assert (item.array != read_image(photo).pixels[y0:y1, x0:x1]).any()  # lit, not the photo
    # an edit hides the stale detail until the new one is rendered
    window.set_knob("degree", 1.5)
    assert not item.isVisible()
    with qtbot.waitSignal(window.detail_shown, timeout=30000):
        pass
    window.canvas.fit()
    assert not item.isVisible()
    idle(qtbot, window)


def test_fit_is_sharp_at_2x_display_scaling(qtbot, window, tmp_path: Path) -> None:
    photo = dark_photo(tmp_path / "big.png", width=3000, height=2000)
    window.devicePixelRatioF = lambda: 2.0  # a 2x (HiDPI) screen
    open_and_wait(qtbot, window, photo)
    assert max(window.doc.proxy_hw) == 2560  # 1280 device-independent px, twice over
