"""The preview's refined pass waits for a pause (``PreviewWorker.refine_delay_s``), injected
here instead of waited for on the clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from gui_helpers import dark_photo, idle, make_window, open_and_wait  # type: ignore[import-not-found]

from limelight.core.masks import Ellipse

pytestmark = pytest.mark.gui


def test_the_refined_pass_waits_for_the_pause(qtbot, engine, settings,  # noqa: ANN001
                                              tmp_path: Path) -> None:
    """With a pause longer than the test the fast frame stays on screen and the worker stays
    busy (the refined pass is due); with no pause the refined frame follows the next request."""
    photo = dark_photo(tmp_path / "big.png", width=900, height=600)
    win = make_window(qtbot, engine, settings, refine_delay_s=3600.0)
    try:
        open_and_wait(qtbot, win, photo)
        results: list = []
        win.preview_applied.connect(results.append)
        with qtbot.waitSignal(win.preview_applied, timeout=20000):
            win.add_shape(Ellipse(0.5, 0.5, 0.25, 0.3), "ellipse")
        assert [r.refined for r in results] == [False]
        assert win.worker.busy and "refining" in win.status_engine.text()
        win.worker.refine_delay_s = 0.0
        win.request_preview()  # wakes the worker; the refined pass now follows at once
        idle(qtbot, win)
        assert [r.refined for r in results] == [False, False, True]
        assert "refining" not in win.status_engine.text()
    finally:
        win.worker.stop()


def test_the_window_passes_the_pause_to_its_worker(qtbot, engine, settings) -> None:  # noqa: ANN001
    from limelight.gui.worker import REFINE_DELAY_S

    plain = make_window(qtbot, engine, settings)
    eager = make_window(qtbot, engine, settings, refine_delay_s=0.0)
    assert (plain.worker.refine_delay_s, eager.worker.refine_delay_s) == (REFINE_DELAY_S, 0.0)
    for win in (plain, eager):
        win.worker.stop()
