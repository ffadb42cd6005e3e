"""End-to-end editor tests (pytest-qt, offscreen): paint, preview, knobs, undo, recipes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gui_helpers import drag, idle, make_window, open_and_wait  # type: ignore[import-not-found]

from limelight.core.masks import Ellipse
from limelight.core.recipe import sidecar_path

pytestmark = pytest.mark.gui


def paint_stroke(qtbot, win):  # noqa: ANN001, ANN201
    """A horizontal stroke through the middle; returns the preview that follows it."""
    w, h = win.doc.full_size
    points = [(w * (0.3 + 0.4 * t / 20), h * 0.5) for t in range(21)]
    with qtbot.waitSignal(win.preview_applied, timeout=20000):
        drag(win.canvas, points)
    # A live preview may have been requested mid-stroke: wait for the final one.
    idle(qtbot, win)
    return win._last_result


def test_stroke_preview_keeps_area_c_identical(qtbot, window, photo: Path) -> None:
    first = open_and_wait(qtbot, window, photo)
    assert first.display.shape == window.doc.display.shape
    paint_stroke(qtbot, window)
    result = window._last_result
    assert result.request_id == window.worker.latest_id
    assert len(window.doc.state.spec.shapes) == 1
    mask = result.mask
    c = mask[1] == 0
    a = mask[0] >= 0.999
    assert c.sum() > 0.3 * c.size and a.sum() > 100
    np.testing.assert_array_equal(result.display[c], window.doc.display[c])
    assert result.display[a].mean() > window.doc.display[a].mean() + 5


def test_degree_up_brightens_area_a_without_network(qtbot, window, photo: Path) -> None:
    open_and_wait(qtbot, window, photo)
    window.add_shape(Ellipse(0.5, 0.5, 0.25, 0.3), "ellipse")
    idle(qtbot, window)
    base = window._last_result
    a = base.mask[0] >= 0.999
    runs = len(window.worker._runs)
    with qtbot.waitSignal(window.preview_applied, timeout=20000) as blocker:
        window.adjust.sliders["degree"].setValue(1.6)
    brighter = blocker.args[0]
    assert window.doc.state.knobs.degree == pytest.approx(1.6)
    assert brighter.inference_ms is None, "a knob change must not re-run the network"
    assert len(window.worker._runs) == runs
    assert brighter.display[a].astype(float).mean() > base.display[a].astype(float).mean() + 3
    c = base.mask[1] == 0
    np.testing.assert_array_equal(brighter.display[c], window.doc.display[c])


def test_stale_results_are_dropped(qtbot, slow_engine, settings, photo: Path) -> None:
    slow_engine.delay = 0.0  # its gate orders the runs: no sleeping
    win = make_window(qtbot, slow_engine, settings)
    try:
        open_and_wait(qtbot, win, photo)
        win.canvas.set_zoom(0.5)  # (below 100 %: no 1:1 detail runs the engine meanwhile)
        qtbot.waitUntil(lambda: not (win._detail_task and win._detail_task.running))
        win.add_light("whole")  # (a photo opens with no light: nothing to run)
        idle(qtbot, win)
        applied: list[int] = []
        win.preview_applied.connect(lambda r: applied.append(r.request_id))
        calls_before = len(slow_engine.calls)
        slow_engine.gate.clear()  # the first request blocks inside the engine
        ids = []
        for width in (0.05, 0.1, 0.15):  # each needs a network re-run (the mask changes)
            win.set_transition(width)
            ids.append(win.worker.latest_id)
            if len(ids) == 1:  # let the worker start the first one: it is now stuck in run()
                qtbot.waitUntil(lambda: len(slow_engine.calls) == calls_before + 1)
        assert ids == sorted(ids) and len(set(ids)) == 3
        with qtbot.waitSignal(win.preview_applied, timeout=20000) as blocker:
            slow_engine.gate.set()
        idle(qtbot, win)
        assert blocker.args[0].request_id == ids[-1]
        assert applied == [ids[-1]]
        # the first ran (and was dropped), the second never ran (replaced), the third ran
        # (the previews' runs are at the proxy's size; the 1:1 detail's at the model's)
        proxy = (*win.doc.proxy_hw, 3)
        assert sum(c[1] == proxy for c in slow_engine.calls[calls_before:]) == 2
        assert win.worker.dropped >= 2
    finally:
        slow_engine.gate.set()
        idle(qtbot, win)
        win.worker.stop()


def test_undo_restores_the_mask(qtbot, window, photo: Path) -> None:
    open_and_wait(qtbot, window, photo)
    window.add_shape(Ellipse(0.3, 0.3, 0.1, 0.1), "ellipse")
    idle(qtbot, window)
    before = window.doc.area_a().copy()
    paint_stroke(qtbot, window)
    after = window.doc.area_a().copy()
    assert not np.array_equal(before, after)
    window.undo_stack.undo()
    np.testing.assert_array_equal(window.doc.area_a(), before)
    assert len(window.doc.state.spec.shapes) == 1
    window.undo_stack.redo()
    np.testing.assert_allclose(window.doc.area_a(), after, atol=1e-6)
    idle(qtbot, window)


def test_slider_moves_merge_into_one_undo_step(qtbot, window, photo: Path) -> None:
    open_and_wait(qtbot, window, photo)
    window.add_light("whole")
    slider = window.adjust.sliders["degree"]
    start = window.undo_stack.count()
    for v in (1.1, 1.2, 1.3):
        slider.setValue(v)
    assert window.undo_stack.count() == start + 1
    slider.released.emit()
    slider.setValue(1.5)
    assert window.undo_stack.count() == start + 2
    window.undo_stack.undo()
    assert window.doc.state.knobs.degree == pytest.approx(1.3)
    assert slider.value() == pytest.approx(1.3)
    window.undo_stack.undo()
    assert window.doc.state.knobs.degree == pytest.approx(1.0)
    idle(qtbot, window)


def test_follow_edges_changes_the_band_is_undoable_and_saved(qtbot, window, photo: Path
                                                             ) -> None:
    open_and_wait(qtbot, window, photo)
    window.add_shape(Ellipse(0.5, 0.5, 0.25, 0.25), "ellipse")
    window.set_transition(0.15)
    idle(qtbot, window)
    smooth = window._last_result.mask.copy()
    with qtbot.waitSignal(window.preview_applied, timeout=20000):
        window.mask_panel.follow_edges.setChecked(True)
    assert window.doc.state.spec.edge_aware
    edged = window._last_result.mask
    assert not np.array_equal(edged[1], smooth[1])
    assert (edged[1][smooth[1] == 0] == 0).all()  # area C is still area C
    window.undo_stack.undo()
    assert not window.doc.state.spec.edge_aware
    assert not window.mask_panel.follow_edges.isChecked()
    window.undo_stack.redo()
    assert window.mask_panel.follow_edges.isChecked()
    assert window.files.save_recipe()
    from limelight.core.recipe import load_recipe

    assert load_recipe(sidecar_path(photo)).mask.edge_aware
    idle(qtbot, window)


def test_recipe_round_trip(qtbot, window, photo: Path, engine, settings) -> None:
    open_and_wait(qtbot, window, photo)
    window.add_shape(Ellipse(0.4, 0.55, 0.2, 0.15, 30.0), "ellipse")
    paint_stroke(qtbot, window)
    window.adjust.sliders["degree"].setValue(1.4)
    window.adjust.sliders["gamma2"].setValue(0.8)
    window.set_transition(0.1)
    window.invert_mask()
    assert window.doc.dirty
    assert window.files.save_recipe()
    assert sidecar_path(photo).is_file()
    assert not window.doc.dirty
    saved = window.doc.state
    idle(qtbot, window)
    other = make_window(qtbot, engine, settings)
    try:
        open_and_wait(qtbot, other, photo)
        assert other.doc.state == saved
        assert not other.doc.dirty
        np.testing.assert_allclose(other.doc.area_a(), window.doc.area_a(), atol=1e-5)
        assert other.adjust.sliders["gamma2"].value() == pytest.approx(0.8)
    finally:
        other.worker.stop()


def test_apply_recipe_file_is_undoable(qtbot, window, photo: Path, tmp_path: Path) -> None:
    from limelight.core.masks import MaskSpec
    from limelight.core.recipe import Recipe, save_recipe
    from limelight.core.recompose import Knobs

    open_and_wait(qtbot, window, photo)
    recipe = Recipe(model="tiny-retinex", knobs=Knobs(degree=0.7),
                    mask=MaskSpec(shapes=(Ellipse(0.5, 0.5, 0.2, 0.2),)))
    path = save_recipe(recipe, tmp_path / "look.limelight.json")
    with qtbot.waitSignal(window.preview_applied, timeout=20000):
        assert window.files.apply_recipe_file(path)
    assert window.doc.state.model == "tiny-retinex"
    assert window.adjust.sliders["gamma1"].isEnabled()  # the finish's knobs: every family
    assert window.doc.state.knobs.degree == pytest.approx(0.7)
    window.undo_stack.undo()
    assert window.doc.state.model == "tiny-fusion"
    assert window.doc.state.knobs.degree == pytest.approx(1.0)
    idle(qtbot, window)


def test_export_writes_a_file_that_reopens(qtbot, window, photo: Path, tmp_path: Path) -> None:
    from limelight.core.imageio import read_image

    open_and_wait(qtbot, window, photo)
    window.add_shape(Ellipse(0.5, 0.5, 0.2, 0.25), "ellipse")
    idle(qtbot, window)
    out = tmp_path / "out" / "dark_lit.png"
    out.parent.mkdir()
    task = window.files.start_export(out, fmt="PNG", bit_depth=8)
    progress: list[float] = []
    task.progressed.connect(progress.append)
    with qtbot.waitSignal(task.finished, timeout=30000):
        pass
    assert out.is_file()
    exported, source = read_image(out).pixels, read_image(photo).pixels
    assert exported.shape == source.shape
    assert progress and progress[-1] == pytest.approx(1.0)
    corner = (slice(0, 10), slice(0, 10))  # far outside the ellipse: area C
    np.testing.assert_array_equal(exported[corner], source[corner])
    assert exported[80, 120].mean() > source[80, 120].mean()


def test_close_with_unsaved_edit_asks(qtbot, window, photo: Path) -> None:
    from PySide6.QtWidgets import QMessageBox

    open_and_wait(qtbot, window, photo)
    window.invert_mask()
    idle(qtbot, window)
    asked: list[bool] = []
    window.ask_save_changes = lambda: asked.append(True) or QMessageBox.StandardButton.Cancel
    assert not window.close()
    assert asked
    window.ask_save_changes = lambda: QMessageBox.StandardButton.Save
    assert window.close()
    assert sidecar_path(photo).is_file()


def test_empty_zoo_still_opens(qtbot, settings, photo: Path, tmp_path: Path) -> None:
    from limelight.core.engine import Engine

    win = make_window(qtbot, Engine(tmp_path / "nozoo", device="cpu"), settings)
    try:
        result = open_and_wait(qtbot, win, photo)
        np.testing.assert_array_equal(result.display, win.doc.display)
        assert "No models installed" in win.status_engine.text()
        assert not win.adjust.model_combo.isEnabled()
    finally:
        win.worker.stop()


def test_ellipse_tool_draws_and_edits(qtbot, window, photo: Path) -> None:
    open_and_wait(qtbot, window, photo)
    window.set_tool("ellipse")
    w, h = window.doc.full_size
    with qtbot.waitSignal(window.preview_applied, timeout=20000):
        drag(window.canvas, [(w * 0.5, h * 0.5), (w * 0.6, h * 0.55), (w * 0.7, h * 0.6)])
    (shape,) = window.doc.state.spec.shapes
    assert isinstance(shape, Ellipse)
    assert shape.cx == pytest.approx(0.5, abs=0.01) and shape.rx == pytest.approx(0.2, abs=0.01)
    item = window.tools["ellipse"].items[0]
    item.drag_handle("rotate", item.pos() + type(item.pos())(50, 0), item.pos())
    item.drag_handle("rx+", item.mapToScene(type(item.pos())(w * 0.3, 0)), item.pos())
    item.edited.emit(item.index)
    (edited,) = window.doc.state.spec.shapes
    assert edited.angle == pytest.approx(90.0, abs=0.5)
    assert edited.rx == pytest.approx(0.3, abs=0.01)
    window.undo_stack.undo()
    assert window.doc.state.spec.shapes == (shape,)
    idle(qtbot, window)


def test_recent_files_and_shortcuts(qtbot, window, photo: Path) -> None:
    open_and_wait(qtbot, window, photo)
    assert window.settings.recent_files()[0] == photo.absolute()
    acts = window.acts.by_name
    assert acts["tool_brush"].shortcut().toString() == "B"
    assert "(E)" in acts["tool_ellipse"].toolTip()
    assert acts["export"].shortcut().toString() == "Ctrl+E"
    assert acts["batch"].shortcut().toString() == "Ctrl+Shift+B"
    size = window.mask_panel.brush_size.value()
    acts["brush_larger"].trigger()
    assert window.mask_panel.brush_size.value() == pytest.approx(size * 1.2, rel=1e-3)
    acts["overlay"].trigger()
    assert window.canvas.overlay_item.isVisible()
    assert window.canvas.overlay_item.array[..., 3].max() == 0  # no light: nothing shown
    window.add_light("whole")
    assert window.canvas.overlay_item.array[..., 3].max() > 0  # the whole photo: all A
    acts["before_after"].trigger()
    assert not window.canvas.after_item.isVisible()
    assert "Limelight" in window.files.about_text() and "ONNX Runtime" in window.files.about_text()


def test_smart_select_drag_adds_a_raster_shape(qtbot, window, photo: Path, tmp_path: Path) -> None:
    from limelight.core.masks import RasterMask

    open_and_wait(qtbot, window, photo)
    assert window.acts.tools["smart"].isEnabled()
    window.set_tool("smart")
    w, h = window.doc.full_size
    with qtbot.waitSignal(window.preview_applied, timeout=30000):
        drag(window.canvas, [(w * 0.25, h * 0.25), (w * 0.5, h * 0.5), (w * 0.75, h * 0.75)])
    (shape,) = window.doc.state.spec.shapes
    assert isinstance(shape, RasterMask) and shape.path.is_file()
    area = window.doc.area_a()
    assert area[: h // 8].max() == 0.0  # nothing selected far outside the rectangle
    # saving copies the session's raster mask beside the recipe, so the recipe reopens
    assert window.files.save_recipe()
    saved = sidecar_path(photo).parent / f"{photo.name}.limelight.mask0.png"
    assert saved.is_file()
    idle(qtbot, window)


def test_subject_select_without_model_says_how_to_install(qtbot, window, photo: Path,
                                                          monkeypatch) -> None:
    from limelight.core import subject

    open_and_wait(qtbot, window, photo)
    monkeypatch.setattr(subject, "is_installed", lambda path=None: False)
    window.set_tool("subject")
    drag(window.canvas, [(10, 10)])
    assert subject.install_hint() in window.statusBar().currentMessage()
    assert window.doc.state.spec.shapes == ()


def test_engine_errors_reach_the_status_bar(qtbot, settings, photo: Path, tiny_zoo: Path) -> None:
    from limelight.core.engine import Engine
    from limelight.core.errors import ModelError

    class Broken:
        def __init__(self) -> None:
            self._engine = Engine(tiny_zoo, device="cpu", threads=1)
            self.zoo, self.device = self._engine.zoo, "CPU"
            self.model = self._engine.model

        def run(self, model, img, mask):  # noqa: ANN001, ANN201
            raise ModelError("the model file is corrupted", tiny_zoo / "tiny-fusion.onnx")

    win = make_window(qtbot, Broken(), settings)
    try:
        win.open_path(photo, ask=False)
        with qtbot.waitSignal(win.worker.failed, timeout=20000):
            win.add_light("whole")
        idle(qtbot, win)
        message = win.statusBar().currentMessage()
        assert "tiny-fusion.onnx" in message and "corrupted" in message
        assert "Traceback" not in message
    finally:
        win.worker.stop()


def test_missing_raster_mask_is_reported(qtbot, window, photo: Path) -> None:
    from limelight.core.masks import MaskSpec, RasterMask
    from limelight.core.recipe import Recipe, save_recipe

    save_recipe(Recipe(mask=MaskSpec(shapes=(RasterMask(photo.parent / "gone.png"),))),
                sidecar_path(photo))
    open_and_wait(qtbot, window, photo)
    assert "gone.png" in window.statusBar().currentMessage()


def test_drop_opens_photo(qtbot, window, photo: Path) -> None:
    with qtbot.waitSignal(window.preview_applied, timeout=20000):
        window.files.open_dropped([photo])
    assert window.doc is not None and window.doc.path == photo
    idle(qtbot, window)


def test_fast_pass_then_refined_pass(qtbot, settings, tmp_path: Path) -> None:
    """A new mask is shown from the network at FAST_EDGE first; when the user pauses, the
    network re-runs on the whole proxy and that frame
    replaces it. Knob changes afterwards recompose the refined maps without the network."""
    from gui_helpers import dark_photo  # type: ignore[import-not-found]

    from bench.tinyzoo import build_tiny_zoo
    from limelight.core.engine import Engine
    from limelight.core.preview import FAST_EDGE

    zoo = build_tiny_zoo(tmp_path / "zoo")

    class Recording(Engine):
        calls: list = []

        def run(self, model, img, mask, **kwargs):  # noqa: ANN001, ANN003, ANN201
            self.calls.append((model, img.shape))
            return super().run(model, img, mask, **kwargs)

    engine = Recording(zoo, device="cpu", threads=1)
    photo = dark_photo(tmp_path / "big.png", width=900, height=600)
    win = make_window(qtbot, engine, settings)
    try:
        open_and_wait(qtbot, win, photo)
        idle(qtbot, win)
        results: list = []
        win.preview_applied.connect(results.append)
        start = len(engine.calls)
        win.add_shape(Ellipse(0.5, 0.5, 0.25, 0.3), "ellipse")
        idle(qtbot, win)
        assert [max(shape[:2]) for _, shape in engine.calls[start:]] == [FAST_EDGE, 900]
        assert [r.refined for r in results] == [False, True]
        fast, refined = results
        assert "refining" not in win.status_engine.text()  # the refined frame is the last
        assert fast.request_id == refined.request_id == win.worker.latest_id
        c = refined.mask[1] == 0
        np.testing.assert_array_equal(refined.display[c], win.doc.display[c])
        a = refined.mask[0] >= 0.999
        assert abs(fast.display[a].astype(float).mean() - refined.display[a].mean()) < 8
        runs = len(engine.calls)
        results.clear()
        with qtbot.waitSignal(win.preview_applied, timeout=20000):
            win.adjust.sliders["degree"].setValue(1.5)
        idle(qtbot, win)
        # a slider move shows a draft at once, then the full-detail frame; never the network
        assert [r.refined for r in results] == [False, True]
        assert all(r.inference_ms is None for r in results)
        assert len(engine.calls) == runs
    finally:
        idle(qtbot, win)
        win.worker.stop()


def test_a_new_request_cancels_the_refined_pass(qtbot, settings, tmp_path: Path) -> None:
    """While the refined pass runs, a new edit stops it (ONNX Runtime's terminate flag,
    emulated here) so the edit's fast pass is not kept waiting; the refined pass runs again
    after the next pause."""
    import threading

    from gui_helpers import dark_photo  # type: ignore[import-not-found]

    from bench.tinyzoo import build_tiny_zoo
    from limelight.core.engine import Engine, RunCancelled

    started = threading.Event()

    class Blocking(Engine):
        block = True

        def run(self, model, img, mask, *, cancel=None):  # noqa: ANN001, ANN201
            if cancel is not None and self.block:  # the refined pass: wait to be cancelled
                stopped = threading.Event()
                terminate = cancel.cancel
                cancel.cancel = lambda: (terminate(), stopped.set())  # ORT stops the run
                started.set()
                if not stopped.wait(60):  # (a stuck test, not a timing threshold)
                    raise AssertionError("the refined pass was never cancelled")
                raise RunCancelled
            return super().run(model, img, mask, cancel=cancel)

    engine = Blocking(build_tiny_zoo(tmp_path / "zoo"), device="cpu", threads=1)
    photo = dark_photo(tmp_path / "big.png", width=900, height=600)
    win = make_window(qtbot, engine, settings)
    try:
        win.open_path(photo, ask=False)
        win.add_light("whole")
        qtbot.waitUntil(started.is_set, timeout=20000)  # the light's refined pass is stuck
        with qtbot.waitSignal(win.preview_applied, timeout=20000) as blocker:
            win.add_shape(Ellipse(0.5, 0.5, 0.25, 0.3), "ellipse")
        assert not blocker.args[0].refined  # the edit's fast pass came through
        assert win.worker.cancelled_refines >= 1
        engine.block = False
        with qtbot.waitSignal(win.preview_applied, timeout=20000,
                              check_params_cb=lambda r: r.refined):
            pass
        idle(qtbot, win)
        assert win._last_result.refined
    finally:
        engine.block = False
        idle(qtbot, win)
        win.worker.stop()


def test_a_knob_measured_inert_is_flagged(qtbot, settings, tmp_path: Path) -> None:
    """ship_zoo records knobs that measurably do nothing on a model (manifest metrics
    ``inert_knobs``); the panel says so instead of leaving a slider that silently does
    nothing."""
    import json

    from bench.tinyzoo import build_tiny_zoo
    from limelight.core.engine import Engine

    zoo = build_tiny_zoo(tmp_path / "zoo")
    manifest = zoo / "manifest.json"
    doc = json.loads(manifest.read_text())
    for m in doc["models"]:
        if m["name"] == "tiny-fusion":
            m["metrics"] = {"inert_knobs": ["gamma2"]}
    manifest.write_text(json.dumps(doc))
    win = make_window(qtbot, Engine(zoo, device="cpu", threads=1), settings)
    try:
        panel = win.adjust
        panel.set_model("tiny-fusion")
        assert "Highlights: no measurable effect" in panel.model_info.text()
        assert "no effect" in panel.sliders["gamma2"].toolTip()
        assert "no effect" not in panel.sliders["gamma1"].toolTip()
        panel.set_model("tiny-curve")
        assert "no measurable effect" not in panel.model_info.text()
    finally:
        idle(qtbot, win)
        win.worker.stop()
