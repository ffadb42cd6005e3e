"""Hands results from Python threads to the GUI thread without cross-thread signals.

Worker threads never touch Qt: they ``post`` callables into a deque, and a QTimer in the GUI
thread drains it, so every signal is emitted in the GUI thread. (This also kept the editor
alive on PySide6 6.12.0, which corrupts reference counts on cross-thread emits — a few
thousand abort the interpreter with ``none_dealloc`` — and on every Python override call;
pyproject pins ``<6.12`` for the latter.) The timer runs only while some work is outstanding (``hold``/``release``,
both called in the GUI thread), so an idle editor does not wake up.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)

#: Drain period while work is outstanding (ms): well under a frame.
INTERVAL_MS = 3


class GuiBridge(QObject):
    """A thread-safe queue of callables executed in the thread that owns this object."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._queue: collections.deque[tuple[Callable[..., Any], tuple[Any, ...]]] = (
            collections.deque())
        self._holds = 0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.drain)

    def hold(self) -> None:
        """GUI thread: work was started; keep draining until the matching ``release``."""
        self._holds += 1
        if not self._timer.isActive():
            self._timer.start()

    def release(self) -> None:
        """GUI thread: one piece of work is over."""
        self._holds = max(0, self._holds - 1)
        if self._holds == 0 and not self._queue:
            self._timer.stop()

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Any thread: run ``fn(*args)`` soon in the GUI thread."""
        self._queue.append((fn, args))

    def drain(self) -> None:
        """Runs everything posted so far (GUI thread)."""
        while self._queue:
            fn, args = self._queue.popleft()
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - a failing slot must not stop the others
                log.exception("callback %r failed", fn)
        if self._holds == 0:
            self._timer.stop()
