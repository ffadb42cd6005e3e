"""Issue 18, items 3 and 1: a photo opens as it is (no light, not modified); the Lights
panel lists the photo's lights, each with its own mask and knobs, and the preview, the
export and the command line apply every light the same way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gui_helpers import add_ellipse_lights, dark_photo, idle, make_window, open_and_wait  # type: ignore[import-not-found]
from PySide6.QtCore import Qt

from limelight.core.masks import Ellipse
from limelight.core.recipe import load_recipe, sidecar_path

pytestmark = pytest.mark.gui


def test_a_photo_opens_as_it_is(qtbot, window, photo: Path) -> None:
    asked: list[bool] = []
    from PySide6.QtWidgets import QMessageBox

    def ask() -> QMessageBox.StandardButton:
        asked.append(True)
        return QMessageBox.StandardButton.Discard

    window.ask_save_changes = ask
    first = open_and_wait(qtbot, window, photo)
    np.testing.assert_array_equal(first.display, window.doc.display)  # nothing lit
    assert window.doc.state.lights == () and not window.doc.dirty
    assert not window.windowTitle().startswith("•")
    assert window.worker._runs == []  # the network did not even run
    assert window.lights_panel.tree.topLevelItemCount() == 1  # the "no light" hint
    assert not window.adjust._light_box.isEnabled()
    assert window.files.confirm_discard() and not asked  # closing untouched asks nothing
    # Clear (Del) empties the selected light: the photo again, not the whole frame lit
    window.add_shape(Ellipse(0.5, 0.5, 0.25, 0.3), "Ellipse")
    idle(qtbot, window)
    assert (window._last_result.display != window.doc.display).any()
    window.clear_mask()
    idle(qtbot, window)
    np.testing.assert_array_equal(window._last_result.display, window.doc.display)
    # lighting the whole frame is an explicit action
    window.add_light("whole")
    idle(qtbot, window)
    assert window.doc.state.light.name == "Whole photo"
    assert (window._last_result.display != window.doc.display).mean() > 0.5


def test_lights_compose_and_knobs_recompose_one_light(qtbot, window, photo: Path) -> None:
    open_and_wait(qtbot, window, photo)
    add_ellipse_lights(qtbot, window, Ellipse(0.3, 0.5, 0.15, 0.25), Ellipse(0.7, 0.5, 0.15, 0.25))
    names = [light.name for light in window.doc.state.lights]
    assert names == ["Ellipse", "Ellipse 2"] and window.doc.state.selected == 1
    tree = window.lights_panel.tree
    assert [tree.topLevelItem(k).text(0) for k in range(2)] == names
    base = window._last_result
    photo_px = window.doc.display
    c = base.weight == 0
    assert c.mean() > 0.3
    np.testing.assert_array_equal(base.display[c], photo_px[c])  # outside every light
    left = base.display[:, : photo_px.shape[1] // 2]
    assert (left != photo_px[:, : photo_px.shape[1] // 2]).any()  # both lights shown
    runs = len(window.worker._runs)
    with qtbot.waitSignal(window.preview_applied, timeout=20000) as blocker:
        window.adjust.sliders["degree"].setValue(1.8)  # the selected light only
    idle(qtbot, window)
    after = window._last_result
    assert len(window.worker._runs) == runs, "a knob change re-ran the network"
    assert blocker.args[0].inference_ms is None
    assert window.doc.state.lights[0].knobs.degree == 1.0
    assert window.doc.state.lights[1].knobs.degree == pytest.approx(1.8)
    half = photo_px.shape[1] // 2
    np.testing.assert_array_equal(after.display[:, : half - 20], base.display[:, : half - 20])
    assert after.display[:, half:].astype(float).mean() > base.display[:, half:].astype(float).mean()
    # hide the first light from its row's check box: its pixels are the photo's again
    from PySide6.QtCore import Qt

    tree.topLevelItem(0).setCheckState(0, Qt.CheckState.Unchecked)
    qtbot.waitUntil(lambda: window.doc.state.lights[0].visible is False)
    idle(qtbot, window)
    np.testing.assert_array_equal(window._last_result.display[:, : half - 20],
                                  photo_px[:, : half - 20])
    window.undo_stack.undo()
    assert window.doc.state.lights[0].visible is True
    idle(qtbot, window)


def test_rename_duplicate_delete_and_reorder_are_undoable(qtbot, window, photo: Path) -> None:
    open_and_wait(qtbot, window, photo)
    window.add_light("whole")
    window.add_light("brush")
    assert window.tool is window.tools["brush"]
    panel = window.lights_panel
    panel.tree.topLevelItem(0).setText(0, "Room")  # as a double-click edit ends
    qtbot.waitUntil(lambda: window.doc.state.lights[0].name == "Room")
    window.select_light(0)
    panel.duplicate_button.click()
    assert [x.name for x in window.doc.state.lights] == ["Room", "Room copy", "Brush"]
    assert window.doc.state.selected == 1
    panel.down_button.click()
    assert [x.name for x in window.doc.state.lights] == ["Room", "Brush", "Room copy"]
    panel.delete_button.click()
    assert [x.name for x in window.doc.state.lights] == ["Room", "Brush"]
    for _ in range(3):
        window.undo_stack.undo()
    assert [x.name for x in window.doc.state.lights] == ["Room", "Brush"]
    window.undo_stack.undo()
    assert [x.name for x in window.doc.state.lights] == ["Whole photo", "Brush"]
    idle(qtbot, window)


def test_recipe_restores_the_lights_and_export_matches_the_cli(
        qtbot, window, photo: Path, engine, settings, tiny_zoo: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from limelight import cli

    open_and_wait(qtbot, window, photo)
    window.add_light("whole")
    window.adjust.sliders["degree"].setValue(0.6)
    window.add_light("ellipse")
    window.add_shape(Ellipse(0.6, 0.4, 0.2, 0.25), "Ellipse")
    window.adjust.sliders["gamma1"].setValue(0.9)
    window.rename_light(1, "Doorway")
    idle(qtbot, window)
    assert window.files.save_recipe()
    recipe = load_recipe(sidecar_path(photo))
    assert [x.name for x in recipe.layers] == ["Whole photo", "Doorway"]
    saved = window.doc.state
    other = make_window(qtbot, engine, settings)
    try:
        open_and_wait(qtbot, other, photo)
        assert other.doc.state.content == saved.content and not other.doc.dirty
        assert other.lights_panel.tree.topLevelItem(1).text(0) == "Doorway"
    finally:
        other.worker.stop()
    out = tmp_path / "editor.png"
    task = window.files.start_export(out, fmt="PNG", bit_depth=8)
    with qtbot.waitSignal(task.finished, timeout=30000):
        pass
    by_cli = tmp_path / "cli.png"
    assert cli.main(["enhance", str(photo), "-o", str(by_cli), "--zoo", str(tiny_zoo),
                     "--recipe", str(sidecar_path(photo))]) == 0, capsys.readouterr().err
    assert out.read_bytes() == by_cli.read_bytes()


def test_delete_removes_the_light_only_when_the_list_has_focus(qtbot, window, photo: Path) -> None:
    open_and_wait(qtbot, window, photo)
    window.add_light("whole")
    window.add_light("ellipse")
    window.add_shape(Ellipse(0.5, 0.5, 0.2, 0.2), "Ellipse")
    idle(qtbot, window)
    tree = window.lights_panel.tree
    window.activateWindow()
    tree.setFocus()
    qtbot.waitUntil(tree.hasFocus)
    qtbot.keyClick(tree, Qt.Key.Key_Delete)
    assert [x.name for x in window.doc.state.lights] == ["Whole photo"]
    window.canvas.setFocus()
    qtbot.waitUntil(window.canvas.hasFocus)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Delete)  # the canvas: clears the light's shapes
    assert [x.name for x in window.doc.state.lights] == ["Whole photo"]
    assert window.doc.state.lights[0].mask.shapes == ()
    idle(qtbot, window)


def test_shift_o_shows_every_light_in_its_colour(qtbot, window, photo: Path) -> None:
    open_and_wait(qtbot, window, photo)
    add_ellipse_lights(qtbot, window, Ellipse(0.25, 0.5, 0.12, 0.2), Ellipse(0.75, 0.5, 0.12, 0.2))
    act = window.acts.by_name["all_lights_overlay"]
    assert act.shortcut().toString() == "Shift+O"
    act.trigger()
    rgba = window.canvas.overlay_item.array
    h, w = rgba.shape[:2]
    left, right = rgba[h // 2, w // 4], rgba[h // 2, 3 * w // 4]
    assert left[3] > 0 and right[3] > 0 and rgba[2, w // 2, 3] == 0
    assert tuple(left[:3]) != tuple(right[:3])  # one colour per light
    act.trigger()
    assert not window.canvas.overlay_item.isVisible()


def test_a_slider_drag_shows_drafts_then_the_exact_composite(qtbot, window,
                                                            tmp_path: Path) -> None:
    """Issue 18, item 1 (knob speed): dragging the lower of two overlapping lights shows
    draft frames (no network run), the light above it composited again from what is kept;
    letting go of the slider shows the full-detail frame straight away, and it is the same
    bytes as a preview computed from scratch."""
    open_and_wait(qtbot, window, dark_photo(tmp_path / "big.png", width=900, height=600))
    add_ellipse_lights(qtbot, window, Ellipse(0.45, 0.5, 0.3, 0.4), Ellipse(0.55, 0.5, 0.3, 0.4))
    window.select_light(0)
    idle(qtbot, window)
    runs = len(window.worker._runs)
    slider = window.adjust.sliders["degree"]
    frames = []
    for value in (1.2, 1.5, 1.7):
        with qtbot.waitSignal(window.preview_applied, timeout=20000) as blocker:
            slider.setValue(value)
        frames.append(blocker.args[0])
    assert any(not f.refined for f in frames), "the drag showed no draft frame"
    with qtbot.waitSignal(window.preview_applied, timeout=20000) as blocker:
        slider.released.emit()
    released = blocker.args[0]
    assert released.refined and released.request_id == window.worker.latest_id
    idle(qtbot, window)
    assert len(window.worker._runs) == runs, "a knob change re-ran the network"
    assert window.doc.state.lights[0].knobs.degree == pytest.approx(1.7)
    window.worker.invalidate()  # forget every map, plan and composite: from scratch
    window.request_preview()
    idle(qtbot, window)
    assert len(window.worker._runs) > runs
    np.testing.assert_array_equal(window._last_result.display, released.display)


def test_an_idle_worker_prepares_the_selected_lights_drag(qtbot, window, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """After an exact frame, with nothing pending, the worker makes the selected light's
    draft finish and the fold of the light above it, so the drag's first frame uses them
    instead of making them (tens of ms at 1 MP)."""
    from limelight.core.preview import FoldedAbove

    open_and_wait(qtbot, window, dark_photo(tmp_path / "big.png", width=900, height=600))
    add_ellipse_lights(qtbot, window, Ellipse(0.45, 0.5, 0.3, 0.4), Ellipse(0.55, 0.5, 0.3, 0.4))
    window.select_light(0)
    idle(qtbot, window)
    qtbot.waitUntil(lambda: window.worker._folded is not None
                    and window.worker._folded[1] is not None, timeout=20000)
    folds: list[object] = []
    real = FoldedAbove.fold.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(FoldedAbove, "fold",
                        classmethod(lambda cls, *a: folds.append(a) or real(cls, *a)))
    with qtbot.waitSignal(window.preview_applied, timeout=20000) as blocker:
        window.adjust.sliders["degree"].setValue(1.4)
    assert not blocker.args[0].refined  # a draft, folded with what was prepared
    assert folds == []


def test_a_knob_move_repaints_only_its_light_and_the_canvas_shows_every_frame(
        qtbot, window, tmp_path: Path) -> None:
    """A knob move on one light damages only that light's box (``PreviewResult.damage``),
    so the canvas converts and repaints just that part; after moves on either light, the
    pixels the canvas draws are each frame's own, everywhere."""
    open_and_wait(qtbot, window, dark_photo(tmp_path / "big.png", width=900, height=600))
    add_ellipse_lights(qtbot, window, Ellipse(0.25, 0.5, 0.15, 0.3), Ellipse(0.75, 0.5, 0.15, 0.3))
    idle(qtbot, window)
    w = window.doc.proxy_hw[1]
    for light, value in ((0, 1.3), (0, 1.6), (1, 0.7), (0, 1.1), (1, 1.4)):
        if window.doc.state.selected != light:
            window.select_light(light)
            idle(qtbot, window)
        with qtbot.waitSignal(window.preview_applied, timeout=20000) as blocker:
            window.adjust.sliders["degree"].setValue(value)
        result = blocker.args[0]
        assert result.damage is not None and result.damage_since > 0
        y0, y1, x0, x1 = result.damage
        assert y1 > y0 and x1 > x0
        assert (x1 <= w // 2) if light == 0 else (x0 >= w // 2), "damage beyond the light"
        np.testing.assert_array_equal(window.canvas.after_item.drawn(), result.display)
    idle(qtbot, window)
    np.testing.assert_array_equal(window.canvas.after_item.drawn(),
                                  window._last_result.display)


def test_the_histogram_is_paced_during_a_drag_and_exact_after(qtbot, window, tmp_path: Path
                                                              ) -> None:
    """Draft frames repaint the histogram at most every ``HISTOGRAM_PACE_MS`` (a repaint is
    ~2 ms of the GUI thread); the full-detail frame after the slider is let go shows its own
    histogram at once."""
    from limelight.gui.worker import histogram_of

    open_and_wait(qtbot, window, dark_photo(tmp_path / "big.png", width=900, height=600))
    add_ellipse_lights(qtbot, window, Ellipse(0.5, 0.5, 0.3, 0.4))
    slider = window.adjust.sliders["degree"]
    with qtbot.waitSignal(window.preview_applied, timeout=20000) as blocker:
        slider.setValue(1.6)
    assert not blocker.args[0].refined
    assert window.histogram.repaint_pending
    with qtbot.waitSignal(window.preview_applied, timeout=20000) as blocker:
        slider.released.emit()
    released = blocker.args[0]
    assert released.refined and not window.histogram.repaint_pending
    np.testing.assert_array_equal(window.histogram._hist,
                                  np.sqrt(histogram_of(released.display).astype(np.float64)))
    idle(qtbot, window)
