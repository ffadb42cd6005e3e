"""``limelight batch --cluster``: the batch runner on a Dask cluster (``distributed``).

The client (this process) plans the batch exactly as a local one does (``batch_plan``: names,
skip/rename/overwrite, inputs never outputs), checks that every worker reaches the output
folder at the same path, registers ``EnginePlugin`` on the workers (one ``Engine`` per
worker, so one ONNX Runtime session per model, made once and sized to the worker's
threads), submits one task per photo and keeps the report as results come in, through the
same ``_Run`` as a local batch (progress events, report, summary, outcomes).

A task is ``process_file`` on a worker, writing atomically into the shared output folder
under the name the client planned: a task that Dask runs again because its worker died
rewrites that same file whole, so no output is truncated, duplicated (``_1``) or lost. The
client removes the temporary files a dead worker left once the batch ends.

``distributed`` is imported only here, and only when a cluster is asked for (the optional
``cluster`` extra). ``--cluster local[:N]`` starts a ``LocalCluster`` of N worker processes
(default: one per core), each with ``cores // N`` threads.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from limelight.core.batch_plan import BatchError, PlannedFile, clean_stale_temps

if TYPE_CHECKING:
    from limelight.core.batch import BatchEvent, BatchJob, BatchResult, CancelToken
    from limelight.core.engine import Engine

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'limelight[cluster]'"
#: Seconds to wait for a scheduler (and for a LocalCluster's workers) before giving up.
CONNECT_TIMEOUT_S = 20.0
_ADDRESS = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?[^\s/]+(?::\d+)?/?$", re.IGNORECASE)


@dataclass(frozen=True)
class ClusterSpec:
    """Where to run: a scheduler ``address`` (``tcp://host:8786``), or a LocalCluster of
    ``workers`` processes when ``address`` is None."""

    address: str | None = None
    workers: int = 0

    @classmethod
    def parse(cls, text: str) -> ClusterSpec:
        """``local``, ``local:N`` or a scheduler address; BatchError names the problem."""
        t = text.strip()
        if t == "local" or t.startswith("local:"):
            n_text = t.partition(":")[2]
            if not n_text:
                from limelight.core.batch import available_cores

                return cls(None, available_cores())
            if not n_text.isdigit() or int(n_text) < 1:
                raise BatchError(f"--cluster {text!r}: local:N takes a number of worker "
                                 "processes of at least 1, e.g. local:2")
            return cls(None, int(n_text))
        if not t or not _ADDRESS.match(t):
            raise BatchError(f"--cluster {text!r} is neither local[:N] nor a Dask scheduler "
                             "address such as tcp://192.168.1.10:8786")
        return cls(t if "://" in t else f"tcp://{t}", 0)

    def describe(self) -> str:
        return f"the cluster at {self.address}" if self.address else "a local cluster"


def _distributed() -> Any:
    """The ``distributed`` module, or BatchError saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise BatchError("a cluster batch needs Dask's 'distributed' package, which is not "
                         f"installed: {INSTALL_HINT}") from None
    return distributed


# ----------------------------------------------------------------------------- client side


@contextlib.contextmanager
def connect(spec: ClusterSpec) -> Iterator[Any]:
    """A ``distributed.Client`` to ``spec`` (a LocalCluster started and closed with it)."""
    dist = _distributed()
    # Dask logs every connection and worker at INFO: keep it for -v, errors otherwise
    verbose = logging.getLogger().isEnabledFor(logging.INFO)
    logging.getLogger("distributed").setLevel(logging.INFO if verbose else logging.ERROR)
    if spec.address is None:
        from limelight.core.batch import available_cores

        threads = max(1, available_cores() // spec.workers)
        with warnings.catch_warnings():  # "Port 8787 is already in use" (no dashboard here)
            warnings.filterwarnings("ignore", message=r"Port \d+ is already in use",
                                    category=UserWarning)
            cluster = dist.LocalCluster(n_workers=spec.workers, threads_per_worker=threads,
                                        processes=True, dashboard_address=None,
                                        silence_logs=logging.ERROR)
        with cluster, dist.Client(cluster, timeout=CONNECT_TIMEOUT_S) as client:
            yield client
        return
    try:
        client = dist.Client(spec.address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as err:
        raise BatchError(f"cannot reach the Dask scheduler at {spec.address} ({err}); start "
                         "one with 'dask scheduler' and workers with 'dask worker "
                         f"{spec.address}'") from None
    with client:
        if not client.scheduler_info().get("workers"):
            with contextlib.suppress(Exception):
                client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        yield client


def check_output_reachable(client: Any, out_dir: Path) -> None:
    """BatchError naming the first worker that does not reach ``out_dir`` at the same path
    (the client writes a probe file there and every worker looks for it)."""
    from limelight.core import batch_worker

    probe = f".limelight-probe-{uuid.uuid4().hex}"
    folder = str(out_dir.resolve())
    try:
        (out_dir / probe).write_bytes(b"")
    except OSError as err:
        raise BatchError(f"cannot write in the output folder ({err.strerror or err})",
                         out_dir) from None
    try:
        answers = client.run(batch_worker.sees_probe, folder, probe)
    finally:
        (out_dir / probe).unlink(missing_ok=True)
    for worker, problem in sorted(answers.items()):
        if problem:
            raise BatchError(f"the output folder is not reachable from the worker {worker}: "
                             f"{problem}; with --cluster, --out must be a folder every worker "
                             "reaches at the same path (a shared file system)", out_dir)


def _register_engines(client: Any, engine: Engine, model: str | None) -> str:
    """Registers the engine plugin; returns the workers' device(s) ("CPU", "CUDA", ...).
    BatchError (one sentence, naming the worker) when a worker cannot run the model."""
    from limelight.core import batch_worker
    from limelight.core.zoo import default_zoo_dir

    info = engine.model(model)
    root = engine.zoo.root
    # the installed zoo: each worker uses its own installation (checked by sha256)
    zoo = None if root.resolve() == default_zoo_dir().resolve() else str(root)
    plugin = batch_worker.EnginePlugin(zoo, engine.requested_device, info.name, info.sha256)
    client.register_plugin(plugin, name=batch_worker.PLUGIN_NAME)
    statuses = client.run(batch_worker.worker_status)
    if not statuses:
        raise BatchError("the Dask cluster has no workers; start some with 'dask worker "
                         "SCHEDULER_ADDRESS'")
    for worker, (_device, problem) in sorted(statuses.items()):
        if problem:
            raise BatchError(f"the worker {worker} cannot run the model: {problem}")
    devices = sorted({d for d, _p in statuses.values()})
    n = len(statuses)
    return f"{n} worker{'' if n == 1 else 's'}, {'+'.join(devices)}"


def run_cluster_batch(
    job: BatchJob, engine: Engine, *, on_event: Callable[[BatchEvent], None] | None = None,
    cancel: CancelToken | None = None, planned: Sequence[PlannedFile] | None = None,
    missing: Sequence[Path] | None = None,
) -> BatchResult:
    """``run_batch`` on the cluster ``job.cluster``: same outcomes, events and report.

    ``engine`` (the client's) names the zoo and device and has checked the model; each worker
    makes its own. Raises BatchError when the cluster cannot be used (no ``distributed``,
    no scheduler, no workers, the output folder not reachable, a worker without the model)."""
    from limelight.core import batch_worker
    from limelight.core.batch import (
        BatchResult,
        CancelToken,
        _Run,
        batch_inputs,
        plan_batch,
    )

    assert job.cluster is not None
    spec = ClusterSpec.parse(job.cluster)
    dist = _distributed()
    cancel = cancel or CancelToken()
    if planned is None:
        planned, missing = plan_batch(job)
    missing = missing or ()
    folders = sorted({p.output.parent for p in planned} | {job.out_dir})
    try:
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BatchError(f"cannot create the output folder ({err.strerror or err})",
                         Path(err.filename or job.out_dir)) from None
    with connect(spec) as client:
        check_output_reachable(client, job.out_dir)
        device = _register_engines(client, engine, job.recipe.model)
        run = _Run(job, f"{spec.describe()} ({device})", planned, missing,
                   on_event, cancel)
        todo = run.begin(planned, folders)
        batch_id = uuid.uuid4().hex[:12]
        flag = dist.Event(f"limelight-cancel-{batch_id}", client=client)
        # absolute paths: a worker's working folder is not the client's
        protect = tuple(p.absolute() for p in batch_inputs(job, planned).paths)
        sent = [replace(p, input=p.input.absolute(), output=p.output.absolute()) for p in todo]
        keys = [f"limelight-{batch_id}-{p.index}" for p in todo]
        futures = client.map(batch_worker.run_task, sent, key=keys, job=job,
                             recipe=run.recipe, protect=protect,
                             cancel_name=f"limelight-cancel-{batch_id}", pure=False)
        by_key = {f.key: p for f, p in zip(futures, todo, strict=True)}
        run.first_work = time.perf_counter()
        _collect(dist, futures, by_key, run, cancel, flag)
        clean_stale_temps(folders)  # what a killed worker left
    seconds = time.perf_counter() - run.start
    report = run.report.write(run.results, seconds, force=True, final=True,
                              cancelled=cancel.how if cancel.cancelled else False)
    return BatchResult(tuple(run.results), report, seconds, cancelled=cancel.cancelled,
                       device=run.device)


def _collect(dist: Any, futures: list[Any], by_key: dict[Any, PlannedFile], run: Any,
             cancel: CancelToken, flag: Any) -> None:
    """Reports each task's outcome as it arrives; raises the cancel flag when asked."""
    from limelight.core.batch import FileResult

    ac = dist.as_completed(futures)
    flagged = False
    while True:
        batch = ac.next_batch(block=False)
        for fut in batch:
            p = by_key[fut.key]
            if fut.status == "finished":  # reported with the client's paths, as planned
                res = fut.result()
                reason = res.reason.replace(str(p.input.absolute()), str(p.input)).replace(
                    str(p.output.absolute()), str(p.output))
                res = replace(res, input=p.input, output=p.output, reason=reason)
            elif fut.status == "cancelled":
                res = FileResult(p.index, p.input, p.output, "cancelled",
                                 f"the batch was {cancel.how}; not started")
            else:
                err = fut.exception()
                res = FileResult(p.index, p.input, p.output, "failed",
                                 f"{p.input}: the cluster could not process it "
                                 f"({type(err).__name__}: {err})")
            fut.release()
            run.update(res)
        if cancel.cancelled and not flagged:
            flagged = True
            flag.set()
        if not batch:
            if ac.is_empty():
                return
            time.sleep(0.05)
