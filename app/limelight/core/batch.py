"""The batch runner shared by ``limelight batch`` and the editor's batch dialog.

One recipe applied to many photos (``BatchJob``). ``run_batch`` plans every output first
(``batch_plan``: inputs, naming template, skip/rename/overwrite, refusal of any output that is
an input), cleans temporary files that a killed run left in the output folders, then
processes the photos with ``jobs`` worker threads that share one ``Engine``: decoding
(libjpeg-turbo, LibRaw, tifffile), OpenCV and ONNX Runtime release the GIL, so the decode,
inference and encode of different photos overlap. The cores are split between the jobs
through ORT's intra-op thread count (``batch_engine``) and OpenCV's thread count.

Each photo gets an outcome (``done``, ``skipped``, ``failed`` with the reason, or
``cancelled``); a bad file never stops the others; outputs are written atomically
(``imageio.write_image``) and inputs are only ever opened for reading. Progress events go to
a callback; a ``CancelToken`` stops the batch: photos not started are not started, photos in
progress are abandoned before their output is written (nothing half-written is left). The
JSON report (``limelight-batch-report.json`` beside the outputs) is rewritten atomically as
photos finish, so a killed batch leaves a valid report.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import cv2

from limelight.core.batch_plan import (
    ON_EXISTS,
    SUFFIXES,
    BatchError,
    OnExists,
    PlannedFile,
    check_template,
    clean_stale_temps,
    find_inputs,
    missing_reason,
    plan_outputs,
    previous_outputs,
)
from limelight.core.batch_report import REPORT_NAME, ReportWriter
from limelight.core.engine import Engine
from limelight.core.errors import ImageWriteError, LimelightError
from limelight.core.imageio_encode import Protected
from limelight.core.masks import RasterMask, Subject
from limelight.core.pipeline import process_file
from limelight.core.recipe import Recipe

log = logging.getLogger(__name__)

Status = Literal["pending", "running", "done", "skipped", "failed", "cancelled"]
FINAL: tuple[Status, ...] = ("done", "skipped", "failed", "cancelled")
Placement = Literal["painted", "subject"]
PLACEMENTS: tuple[Placement, ...] = ("painted", "subject")
DEFAULT_NAME = "{name}"

__all__ = [
    "DEFAULT_NAME", "ON_EXISTS", "PLACEMENTS", "REPORT_NAME", "SUFFIXES", "BatchError",
    "BatchEvent", "BatchJob", "BatchResult", "CancelToken", "FileResult", "batch_engine",
    "placed_recipe", "plan_batch", "run_batch", "threads_per_job",
]


@dataclass(frozen=True)
class BatchJob:
    """What to do.

    ``inputs``: photos and folders (``recursive``: and their subfolders, whose layout is kept
    under ``out_dir``). ``placement``: ``"painted"`` applies the recipe's mask as drawn
    (image-relative); ``"subject"`` replaces its shapes by each photo's own subject. ``name``:
    the naming template (``{name}``, ``{stem}``, ``{ext}``, ``{index}``); the suffix comes
    from ``fmt`` (None keeps each input's format, TIFF for RAW/BMP). ``bit_depth`` None keeps
    the source's (16-bit TIFF/PNG from 16-bit and RAW inputs). ``report`` None writes
    ``out_dir/limelight-batch-report.json``. ``protect``: other inputs that no output nor
    the report may replace (the recipe file); the photos and the recipe's raster masks are
    always protected. ``cluster``: None runs on this computer with ``jobs`` photos at once;
    ``"local[:N]"`` or a Dask scheduler address runs one task per photo there
    (``batch_cluster``; ``jobs`` is then unused).
    """

    inputs: tuple[Path, ...]
    out_dir: Path
    recipe: Recipe
    placement: Placement = "painted"
    recursive: bool = False
    name: str = DEFAULT_NAME
    fmt: str | None = None
    quality: int = 95
    bit_depth: int | None = None
    on_exists: OnExists = "rename"
    jobs: int = 1
    report: Path | None = None
    protect: tuple[Path, ...] = ()
    cluster: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(Path(p) for p in self.inputs))
        object.__setattr__(self, "out_dir", Path(self.out_dir))
        if self.report is not None:
            object.__setattr__(self, "report", Path(self.report))
        object.__setattr__(self, "protect", tuple(Path(p) for p in self.protect))
        if self.fmt is not None and self.fmt not in SUFFIXES:
            raise BatchError(f"format must be one of {', '.join(SUFFIXES)}, got {self.fmt!r}")
        if self.placement not in PLACEMENTS:
            raise BatchError(f"placement must be 'painted' or 'subject', got {self.placement!r}")
        if self.on_exists not in ON_EXISTS:
            raise BatchError(f"on_exists must be one of {', '.join(ON_EXISTS)}, "
                             f"got {self.on_exists!r}")
        if not 1 <= self.quality <= 100:
            raise BatchError(f"quality must be between 1 and 100, got {self.quality}")
        if self.bit_depth not in (None, 8, 16):
            raise BatchError(f"bit depth must be 8 or 16, got {self.bit_depth}")
        if self.jobs < 1:
            raise BatchError(f"jobs must be at least 1, got {self.jobs}")
        check_template(self.name)
        if self.cluster is not None:
            from limelight.core.batch_cluster import ClusterSpec

            ClusterSpec.parse(self.cluster)  # BatchError on a malformed address

    @property
    def report_path(self) -> Path:
        return self.report if self.report is not None else self.out_dir / REPORT_NAME


@dataclass(frozen=True)
class FileResult:
    """One input's state; ``reason`` says why it failed, was skipped or cancelled."""

    index: int
    input: Path
    output: Path
    status: Status
    reason: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class BatchEvent:
    """A progress event: ``file`` changed state; ``finished`` of ``total`` photos have an
    outcome; ``eta_s`` is the estimated time left (None until a photo was processed)."""

    file: FileResult
    finished: int
    total: int
    elapsed_s: float
    eta_s: float | None


@dataclass(frozen=True)
class BatchResult:
    """Every input's outcome in input order, the report's path and the wall time."""

    files: tuple[FileResult, ...]
    report: Path | None
    seconds: float
    cancelled: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    device: str = ""  # where it ran: "CPU", "CUDA", or the cluster and its workers' devices

    def __post_init__(self) -> None:
        counts = {s: sum(1 for f in self.files if f.status == s) for s in FINAL}
        object.__setattr__(self, "counts", counts)

    @property
    def ok(self) -> bool:
        """No photo failed (a cancelled batch is not ok either)."""
        return self.counts["failed"] == 0 and not self.cancelled

    @property
    def failures(self) -> tuple[FileResult, ...]:
        return tuple(f for f in self.files if f.status == "failed")


class CancelToken:
    """Set from any thread to stop a running batch. ``how`` is what the report's ``state``
    says: ``"cancelled"`` (the dialog's Cancel) or ``"interrupted"`` (Ctrl-C)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.how = "cancelled"

    def cancel(self, how: Literal["cancelled", "interrupted"] = "cancelled") -> None:
        if not self._event.is_set():
            self.how = how
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Blocks until the batch is cancelled or ``timeout`` seconds pass; ``cancelled``."""
        return self._event.wait(timeout)


class _Cancelled(Exception):
    pass


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity (``taskset``, a container's cpuset),
    which ``os.cpu_count`` ignores; at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no sched_getaffinity outside Linux
        return os.cpu_count() or 1


def default_jobs() -> int:
    """Photos in parallel when the user does not say: 2, or 1 on a single core (the CLI's
    ``--jobs`` and the dialog's spin box)."""
    return min(2, available_cores())


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """Threads for each of ``jobs`` parallel photos on ``cores`` cores (default: the
    available ones; jobs x threads ≈ cores, at least 1)."""
    cores = cores or available_cores()
    return max(1, cores // max(1, jobs))


def fit_jobs(job: BatchJob, planned: Sequence[PlannedFile]) -> BatchJob:
    """``job`` with no more jobs than photos to export (skipped ones not counted, at least 1),
    so that no idle job holds back its share of the cores."""
    todo = sum(not p.skip for p in planned)
    jobs = max(1, min(job.jobs, todo))
    return job if jobs == job.jobs else replace(job, jobs=jobs)


def batch_engine(zoo: object = None, device: str = "auto", jobs: int = 1) -> Engine:
    """An Engine whose ORT sessions use ``threads_per_job(jobs)`` intra-op threads."""
    return Engine(zoo, device=device, threads=threads_per_job(jobs))  # type: ignore[arg-type]


def placed_recipe(recipe: Recipe, placement: Placement) -> Recipe:
    """The recipe with its mask placed: as painted, or each photo's subject (transition,
    band and invert kept)."""
    if placement == "painted":
        return recipe
    if recipe.lights is not None:  # every light on the subject
        return replace(recipe, lights=tuple(
            replace(light, mask=replace(light.mask, shapes=(Subject(),)))
            for light in recipe.lights))
    return replace(recipe, mask=replace(recipe.mask, shapes=(Subject(),)))


def plan_batch(job: BatchJob) -> tuple[list[PlannedFile], list[Path]]:
    """(planned photos, missing inputs); BatchError when nothing can be done."""
    sources, missing = find_inputs(job.inputs, recursive=job.recursive, exclude=job.out_dir,
                                   previous=previous_outputs(job.report_path))
    if not sources and not missing:
        where = ", ".join(str(p) for p in job.inputs) or "(no inputs)"
        raise BatchError(f"no photos found in {where}"
                         + ("" if job.recursive else " (add subfolders with --recursive)"))
    protect = [*job.protect, *(s.path for s in job.recipe.shapes
                               if isinstance(s, RasterMask))]
    planned = plan_outputs(sources, job.out_dir, job.name, job.fmt, job.on_exists, protect)
    _check_report_path(job.report_path, [*(s.path for s in sources), *protect], planned)
    return planned, missing


def _check_report_path(report: Path, inputs: Sequence[Path],
                       planned: Sequence[PlannedFile]) -> None:
    """BatchError when the report would replace an input or one of the outputs."""
    hit = Protected.of(inputs).find(report)
    if hit is not None:
        raise BatchError(f"the report would overwrite the input file {hit}; an input is "
                         "never written, choose another --report path", report)
    hit = Protected.of(p.output for p in planned).find(report)
    if hit is not None:
        raise BatchError(f"the report would overwrite the output {hit}; choose another "
                         "--report path", report)
    if report.is_dir():
        raise BatchError("is a folder; give the report a file name", report)


_cv2_lock = threading.Lock()
_cv2_active: list[int] = []  # thread counts asked for by the batches running now
_cv2_original: list[int] = []


@contextlib.contextmanager
def _cv2_threads(n: int) -> Iterator[None]:
    """OpenCV's (process-wide) thread count is the smallest any running batch asks for, and
    what it was before once no batch runs, however the batches overlap."""
    with _cv2_lock:
        if not _cv2_active:
            _cv2_original[:] = [cv2.getNumThreads()]
        _cv2_active.append(n)
        cv2.setNumThreads(min(_cv2_active))
    try:
        yield
    finally:
        with _cv2_lock:
            _cv2_active.remove(n)
            cv2.setNumThreads(min(_cv2_active) if _cv2_active else _cv2_original[0])


class _Run:
    """The mutable state of one run: results, counters, report; all under one lock."""

    def __init__(self, job: BatchJob, device: str, planned: Sequence[PlannedFile],
                 missing: Sequence[Path], on_event: Callable[[BatchEvent], None] | None,
                 cancel: CancelToken) -> None:
        self.job, self.cancel, self.on_event, self.device = job, cancel, on_event, device
        self.recipe = placed_recipe(job.recipe, job.placement)
        self.lock = threading.Lock()
        self.start = time.perf_counter()
        self.first_work: float | None = None
        self.worked = 0
        self.results: list[FileResult] = [
            FileResult(p.index, p.input, p.output, "pending") for p in planned]
        self.missing = [FileResult(len(self.results) + k, path, path, "failed",
                                   missing_reason(path))
                        for k, path in enumerate(missing, start=1)]
        self.results += [replace(r, status="pending", reason="") for r in self.missing]
        self.finished = 0
        self.report = ReportWriter(job.report_path, job, self.recipe, device)

    def begin(self, planned: Sequence[PlannedFile], folders: Sequence[Path]
              ) -> list[PlannedFile]:
        """Starts the batch in its output ``folders`` (created): clears stale temporary
        files, writes the first report, records the missing inputs and the skipped photos;
        returns the photos left to process."""
        clean_stale_temps(folders)
        self.report.write(self.results, 0.0, force=True)
        for r in self.missing:
            self.update(r)
        todo = []
        for p in planned:
            if p.skip:
                self.update(FileResult(p.index, p.input, p.output, "skipped",
                                       "the output exists (resumed batch)"))
            else:
                todo.append(p)
        return todo

    def update(self, res: FileResult) -> None:
        with self.lock:
            self.results[res.index - 1] = res
            now = time.perf_counter()
            if res.status == "running" and self.first_work is None:
                self.first_work = now
            if res.status in FINAL:
                self.finished += 1
                if res.status in ("done", "failed") and res.seconds > 0:
                    self.worked += 1
                self.report.write(self.results, now - self.start, force=False)
            event = BatchEvent(res, self.finished, len(self.results), now - self.start,
                               self._eta(now))
            if self.on_event is not None:
                try:
                    self.on_event(event)
                except Exception:  # a broken progress display must not stop the batch
                    log.exception("batch progress callback failed")

    def _eta(self, now: float) -> float | None:
        if self.first_work is None or self.worked == 0:
            return None
        left = sum(1 for r in self.results if r.status in ("pending", "running"))
        return (now - self.first_work) / self.worked * left


def batch_inputs(job: BatchJob, planned: Sequence[PlannedFile]) -> Protected:
    """Every file the batch reads (photos, the recipe's masks, ``job.protect``): never
    written."""
    return Protected.of([*(p.input for p in planned), *job.protect,
                         *(s.path for s in job.recipe.shapes if isinstance(s, RasterMask))])


def _process(run: _Run, engine: Engine, p: PlannedFile, inputs: Protected) -> FileResult:
    """Processes one photo (worker thread); never raises."""
    if run.cancel.cancelled:
        return FileResult(p.index, p.input, p.output, "cancelled",
                          f"the batch was {run.cancel.how}; not started")
    run.update(FileResult(p.index, p.input, p.output, "running"))
    return process_planned(p, run.recipe, engine, run.job, inputs,
                           lambda: run.cancel.cancelled)


def process_planned(p: PlannedFile, recipe: Recipe, engine: Engine, job: BatchJob,
                    inputs: Protected, cancelled: Callable[[], bool]) -> FileResult:
    """One planned photo with the placed ``recipe``: its outcome (``done``, ``failed`` with
    the reason, ``cancelled`` when ``cancelled()`` became true before its output was
    written); never raises. Shared by the local runner and the cluster's workers."""
    if cancelled():
        return FileResult(p.index, p.input, p.output, "cancelled",
                          "the batch was stopped; not started")
    start = time.perf_counter()

    def progress(_fraction: float) -> None:
        if cancelled():
            raise _Cancelled

    def res(status: Status, reason: str = "") -> FileResult:
        return FileResult(p.index, p.input, p.output, status, reason,
                          time.perf_counter() - start)

    try:
        if inputs.find(p.output) is not None:  # planned against this; checked again to be sure
            raise ImageWriteError("refusing to overwrite an input photo", p.output)
        process_file(p.input, p.output, recipe, engine, fmt=job.fmt,
                     quality=job.quality, bit_depth=job.bit_depth, progress=progress)
    except _Cancelled:
        return res("cancelled", "cancelled while in progress; nothing was written")
    except LimelightError as err:
        return res("failed", str(err))
    except MemoryError:
        return res("failed", f"{p.input}: not enough memory to process this photo")
    except Exception as err:  # a bug must not stop the batch; the report keeps the reason
        log.exception("unexpected error on %s", p.input)
        return res("failed", f"{p.input}: unexpected error: {type(err).__name__}: {err}")
    return res("done")


def run_batch(
    job: BatchJob, engine: Engine, *, on_event: Callable[[BatchEvent], None] | None = None,
    cancel: CancelToken | None = None, planned: Sequence[PlannedFile] | None = None,
    missing: Sequence[Path] | None = None,
) -> BatchResult:
    """Runs ``job`` and returns every photo's outcome.

    ``on_event`` is called, one call at a time, from the calling or a worker thread, when a
    photo starts and when it finishes. ``planned``: the result of ``plan_batch(job)`` if the
    caller already has it, and ``missing`` the inputs it found missing or unreadable (each is
    failed and reported; when ``planned`` is given without it, none are). Raises BatchError (before anything is written) when the batch
    cannot start: bad template, an output that is an input, no photos (and, on a cluster,
    when it cannot be used: ``batch_cluster.run_cluster_batch``). An output folder
    that cannot be created fails every photo with the reason. The engine should come from
    ``batch_engine(..., jobs=job.jobs)`` so that jobs x ORT threads ≈ cores.
    """
    if job.cluster is not None:
        from limelight.core.batch_cluster import run_cluster_batch

        return run_cluster_batch(job, engine, on_event=on_event, cancel=cancel,
                                 planned=planned, missing=missing)
    cancel = cancel or CancelToken()
    if planned is None:
        planned, missing = plan_batch(job)
    missing = missing or ()
    run = _Run(job, engine.device, planned, missing, on_event, cancel)
    folders = sorted({p.output.parent for p in planned})
    try:
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        reason = f"{err.filename or job.out_dir}: cannot create the output folder " \
                 f"({err.strerror or err})"
        for p in planned:
            run.update(FileResult(p.index, p.input, p.output, "failed", reason))
        for r in run.missing:
            run.update(r)
        return BatchResult(tuple(run.results), None, time.perf_counter() - run.start)
    todo = run.begin(planned, folders)
    inputs = batch_inputs(job, planned)
    threads = threads_per_job(job.jobs)
    with _cv2_threads(threads), ThreadPoolExecutor(job.jobs, "limelight-batch") as pool:
        # each worker reports its own outcome as soon as it has it
        list(pool.map(lambda p: run.update(_process(run, engine, p, inputs)), todo))
    seconds = time.perf_counter() - run.start
    report = run.report.write(run.results, seconds, force=True, final=True,
                              cancelled=cancel.how if cancel.cancelled else False)
    return BatchResult(tuple(run.results), report, seconds, cancelled=cancel.cancelled,
                       device=run.device)
