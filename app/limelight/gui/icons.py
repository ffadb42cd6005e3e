"""Tool icons drawn with QPainter (crisp at any display scale, no image files to ship).

``tool_icon(name)`` for the mask tools: "brush", "ellipse", "smart", "subject".
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

_SIZE = 32
_INK = QColor(225, 225, 225)
_ACCENT = QColor(230, 150, 40)


def _pen(color: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    return pen


def _draw(name: str, p: QPainter) -> None:
    if name == "brush":  # a brush head and a stroke of light
        p.setPen(_pen(_ACCENT, 3.0))
        path = QPainterPath(QPointF(5, 26))
        path.cubicTo(QPointF(10, 18), QPointF(14, 28), QPointF(19, 20))
        p.drawPath(path)
        p.setPen(_pen(_INK, 2.5))
        p.drawLine(QPointF(18, 17), QPointF(28, 5))
        p.setBrush(_INK)
        p.drawEllipse(QPointF(18.5, 17.5), 3.0, 3.0)
    elif name == "ellipse":  # an ellipse with a handle
        p.setPen(_pen(_INK, 2.2))
        p.drawEllipse(QRectF(4, 8, 24, 16))
        p.setPen(_pen(_ACCENT, 1.0))
        p.setBrush(_ACCENT)
        p.drawRect(QRectF(14, 5, 4, 4))
    elif name == "smart":  # a dashed selection rectangle with a spark
        p.setPen(_pen(_INK, 2.0, Qt.PenStyle.DashLine))
        p.drawRect(QRectF(4, 7, 20, 18))
        p.setPen(_pen(_ACCENT, 2.0))
        for a, b in (((26, 3), (26, 11)), ((22, 7), (30, 7)), ((23.5, 4.5), (28.5, 9.5))):
            p.drawLine(QPointF(*a), QPointF(*b))
    elif name == "subject":  # a head and shoulders
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(_INK)
        p.drawEllipse(QPointF(16, 11), 5.5, 5.5)
        body = QPainterPath(QPointF(5, 29))
        body.cubicTo(QPointF(6, 18), QPointF(26, 18), QPointF(27, 29))
        body.closeSubpath()
        p.drawPath(body)
        p.setPen(_pen(_ACCENT, 1.6, Qt.PenStyle.DashLine))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(QRectF(2, 2, 28, 28), 5, 5)


def tool_icon(name: str) -> QIcon:
    """The icon of mask tool ``name`` (an empty icon for an unknown name)."""
    icon = QIcon()
    for scale in (1, 2):
        pixmap = QPixmap(_SIZE * scale, _SIZE * scale)
        pixmap.setDevicePixelRatio(scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        _draw(name, painter)
        painter.end()
        icon.addPixmap(pixmap)
    return icon
