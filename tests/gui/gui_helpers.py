"""GUI test helpers: a dark test photo, a window, waits and synchronous mouse drags.

A module of its own, not conftest.py: test modules import these, and conftest.py is the
name of every test folder's fixtures module (which one an import finds depends on what
pytest collected first).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication


def dark_photo(path: Path, width: int = 240, height: int = 160, seed: int = 0) -> Path:
    """A dark 8-bit RGB PNG with texture (a gradient, blobs and noise), values < ~70."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 0.05 + 0.12 * xx / width + 0.08 * np.sin(yy / 9.0) ** 2
    rgb = np.stack([base * 1.1, base, base * 0.8], axis=-1)
    rgb += rng.normal(0, 0.01, rgb.shape).astype(np.float32)
    pixels = np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def make_window(qtbot, engine, settings, *, owned: bool = False, **options):  # noqa: ANN001, ANN003, ANN201
    """A shown editor window over ``engine``; ``options`` go to ``MainWindow``. pytest-qt
    closes it after the test unless ``owned`` (the caller closes it: pytest-qt closes its
    widgets before fixtures are torn down, too early to wait for the preview worker)."""
    from limelight.gui.main_window import MainWindow

    win = MainWindow(engine=engine, settings=settings, **options)
    from PySide6.QtWidgets import QMessageBox

    # pytest-qt closes the window after the test: discard instead of showing a dialog.
    win.ask_save_changes = lambda: QMessageBox.StandardButton.Discard  # type: ignore[method-assign]
    # error dialogs are recorded instead of shown (a modal dialog would block the test)
    win.error_dialogs = []
    win.show_error_dialog = lambda title, text: win.error_dialogs.append((title, text))  # type: ignore[method-assign]
    if not owned:
        qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    return win


class GatedEngine:
    """An engine whose runs each take a permit: ``allow(n)`` lets n more runs through,
    ``open()`` every run from then on. Tests order the threads with it instead of sleeping;
    a run left waiting for ``hang_s`` fails (a stuck test, not a timing threshold)."""

    def __init__(self, engine: Any, permits: int = 0, hang_s: float = 60.0) -> None:
        self._engine = engine
        self._cond = threading.Condition()
        self._permits, self._open, self._hang_s = permits, False, hang_s
        self.waiting = 0  # runs waiting for a permit now

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def allow(self, runs: int = 1) -> None:
        with self._cond:
            self._permits += runs
            self._cond.notify_all()

    def open(self) -> None:
        with self._cond:
            self._open = True
            self._cond.notify_all()

    def run(self, model: str | None, img: Any, mask: Any, **kwargs: Any) -> Any:
        with self._cond:
            self.waiting += 1
            ready = self._cond.wait_for(lambda: self._open or self._permits > 0, self._hang_s)
            self.waiting -= 1
            if not ready:
                raise AssertionError("a run waited for a permit that never came")
            if not self._open:
                self._permits -= 1
        return self._engine.run(model, img, mask, **kwargs)


def idle(qtbot, win) -> None:  # noqa: ANN001
    """Waits until the preview worker has nothing pending or running."""
    qtbot.waitUntil(lambda: not win.worker.busy, timeout=20000)


def open_and_wait(qtbot, win, path: Path):  # noqa: ANN001, ANN201
    """Opens ``path`` and returns the first preview result."""
    with qtbot.waitSignal(win.preview_applied, timeout=20000) as blocker:
        assert win.open_path(path, ask=False)
    idle(qtbot, win)
    return blocker.args[0]


def _send(widget, kind, pos: QPointF, button, buttons) -> None:  # noqa: ANN001
    global_pos = QPointF(widget.mapToGlobal(pos.toPoint()))
    event = QMouseEvent(kind, pos, global_pos, button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag(canvas, scene_points: Sequence[tuple[float, float]]) -> None:  # noqa: ANN001
    """Presses the left button at the first scene point, moves through the others, releases."""
    vp = canvas.viewport()
    view = [QPointF(canvas.mapFromScene(QPointF(x, y))) for x, y in scene_points]
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    _send(vp, QMouseEvent.Type.MouseButtonPress, view[0], left, left)
    for p in view[1:]:
        _send(vp, QMouseEvent.Type.MouseMove, p, none, left)
    _send(vp, QMouseEvent.Type.MouseButtonRelease, view[-1], left, none)


def add_ellipse_lights(qtbot, win, *ellipses) -> None:  # noqa: ANN001
    """One ellipse light per ``Ellipse``, in order, then waits for the preview to settle."""
    for ellipse in ellipses:
        win.add_light("ellipse")
        win.add_shape(ellipse, "Ellipse")
    idle(qtbot, win)
