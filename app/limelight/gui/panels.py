"""Side panels: adjustments (model, light, shadows, highlights, noise), mask settings, and the
histogram.

Signals (``AdjustPanel``):
    model_chosen(str): the user picked a model.
    knob_edited(str, float): a knob slider moved or was typed into (name, value).
    knob_released(str): a slider drag ended (closes undo merging).
    reset_requested(): the Reset button.
Signals (``MaskPanel``):
    transition_edited(float), transition_released(), brush_changed(), overlay_toggled(bool),
    invert_clicked(), clear_clicked(), edges_toggled(bool).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledDoubleRangeSlider, QLabeledDoubleSlider

from limelight.core.recompose import FAMILY_KNOBS, KNOB_RANGES, Knobs
from limelight.core.zoo import ModelInfo

KNOB_LABELS = {
    "degree": ("Light", "Strength of the light: 0 = untouched, 1 = the model's light, "
               "2 = twice as strong"),
    "gamma1": ("Shadows", "Right: lift the darkest parts more; left: keep them deeper "
               "(0.5 = the default)"),
    "gamma2": ("Highlights", "Right: roll bright parts off sooner and tame them; left: let "
               "them run brighter (0.5 = the default)"),
    "gamma3": ("Noise", "Right: remove more of the noise the light lifts; left: keep more "
               "grain (0 = none removed, 0.5 = the default)"),
}


#: Photographer names of the backbones: (display name, what it does in one line).
BACKBONE_NAMES = {
    "fusion_net": ("Balanced", "a small two-light network that lifts shadows and tames "
                   "highlights; the default"),
    "star_dce": ("Tone curve", "bends a smooth tone curve per area; gentle and fast"),
    "deepupe": ("Illumination", "estimates the light falling on the scene and evens it out; "
                "a strong lift"),
    "dln": ("Deep lift", "a deeper network that brightens and restores detail"),
    "gladnet": ("Global + local", "looks at the whole photo first, then at the detail"),
}
#: How each conversion treats the mask.
CONVERSION_WORDS = {
    "ranlen": ("", "knows where the light goes (trained on masks)"),
    "concat": (" · mask input", "sees the mask as an extra input"),
    "global": (" · whole-photo", "trained on whole photos; the mask only blends it in"),
}


def model_display(info: ModelInfo) -> tuple[str, str]:
    """(display name, one-line description) of a model, in a photographer's words."""
    name, what = BACKBONE_NAMES.get(
        info.backbone, (info.backbone.replace("_", " ").capitalize(), info.family + " family"))
    suffix, how = CONVERSION_WORDS.get(info.conversion, (f" · {info.conversion}", ""))
    return f"{name}{suffix}", f"{what[0].upper()}{what[1:]}; {how}." if how else f"{what}."


class ValueSlider(QLabeledDoubleSlider):
    """A labelled float slider (drag or type) that resets to ``default`` on double-click.

    Signals:
        edited(float): changed by the user (not by ``set_quietly``).
        released(): a drag or a typed edit ended.
    """

    edited = Signal(float)
    released = Signal()

    def __init__(self, lo: float, hi: float, default: float, decimals: int = 2,
                 parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.default = default
        self._quiet = False
        self.setRange(lo, hi)
        self.setDecimals(decimals)
        self.setSingleStep(10 ** (-decimals))
        self.setValue(default)
        self.valueChanged.connect(self._on_value_changed)
        self.sliderReleased.connect(self.released)
        self.editingFinished.connect(self.released)
        for child in self.findChildren(QSlider):
            child.installEventFilter(self)
        self._wheel_guard = WheelGuard(self)

    def set_quietly(self, value: float) -> None:
        """Sets the value without emitting ``edited`` (undo, recipes)."""
        self._quiet = True
        try:
            self.setValue(value)
        finally:
            self._quiet = False

    def _on_value_changed(self, value: float) -> None:
        if not self._quiet:
            self.edited.emit(float(value))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.MouseButtonDblClick:
            self.setValue(self.default)
            self.released.emit()
            return True
        return super().eventFilter(obj, event)


class WheelGuard(QObject):
    """Lets the mouse wheel change a slider (or its number box) only when it has keyboard
    focus; otherwise the wheel goes on to the panel, which scrolls. Click a slider to give it
    focus."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        for child in [widget, *widget.findChildren(QWidget)]:
            child.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            child.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Wheel and isinstance(obj, QWidget) and not obj.hasFocus():
            event.ignore()  # not accepted: Qt offers it to the parents (the scroll area)
            return True
        return False


class AdjustPanel(QWidget):
    """Model picker, degree and γ sliders, reset."""

    model_chosen = Signal(str)
    knob_edited = Signal(str, float)
    knob_released = Signal(str)
    reset_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        box = QGroupBox("Model")
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("The enhancement network (backbone · conversion)")
        self.model_combo.activated.connect(self._on_model_activated)
        self.model_info = QLabel()
        self.model_info.setWordWrap(True)
        self.model_info.setStyleSheet("color: palette(mid); font-size: 11px")
        v = QVBoxLayout(box)
        v.addWidget(self.model_combo)
        v.addWidget(self.model_info)
        layout.addWidget(box)
        light = QGroupBox("Selected light")
        self._light_box = light
        form = QFormLayout(light)
        self.sliders: dict[str, ValueSlider] = {}
        self._labels: dict[str, QLabel] = {}
        for name in ("degree", "gamma1", "gamma2", "gamma3"):
            lo, hi = KNOB_RANGES[name]
            slider = ValueSlider(lo, hi, getattr(Knobs(), name))
            label, tip = KNOB_LABELS[name]
            slider.setToolTip(f"{tip}. Double-click to reset.")
            slider.edited.connect(lambda v, n=name: self.knob_edited.emit(n, v))
            slider.released.connect(lambda n=name: self.knob_released.emit(n))
            self.sliders[name] = slider
            self._labels[name] = QLabel(label)
            form.addRow(self._labels[name], slider)
        self.reset_button = QPushButton("Reset light")
        self.reset_button.setToolTip("Light, shadows, highlights and noise back to their "
                                     "defaults")
        self.reset_button.clicked.connect(self.reset_requested)
        form.addRow(self.reset_button)
        layout.addWidget(light)
        self._models: list[ModelInfo] = []

    def set_models(self, models: tuple[ModelInfo, ...], current: str | None) -> None:
        """Fills the picker; an empty zoo disables it with a hint."""
        self._models = list(models)
        self.model_combo.clear()
        for m in models:
            name, what = model_display(m)
            self.model_combo.addItem(name, m.name)
            self.model_combo.setItemData(self.model_combo.count() - 1,
                                         f"{what} ({m.name})", Qt.ItemDataRole.ToolTipRole)
        if not models:
            self.model_combo.addItem("No models installed")
        self.model_combo.setEnabled(bool(models))
        self.set_model(current)

    #: The model whose caption and knobs are shown (``set_model``).
    shown_model: str | None = None

    def set_model(self, name: str | None) -> None:
        """Shows ``name`` as selected, its caption, and enables the knobs it supports."""
        self.shown_model = name
        index = self.model_combo.findData(name) if name else -1
        if index >= 0:
            self.model_combo.setCurrentIndex(index)
        info = next((m for m in self._models if m.name == name), None)
        family = info.family if info else None
        supported = FAMILY_KNOBS.get(family, ()) if family else ()
        inert = set(info.metrics.get("inert_knobs", ())) if info else set()
        for knob, slider in self.sliders.items():
            slider.setEnabled(knob in supported)
            label = self._labels[knob]
            if knob != "degree" and knob not in supported:
                slider.setToolTip(f"{KNOB_LABELS[knob][1]}. The {info.label if info else 'current'} "
                                  "model has no such knob.")
            elif knob in inert:
                slider.setToolTip(
                    f"{KNOB_LABELS[knob][1]}. Measured on this model's tests: it has (almost) "
                    "no effect, because the trained network gives its term no weight "
                    "(see the model card). Double-click to reset.")
            else:
                slider.setToolTip(f"{KNOB_LABELS[knob][1]}. Double-click to reset.")
            label.setToolTip(slider.toolTip())
        if info is None:
            self.model_info.setText("Install models to enhance; masks can still be edited.")
        else:
            _display, what = model_display(info)
            details = f"{what}\n{info.name}" + (f" · {info.params:,} parameters"
                                                 if info.params else "")
            names = [KNOB_LABELS[k][0] for k in self.sliders if k in inert and k in supported]
            if names:
                details += (f"\n{' and '.join(names)}: no measurable effect on this model "
                            "(see its card)")
            self.model_info.setText(details)

    def set_light_enabled(self, on: bool) -> None:
        """The knobs edit the selected light: disabled (with the reason) when none is."""
        self._light_box.setEnabled(on)
        self._light_box.setToolTip("" if on else "Select or add a light to set its strength")

    def set_knobs(self, knobs: Knobs) -> None:
        for name, slider in self.sliders.items():
            value = getattr(knobs, name)
            if abs(slider.value() - value) > 1e-9:
                slider.set_quietly(value)

    def _on_model_activated(self, index: int) -> None:
        name = self.model_combo.itemData(index)
        if name:
            self.model_chosen.emit(str(name))


class MaskPanel(QWidget):
    """Transition width, brush size and hardness, add/erase, overlay, invert, clear."""

    transition_edited = Signal(float)
    transition_released = Signal()
    brush_changed = Signal()
    overlay_toggled = Signal(bool)
    invert_clicked = Signal()
    clear_clicked = Signal()
    edges_toggled = Signal(bool)
    range_edited = Signal(float, float, float)
    range_released = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box = QGroupBox("Mask")
        form = QFormLayout(box)
        self.transition = ValueSlider(0.0, 50.0, 6.0, decimals=1)
        self.transition.setToolTip("Width of the soft edge (transition band B) around the "
                                   "light, in % of the photo's short side. Double-click to "
                                   "reset.")
        self.transition.edited.connect(lambda v: self.transition_edited.emit(v / 100.0))
        self.transition.released.connect(self.transition_released)
        form.addRow("Transition %", self.transition)
        self.follow_edges = QCheckBox("Follow edges")
        self.follow_edges.setToolTip("Let the transition band follow edges in the photo (a "
                                     "guided filter), so light stops at a face's outline or "
                                     "a doorway instead of a smooth curve")
        self.follow_edges.toggled.connect(self.edges_toggled)
        form.addRow("", self.follow_edges)
        self.luma_range = QLabeledDoubleRangeSlider(Qt.Orientation.Horizontal)
        self.luma_range.setRange(0.0, 100.0)  # type: ignore[arg-type]
        self.luma_range.setDecimals(0)
        self.luma_range.setValue((0.0, 100.0))
        self.luma_range.setToolTip(
            "Luminance range, in % of white: only parts of the photo this bright are lit, "
            "so a lamp or a highlight inside the mask stays as it is (0–100 % = everything)")
        self.luma_soft = ValueSlider(0.0, 50.0, 10.0, decimals=0)
        self.luma_soft.setToolTip("How softly the range rolls off, in % of white. "
                                  "Double-click to reset.")
        self._range_quiet = False
        self.luma_range.valueChanged.connect(lambda _v: self._emit_range())
        self.luma_range.sliderReleased.connect(self.range_released)
        self.luma_soft.edited.connect(lambda _v: self._emit_range())
        self.luma_soft.released.connect(self.range_released)
        form.addRow("Range %", self.luma_range)
        form.addRow("Roll-off %", self.luma_soft)
        self.brush_size = ValueSlider(0.002, 0.5, 0.05, decimals=3)
        self.brush_size.setToolTip("Brush radius, as a share of the photo's short side; the "
                                   "label says it in the photo's pixels ([ and ] resize)")
        self.brush_size_label = QLabel("Brush size")
        self.short_side_px = 0
        self.brush_hardness = ValueSlider(0.0, 1.0, 0.5)
        self.brush_hardness.setToolTip("Brush edge: 1 crisp, 0 soft")
        for s in (self.brush_size, self.brush_hardness):
            s.edited.connect(lambda _v: self.brush_changed.emit())
        form.addRow(self.brush_size_label, self.brush_size)
        self.brush_size.valueChanged.connect(lambda _v: self.update_brush_label())
        form.addRow("Hardness", self.brush_hardness)
        self.auto_mask = QCheckBox("Auto-mask")
        self.auto_mask.setToolTip("The brush snaps to edges in the photo: paint over a face "
                                  "and the light stops at its outline")
        self.auto_mask.toggled.connect(lambda _on: self.brush_changed.emit())
        form.addRow("", self.auto_mask)
        self.mode_add = QRadioButton("Add")
        self.mode_erase = QRadioButton("Erase")
        self.mode_add.setToolTip("Paint or draw into area A (X toggles)")
        self.mode_erase.setToolTip("Remove from area A (X toggles)")
        self.mode_add.setChecked(True)
        self.mode_add.toggled.connect(lambda _on: self.brush_changed.emit())  # the cursor
        group = QButtonGroup(self)
        group.addButton(self.mode_add)
        group.addButton(self.mode_erase)
        row = QHBoxLayout()
        row.addWidget(self.mode_add)
        row.addWidget(self.mode_erase)
        form.addRow("Mode", row)
        self.overlay_button = QPushButton("Overlay (O)")
        self.overlay_button.setCheckable(True)
        self.overlay_button.setToolTip("Show area A (green) and the transition B (blue)")
        self.overlay_button.toggled.connect(self.overlay_toggled)
        self.invert_button = QPushButton("Invert (I)")
        self.invert_button.clicked.connect(self.invert_clicked)
        self.clear_button = QPushButton("Clear (Del)")
        self.clear_button.clicked.connect(self.clear_clicked)
        buttons = QHBoxLayout()
        for b in (self.overlay_button, self.invert_button, self.clear_button):
            buttons.addWidget(b)
        form.addRow(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(box)

    def set_transition(self, fraction: float) -> None:
        """Shows a transition width (fraction of the short side) in %, quietly."""
        if abs(self.transition.value() - fraction * 100.0) > 1e-6:
            self.transition.set_quietly(fraction * 100.0)

    def update_brush_label(self, short_side_px: int | None = None) -> None:
        """"Brush size 124 px": the radius in the photo's pixels (short side given once)."""
        if short_side_px is not None:
            self.short_side_px = short_side_px
        if self.short_side_px:
            px = self.brush_size.value() * self.short_side_px
            self.brush_size_label.setText(f"Brush size {px:,.0f} px")
        else:
            self.brush_size_label.setText("Brush size")

    def _emit_range(self) -> None:
        if not self._range_quiet:
            low, high = self.luma_range.value()
            self.range_edited.emit(low / 100.0, high / 100.0, self.luma_soft.value() / 100.0)

    def set_range(self, low: float, high: float, soft: float) -> None:
        """Shows a light's range (fractions of white) without emitting ``range_edited``."""
        self._range_quiet = True
        try:
            if tuple(round(v, 4) for v in self.luma_range.value()) != (round(low * 100, 4),
                                                                      round(high * 100, 4)):
                self.luma_range.setValue((low * 100.0, high * 100.0))
            if abs(self.luma_soft.value() - soft * 100.0) > 1e-9:
                self.luma_soft.set_quietly(soft * 100.0)
        finally:
            self._range_quiet = False

    @property
    def mode(self) -> str:
        return "erase" if self.mode_erase.isChecked() else "add"

    def toggle_mode(self) -> None:
        (self.mode_add if self.mode == "erase" else self.mode_erase).setChecked(True)


#: Milliseconds between histogram repaints while draft frames come in.
HISTOGRAM_PACE_MS = 100


class HistogramWidget(QWidget):
    """RGB histogram of the preview (square-root scaled counts)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._hist: np.ndarray | None = None
        self.setToolTip("Histogram of the preview (R, G, B)")
        #: while a slider moves, the histogram is repainted at most this often (a repaint
        #: costs ~2 ms of the GUI thread, as much as a tenth of a frame's budget)
        self._paced = QTimer(self)
        self._paced.setSingleShot(True)
        self._paced.setInterval(HISTOGRAM_PACE_MS)
        self._paced.timeout.connect(self.update)

    def set_histogram(self, hist: np.ndarray | None, *, now: bool = True) -> None:
        """``hist``: (3, 256) counts, or None to clear; ``now`` False (a draft frame) repaints
        within ``HISTOGRAM_PACE_MS`` instead of at once."""
        self._hist = None if hist is None else np.sqrt(hist.astype(np.float64))
        if now:
            self._paced.stop()
            self.update()
        elif not self._paced.isActive():
            self._paced.start()

    @property
    def repaint_pending(self) -> bool:
        """A paced repaint is waiting (``set_histogram(..., now=False)``)."""
        return self._paced.isActive()

    def paintEvent(self, event: QEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(28, 28, 30))
        if self._hist is None:
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Plus)
        w, h = self.width(), self.height() - 2
        peak = float(self._hist[:, 1:255].max() or self._hist.max() or 1.0)
        colors = (QColor(200, 60, 60, 200), QColor(60, 180, 60, 200), QColor(70, 90, 220, 200))
        xs = np.linspace(0, w, 256)
        for c in range(3):
            ys = h - np.minimum(self._hist[c] / peak, 1.0) * (h - 4)
            path = QPainterPath()
            path.moveTo(0, h)
            for x, y in zip(xs, ys, strict=True):
                path.lineTo(float(x), float(y))
            path.lineTo(w, h)
            path.closeSubpath()
            p.fillPath(path, colors[c])
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        p.setPen(QPen(QColor(80, 80, 84)))
        p.drawRect(QRectF(0, 0, w - 1, h + 1))
