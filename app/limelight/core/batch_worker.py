"""The worker side of a cluster batch (``batch_cluster``): the engine plugin and the task.

Imported on the Dask workers (and by ``batch_cluster`` when a cluster is used); it imports
``distributed``, so nothing else in the core imports it at module level.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
from distributed import Event, get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from limelight.core.batch_plan import PlannedFile

if TYPE_CHECKING:
    from limelight.core.batch import BatchJob, FileResult
    from limelight.core.engine import Engine
    from limelight.core.recipe import Recipe

log = logging.getLogger(__name__)

PLUGIN_NAME = "limelight-engine"
#: A task checks the batch's cancel flag (a scheduler round trip) at most this often (s).
CANCEL_POLL_S = 0.5


class EnginePlugin(WorkerPlugin):
    """One Engine per worker: one ORT session per model, made once in ``setup`` and sized to
    the worker's threads (ORT's intra-op pool is the session's, shared by the worker's
    concurrent tasks; OpenCV gets the same count). The recipe's model is loaded there and
    checked against the client's by sha256. A problem is kept in ``error`` (one sentence)
    for the client to report, never raised in the worker.

    ``zoo``: a zoo folder every worker reaches, or None for each worker's installed zoo.
    """

    name = PLUGIN_NAME

    def __init__(self, zoo: str | None, device: str, model: str | None, sha256: str) -> None:
        self.zoo, self.device, self.model, self.sha256 = zoo, device, model, sha256
        self.engine: Engine | None = None
        self.error = ""

    def setup(self, worker: Any) -> None:
        from limelight.core.engine import Engine

        threads = max(1, int(worker.state.nthreads))
        cv2.setNumThreads(threads)
        try:
            engine = Engine(self.zoo, device=self.device, threads=threads)
            info, _sess, _dev = engine.session(self.model)
        except Exception as err:  # noqa: BLE001 - reported by the client in one line
            self.error = str(err)
            return
        if self.sha256 and info.sha256 != self.sha256:
            self.error = (f"its model {info.name!r} ({info.path}) is not the client's "
                          "(another sha256): install the same Limelight version and models "
                          "on every worker")
            return
        self.engine = engine

    def status(self) -> tuple[str, str]:
        """(device, problem): ``"CPU"``/``"CUDA"`` and ``""`` when ready."""
        return (self.engine.device if self.engine is not None else "", self.error)


def worker_status(dask_worker: Any) -> tuple[str, str]:
    """(device, problem) of this worker's plugin (for ``Client.run``)."""
    plugin = dask_worker.plugins.get(PLUGIN_NAME)
    if plugin is None:
        return "", "the Limelight worker plugin is missing"
    status: tuple[str, str] = plugin.status()
    return status


def sees_probe(folder: str, probe: str) -> str:
    """``""`` when this worker sees ``probe`` in ``folder`` and may write there, else why
    not (for ``Client.run``)."""
    path = Path(folder)
    if not (path / probe).is_file():
        return f"{folder} is another folder there, or does not exist"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"{folder} cannot be written there"
    return ""


def run_task(p: PlannedFile, job: BatchJob, recipe: Recipe, protect: tuple[Path, ...],
             cancel_name: str) -> FileResult:
    """Processes one planned photo on this worker with its plugin's Engine (the same
    ``process_planned`` as a local batch); never raises."""
    from limelight.core.batch import FileResult, process_planned
    from limelight.core.imageio_encode import Protected

    flag = Event(cancel_name)
    state = {"at": -CANCEL_POLL_S, "set": False}

    def cancelled() -> bool:
        now = time.monotonic()
        if not state["set"] and now - state["at"] >= CANCEL_POLL_S:
            state["at"] = now
            try:
                state["set"] = bool(flag.is_set())
            except Exception:  # noqa: BLE001 - the scheduler is away: go on
                log.debug("cannot read the cancel flag", exc_info=True)
        return bool(state["set"])

    plugin = get_worker().plugins.get(PLUGIN_NAME)
    engine = getattr(plugin, "engine", None)
    if engine is None:
        why = getattr(plugin, "error", "") or "the Limelight worker plugin is missing"
        return FileResult(p.index, p.input, p.output, "failed",
                          f"{p.input}: the worker cannot run the model: {why}")
    return process_planned(p, recipe, engine, job, Protected.of(protect), cancelled)
