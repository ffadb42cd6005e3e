"""Run a function off the GUI thread and get its result (or error) back in the GUI thread.

Used for export, smart select and subject select; previews have their own ``PreviewWorker``.

Signals (``Task``):
    progressed(float): fraction done in [0, 1], if the function reports progress.
    succeeded(object): the return value.
    failed(str): one sentence for the user (LimelightError text, else type and message).
    finished(): after either of the above.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from limelight.core.errors import LimelightError
from limelight.gui.bridge import GuiBridge

log = logging.getLogger(__name__)


class Task(QObject):
    """Runs ``fn(progress)`` in a daemon thread; ``progress(fraction)`` may be called by it.
    The signals are emitted in the GUI thread (through a ``GuiBridge``)."""

    progressed = Signal(float)
    succeeded = Signal(object)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, fn: Callable[[Callable[[float], None]], Any], name: str = "task",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self.name = name
        self.running = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._bridge = GuiBridge(self)

    def start(self) -> Task:
        self.running = True
        self._thread.start()
        return self

    def _progress(self, fraction: float) -> None:
        self._bridge.post(self.progressed.emit, float(fraction))

    def _done(self) -> None:
        self.running = False
        self.finished.emit()
        # the parent would keep every finished task (one per 1:1 pan) for the session; the
        # slots above have run, and ``running`` and ``wait`` stay usable on the Python side
        self.deleteLater()

    def wait(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        post = self._bridge.post
        try:
            result = self._fn(self._progress)
        except LimelightError as exc:
            post(self.failed.emit, str(exc))
        except Exception as exc:  # noqa: BLE001 - the user gets a sentence, the log the trace
            log.exception("%s failed", self.name)
            post(self.failed.emit, f"{self.name} failed: {type(exc).__name__}: {exc}")
        else:
            post(self.succeeded.emit, result)
        finally:
            post(self._done)
