"""The canvas: a QGraphicsView over the photo in full-resolution scene coordinates.

The scene rectangle is the photo's full size in pixels, so zoom 100 % means one photo pixel
per screen pixel and the mask is edited on the original geometry at any zoom. The images
shown are the preview proxies (about one megapixel), drawn scaled into that rectangle; at
100 % and above the visible region is drawn over them from full-resolution pixels, lit
(``detail_item``) and original (``before_detail_item``, for Before and the split view).

Signals:
    zoom_changed(float): the view's scale (1.0 = 100 %).
    files_dropped(list): local paths dropped on the canvas.
    before_changed(): the original became shown or hidden (Before, or the split view's left
        part appeared, moved or went).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

ZOOM_MIN, ZOOM_MAX = 0.02, 16.0


def qimage_from_array(arr: np.ndarray, bgrx: bool = False) -> QImage:
    """Wraps a C-contiguous (H, W, 3) or (H, W, 4) uint8 array; the array must outlive it.
    ``bgrx``: a (H, W, 4) array in Qt's native 32-bit order (B, G, R, 255 per pixel)."""
    h, w = arr.shape[:2]
    fmt = (QImage.Format.Format_RGB32 if bgrx else QImage.Format.Format_RGB888
           if arr.shape[2] == 3 else QImage.Format.Format_RGBA8888)
    return QImage(arr.data, w, h, arr.strides[0], fmt)


class ArrayImageItem(QGraphicsItem):
    """Draws a numpy image (any size) stretched over a scene rectangle; cheap partial updates.

    ``clip_left`` (scene x) hides everything left of it: the "after" half of the split view.
    """

    def __init__(self, rect: QRectF, smooth: bool = True) -> None:
        super().__init__()
        self._rect = QRectF(rect)
        self._array: np.ndarray | None = None
        #: a 3-channel array's pixels in Qt's native order (``qimage_from_array``'s
        #: ``bgrx``): Qt scales those to the screen 2-3x faster than packed RGB
        self._bgrx: np.ndarray | None = None
        self._image: QImage | None = None
        self._smooth = smooth
        self.clip_left: float | None = None
        # exposedRect is only filled in with this flag: paint just the damaged part.
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def set_rect(self, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(rect)

    def set_array(self, arr: np.ndarray | None,
                  changed: tuple[int, int, int, int] | None = None) -> None:
        """Shows ``arr`` ((H, W, 3|4) uint8); keeps a reference so updates in place show.
        ``changed`` (y0, y1, x0, x1) limits the repaint when only that part differs from the
        array shown before (same size)."""
        same_size = self._array is not None and arr is not None and arr.shape == self._array.shape
        self._array = None if arr is None else np.ascontiguousarray(arr)
        if self._array is None or self._array.shape[2] != 3:
            self._bgrx = None
            self._image = None if self._array is None else qimage_from_array(self._array)
        elif changed is None or not same_size or self._bgrx is None:
            self._bgrx = cv2.cvtColor(self._array, cv2.COLOR_RGB2BGRA)
            self._image = qimage_from_array(self._bgrx, bgrx=True)
        if changed is not None and same_size:
            self.update_array_region(*changed)
        else:
            self.update()

    @property
    def array(self) -> np.ndarray | None:
        return self._array

    def drawn(self) -> np.ndarray | None:
        """(H, W, 3|4) uint8: the pixels the item draws, in the array's channel order (a
        3-channel array is drawn from its copy in Qt's order, updated by region)."""
        if self._bgrx is None:
            return self._array
        return cv2.cvtColor(self._bgrx, cv2.COLOR_BGRA2RGB)

    def update_array_region(self, y0: int, y1: int, x0: int, x1: int) -> None:
        """Repaints the scene area of array rows y0:y1, columns x0:x1 (changed in place)."""
        if self._array is None:
            return
        h, w = self._array.shape[:2]
        if self._bgrx is not None:
            y0, y1, x0, x1 = max(0, y0), min(h, y1), max(0, x0), min(w, x1)
            if y1 > y0 and x1 > x0:
                self._bgrx[y0:y1, x0:x1] = cv2.cvtColor(self._array[y0:y1, x0:x1],
                                                        cv2.COLOR_RGB2BGRA)
        sx, sy = self._rect.width() / w, self._rect.height() / h
        self.update(
            QRectF(
                self._rect.x() + (x0 - 1) * sx,
                self._rect.y() + (y0 - 1) * sy,
                (x1 - x0 + 2) * sx,
                (y1 - y0 + 2) * sy,
            )
        )

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return self._rect

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self._image is None:
            return
        painter.save()  # the view skips saving painter state (DontSavePainterState)
        try:
            self._paint_image(painter, option)
        finally:
            painter.restore()

    def _paint_image(self, painter: QPainter, option: QStyleOptionGraphicsItem) -> None:
        assert self._image is not None
        target = QRectF(self._rect)
        if self.clip_left is not None:
            if self.clip_left >= target.right():
                return  # all of it is left of the split (a negative-width clip is not empty)
            left = max(self.clip_left, target.left())
            painter.setClipRect(QRectF(left, target.y(), target.right() - left, target.height()))
        if self._smooth:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        # Draw only the exposed part: map the exposed scene rect back to source pixels.
        exposed = option.exposedRect.intersected(target) if option.exposedRect.isValid() else target
        if exposed.isEmpty():
            return
        w, h = self._image.width(), self._image.height()
        sx, sy = w / target.width(), h / target.height()
        src = QRectF(
            (exposed.x() - target.x()) * sx,
            (exposed.y() - target.y()) * sy,
            exposed.width() * sx,
            exposed.height() * sy,
        )
        src_px = src.toAlignedRect().intersected(QRect(0, 0, w, h))
        if src_px.isEmpty():
            return
        dst = QRectF(
            target.x() + src_px.x() / sx,
            target.y() + src_px.y() / sy,
            src_px.width() / sx,
            src_px.height() / sy,
        )
        painter.drawImage(dst, self._image, QRectF(src_px))


class ToolHandler(Protocol):
    """What the canvas forwards to the active tool (positions in scene pixels)."""

    def press(self, pos: QPointF, event: QMouseEvent) -> bool: ...
    def move(self, pos: QPointF, event: QMouseEvent) -> None: ...
    def release(self, pos: QPointF, event: QMouseEvent) -> None: ...
    def hover(self, pos: QPointF) -> None: ...
    def leave(self) -> None: ...


class Canvas(QGraphicsView):
    """Zoom (wheel, fit, 100 %), pan (space-drag, middle-drag), before/after and split view."""

    zoom_changed = Signal(float)
    files_dropped = Signal(list)
    #: the visible part of the photo changed (pan, zoom, resize)
    view_moved = Signal()
    #: Before was toggled, or the split view turned on, moved or turned off
    before_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QColor(38, 38, 40))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setMouseTracking(True)
        self.setAcceptDrops(True)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        rect = QRectF(0, 0, 1, 1)
        self.before_item = ArrayImageItem(rect)
        self.after_item = ArrayImageItem(rect)
        self.overlay_item = ArrayImageItem(rect, smooth=False)
        #: at 100 % and above: the visible part rendered from the full-resolution photo
        self.detail_item = ArrayImageItem(rect, smooth=False)
        self.detail_item.setZValue(1.5)
        self.detail_item.hide()
        #: the same for the original (Before, the split view's left part): its full-resolution
        #: pixels over the upscaled proxy, under the lit image (``gui.before_detail``)
        self.before_detail_item = ArrayImageItem(rect, smooth=False)
        self.before_detail_item.setZValue(0.5)
        self.before_detail_item.hide()
        self.before_item.setZValue(0)
        self.after_item.setZValue(1)
        self.overlay_item.setZValue(2)
        self.split_line = QGraphicsLineItem()
        pen = QPen(QColor(255, 255, 255, 220), 1.5)
        pen.setCosmetic(True)
        self.split_line.setPen(pen)
        self.split_line.setZValue(5)
        self.split_line.hide()
        self.split_labels = [QGraphicsSimpleTextItem(text) for text in ("Before", "After")]
        for label in self.split_labels:
            label.setBrush(QColor(255, 255, 255, 230))
            label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
            label.setZValue(6)
            label.hide()
        #: "Before" written on the photo while the original is shown (\\ key)
        self.before_label = QGraphicsSimpleTextItem("Before")
        self.before_label.setBrush(QColor(255, 255, 255, 230))
        self.before_label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.before_label.setZValue(6)
        self.before_label.hide()
        self.zoom_changed.connect(lambda _z: self._place_before_label())
        for item in (self.before_item, self.after_item, self.overlay_item, self.split_line,
                     *self.split_labels, self.before_label, self.detail_item,
                     self.before_detail_item):
            self.scene().addItem(item)
        self.overlay_item.hide()
        # the original is drawn only where it can be seen (Before, the split view's left
        # part): under the opaque preview it cost a second full paint per preview frame
        self.before_item.hide()
        self.tool: ToolHandler | None = None
        self._space_down = False
        self._pan_from: QPointF | None = None
        self._dragging_split = False
        self.split_x: float | None = None
        self.show_before = False
        self._fit_mode = True

    # -- content ---------------------------------------------------------------------------
    def set_photo_size(self, width: int, height: int) -> None:
        """Sets the scene to a photo of ``width`` x ``height`` full-resolution pixels."""
        rect = QRectF(0, 0, width, height)
        for item in (self.before_item, self.after_item, self.overlay_item):
            item.set_rect(rect)
        self.before_detail_item.hide()
        self.scene().setSceneRect(rect.adjusted(-width, -height, width, height))
        if self.split_x is not None:
            self.set_split(width / 2)
        self.fit()

    @property
    def photo_rect(self) -> QRectF:
        return self.before_item.boundingRect()

    # -- zoom ------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return float(self.transform().m11())

    def set_zoom(self, factor: float) -> None:
        """Absolute zoom, 1.0 = 100 %; keeps the point under the mouse (or the centre)."""
        factor = min(max(factor, ZOOM_MIN), ZOOM_MAX)
        current = self.zoom
        if current > 0:
            self.scale(factor / current, factor / current)
        self._fit_mode = False
        self.zoom_changed.emit(self.zoom)

    def fit(self) -> None:
        """Fits the whole photo in the view."""
        rect = self.photo_rect
        if rect.width() <= 1:
            return
        # a margin of 3 % so handles on the photo's edge are not flush with the view's
        m = 0.03 * max(rect.width(), rect.height())
        self.fitInView(rect.adjusted(-m, -m, m, m), Qt.AspectRatioMode.KeepAspectRatio)
        self.centerOn(rect.center())
        self._fit_mode = True
        self.zoom_changed.emit(self.zoom)

    def actual_pixels(self) -> None:
        """Zoom 100 % around the view centre."""
        center = self.mapToScene(self.viewport().rect().center())
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.set_zoom(1.0)
        self.centerOn(center)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom * (1.25**steps))
            if self.split_x is not None:
                self.set_split(self.split_x)  # keep the labels' screen offset
            self._place_before_label()
        event.accept()

    # -- before / after --------------------------------------------------------------------
    def visible_photo_rect(self) -> tuple[int, int, int, int] | None:
        """(x0, y0, x1, y1): the photo's pixels in view (full-resolution scene units), or
        None when none are."""
        seen = self.mapToScene(self.viewport().rect()).boundingRect() & self.photo_rect
        if seen.isEmpty():
            return None
        x0, y0 = max(0, int(seen.left())), max(0, int(seen.top()))
        x1 = min(int(self.photo_rect.right()), int(seen.right()) + 1)
        y1 = min(int(self.photo_rect.bottom()), int(seen.bottom()) + 1)
        return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802 - Qt API
        super().scrollContentsBy(dx, dy)
        if self.show_before:
            self._place_before_label()
        self.view_moved.emit()

    def set_show_before(self, before: bool) -> None:
        """Shows the original photo instead of the preview."""
        self.show_before = before
        self.after_item.setVisible(not before)
        self.before_item.setVisible(self.original_visible)
        if before:
            self.detail_item.hide()
        self._place_before_label()
        self.before_changed.emit()

    @property
    def original_visible(self) -> bool:
        """True while some of the original photo is on screen (Before or the split view)."""
        return self.show_before or self.split_x is not None

    def _place_before_label(self) -> None:
        """The "Before" label just inside the top-left corner of the photo's visible part
        (at 100 % the photo's own corner is often off screen), while it is shown."""
        label = self.before_label
        label.setVisible(self.show_before)
        if self.show_before:
            margin = 8 / max(self.zoom, 1e-6)
            r = self.photo_rect
            seen = self.mapToScene(self.viewport().rect()).boundingRect() & r
            corner = r.topLeft() if seen.isEmpty() else seen.topLeft()
            label.setPos(corner.x() + margin, corner.y() + margin)

    def set_split(self, x: float | None) -> None:
        """Split view: before left of scene x, after right of it; None turns it off."""
        self.split_x = x
        self.before_item.setVisible(self.original_visible)
        self.after_item.clip_left = x
        self.detail_item.clip_left = x  # the lit 1:1 detail must leave the before part too
        before, after = self.split_labels
        if x is None:
            self.split_line.hide()
            before.hide()
            after.hide()
        else:
            r = self.photo_rect
            self.split_line.setLine(x, r.top(), x, r.bottom())
            self.split_line.show()
            # labels sit just inside the top of the photo, either side of the line
            margin = 8 / max(self.zoom, 1e-6)
            before.setPos(x - margin - before.boundingRect().width() / max(self.zoom, 1e-6),
                          r.top() + margin)
            after.setPos(x + margin, r.top() + margin)
            before.show()
            after.show()
        self.after_item.update()
        self.detail_item.update()
        self.before_changed.emit()

    # -- input -----------------------------------------------------------------------------
    def _near_split(self, view_pos: QPointF) -> bool:
        if self.split_x is None:
            return False
        vx = self.mapFromScene(QPointF(self.split_x, 0)).x()
        return abs(vx - view_pos.x()) < 6

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        if event.button() == Qt.MouseButton.MiddleButton or (
            self._space_down and event.button() == Qt.MouseButton.LeftButton
        ):
            self._pan_from = pos
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton and self._near_split(pos):
            self._dragging_split = True
            return
        # Items with handles (ellipses) take their own clicks.
        item = self.itemAt(pos.toPoint())
        if item is not None and item.acceptedMouseButtons() and item.flags() & (
            QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
        ):
            super().mousePressEvent(event)
            return
        if self.tool is not None and self.tool.press(self._scene_pos(pos), event):
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        if self._pan_from is not None:
            delta = pos - self._pan_from
            self._pan_from = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            self._fit_mode = False
            return
        if self._dragging_split:
            r = self.photo_rect
            x = min(max(self.mapToScene(pos.toPoint()).x(), r.left()), r.right())
            self.set_split(x)
            return
        scene_pos = self._scene_pos(pos)
        if self.tool is not None:
            if event.buttons() & Qt.MouseButton.LeftButton:
                self.tool.move(scene_pos, event)
            else:
                self.tool.hover(scene_pos)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan_from is not None and event.button() in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            self._pan_from = None
            if self._space_down:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            return
        if self._dragging_split:
            self._dragging_split = False
            return
        if self.tool is not None and event.button() == Qt.MouseButton.LeftButton:
            self.tool.release(self._scene_pos(event.position()), event)
        super().mouseReleaseEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802, ANN001
        if self.tool is not None:
            self.tool.leave()
        super().leaveEvent(event)

    def _scene_pos(self, view_pos: QPointF) -> QPointF:
        """Sub-pixel scene position of a view position (smooth strokes when zoomed in)."""
        return self.viewportTransform().inverted()[0].map(view_pos)

    # -- drag and drop ---------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802, ANN001
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: N802, ANN001
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802, ANN001
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.files_dropped.emit(paths)
            event.acceptProposedAction()
