"""Mask tools: brush, ellipse (with handles to move, resize, rotate), smart-select rectangle.

Tools receive scene positions (full-resolution photo pixels) from the canvas and talk to the
window through the small ``ToolHost`` protocol, so they hold no edit state of their own.
"""

from __future__ import annotations

import math
from typing import Protocol

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QMouseEvent, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsObject,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from limelight.core.masks import Ellipse, Stroke

HANDLE_PX = 9
_WHITE = QColor(255, 255, 255, 230)
_DARK = QColor(0, 0, 0, 160)
_ERASE = QColor(255, 110, 100, 235)


def cosmetic_pen(color: QColor, width: float = 1.0, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(True)
    return pen


class ToolHost(Protocol):
    """What tools need from the window."""

    def photo_size(self) -> tuple[int, int]: ...
    def brush_settings(self) -> tuple[float, float, str]: ...
    def begin_stroke(self, pos: QPointF) -> None: ...
    def continue_stroke(self, pos: QPointF) -> None: ...
    def end_stroke(self) -> None: ...
    def add_shape(self, shape: Ellipse | Stroke, text: str) -> None: ...
    def replace_shape(self, index: int, shape: Ellipse, text: str) -> None: ...
    def smart_select(self, rect: QRectF) -> None: ...
    def subject_select(self) -> None: ...


class Tool:
    """Base class: no-op handlers (see ``canvas.ToolHandler``)."""

    name = "tool"

    def __init__(self, host: ToolHost, scene: QGraphicsScene) -> None:
        self.host, self.scene = host, scene

    def activate(self) -> None: ...
    def deactivate(self) -> None: ...

    def press(self, pos: QPointF, event: QMouseEvent) -> bool:
        return False

    def move(self, pos: QPointF, event: QMouseEvent) -> None: ...
    def release(self, pos: QPointF, event: QMouseEvent) -> None: ...
    def hover(self, pos: QPointF) -> None: ...
    def leave(self) -> None: ...


class BrushTool(Tool):
    """Paints strokes; a two-tone circle shows the brush size at any zoom."""

    name = "brush"

    def __init__(self, host: ToolHost, scene: QGraphicsScene) -> None:
        super().__init__(host, scene)
        self.cursor = QGraphicsEllipseItem()
        self.cursor.setPen(cosmetic_pen(_WHITE, 1.5))
        self.inner = QGraphicsEllipseItem(self.cursor)
        self.inner.setPen(cosmetic_pen(_DARK, 1.0, Qt.PenStyle.DashLine))
        self.minus = QGraphicsLineItem(self.cursor)
        self.minus.setPen(cosmetic_pen(_ERASE, 2.0))
        self.minus.hide()
        self.cursor.setZValue(20)
        self.cursor.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.cursor.hide()
        scene.addItem(self.cursor)
        self._painting = False
        self._last = QPointF()

    def radius_px(self) -> float:
        w, h = self.host.photo_size()
        return self.host.brush_settings()[0] * min(w, h)

    def update_cursor(self, pos: QPointF | None = None) -> None:
        pos = self._last if pos is None else pos
        self._last = pos
        r = self.radius_px()
        _size, hardness, mode = self.host.brush_settings()
        self.cursor.setRect(QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r))
        # erase: a dashed red ring with a minus across it; add: a solid white ring
        erase = mode == "erase"
        self.cursor.setPen(cosmetic_pen(_ERASE, 1.5, Qt.PenStyle.DashLine) if erase
                           else cosmetic_pen(_WHITE, 1.5))
        self.minus.setLine(pos.x() - r * 0.5, pos.y(), pos.x() + r * 0.5, pos.y())
        self.minus.setVisible(erase)
        ri = max(hardness * r, 0.5)
        self.inner.setRect(QRectF(pos.x() - ri, pos.y() - ri, 2 * ri, 2 * ri))
        self.inner.setVisible(hardness < 0.98)

    def deactivate(self) -> None:
        self.cursor.hide()

    def press(self, pos: QPointF, event: QMouseEvent) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        self._painting = True
        self.host.begin_stroke(pos)
        self.update_cursor(pos)
        return True

    def move(self, pos: QPointF, event: QMouseEvent) -> None:
        self.update_cursor(pos)
        self.cursor.show()
        if self._painting:
            self.host.continue_stroke(pos)

    def release(self, pos: QPointF, event: QMouseEvent) -> None:
        if self._painting:
            self._painting = False
            self.host.continue_stroke(pos)
            self.host.end_stroke()

    def hover(self, pos: QPointF) -> None:
        self.update_cursor(pos)
        self.cursor.show()

    def leave(self) -> None:
        self.cursor.hide()


class _Handle(QGraphicsRectItem):
    """A square handle of constant screen size; reports drags to its ``EllipseItem``."""

    def __init__(self, role: str, parent: EllipseItem) -> None:
        s = HANDLE_PX
        super().__init__(-s / 2, -s / 2, s, s, parent)
        self.role = role
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setBrush(QBrush(QColor(255, 255, 255) if role != "rotate" else QColor(255, 190, 60)))
        self.setPen(QPen(_DARK, 1))
        self.setCursor(Qt.CursorShape.SizeAllCursor if role == "move" else Qt.CursorShape.CrossCursor)
        self.setToolTip({"move": "Drag to move", "rotate": "Drag to rotate"}.get(role, "Drag to resize"))

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        item = self.parentItem()
        assert isinstance(item, EllipseItem)
        item.drag_handle(self.role, event.scenePos(), event.lastScenePos())

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        item = self.parentItem()
        assert isinstance(item, EllipseItem)
        item.edited.emit(item.index)


class EllipseItem(QGraphicsObject):
    """An editable ellipse in scene pixels: centre, semi-axes ``a``/``b``, angle (degrees).

    Signals:
        edited(int): a handle or body drag ended; ``index`` is the shape's position.
    """

    edited = Signal(int)

    def __init__(self, index: int, center: QPointF, a: float, b: float, angle: float) -> None:
        super().__init__()
        self.index = index
        self.a, self.b = max(a, 1.0), max(b, 1.0)
        self.setPos(center)
        self.setRotation(angle)
        self.setZValue(10)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges, True)
        self.setCursor(Qt.CursorShape.SizeAllCursor)
        # the antialiased outline is drawn once into a pixmap, not again for every preview
        # frame under it (two strokes, about 2 ms a frame at 1 MP)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.handles = {role: _Handle(role, self) for role in ("move", "rx+", "rx-", "ry+", "ry-", "rotate")}
        self._layout()

    @classmethod
    def from_shape(cls, index: int, e: Ellipse, width: int, height: int) -> EllipseItem:
        return cls(index, QPointF(e.cx * width, e.cy * height), e.rx * width, e.ry * height, e.angle)

    def to_shape(self, width: int, height: int, mode: str = "add") -> Ellipse:
        angle = (self.rotation() + 180.0) % 360.0 - 180.0
        return Ellipse(self.pos().x() / width, self.pos().y() / height,
                       min(self.a / width, 10.0), min(self.b / height, 10.0), angle, mode)  # type: ignore[arg-type]

    def _layout(self) -> None:
        self.prepareGeometryChange()
        h = self.handles
        h["move"].setPos(0, 0)
        h["rx+"].setPos(self.a, 0)
        h["rx-"].setPos(-self.a, 0)
        h["ry+"].setPos(0, self.b)
        h["ry-"].setPos(0, -self.b)
        # the rotation handle goes above the ellipse, or below it when above is off the photo
        # (at Fit, a handle off the photo is off the view, out of reach)
        self.rotate_sign = -1.0
        scene = self.scene()
        if scene is not None:
            top = self.mapToScene(QPointF(0, -self.b * 1.25 - 2))
            if not scene.sceneRect().contains(top):
                self.rotate_sign = 1.0
        h["rotate"].setPos(0, self.rotate_sign * (self.b * 1.25 + 2))
        self.update()

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: object) -> object:  # noqa: N802
        if change in (QGraphicsItem.GraphicsItemChange.ItemSceneHasChanged,
                      QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged) \
                and hasattr(self, "handles"):
            self._layout()
        return super().itemChange(change, value)

    def set_axes(self, a: float, b: float) -> None:
        self.a, self.b = max(a, 1.0), max(b, 1.0)
        self._layout()

    def drag_handle(self, role: str, pos: QPointF, last: QPointF) -> None:
        """Moves, resizes or rotates from a handle drag to scene ``pos``."""
        if role == "move":
            self.setPos(self.pos() + (pos - last))
            return
        local = self.mapFromScene(pos)
        if role in ("rx+", "rx-"):
            self.set_axes(abs(local.x()), self.b)
        elif role in ("ry+", "ry-"):
            self.set_axes(self.a, abs(local.y()))
        else:
            c = self.pos()
            # the handle is straight up (or down, when flipped) from the centre at rotation 0
            offset = 90.0 if self.rotate_sign < 0 else -90.0
            self.setRotation(math.degrees(math.atan2(pos.y() - c.y(), pos.x() - c.x())) + offset)

    def boundingRect(self) -> QRectF:  # noqa: N802
        m = max(self.a, self.b) * 0.3 + 4
        return QRectF(-self.a - m, -self.b * 1.25 - m - 4, 2 * self.a + 2 * m,
                      self.b * 2.5 + 2 * m + 8)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(QRectF(-self.a, -self.b, 2 * self.a, 2 * self.b))
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        rect = QRectF(-self.a, -self.b, 2 * self.a, 2 * self.b)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(cosmetic_pen(_DARK, 3.0))
        painter.drawEllipse(rect)
        painter.setPen(cosmetic_pen(_WHITE, 1.5))
        painter.drawEllipse(rect)
        painter.setPen(cosmetic_pen(_WHITE, 1.0, Qt.PenStyle.DotLine))
        sign = self.rotate_sign
        painter.drawLine(QPointF(0, sign * self.b), QPointF(0, sign * (self.b * 1.25 + 2)))

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        self.drag_handle("move", event.scenePos(), event.lastScenePos())

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        self.edited.emit(self.index)


class EllipseTool(Tool):
    """Drag on empty canvas to draw an ellipse from its centre (Shift: a circle); existing
    ellipses show handles to move, resize and rotate them."""

    name = "ellipse"

    def __init__(self, host: ToolHost, scene: QGraphicsScene) -> None:
        super().__init__(host, scene)
        self.items: list[EllipseItem] = []
        self._drawing: EllipseItem | None = None
        self._start = QPointF()
        self._active = False
        self._shapes: tuple[object, ...] = ()

    def sync(self, shapes: tuple[object, ...]) -> None:
        """Rebuilds the handles from the edit's shapes."""
        self._shapes = shapes
        for item in self.items:
            self.scene.removeItem(item)
        self.items = []
        w, h = self.host.photo_size()
        for i, s in enumerate(shapes):
            if isinstance(s, Ellipse):
                item = EllipseItem.from_shape(i, s, w, h)
                item.edited.connect(self._on_item_edited)
                item.setVisible(self._active)
                self.scene.addItem(item)
                self.items.append(item)

    def activate(self) -> None:
        self._active = True
        for item in self.items:
            item.show()

    def deactivate(self) -> None:
        self._active = False
        for item in self.items:
            item.hide()

    def _on_item_edited(self, index: int) -> None:
        item = next(i for i in self.items if i.index == index)
        w, h = self.host.photo_size()
        old = self._shapes[index]
        mode = old.mode if isinstance(old, Ellipse) else "add"
        self.host.replace_shape(index, item.to_shape(w, h, mode), "Edit ellipse")

    def press(self, pos: QPointF, event: QMouseEvent) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        self._start = pos
        self._drawing = EllipseItem(-1, pos, 1.0, 1.0, 0.0)
        self.scene.addItem(self._drawing)
        return True

    def move(self, pos: QPointF, event: QMouseEvent) -> None:
        if self._drawing is None:
            return
        a, b = abs(pos.x() - self._start.x()), abs(pos.y() - self._start.y())
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            a = b = max(a, b)
        self._drawing.set_axes(a, b)

    def release(self, pos: QPointF, event: QMouseEvent) -> None:
        item, self._drawing = self._drawing, None
        if item is None:
            return
        self.scene.removeItem(item)
        w, h = self.host.photo_size()
        if max(item.a, item.b) < 0.004 * min(w, h):  # a click, not a drag
            return
        mode = self.host.brush_settings()[2]
        self.host.add_shape(item.to_shape(w, h, mode), "Draw ellipse")


class RectSelectTool(Tool):
    """Drag a rectangle around the subject; the host runs smart select on it."""

    name = "smart"

    def __init__(self, host: ToolHost, scene: QGraphicsScene) -> None:
        super().__init__(host, scene)
        self.band = QGraphicsRectItem()
        self.band.setPen(cosmetic_pen(_WHITE, 1.5, Qt.PenStyle.DashLine))
        self.band.setBrush(QBrush(QColor(255, 255, 255, 30)))
        self.band.setZValue(20)
        self.band.hide()
        scene.addItem(self.band)
        self._start: QPointF | None = None

    def press(self, pos: QPointF, event: QMouseEvent) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        self._start = pos
        self.band.setRect(QRectF(pos, pos))
        self.band.show()
        return True

    def move(self, pos: QPointF, event: QMouseEvent) -> None:
        if self._start is not None:
            self.band.setRect(QRectF(self._start, pos).normalized())

    def release(self, pos: QPointF, event: QMouseEvent) -> None:
        if self._start is None:
            return
        rect = QRectF(self._start, pos).normalized()
        self._start = None
        self.band.hide()
        if rect.width() > 4 and rect.height() > 4:
            self.host.smart_select(rect)


class SubjectTool(Tool):
    """One click: the host selects the photo's subject."""

    name = "subject"

    def press(self, pos: QPointF, event: QMouseEvent) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        self.host.subject_select()
        return True
