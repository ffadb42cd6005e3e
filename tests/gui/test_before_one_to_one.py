"""Issue 18, item 4: Before at 100 % shows the original's full-resolution pixels, not the
preview proxy upscaled (the proxy is capped near 1280 px)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gui_helpers import idle, open_and_wait  # type: ignore[import-not-found]
from PIL import Image
from PySide6.QtGui import QImage

pytestmark = pytest.mark.gui


def fine_detail_photo(path: Path, width: int = 2000, height: int = 1300) -> np.ndarray:
    """A dark photo whose detail is one pixel wide (noise and a 1-px checker): an upscaled
    proxy cannot show it. Returns its (height, width, 3) uint8 pixels."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:height, 0:width]
    base = 20 + 25 * ((xx + yy) % 2) + rng.integers(0, 30, (height, width))
    pixels = np.stack([base, base * 0.8, base * 0.6], axis=-1).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return pixels


def viewport_pixels(canvas) -> np.ndarray:  # noqa: ANN001
    """The canvas viewport as drawn: (h, w, 3) uint8."""
    img = canvas.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    return np.frombuffer(bytes(img.constBits()), np.uint8).reshape(h, bpl)[:, : 3 * w] \
        .reshape(h, w, 3).copy()


def best_match_error(screen: np.ndarray, original: np.ndarray, canvas) -> float:  # noqa: ANN001
    """Mean absolute difference between a central part of the screen and the original photo
    at the same place, best over ±1 px (the view may sit half a pixel off)."""
    h, w = screen.shape[:2]
    vy0, vy1, vx0, vx1 = h // 4, 3 * h // 4, w // 4, 3 * w // 4
    origin = canvas.mapToScene(0, 0)
    ox, oy = int(round(origin.x())), int(round(origin.y()))
    errors = []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            ref = original[oy + vy0 + dy:oy + vy1 + dy, ox + vx0 + dx:ox + vx1 + dx]
            errors.append(float(np.abs(screen[vy0:vy1, vx0:vx1].astype(np.int16)
                                       - ref.astype(np.int16)).mean()))
    return min(errors)


def test_before_at_100_percent_shows_the_full_resolution_original(
        qtbot, window, tmp_path: Path) -> None:
    original = fine_detail_photo(tmp_path / "fine.png")
    open_and_wait(qtbot, window, tmp_path / "fine.png")
    canvas = window.canvas
    assert max(window.doc.proxy_hw) < 2000  # the proxy is a reduction
    window.acts.before_after.setChecked(True)
    assert canvas.show_before
    assert not canvas.before_detail_item.isVisible()  # at Fit: the proxy
    with qtbot.waitSignal(window.before_detail.shown, timeout=30000):
        canvas.actual_pixels()
    qtbot.waitUntil(lambda: canvas.before_detail_item.isVisible(), timeout=5000)
    assert canvas.before_detail_item.array.shape[:2] == (
        window.before_detail.region[3] - window.before_detail.region[1],
        window.before_detail.region[2] - window.before_detail.region[0])
    error = best_match_error(viewport_pixels(canvas), original, canvas)
    assert error < 0.5, f"Before at 100 % differs from the original by {error:.1f} levels"
    seen = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    assert seen.contains(canvas.before_label.pos())  # "Before" stays on screen at 1:1

    # a pan keeps it pixel for pixel
    with qtbot.waitSignal(window.before_detail.shown, timeout=5000):
        canvas.horizontalScrollBar().setValue(canvas.horizontalScrollBar().value() - 150)
    assert best_match_error(viewport_pixels(canvas), original, canvas) < 0.5

    # the split view's left part is the original at 1:1 as well
    window.acts.before_after.setChecked(False)
    assert not canvas.before_detail_item.isVisible()
    window.acts.split.setChecked(True)
    qtbot.waitUntil(lambda: canvas.before_detail_item.isVisible(), timeout=5000)
    screen = viewport_pixels(canvas)
    split_vx = canvas.mapFromScene(canvas.split_x, 0).x()
    left = screen[:, : max(8, split_vx - 40)]
    assert best_match_error(left, original, canvas) < 0.5

    canvas.fit()
    assert not canvas.before_detail_item.isVisible()  # back to the proxy at Fit
    idle(qtbot, window)
