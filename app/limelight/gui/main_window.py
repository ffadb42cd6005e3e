"""The editor window: canvas in the middle, tools left, adjustments right, status below.

The window owns the ``Document`` (the open photo and its edit), the ``PreviewWorker`` and
the undo stack; every edit is an ``EditCommand`` swapping ``EditState``s. File operations
(open, recipes, export, batch, close) are a ``FileController`` the window owns (``files``),
which sees the window only through the ``FileHost`` Protocol; actions and menus are built by
``actions`` against its ``ActionHost`` Protocol. No module below this one imports it.

Signals:
    preview_applied(PreviewResult): a preview was shown (tests and benchmarks wait on it).
    document_opened(Path): a photo was opened.
    detail_shown((x0, y0, x1, y1)): the 1:1 detail of that photo region is on screen.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QUndoStack
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from limelight.core.engine import Engine
from limelight.core.lights import MAX_NAME, Light, unique_name, whole_photo_light
from limelight.core.masks import Ellipse, Shape, Subject
from limelight.core.preview import union_box
from limelight.core.recompose import Knobs
from limelight.core.zoo import Zoo
from limelight.gui import actions
from limelight.gui.canvas import Canvas
from limelight.gui.commands import EditCommand, close_merging
from limelight.gui.document import Document, EditState
from limelight.gui.file_ops import FileController
from limelight.gui.lights_panel import LIGHT_KINDS, LightsPanel
from limelight.gui.overlay import paint_lights_overlay, paint_overlay
from limelight.gui.panels import AdjustPanel, HistogramWidget, MaskPanel
from limelight.gui.settings import EditorSettings
from limelight.gui.tools import BrushTool, EllipseTool, RectSelectTool, SubjectTool, Tool
from limelight.gui.worker import REFINE_DELAY_S, PreviewLayer, PreviewResult, PreviewWorker

log = logging.getLogger(__name__)

#: Pause (ms) after a zoom, a pan or an edit before the 1:1 detail is rendered.
DETAIL_DELAY_MS = 250


class MainWindow(QMainWindow):
    """The Limelight editor. ``engine`` None builds one over the shipped zoo;
    ``refine_delay_s`` is the preview worker's pause before its refined pass."""

    preview_applied = Signal(object)
    document_opened = Signal(object)
    detail_shown = Signal(object)

    def __init__(self, engine: Engine | Any | None = None, settings: EditorSettings | None = None,
                 parent: QWidget | None = None, *,
                 refine_delay_s: float = REFINE_DELAY_S) -> None:
        super().__init__(parent)
        self.setWindowTitle("Limelight")
        self.settings = settings or EditorSettings()
        self.engine = engine if engine is not None else Engine(device="auto")
        self.zoo: Zoo = self.engine.zoo
        self.doc: Document | None = None
        self.undo_stack = QUndoStack(self)
        self.worker = PreviewWorker(self.engine, self, refine_delay_s=refine_delay_s)
        self.worker.result_ready.connect(self._on_worker_result)
        self.worker.failed.connect(self._on_worker_failed)
        self.worker.busy_changed.connect(self._on_worker_busy)
        self._mask1: np.ndarray | None = None
        self._mask0: np.ndarray | None = None  # the selected light's A, its range applied
        self._last_result: PreviewResult | None = None
        self._sent_area: tuple[Any, np.ndarray] | None = None  # ``_area_snapshot``
        self._overlay_rgba: np.ndarray | None = None
        self._knob_changed_at: dict[int, float] = {}
        self._pending_knob_time: float | None = None
        self._synced_once = False
        self.last_inference_ms: float | None = None
        self.last_latency_ms: float | None = None
        self._direct_preview = False
        self.files = FileController(self, self, self.settings, self.engine, self.zoo)
        self.files.opened.connect(self.document_opened.emit)
        self._build_ui()
        self.tools: dict[str, Tool] = {
            "brush": BrushTool(self, self.canvas.scene()),
            "ellipse": EllipseTool(self, self.canvas.scene()),
            "smart": RectSelectTool(self, self.canvas.scene()),
            "subject": SubjectTool(self, self.canvas.scene()),
        }
        self.tool: Tool | None = None
        self.acts = actions.build(self, self)
        self.undo_stack.indexChanged.connect(self._on_undo_index_changed)
        self.adjust.set_models(self.zoo.models, self.zoo.default)
        self.files.set_recent_menu(self.acts.recent_menu)
        self.set_tool("brush")
        geometry = self.settings.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1500, 940)
        state = self.settings.window_state()
        if state is not None:
            self.restoreState(state)

    # -- layout ------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.canvas = Canvas(self)
        from limelight.gui.before_detail import BeforeDetail  # Before at 1:1 (issue 18, 4)

        self.before_detail = BeforeDetail(self)
        self.canvas.before_changed.connect(  # back from Before: the lit 1:1 detail again
            lambda: self.canvas.show_before or self.canvas.detail_item.isVisible()
            or self._schedule_detail())
        self.canvas.zoom_changed.connect(lambda _z: self._update_status())
        self.canvas.zoom_changed.connect(lambda _z: self._schedule_detail())
        self.canvas.view_moved.connect(self._schedule_detail)
        self._detail_timer = QTimer(self)
        self._detail_timer.setSingleShot(True)
        self._detail_timer.setInterval(DETAIL_DELAY_MS)
        self._detail_timer.timeout.connect(self._render_detail)
        self._detail_gen = 0
        self._detail_plans: tuple[Any, list[Any]] | None = None
        self._detail_task: Any = None
        #: (x0, y0, x1, y1) of the photo the 1:1 detail on screen shows
        self.detail_region: tuple[int, int, int, int] | None = None
        self.canvas.files_dropped.connect(self.files.open_dropped)
        self.setCentralWidget(self.canvas)
        self.setAcceptDrops(True)
        side = QWidget()
        v = QVBoxLayout(side)
        self.adjust = AdjustPanel()
        self.mask_panel = MaskPanel()
        self.histogram = HistogramWidget()
        self.lights_panel = LightsPanel()
        v.addWidget(self.histogram)
        v.addWidget(self.lights_panel)
        v.addWidget(self.adjust)
        v.addWidget(self.mask_panel)
        v.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(330)
        self.side_dock = actions.make_dock(self, "Adjustments", scroll)
        mp = self.mask_panel
        mp.brush_size.set_quietly(self.settings.get_float("brush/size", 0.05))
        mp.brush_hardness.set_quietly(self.settings.get_float("brush/hardness", 0.5))
        self.adjust.model_chosen.connect(self.set_model)
        self.adjust.knob_edited.connect(self.set_knob)
        self.adjust.knob_released.connect(lambda _n: self._knob_released())
        self.adjust.reset_requested.connect(self.reset_light)
        mp.transition_edited.connect(self.set_transition)
        mp.transition_released.connect(lambda: close_merging(self._last_command()))
        mp.brush_changed.connect(self._on_brush_changed)
        mp.overlay_toggled.connect(self.set_overlay)
        mp.invert_clicked.connect(self.invert_mask)
        mp.clear_clicked.connect(self.clear_mask)
        mp.edges_toggled.connect(self.set_edge_aware)
        mp.range_edited.connect(self.set_range)
        mp.range_released.connect(lambda: close_merging(self._last_command()))
        lp = self.lights_panel
        lp.add_requested.connect(self.add_light)
        lp.selected.connect(self.select_light)
        lp.visibility_toggled.connect(self.set_light_visible)
        lp.renamed.connect(self.rename_light)
        lp.duplicate_requested.connect(self.duplicate_light)
        lp.delete_requested.connect(self.delete_light)
        lp.move_requested.connect(self.move_light)
        sb = self.statusBar()
        self.status_file = QLabel()
        self.status_engine = QLabel()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(90)
        self.busy.setMaximumHeight(14)
        self.busy.setToolTip("Computing the preview")
        self.busy.hide()
        sb.addPermanentWidget(self.status_file)
        sb.addPermanentWidget(self.status_engine)
        sb.addPermanentWidget(self.busy)

    def _knob_released(self) -> None:
        """A slider let go: the drag's draft frames give way to the full-detail one now."""
        close_merging(self._last_command())
        self._direct_preview = True
        self.request_preview()

    def _last_command(self) -> Any:
        i = self.undo_stack.index()
        return self.undo_stack.command(i - 1) if i > 0 else None

    # -- document ----------------------------------------------------------------------------
    def prepare_document(self, doc: Document) -> None:
        """Everything about opening ``doc`` that can fail, done before the window changes:
        the model resolved against the zoo, the subject detector attached, the mask drawn.
        Raises (LimelightError or any other error) with the window untouched."""
        if doc.state.model is None or doc.state.model not in self.zoo.names:
            # the zoo's default stands in for a missing or absent model: opening is no edit
            doc.state = replace(doc.state, model=self.zoo.default)
            doc.saved_state = doc.state
        doc.subject_fn = self._subject_fn_for(doc)
        if any(isinstance(sh, Subject) for light in doc.state.lights for sh in light.mask.shapes):
            doc.refresh_areas()  # now that the detector is known
        if min(doc.proxy_hw) < 2:
            raise ValueError(f"the preview is {doc.proxy_hw[1]}x{doc.proxy_hw[0]} pixels")

    def _subject_fn_for(self, doc: Document) -> Any:
        try:
            from limelight.core.subject import is_installed, subject_fn_for
        except ImportError:
            return None
        return subject_fn_for(doc.img) if is_installed() else None

    def open_path(self, path: Path, *, ask: bool = True) -> bool:
        """Opens a photo in this window (``FileController.open_path``)."""
        return self.files.open_path(path, ask=ask)

    def set_document(self, doc: Document) -> None:
        """Shows ``doc`` (loaded and passed through ``prepare_document``) with its edit;
        clears the undo history."""
        self.doc = doc
        self.undo_stack.clear()
        self._mask1 = None
        self._mask0 = None
        self._last_result = None
        w, h = doc.full_size
        self.canvas.set_photo_size(w, h)
        self.canvas.detail_item.hide()
        self._detail_plans = None
        self.canvas.before_item.set_array(doc.display)
        self.canvas.after_item.set_array(doc.display)
        self._overlay_rgba = np.zeros((*doc.proxy_hw, 4), np.uint8)
        self.canvas.overlay_item.set_array(self._overlay_rgba)
        self._sync_ui(doc.state)
        self.mask_panel.update_brush_label(min(doc.full_size))
        self._update_title()
        self.request_preview()
        self._schedule_detail()

    # -- tool host ---------------------------------------------------------------------------
    def photo_size(self) -> tuple[int, int]:
        return self.doc.full_size if self.doc else (1, 1)

    def brush_settings(self) -> tuple[float, float, str]:
        mp = self.mask_panel
        return mp.brush_size.value(), mp.brush_hardness.value(), mp.mode

    def begin_stroke(self, pos: QPointF) -> None:
        if self.doc is None:
            return
        radius, hardness, mode = self.brush_settings()
        self._before_stroke = self.doc.state
        if self.doc.state.light is None:  # painting starts a light (undone with the stroke)
            self.doc.set_state(self.doc.state.with_spec())
            self.lights_panel.set_lights(self.doc.state.lights, self.doc.state.selected)
        bbox = self.doc.begin_stroke(pos.x(), pos.y(), radius, hardness, mode,
                                     auto=self.mask_panel.auto_mask.isChecked())
        self._refresh_overlay(bbox)

    def continue_stroke(self, pos: QPointF) -> None:
        if self.doc is None or not self.doc.painting:
            return
        bbox = self.doc.stroke_to(pos.x(), pos.y())
        if bbox is not None:
            self._refresh_overlay(bbox)
            if not self.busy.isVisible() and self.mask_panel.overlay_button.isChecked() is False:
                self.request_preview()  # live light while painting, at most one in flight

    def end_stroke(self) -> None:
        if self.doc is None:
            return
        stroke = self.doc.end_stroke()
        if stroke is None:
            return
        state = self.doc.state
        new = state.with_spec(shapes=(*state.spec.shapes, stroke))
        text = "Brush stroke" if stroke.mode == "add" else "Erase stroke"
        before = getattr(self, "_before_stroke", None) or state
        self.doc.state = before  # the command goes from the state before the stroke
        self._direct_preview = True  # mouse-up: no fall-back to the quick pass
        # an auto-mask stroke is drawn again, snapped to the photo's edges
        self.push_edit(text, new, painted=not stroke.auto)

    def add_shape(self, shape: Shape, text: str) -> None:
        if self.doc is None:
            return
        state = self.doc.state
        self.push_edit(text, state.with_spec(shapes=(*state.spec.shapes, shape)))

    def replace_shape(self, index: int, shape: Ellipse, text: str) -> None:
        if self.doc is None:
            return
        shapes = list(self.doc.state.spec.shapes)
        shapes[index] = shape
        self._direct_preview = True  # a handle was released: no fall-back to the quick pass
        self.push_edit(text, self.doc.state.with_spec(shapes=tuple(shapes)))

    # -- edits -------------------------------------------------------------------------------
    def push_edit(self, text: str, new: EditState, merge_key: str | None = None,
                  painted: bool = False) -> None:
        """Makes ``new`` the edit as one undo step ``text`` (merged with the previous step
        of the same ``merge_key``; ``painted``: the document already shows it)."""
        if self.doc is None or new == self.doc.state:
            return
        self.undo_stack.push(EditCommand(text, self.doc.state, new, self._apply_state,
                                         merge_key=merge_key, already_applied=painted))

    def _apply_state(self, state: EditState, already_painted: bool) -> None:
        """Installs an edit state (from a command) and refreshes everything that shows it."""
        doc = self.doc
        if doc is None:
            return
        if already_painted:
            doc.adopt_painted(state)
            mask_changed = True
        else:
            mask_changed = doc.set_state(state)
        self.request_preview()  # first: the worker computes while the panels catch up
        self._sync_ui(state, mask_changed)
        self._update_title()
        self.canvas.detail_item.hide()  # the 1:1 detail shows the edit before this one
        self._schedule_detail()

    def _sync_ui(self, state: EditState, mask_changed: bool = True) -> None:
        """Shows ``state`` in the panels (only what differs: a slider drag stays cheap)."""
        if self.adjust.shown_model != state.model or not self._synced_once:
            self.adjust.set_model(state.model)
            self._synced_once = True
        self.adjust.set_knobs(state.knobs)
        self.adjust.set_light_enabled(state.light is not None)
        self.lights_panel.set_lights(state.lights, state.selected)
        self.mask_panel.set_transition(state.spec.transition)
        spec = state.spec
        self.mask_panel.set_range(spec.range_low, spec.range_high, spec.range_soft)
        if self.mask_panel.follow_edges.isChecked() != state.spec.edge_aware:
            self.mask_panel.follow_edges.blockSignals(True)
            self.mask_panel.follow_edges.setChecked(state.spec.edge_aware)
            self.mask_panel.follow_edges.blockSignals(False)
        tool = self.tools["ellipse"]
        assert isinstance(tool, EllipseTool)
        if mask_changed or len(tool.items) != sum(isinstance(s, Ellipse) for s in state.spec.shapes):
            tool.sync(state.spec.shapes)
        if mask_changed:
            self._refresh_overlay()
            if self.doc is not None and self.doc.mask_error:
                self.show_error(self.doc.mask_error)

    def set_knob(self, name: str, value: float) -> None:
        if self.doc is None:
            return
        self._pending_knob_time = time.perf_counter()
        state = self.doc.state
        if state.light is None:
            return
        self.push_edit(f"Change {name}", state.with_knobs(state.knobs.with_(**{name: value})),
                   merge_key=f"knob:{state.selected}:{name}")

    def reset_light(self) -> None:
        if self.doc is not None:
            self.push_edit("Reset light", self.doc.state.with_knobs(Knobs()))

    def set_model(self, name: str) -> None:
        if self.doc is not None:
            self.push_edit("Change model", replace(self.doc.state, model=name))

    def set_transition(self, value: float) -> None:
        if self.doc is not None:
            self.push_edit("Change transition", self.doc.state.with_spec(transition=value),
                       merge_key="transition")

    def set_edge_aware(self, on: bool) -> None:
        """The band follows the photo's edges (``MaskSpec.edge_aware``), or not."""
        if self.doc is not None and self.doc.state.spec.edge_aware != on:
            self.push_edit("Follow edges" if on else "Smooth band",
                       self.doc.state.with_spec(edge_aware=on))

    def set_range(self, low: float, high: float, soft: float) -> None:
        """The selected light's luminance range (fractions of white; ``MaskSpec.range_*``)."""
        doc = self.doc
        if doc is None or doc.state.light is None:
            return
        low = min(max(low, 0.0), 0.99)
        high = min(max(high, low + 0.01), 1.0)
        self.push_edit("Change range", doc.state.with_spec(range_low=low, range_high=high,
                                                       range_soft=min(max(soft, 0.0), 0.5)),
                   merge_key=f"range:{doc.state.selected}")

    def invert_mask(self) -> None:
        if self.doc is not None:
            self.push_edit("Invert mask", self.doc.state.with_spec(invert=not self.doc.state.spec.invert))

    def clear_mask(self) -> None:
        """Removes the selected light's shapes: it covers nothing (the light stays listed)."""
        if self.doc is not None and self.doc.state.light is not None:
            self.push_edit("Clear mask", self.doc.state.with_spec(shapes=(), invert=False))

    # -- lights ------------------------------------------------------------------------------
    def add_light(self, kind: str) -> None:
        """A new light, selected: ``kind`` "whole" covers the photo; "brush", "ellipse",
        "smart" and "subject" start empty and pick that tool (subject: runs the selection)."""
        if self.doc is None:
            return
        state = self.doc.state
        names = [light.name for light in state.lights]
        base = LIGHT_KINDS.get(kind, "Light")
        if kind == "whole":
            light = whole_photo_light(unique_name(base, names))
        else:
            light = Light(unique_name(base, names))
        new = replace(state, lights=(*state.lights, light), selected=len(state.lights))
        self.push_edit(f"Add light {light.name}", new)
        if kind in ("brush", "ellipse", "smart"):
            self.set_tool(kind)
        elif kind == "subject":
            self.set_tool("subject")
            self.subject_select()

    def select_light(self, index: int) -> None:
        """Makes light ``index`` the one the panels and tools edit (not an undo step)."""
        doc = self.doc
        if doc is None or index == doc.state.selected or not -1 <= index < len(doc.state.lights):
            return
        state = replace(doc.state, selected=index)
        mask_changed = doc.set_state(state)
        self._sync_ui(state, mask_changed)
        self.request_preview()

    def _edit_lights(self, text: str, lights: list[Light], selected: int) -> None:
        assert self.doc is not None
        selected = min(selected, len(lights) - 1)
        self.push_edit(text, replace(self.doc.state, lights=tuple(lights), selected=selected))

    def _light_index(self, index: int | None) -> int | None:
        """``index`` (the selected light when None) if it names a light of the open photo,
        else None."""
        if self.doc is None:
            return None
        index = self.doc.state.selected if index is None else index
        return index if 0 <= index < len(self.doc.state.lights) else None

    def set_light_visible(self, index: int, visible: bool) -> None:
        if self.doc is None or self._light_index(index) is None:
            return
        lights = list(self.doc.state.lights)
        if lights[index].visible != visible:
            lights[index] = replace(lights[index], visible=visible)
            self._edit_lights(("Show " if visible else "Hide ") + lights[index].name, lights,
                              self.doc.state.selected)

    def rename_light(self, index: int, name: str) -> None:
        if self.doc is None or self._light_index(index) is None:
            return
        name = name.strip()[:MAX_NAME]
        lights = list(self.doc.state.lights)
        if not name:
            self._sync_ui(self.doc.state, False)  # an empty name: show the old one again
            return
        if name == lights[index].name:
            return
        lights[index] = replace(lights[index], name=name)
        self._edit_lights(f"Rename light {name}", lights, self.doc.state.selected)

    def duplicate_light(self, index: int | None = None) -> None:
        index = self._light_index(index)
        if self.doc is None or index is None:
            return
        lights = list(self.doc.state.lights)
        copy = replace(lights[index], name=unique_name(f"{lights[index].name} copy",
                                                       [x.name for x in lights]))
        lights.insert(index + 1, copy)
        self._edit_lights(f"Duplicate {lights[index].name}", lights, index + 1)

    def delete_light(self, index: int | None = None) -> None:
        index = self._light_index(index)
        if self.doc is None or index is None:
            return
        lights = list(self.doc.state.lights)
        gone = lights.pop(index)
        self._edit_lights(f"Delete {gone.name}", lights, index if lights else -1)

    def move_light(self, index: int, delta: int) -> None:
        """Moves light ``index`` by ``delta`` places in the list (later = on top)."""
        if self.doc is None:
            return
        lights = list(self.doc.state.lights)
        to = index + delta
        if not (0 <= index < len(lights) and 0 <= to < len(lights)):
            return
        lights.insert(to, lights.pop(index))
        self._edit_lights(f"Move {lights[to].name}", lights, to)

    # -- tools -------------------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        if self.tool is not None:
            self.tool.deactivate()
        self.tool = self.tools[name]
        self.tool.activate()
        self.canvas.tool = self.tool  # type: ignore[assignment]
        act = self.acts.tools.get(name)
        if act is not None and not act.isChecked():
            act.setChecked(True)

    def resize_brush(self, factor: float) -> None:
        slider = self.mask_panel.brush_size
        lo, hi = slider.minimum(), slider.maximum()
        slider.setValue(min(max(slider.value() * factor, lo), hi))
        self._on_brush_changed()

    def _on_brush_changed(self) -> None:
        size, hardness, _mode = self.brush_settings()
        self.settings.set_value("brush/size", size)
        self.settings.set_value("brush/hardness", hardness)
        brush = self.tools["brush"]
        assert isinstance(brush, BrushTool)
        brush.update_cursor()

    def smart_select(self, rect: QRectF) -> None:
        self.files.run_selection("smart", rect)

    def subject_select(self) -> None:
        self.files.run_selection("subject", None)

    # -- preview -----------------------------------------------------------------------------
    def request_preview(self) -> int | None:
        """Queues a preview of the current edit; returns the request id."""
        doc = self.doc
        if doc is None:
            return None
        model = doc.state.model if self.zoo.models else None
        h, w = doc.proxy_hw
        layers: list[PreviewLayer] = []
        selected = -1
        for index, light, area, key in doc.layers():
            if index == doc.state.selected:
                selected = len(layers)
                area = self._area_snapshot(key, area)
            layers.append(PreviewLayer(
                mask_key=key, area_a=area, transition_px=light.mask.transition_px(h, w),
                knobs=light.knobs, band=light.mask.effective_band,
                edge_aware=light.mask.edge_aware,
                luma_range=(light.mask.range_low, light.mask.range_high, light.mask.range_soft)
                if light.mask.has_range else None))
        direct, self._direct_preview = self._direct_preview, False
        rid = self.worker.submit(
            image_key=doc.image_key, model=model, img=doc.img, display=doc.display,
            layers=tuple(layers), selected=selected, direct=direct,
        )
        self._knob_changed_at[rid] = self._pending_knob_time or time.perf_counter()
        self._pending_knob_time = None
        return rid

    def _area_snapshot(self, key: Any, area: np.ndarray) -> np.ndarray:
        """A copy of the selected light's area A for the worker (painting goes on in the GUI
        thread), made once per key: the document's key changes whenever the area does, so a
        knob move sends the copy it sent before."""
        kept = self._sent_area
        if kept is None or kept[0] != key or kept[1].shape != area.shape:
            kept = self._sent_area = (key, area.copy())
        return kept[1]

    def _on_worker_result(self, result: PreviewResult) -> None:
        if result.request_id != self.worker.latest_id or self.doc is None:
            self.worker.dropped += 1
            return
        if result.display.shape[:2] != self.doc.proxy_hw:
            return
        previous = self._last_result
        region = None
        if previous is not None and result.damage is not None \
                and result.damage_since == previous.request_id \
                and previous.display.shape == result.display.shape:
            region = result.damage  # the worker's frame before this one is the one shown
        elif previous is not None and previous.changed is not None and result.changed is not None \
                and previous.display.shape == result.display.shape:
            region = union_box([previous.changed, result.changed])
        self.canvas.after_item.set_array(result.display, region)
        self._last_result = result
        self._mask1 = result.mask[1]
        self._mask0 = result.mask[0]
        self.histogram.set_histogram(result.histogram, now=result.refined)
        if self.canvas.overlay_item.isVisible():
            self._refresh_overlay()
        started = self._knob_changed_at.pop(result.request_id, None)
        for rid in [k for k in self._knob_changed_at if k < result.request_id]:
            del self._knob_changed_at[rid]
        if started is not None:
            self.last_latency_ms = (time.perf_counter() - started) * 1000.0
        if result.inference_ms is not None:
            self.last_inference_ms = result.inference_ms
        self._update_status(result)
        self.preview_applied.emit(result)

    def _on_worker_failed(self, request_id: int, message: str) -> None:
        if request_id == self.worker.latest_id:
            self.statusBar().showMessage(message, 15000)

    def _on_worker_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)

    # -- 1:1 detail ------------------------------------------------------------------------
    def _schedule_detail(self) -> None:
        """At 100 % and above, renders the visible part from the full-resolution photo with
        the export's own computation once the view and the edit rest (``DETAIL_DELAY_MS``)."""
        self._detail_gen += 1
        if self.canvas.zoom < 0.999 or self.doc is None or self.doc.path is None:
            self.canvas.detail_item.hide()
            self._detail_timer.stop()
            return
        self._detail_timer.start()

    def _render_detail(self) -> None:
        doc, seen = self.doc, self.canvas.visible_photo_rect()
        if doc is None or doc.path is None or seen is None or self.canvas.show_before \
                or self.canvas.zoom < 0.999:
            return
        if self._detail_task is not None and self._detail_task.running:
            self._detail_timer.start()  # one at a time: try again when it is done
            return
        from limelight.core.imageio import read_image
        from limelight.core.pipeline import apply_plans_rows, export_plans

        gen, recipe, engine, path = self._detail_gen, self.files.current_recipe(), self.engine, \
            doc.path
        key = (doc.image_key, recipe)
        cached = self._detail_plans if self._detail_plans and self._detail_plans[0] == key \
            else None
        subject_fn = doc.subject_fn
        x0, y0, x1, y1 = seen

        def job(_progress: Any) -> Any:
            image = doc.full_image
            if image is None:
                image = doc.full_image = read_image(path)
            if image.pixels.shape[:2] != (doc.full_size[1], doc.full_size[0]):
                return None  # the header's size was not the decoded one: keep the proxy
            plans = cached[1] if cached is not None else (
                export_plans(path, image, recipe, engine, subject_fn=subject_fn)
                if self.zoo.models else [])
            rows = apply_plans_rows(image.pixels, plans, y0, y1)[:, x0:x1]
            if rows.dtype != np.uint8:
                rows = (rows >> 8).astype(np.uint8)
            return gen, key, plans, (x0, y0, x1, y1), np.ascontiguousarray(rows)

        from limelight.gui.background import Task

        task = Task(job, "1:1 detail", self)
        task.succeeded.connect(self._on_detail_ready)
        task.failed.connect(self.show_error)
        self._detail_task = task
        task.start()

    def _on_detail_ready(self, result: Any) -> None:
        if result is None:
            return
        gen, key, plans, (x0, y0, x1, y1), rows = result
        self._detail_plans = (key, plans)
        if gen != self._detail_gen or self.canvas.show_before or self.canvas.zoom < 0.999:
            if gen != self._detail_gen:
                self._detail_timer.start()
            return
        item = self.canvas.detail_item
        item.set_rect(QRectF(x0, y0, x1 - x0, y1 - y0))
        item.set_array(rows)
        item.show()
        self.detail_region = (x0, y0, x1, y1)
        self.detail_shown.emit(self.detail_region)

    # -- overlay -----------------------------------------------------------------------------
    def set_overlay(self, visible: bool) -> None:
        self.canvas.overlay_item.setVisible(visible)
        if self.mask_panel.overlay_button.isChecked() != visible:
            self.mask_panel.overlay_button.setChecked(visible)
        if self.acts.overlay.isChecked() != visible:
            self.acts.overlay.setChecked(visible)
        if not visible and self.all_lights_overlay:
            self.set_all_lights_overlay(False)
        if visible:
            self._refresh_overlay()

    #: Shift+O: the overlay shows every light in its own colour (``overlay.LIGHT_COLORS``)
    all_lights_overlay = False

    def set_all_lights_overlay(self, on: bool) -> None:
        """Shift+O: every light's weight in its own colour; off: back to the plain view."""
        self.all_lights_overlay = on
        act = self.acts.by_name.get("all_lights_overlay")
        if act is not None and act.isChecked() != on:
            act.setChecked(on)
        if on and not self.canvas.overlay_item.isVisible():
            self.set_overlay(True)
        elif not on and self.canvas.overlay_item.isVisible():
            self.set_overlay(False)
        self._refresh_overlay()

    def _refresh_overlay(self, bbox: tuple[int, int, int, int] | None = None) -> None:
        """Recolours the overlay (A green, B blue) in ``bbox`` (proxy rows/cols) or everywhere."""
        doc, rgba = self.doc, self._overlay_rgba
        if doc is None or rgba is None or not self.canvas.overlay_item.isVisible():
            return
        result = self._last_result
        if self.all_lights_overlay and result is not None \
                and result.display.shape[:2] == rgba.shape[:2]:
            paint_lights_overlay(rgba, list(result.weights))
            self.canvas.overlay_item.update_array_region(0, rgba.shape[0], 0, rgba.shape[1])
            return
        h, w = doc.proxy_hw
        y0, y1, x0, x1 = bbox if bbox is not None else (0, h, 0, w)
        weight = None
        if self._mask1 is not None and self._mask1.shape == (h, w):
            weight = self._mask1[y0:y1, x0:x1]
        area = doc.area_a_region(y0, y1, x0, x1)
        if doc.state.spec.has_range and not doc.painting and self._mask0 is not None \
                and self._mask0.shape == (h, w):
            area = self._mask0[y0:y1, x0:x1]  # what the range leaves of A (lamps left out)
        paint_overlay(rgba, area, weight, (y0, y1, x0, x1))
        self.canvas.overlay_item.update_array_region(y0, y1, x0, x1)

    # -- status ------------------------------------------------------------------------------
    def _update_status(self, result: PreviewResult | None = None) -> None:
        doc = self.doc
        if doc is not None:
            name = doc.path.name if doc.path else "untitled"
            w, h = doc.full_size
            self.status_file.setText(f"{name}  {w}×{h}  ·  zoom {self.canvas.zoom * 100:.0f} %")
        if not self.zoo.models:
            self.status_engine.setText("No models installed — masks only")
            return
        if result is not None:
            parts = [result.device]
            inf = self.last_inference_ms
            if inf is not None:
                parts.append(f"inference {inf:.0f} ms")
            if self.last_latency_ms is not None:
                parts.append(f"preview {self.last_latency_ms:.0f} ms")
            if not result.refined:  # the fast pass: the full-detail one follows on a pause
                parts.append("refining…")
            self.status_engine.setText("  ·  ".join(parts))

    # -- what the file controller asks of the window (``FileHost``) ------------------------
    def edit_saved(self) -> None:
        """The edit on screen was saved: the undo stack's clean point and the title follow."""
        self.undo_stack.setClean()
        self._update_title()

    def show_error(self, message: str) -> None:
        """A problem in one sentence, in the status bar and the log."""
        log.warning("%s", message)
        self.statusBar().showMessage(message, 20000)

    def show_error_dialog(self, title: str, text: str) -> None:
        """A modal warning (tests replace it)."""
        QMessageBox.warning(self, title, text)

    def ask_save_changes(self) -> QMessageBox.StandardButton:
        """Whether to save the unsaved edit first (tests replace it)."""
        name = self.doc.path.name if self.doc and self.doc.path else "this photo"
        return QMessageBox.question(
            self, "Unsaved edit", f"Save the edit of {name} as a recipe before closing it?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)

    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.files.open_dropped(paths)

    def _on_undo_index_changed(self, _index: int) -> None:
        self._update_title()

    def _update_title(self) -> None:
        name = self.doc.path.name if self.doc and self.doc.path else "Limelight"
        dirty = self.doc is not None and self.doc.dirty
        self.setWindowTitle(f"{'• ' if dirty else ''}{name} — Limelight")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self.files.confirm_discard():
            event.ignore()
            return
        self.settings.save_window(self.saveGeometry(), self.saveState())
        self.settings.sync()
        self.worker.stop(timeout=2.0)
        event.accept()
