"""The batch dialog: runs the core runner in the background, reports progress, cancels
cleanly, keeps the editor usable, and is wired to Ctrl+Shift+B."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gui_helpers import GatedEngine, dark_photo, open_and_wait  # type: ignore[import-not-found]

from limelight.core.imageio import read_image
from limelight.core.recipe import save_recipe

pytest.importorskip("pytestqt")

pytestmark = pytest.mark.gui


def _photos(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [dark_photo(folder / f"p{i}.png", seed=i) for i in range(n)]


def _recipe_dialog(qtbot, window, factory, tmp_path: Path, photos: int):  # noqa: ANN001, ANN202
    """A batch dialog on ``photos`` new photos with an ellipse recipe file, output set."""
    from limelight.core.masks import Ellipse, MaskSpec
    from limelight.core.recipe import Recipe
    from limelight.gui.batch_dialog import BatchDialog

    dialog = BatchDialog(window.files, engine_factory=factory, parent=window)
    qtbot.addWidget(dialog)
    recipe = save_recipe(Recipe(mask=MaskSpec(shapes=(Ellipse(0.5, 0.5, 0.3, 0.3),))),
                         tmp_path / "look.json")
    dialog.recipe_source.setCurrentIndex(1)
    dialog.recipe_path.setText(str(recipe))
    dialog.add_paths(_photos(tmp_path / "shoot", photos))
    dialog.out_dir.setText(str(tmp_path / "out"))
    return dialog


def test_runs_reports_progress_and_summarises(qtbot, window, photo: Path,  # noqa: ANN001
                                              tmp_path: Path) -> None:
    from limelight.gui.batch_dialog import BatchDialog

    open_and_wait(qtbot, window, photo)
    batch = window.acts.by_name["batch"]
    assert batch.shortcut().toString() == "Ctrl+Shift+B"
    batch.trigger()
    dialog = window.files.batch_dialog
    assert isinstance(dialog, BatchDialog) and dialog.isVisible() and not dialog.isModal()
    assert window.files.open_batch() is dialog  # one dialog per window
    dialog.clear_inputs()
    srcs = _photos(tmp_path / "shoot", 3)
    (tmp_path / "shoot" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    dialog.add_paths([tmp_path / "shoot"])
    dialog.out_dir.setText(str(tmp_path / "out"))
    dialog.format.setCurrentText("PNG")
    events = []
    dialog.progressed.connect(events.append)
    with qtbot.waitSignal(dialog.batch_finished, timeout=60000) as blocker:
        assert dialog.start()
    result = blocker.args[0]
    assert result.counts == {"done": 3, "skipped": 0, "failed": 1, "cancelled": 0}
    for s in srcs:
        assert read_image(tmp_path / "out" / f"{s.stem}_lit.png").pixels.shape == (160, 240, 3)
    assert [e.finished for e in events if e.file.status in ("done", "failed")] == [1, 2, 3, 4]
    assert dialog.progress.value() == 4 and dialog.progress.maximum() == 4
    statuses = [dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())]
    assert sorted(statuses) == ["Done", "Done", "Done", "Failed"]
    text = dialog.summary.toPlainText()
    assert "3 done" in text and "1 failed" in text and "Failed: broken.jpg" in text
    assert dialog.start_btn.isEnabled() and not dialog.cancel_btn.isEnabled()


def test_cancel_is_clean_and_the_editor_stays_usable(qtbot, window, engine,  # noqa: ANN001
                                                     photo: Path, tmp_path: Path) -> None:
    open_and_wait(qtbot, window, photo)
    window.add_light("whole")  # (a photo opens with no light)
    gated = GatedEngine(engine, permits=1)  # the first photo runs; the second waits
    dialog = _recipe_dialog(qtbot, window, lambda jobs: gated, tmp_path, 8)
    dialog.show()
    dialog.jobs.setValue(1)
    with qtbot.waitSignal(dialog.progressed, timeout=20000,
                          check_params_cb=lambda ev: ev.file.status == "done"):
        assert dialog.start()
    qtbot.waitUntil(lambda: gated.waiting == 1, timeout=20000)
    # the editor is not blocked: a knob change still gets a preview while the batch runs
    assert dialog.running
    with qtbot.waitSignal(window.preview_applied, timeout=20000):
        window.set_knob("degree", 0.5)
    with qtbot.waitSignal(dialog.batch_finished, timeout=20000) as blocker:
        dialog.cancel()
        gated.open()  # the photo in progress may finish; the others are cancelled
    result = blocker.args[0]
    assert result.cancelled and 1 <= result.counts["done"] < 8
    assert result.counts["done"] + result.counts["cancelled"] == 8
    outs = sorted((tmp_path / "out").iterdir())
    images = [p for p in outs if p.suffix == ".jpg"]  # JPEG by default
    assert len(images) == result.counts["done"]
    for p in images:
        assert read_image(p).pixels.shape == (160, 240, 3)
    assert [p.name for p in outs if p not in images] == ["limelight-batch-report.json"]
    report = json.loads((tmp_path / "out" / "limelight-batch-report.json").read_text())
    assert report["state"] == "cancelled"
    assert "cancelled" in dialog.summary.toPlainText()


def test_a_single_photo_gets_an_engine_for_one_job(qtbot, window, engine,  # noqa: ANN001
                                                  tmp_path: Path) -> None:
    """The spin box says 2, but one photo runs as 1 job with every core's ORT threads."""
    asked: list[int] = []
    dialog = _recipe_dialog(qtbot, window, lambda jobs: asked.append(jobs) or engine, tmp_path, 1)
    dialog.jobs.setValue(2)
    with qtbot.waitSignal(dialog.batch_finished, timeout=60000) as blocker:
        assert dialog.start()
    assert asked == [1] and blocker.args[0].counts["done"] == 1


@pytest.mark.gui
def test_a_missing_input_is_failed_and_reported(qtbot, window, engine,  # noqa: ANN001
                                               tmp_path: Path) -> None:
    """An input deleted after it was added: the dialog's batch fails it with its reason and
    the report lists it (the dialog had dropped the planner's missing list)."""
    import json

    dialog = _recipe_dialog(qtbot, window, lambda jobs: engine, tmp_path, 1)
    gone = tmp_path / "shoot" / "gone.png"
    dialog.add_paths([gone])
    with qtbot.waitSignal(dialog.batch_finished, timeout=60000) as blocker:
        assert dialog.start()
    assert blocker.args[0].counts["failed"] == 1 and blocker.args[0].counts["done"] == 1
    report = json.loads((tmp_path / "out" / "limelight-batch-report.json").read_text())
    failed = [f for f in report["files"] if f["status"] == "failed"]
    assert [Path(f["input"]).name for f in failed] == ["gone.png"]
    assert "no such file" in failed[0]["reason"]


def test_problems_are_shown_not_raised(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    from limelight.gui.batch_dialog import BatchDialog

    dialog = BatchDialog(window.files, parent=window)
    qtbot.addWidget(dialog)
    assert not dialog.start() and "add photos" in dialog.summary.toPlainText()
    dialog.add_paths(_photos(tmp_path / "in", 1))
    dialog.out_dir.setText(str(tmp_path / "out"))
    assert not dialog.start() and "recipe" in dialog.summary.toPlainText()  # no photo open
    dialog.name.setText("{title}")
    assert "unknown field {title}" in dialog.name_error.text()


def test_subject_placement_needs_its_model(qtbot, window, monkeypatch) -> None:  # noqa: ANN001
    from limelight.core import subject
    from limelight.gui.batch_dialog import BatchDialog

    monkeypatch.setattr(subject, "is_installed", lambda path=None: False)
    dialog = BatchDialog(window.files, parent=window)
    qtbot.addWidget(dialog)
    assert not dialog.placement.model().item(1).isEnabled()
    assert "limelight models install subject" in dialog.placement_hint.text()


def test_runs_on_a_cluster_when_asked(qtbot, window, engine, tmp_path: Path) -> None:  # noqa: ANN001
    """"The cluster at" runs the same batch on Dask (here local:1) with the same bytes as
    "This computer"; an empty address is shown, not raised."""
    import hashlib

    dialog = _recipe_dialog(qtbot, window, lambda jobs: engine, tmp_path, 2)
    with qtbot.waitSignal(dialog.batch_finished, timeout=60000):
        assert dialog.start()
    here = {p.name: hashlib.sha256(p.read_bytes()).digest()
            for p in (tmp_path / "out").iterdir() if p.suffix != ".json"}
    assert len(here) == 2 and dialog.jobs.isEnabled()
    dialog.run_on.setCurrentIndex(1)
    assert not dialog.jobs.isEnabled() and dialog.cluster.isEnabled()
    assert not dialog.start() and "scheduler address" in dialog.summary.toPlainText()
    dialog.cluster.setText("local:1")
    dialog.out_dir.setText(str(tmp_path / "out2"))
    assert dialog.job().cluster == "local:1"
    with qtbot.waitSignal(dialog.batch_finished, timeout=120000) as blocker:
        assert dialog.start()
    result = blocker.args[0]
    assert result.counts["done"] == 2 and "local cluster" in result.device
    there = {p.name: hashlib.sha256(p.read_bytes()).digest()
             for p in (tmp_path / "out2").iterdir() if p.suffix != ".json"}
    assert there == here


def test_the_editors_own_exports_are_left_out(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    """Issue 18, item 6: a folder holding photos and the editor's exports beside them
    (``p0_lit.png`` next to ``p0.png``) batches the photos only: no ``p0_lit_lit.png``."""
    dialog = _recipe_dialog(qtbot, window, None, tmp_path, 0)
    dialog.clear_inputs()
    srcs = _photos(tmp_path / "shoot", 2)
    dark_photo(tmp_path / "shoot" / "p0_lit.png", seed=7)  # an earlier export of p0
    dark_photo(tmp_path / "shoot" / "sunset_lit.png", seed=8)  # no sunset.*: a photo
    dialog.add_paths([tmp_path / "shoot"])
    dialog.format.setCurrentText("PNG")
    with qtbot.waitSignal(dialog.batch_finished, timeout=60000) as blocker:
        assert dialog.start()
    assert blocker.args[0].counts["done"] == 3
    made = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert made == sorted([f"{s.stem}_lit.png" for s in srcs] + ["sunset_lit_lit.png"])
