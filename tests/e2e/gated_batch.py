"""``limelight batch`` in a child process, held after its first photo (the kill and
interrupt tests run it as ``python tests/e2e/gated_batch.py batch ...``).

The first photo is processed and written as usual; then the child prints ``GATE_LINE`` on
stdout and every later photo waits inside the engine's place until the batch is stopped
(Ctrl-C cancels it; SIGKILL ends the process). So a test that waits for that line knows the
batch is midway, with no sleep and no race against a fast machine finishing first.
"""

from __future__ import annotations

import faulthandler
import runpy
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import limelight.core.batch as batch

GATE_LINE = "gated_batch: first photo written, the others wait"
#: how long a held photo waits for the stop (a safety net: the tests stop it at once)
GATE_TIMEOUT_S = 60.0
#: this script, to run as the child: ``[sys.executable, str(GATED), "batch", ...]``
GATED = Path(__file__)

_real_process_file = batch.process_file
_first = threading.Lock()
_tokens: list[batch.CancelToken] = []


class _RecordedToken(batch.CancelToken):
    """The CLI's cancel token, kept so the gate can wait for the batch to be stopped."""

    def __init__(self) -> None:
        super().__init__()
        _tokens.append(self)


def _gated_process_file(*args: Any, **kwargs: Any) -> Any:
    if _first.acquire(blocking=False):  # the first photo: as usual, then say so
        result = _real_process_file(*args, **kwargs)
        print(GATE_LINE, flush=True)
        return result
    # until Ctrl-C cancels the batch (or SIGKILL ends us); a batch that is never cancelled
    # fails this photo with every thread's stack on stderr instead of hanging the test
    if not _tokens[0].wait(GATE_TIMEOUT_S):
        faulthandler.dump_traceback(all_threads=True)
        raise RuntimeError(f"gated_batch: not stopped within {GATE_TIMEOUT_S} s")
    kwargs["progress"](0.0)  # the runner's own cancel check: raises, nothing is written
    return _real_process_file(*args, **kwargs)


def wait_for_gate(proc: subprocess.Popen[str]) -> list[str]:
    """Reads a gated child's stdout (text mode) up to ``GATE_LINE``: the first photo is
    written and the others wait. Returns the lines before it; fails the test if the child
    ends first (its stdout closes)."""
    import pytest

    lines = []
    for line in proc.stdout or ():
        if line.rstrip("\n") == GATE_LINE:
            return lines
        lines.append(line)
    _, err = proc.communicate()
    pytest.fail(f"the batch ended before its first photo was written: {err[-2000:]}")


if __name__ == "__main__":
    # Ctrl-C as a terminal delivers it, whatever the test runner inherited: started from a
    # background shell job or nohup, SIGINT is ignored and Python then installs no handler
    # (the batch went on, held at the gate, until the test timed out)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    batch.process_file = _gated_process_file  # type: ignore[assignment]
    batch.CancelToken = _RecordedToken  # type: ignore[misc]
    sys.argv[0] = "limelight"
    runpy.run_module("limelight.cli", run_name="__main__")
