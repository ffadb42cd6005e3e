"""Before at 1:1: the original's full-resolution pixels where the original is on screen.

The lit view at 100 % and above is rendered from the full-resolution photo
(``MainWindow._render_detail``); the original (the Before view, ``\\``, and the split view's
left part) is drawn from the preview proxy, which at 100 % is an upscale (the proxy is capped
near 1280 px), so noise and detail could not be compared. ``BeforeDetail`` puts the visible
region of the decoded photo (``Document.full_image``, read once in the background and shared
with the lit 1:1 view) in ``Canvas.before_detail_item``, above the proxy and below the lit
image. Cutting the region out is a slice, so it follows pans and zooms at once.

Signals:
    shown((x0, y0, x1, y1)): that region of the original is on screen at full resolution.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRectF, Signal

log = logging.getLogger(__name__)

#: Zoom from which the visible region is drawn from full-resolution pixels (as the lit view).
ONE_TO_ONE = 0.999


def display_pixels(pixels: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 or uint16 photo pixels -> C-contiguous uint8 (the top 8 bits, as the
    lit 1:1 detail is shown)."""
    if pixels.dtype != np.uint8:
        pixels = (pixels >> 8).astype(np.uint8)
    return np.ascontiguousarray(pixels)


class BeforeDetail(QObject):
    """Keeps ``window.canvas.before_detail_item`` showing the original at 1:1.

    ``window`` is the ``MainWindow``: its ``canvas`` and current ``doc`` are read; nothing of
    the window is changed but the canvas item.
    """

    shown = Signal(object)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = window
        canvas = window.canvas
        self._item = canvas.before_detail_item
        self._loading: Any = None  # the document whose photo is being read
        self._unreadable: Any = None  # the document whose photo could not be read
        #: (x0, y0, x1, y1) of the original on screen at full resolution, or None
        self.region: tuple[int, int, int, int] | None = None
        canvas.zoom_changed.connect(lambda _z: self.refresh())
        canvas.view_moved.connect(self.refresh)
        canvas.before_changed.connect(self.refresh)

    def _hide(self) -> None:
        if self._item.isVisible() or self._item.array is not None:
            self._item.hide()
            self._item.set_array(None)
        self.region = None

    def refresh(self) -> None:
        """Shows the visible region of the original at full resolution when the original is on
        screen at 100 % or more; hides it otherwise. Reads the photo first if needed."""
        canvas, doc = self._window.canvas, self._window.doc
        if doc is None or doc.path is None or not canvas.original_visible \
                or canvas.zoom < ONE_TO_ONE or tuple(doc.proxy_hw) == tuple(doc.full_size[::-1]):
            self._hide()  # (a proxy at full size is already pixel for pixel)
            return
        image = doc.full_image
        if image is None:
            self._hide()
            self._load(doc)
            return
        pixels = image.pixels
        if pixels.shape[:2] != (doc.full_size[1], doc.full_size[0]):
            self._hide()  # the header's size was not the decoded one: keep the proxy
            return
        seen = canvas.visible_photo_rect()
        if seen is None:
            self._hide()
            return
        x0, y0, x1, y1 = seen
        if self.region == seen and self._item.isVisible():
            return
        self._item.set_rect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self._item.set_array(display_pixels(pixels[y0:y1, x0:x1]))
        self._item.show()
        self.region = seen
        self.shown.emit(seen)

    def _load(self, doc: Any) -> None:
        """Reads ``doc``'s photo in the background, then refreshes (if it is still shown)."""
        if self._loading is doc or self._unreadable is doc:
            return
        from limelight.core.imageio import read_image
        from limelight.gui.background import Task

        path = doc.path

        def job(_progress: Any) -> Any:
            return doc.full_image if doc.full_image is not None else read_image(path)

        def done(image: Any) -> None:
            if doc.full_image is None:
                doc.full_image = image
            if self._loading is doc:
                self._loading = None
            if self._window.doc is doc:
                self.refresh()

        def failed(message: str) -> None:
            log.warning("the original of %s could not be read for 1:1: %s", path, message)
            self._unreadable = doc  # the proxy stays; no new try on every pan
            if self._loading is doc:
                self._loading = None

        self._loading = doc
        task = Task(job, "1:1 original", self)
        task.succeeded.connect(done)
        task.failed.connect(failed)
        task.start()
