"""Hands results from Python threads to the GUI thread without cross-thread signals.

Worker threads never touch Qt: they ``post`` callables into a deque and write one byte to a
socket pair, and a ``QSocketNotifier`` in the GUI thread wakes on it and drains the deque,
so every signal is emitted in the GUI thread, as soon as its event loop is free (a timer
that polled every 3 ms added 1.5 ms on average to each preview frame). (This also kept the
editor alive on PySide6 6.12.0, which corrupts reference counts on cross-thread emits — a
few thousand abort the interpreter with ``none_dealloc`` — and on every Python override
call; pyproject pins ``<6.12`` for the latter.) A slow timer drains too while some work is
outstanding (``hold``/``release``, both called in the GUI thread), a safety net only, so an
idle editor does not wake up.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QSocketNotifier, QTimer

log = logging.getLogger(__name__)

#: Period of the safety-net drain while work is outstanding (ms); ``post`` wakes the GUI
#: thread at once.
INTERVAL_MS = 50


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
        # the wake-up: a byte written by ``post`` (plain Python, no Qt call off the GUI thread)
        self._rx, self._tx = socket.socketpair()
        self._rx.setblocking(False)
        self._tx.setblocking(False)
        self._notifier = QSocketNotifier(self._rx.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._wake)

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
        # (OSError: the pair's buffer is full, so wake-ups are pending, or it was closed)
        with contextlib.suppress(OSError):
            self._tx.send(b"\0")

    def _wake(self) -> None:
        """GUI thread: ``post`` wrote to the socket pair; read it empty and drain."""
        with contextlib.suppress(OSError):  # (BlockingIOError: read empty)
            while self._rx.recv(4096):
                pass
        self.drain()

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
