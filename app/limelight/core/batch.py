"""The batch runner shared by ``limelight batch`` and the editor's batch dialog.

One recipe applied to many photos: each input gets an outcome (``done``, ``skipped`` or
``failed`` with the reason), a bad file never stops the others, outputs are written atomically
(``process_file``), and a JSON report of every outcome is written beside the outputs.
Parallel jobs run in threads that share one ``Engine`` (ONNX Runtime sessions are
thread-safe; decoding, OpenCV and ORT release the GIL); the CPU cores are split between the
jobs through ORT's intra-op thread count.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from limelight.core.engine import Engine
from limelight.core.errors import LimelightError
from limelight.core.pipeline import process_file
from limelight.core.recipe import Recipe, recipe_to_dict

log = logging.getLogger(__name__)

Status = Literal["done", "skipped", "failed"]
REPORT_NAME = "limelight-report.json"
#: Output format names -> file suffix.
SUFFIXES = {"jpeg": ".jpg", "png": ".png", "tiff": ".tif", "webp": ".webp"}
_KEEP = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".tif": "tiff", ".tiff": "tiff",
         ".webp": "webp"}


@dataclass(frozen=True)
class BatchJob:
    """What to do. ``fmt`` None keeps each input's format (TIFF for RAW and BMP inputs);
    ``bit_depth`` None keeps the source's; ``jobs`` parallel files."""

    inputs: tuple[Path, ...]
    out_dir: Path
    recipe: Recipe
    fmt: str | None = None
    quality: int = 95
    bit_depth: int | None = None
    jobs: int = 1
    skip_existing: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(Path(p) for p in self.inputs))
        object.__setattr__(self, "out_dir", Path(self.out_dir))
        if self.fmt is not None and self.fmt not in SUFFIXES:
            raise ValueError(f"format must be one of {', '.join(SUFFIXES)}, got {self.fmt!r}")
        if self.jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {self.jobs}")


@dataclass(frozen=True)
class FileResult:
    """One input's outcome; ``reason`` says why it failed or was skipped."""

    input: Path
    output: Path
    status: Status
    reason: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class BatchResult:
    """Every input's outcome in input order, the report's path and the wall time."""

    files: tuple[FileResult, ...]
    report: Path | None
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        counts = {s: sum(1 for f in self.files if f.status == s)
                  for s in ("done", "skipped", "failed")}
        object.__setattr__(self, "counts", counts)

    @property
    def ok(self) -> bool:
        return self.counts["failed"] == 0


def output_paths(job: BatchJob) -> tuple[Path, ...]:
    """The output path of each input: ``<out_dir>/<stem><suffix>``; a stem used twice gets
    ``-2``, ``-3``... in input order, so no output overwrites another."""
    used: set[str] = set()
    paths = []
    for src in job.inputs:
        fmt = job.fmt or _KEEP.get(src.suffix.lower(), "tiff")
        suffix = SUFFIXES[fmt]
        name, n = f"{src.stem}{suffix}", 1
        while name.lower() in used:
            n += 1
            name = f"{src.stem}-{n}{suffix}"
        used.add(name.lower())
        paths.append(job.out_dir / name)
    return tuple(paths)


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """ORT intra-op threads for each of ``jobs`` parallel files on ``cores`` cores."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, jobs))


def _one(job: BatchJob, src: Path, dst: Path, engine: Engine) -> FileResult:
    start = time.perf_counter()
    if job.skip_existing and dst.is_file() and dst.stat().st_size > 0:
        return FileResult(src, dst, "skipped", "output exists")
    try:
        process_file(src, dst, job.recipe, engine, fmt=job.fmt, quality=job.quality,
                     bit_depth=job.bit_depth)
    except LimelightError as err:
        return FileResult(src, dst, "failed", str(err), time.perf_counter() - start)
    except MemoryError:
        return FileResult(src, dst, "failed", f"{src}: not enough memory",
                          time.perf_counter() - start)
    except Exception as err:  # a bug must not stop the batch; the report keeps the reason
        log.debug("unexpected error on %s", src, exc_info=True)
        return FileResult(src, dst, "failed", f"{src}: unexpected error: "
                          f"{type(err).__name__}: {err}", time.perf_counter() - start)
    return FileResult(src, dst, "done", "", time.perf_counter() - start)


def run_batch(
    job: BatchJob, engine: Engine, *, on_file: Callable[[FileResult], None] | None = None
) -> BatchResult:
    """Runs ``job``; ``on_file`` is called (in the calling thread) as each file finishes.

    The output folder is created if needed; an unusable folder fails every file with the
    reason rather than raising. The engine should have been made with
    ``threads=threads_per_job(job.jobs)``.
    """
    start = time.perf_counter()
    outputs = output_paths(job)
    try:
        job.out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        reason = f"{job.out_dir}: cannot create the output folder ({err.strerror or err})"
        files = tuple(FileResult(s, d, "failed", reason) for s, d in zip(job.inputs, outputs,
                                                                           strict=True))
        for f in files:
            if on_file:
                on_file(f)
        return BatchResult(files, None, time.perf_counter() - start)
    results: dict[int, FileResult] = {}
    with ThreadPoolExecutor(max_workers=job.jobs, thread_name_prefix="batch") as pool:
        futures = {pool.submit(_one, job, s, d, engine): i
                   for i, (s, d) in enumerate(zip(job.inputs, outputs, strict=True))}
        for fut in as_completed(futures):
            res = fut.result()
            results[futures[fut]] = res
            if on_file:
                on_file(res)
    files = tuple(results[i] for i in range(len(outputs)))
    seconds = time.perf_counter() - start
    report = _write_report(job, files, seconds, engine)
    return BatchResult(files, report, seconds)


def _write_report(job: BatchJob, files: tuple[FileResult, ...], seconds: float,
                  engine: Engine) -> Path | None:
    """Writes the JSON report atomically beside the outputs; None if that fails (logged)."""
    doc = {
        "limelight_batch_report": 1,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
        "device": engine.device,
        "recipe": recipe_to_dict(job.recipe),
        "summary": {s: sum(1 for f in files if f.status == s)
                    for s in ("done", "skipped", "failed")},
        "files": [{"input": str(f.input), "output": str(f.output), "status": f.status,
                   "reason": f.reason, "seconds": round(f.seconds, 3)} for f in files],
    }
    path = job.out_dir / REPORT_NAME
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        log.warning("could not write the batch report %s: %s", path, err)
        return None
    return path
