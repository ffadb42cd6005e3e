"""Issue 18, item 6: photographer words with units, model names and captions that follow
the picker, status messages that clear, and a wheel that scrolls the panel unless a slider
has focus."""

from __future__ import annotations

from pathlib import Path

import pytest
from gui_helpers import drag, idle, open_and_wait  # type: ignore[import-not-found]
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QSlider

pytestmark = pytest.mark.gui


def _wheel(widget, steps: int = 1) -> None:  # noqa: ANN001
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * steps), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_units_and_model_words(qtbot, window, photo: Path) -> None:
    open_and_wait(qtbot, window, photo)
    window.add_light("whole")
    mp = window.mask_panel
    assert mp.transition.value() == pytest.approx(6.0)  # % of the short side
    mp.transition.setValue(10.0)
    assert window.doc.state.spec.transition == pytest.approx(0.10)
    w, h = window.doc.full_size
    mp.brush_size.setValue(0.1)
    assert mp.brush_size_label.text() == f"Brush size {0.1 * min(w, h):,.0f} px"
    combo, caption = window.adjust.model_combo, window.adjust.model_info
    first = caption.text()
    other = next(i for i in range(combo.count()) if combo.itemData(i) != window.doc.state.model)
    combo.setCurrentIndex(other)
    combo.activated.emit(other)  # as a user picks it
    assert window.doc.state.model == combo.itemData(other)
    assert caption.text() != first and combo.itemData(other) in caption.text()
    assert "_" not in combo.itemText(other) and combo.itemText(other)  # not a research label
    idle(qtbot, window)


def test_the_wheel_scrolls_the_panel_unless_a_slider_has_focus(qtbot, window, photo: Path
                                                               ) -> None:
    open_and_wait(qtbot, window, photo)
    window.add_light("whole")
    idle(qtbot, window)
    slider = window.adjust.sliders["gamma1"]
    inner = slider.findChild(QSlider)
    window.canvas.setFocus()
    before = slider.value()
    _wheel(inner, 3)
    assert slider.value() == before and window.doc.state.knobs.gamma1 == before
    inner.setFocus()
    qtbot.waitUntil(inner.hasFocus)
    _wheel(inner, 3)
    assert slider.value() != before
    idle(qtbot, window)


def test_a_selection_message_clears_when_done(qtbot, window, photo: Path) -> None:
    open_and_wait(qtbot, window, photo)
    window.set_tool("smart")
    w, h = window.doc.full_size
    with qtbot.waitSignal(window.preview_applied, timeout=30000):
        drag(window.canvas, [(w * 0.25, h * 0.25), (w * 0.5, h * 0.5), (w * 0.75, h * 0.75)])
    idle(qtbot, window)
    qtbot.waitUntil(lambda: "Smart select…" not in window.statusBar().currentMessage())
    assert window.doc.state.spec.shapes


def test_erase_cursor_and_before_label(qtbot, window, photo: Path) -> None:
    open_and_wait(qtbot, window, photo)
    brush = window.tools["brush"]
    window.set_tool("brush")
    brush.update_cursor()
    assert brush.cursor.pen().style() == Qt.PenStyle.SolidLine
    assert not brush.minus.isVisibleTo(brush.cursor)
    window.acts.by_name["toggle_mode"].trigger()  # X: erase
    assert window.mask_panel.mode == "erase"
    assert brush.cursor.pen().style() == Qt.PenStyle.DashLine
    assert brush.minus.isVisibleTo(brush.cursor)
    label = window.canvas.before_label
    assert not label.isVisible()
    window.acts.by_name["before_after"].trigger()
    assert label.isVisible() and label.text() == "Before"
    assert window.canvas.photo_rect.contains(label.pos())
    window.acts.by_name["before_after"].trigger()
    assert not label.isVisible()


def test_no_fall_back_to_the_quick_pass_after_mouse_up(qtbot, window, tmp_path: Path) -> None:
    from gui_helpers import dark_photo  # type: ignore[import-not-found]

    photo = dark_photo(tmp_path / "big.png", width=900, height=600)  # the quick pass: 384 px
    open_and_wait(qtbot, window, photo)
    window.add_light("brush")
    idle(qtbot, window)
    seen: list = []
    w, h = window.doc.full_size
    drag(window.canvas, [(w * (0.3 + 0.02 * t), h * 0.5) for t in range(15)])
    window.preview_applied.connect(seen.append)  # what shows once the mouse is up
    idle(qtbot, window)
    assert seen and all(r.refined for r in seen)
    assert seen[-1].request_id == window.worker.latest_id


def test_ellipse_handles_are_reachable_at_fit(qtbot, window, tmp_path: Path) -> None:
    from gui_helpers import dark_photo  # type: ignore[import-not-found]

    from limelight.core.masks import Ellipse

    photo = dark_photo(tmp_path / "tall.png", width=120, height=400)  # fills the view's height
    open_and_wait(qtbot, window, photo)
    window.set_tool("ellipse")
    window.add_shape(Ellipse(0.5, 0.15, 0.2, 0.12), "Ellipse")  # its top near the photo's
    idle(qtbot, window)
    window.canvas.fit()
    (item,) = window.tools["ellipse"].items
    view = window.canvas.viewport().rect()
    for role, handle in item.handles.items():
        at = window.canvas.mapFromScene(handle.scenePos())
        assert view.contains(at), f"the {role} handle is out of the view at Fit"


def _contrast(a, b) -> float:  # noqa: ANN001
    def lum(c) -> float:  # noqa: ANN001
        def ch(v: float) -> float:
            v /= 255.0
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * ch(c.red()) + 0.7152 * ch(c.green()) + 0.0722 * ch(c.blue())

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_placeholders_are_readable(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtGui import QPalette

    from limelight.gui.app import apply_dark_palette

    app = QApplication.instance()
    old = app.palette()
    try:
        apply_dark_palette(app)
        p = app.palette()
        ratio = _contrast(p.color(QPalette.ColorRole.PlaceholderText),
                          p.color(QPalette.ColorRole.Base))
        assert ratio >= 4.5, f"placeholder contrast {ratio:.1f}:1"
    finally:
        app.setPalette(old)


def test_tools_have_icons_and_stand_apart_from_actions(qtbot, window) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QToolBar

    (left,) = [t for t in window.findChildren(QToolBar) if t.objectName() == "tools_toolbar"]
    acts = left.actions()
    tools = [a for a in acts if a in window.acts.tools.values()]
    assert len(tools) == 4 and all(not a.icon().isNull() for a in tools)
    names = [a.objectName() or a.text() for a in acts]
    seps = [k for k, a in enumerate(acts) if a.isSeparator()]
    assert seps and max(acts.index(t) for t in tools) < seps[0]  # tools, then the actions
    after = [a for a in acts[seps[0] + 1:] if not a.isSeparator()]
    assert {a.text().replace("&", "") for a in after} == {"Invert", "Clear"}, names
