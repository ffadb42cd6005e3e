"""GUI fixtures: a window over the tiny zoo, a dark test photo, synchronous mouse drags.

Mouse events are delivered synchronously with ``QApplication.sendEvent``; tests wait only
through ``qtbot.waitSignal``/``waitUntil``, never with sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from gui_helpers import dark_photo, idle, make_window  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return dark_photo(tmp_path / "dark.png")


@pytest.fixture
def settings(tmp_path: Path):
    from limelight.gui.settings import EditorSettings

    return EditorSettings(QSettings(str(tmp_path / "editor.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def engine(tiny_zoo: Path):
    from limelight.core.engine import Engine

    return Engine(tiny_zoo, device="cpu", threads=1)


@pytest.fixture
def window(qtbot, engine, settings) -> Iterator:  # noqa: ANN001
    """The editor; after the test it waits for the preview worker (a refined pass may be
    due) while the window still lives, then closes it."""
    win = make_window(qtbot, engine, settings, owned=True)
    yield win
    try:
        idle(qtbot, win)
    finally:
        win.worker.stop()
        win.close()
        win.deleteLater()
