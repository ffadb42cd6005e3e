"""Hands results from Python threads to the GUI thread without cross-thread signals.

Worker threads never touch Qt: they ``post`` callables into a deque and write one byte to a
socket pair, and a ``QSocketNotifier`` in the GUI thread wakes on it and drains the deque,
so every signal is emitted in the GUI thread, as soon as its event loop is free (a timer
that polled every 3 ms added 1.5 ms on average to each preview frame). One socket pair
serves every bridge of the process (``_Waker``): the editor makes a bridge per background
task, and a pair each would spend two file descriptors per task. (This also kept the
editor alive on PySide6 6.12.0, which corrupts reference counts on cross-thread emits — a
few thousand abort the interpreter with ``none_dealloc`` — and on every Python override
call; pyproject pins ``<6.12`` for the latter.) Nothing polls: an idle editor does not
wake up.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QSocketNotifier

log = logging.getLogger(__name__)


class _Waker:
    """The process's wake-up: a socket pair whose read end a ``QSocketNotifier`` watches in
    the GUI thread. ``poke`` (any thread) queues a bridge and writes a byte; the GUI thread
    then drains each queued bridge that still exists."""

    def __init__(self) -> None:
        self._rx, self._tx = socket.socketpair()
        self._rx.setblocking(False)
        self._tx.setblocking(False)
        self._ready: collections.deque[GuiBridge] = collections.deque()
        self._notifier = QSocketNotifier(self._rx.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._wake)

    def poke(self, bridge: GuiBridge) -> None:
        self._ready.append(bridge)
        # (OSError: the pair's buffer is full, so wake-ups are pending)
        with contextlib.suppress(OSError):
            self._tx.send(b"\0")

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # (BlockingIOError: read empty)
            while self._rx.recv(4096):
                pass
        while self._ready:
            bridge = self._ready.popleft()
            if shiboken6.isValid(bridge):  # (a deleted bridge's posts are dropped, as before)
                bridge.drain()


_waker: _Waker | None = None


def _the_waker() -> _Waker:
    """The process's ``_Waker``, made on first use (in the GUI thread: bridges are made
    there)."""
    global _waker
    if _waker is None:
        _waker = _Waker()
    return _waker


class GuiBridge(QObject):
    """A thread-safe queue of callables executed in the thread that owns this object."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: collections.deque[tuple[Callable[..., Any], tuple[Any, ...]]] = (
            collections.deque())
        self._waker = _the_waker()

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Any thread: run ``fn(*args)`` soon in the GUI thread."""
        self._queue.append((fn, args))
        self._waker.poke(self)  # (plain Python: no Qt call off the GUI thread)

    def drain(self) -> None:
        """Runs everything posted so far (GUI thread)."""
        while self._queue:
            fn, args = self._queue.popleft()
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - a failing slot must not stop the others
                log.exception("callback %r failed", fn)
