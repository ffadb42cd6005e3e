"""Batch cases of the benchmark: ``python -m bench.batch [--quick] [--zoo DIR]``
(``python -m bench`` runs them too).

* throughput of ``run_batch`` on a batch of photo-like JPEGs with 1 and 2 jobs (worker
  threads sharing one Engine, ORT/OpenCV threads split so jobs x threads = cores), and the
  same 2 jobs as 2 worker *processes* (one Engine each), to check which overlaps better;
* the same batch on a Dask ``LocalCluster`` of 2 worker processes (``BatchJob.cluster``,
  the cluster's start-up included) when ``distributed`` is installed;
* the peak memory (max RSS of the child) of ``limelight batch`` exporting a 50 MP photo.

With an empty zoo the synthetic ``tiny-*`` models are used (working 1024 px) and the output
says so.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2

from bench.common import REPO, make_photo, recipe_for, zoo_or_tiny
from limelight.core.batch import BatchJob, batch_engine, run_batch
from limelight.core.pipeline import process_file
from limelight.core.recipe import save_recipe

BATCH = 20
BATCH_SIZE = (2000, 3000)  # 6 MP: the whole case takes well under 2 minutes here
QUICK_BATCH_SIZE = (1000, 1500)
PEAK_SIZE = (5800, 8640)  # 50.1 MP
QUICK_PEAK_SIZE = (2448, 3264)


def make_batch(folder: Path, n: int, size: tuple[int, int]) -> list[Path]:
    """``n`` different photo-like dark JPEGs of ``size`` (h, w)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [make_photo(folder / f"photo{i:02d}.jpg", *size, seed=i) for i in range(n)]


def time_threads(photos: list[Path], out: Path, zoo: Path, model: str | None,
                 jobs: int, device: str = "cpu") -> tuple[float, float]:
    """(wall seconds, CPU seconds of the whole process, every thread) of ``run_batch`` with
    ``jobs`` worker threads (engine made for it)."""
    engine = batch_engine(zoo, device=device, jobs=jobs)
    engine.session(model)  # load before timing, as the CLI does
    job = BatchJob(tuple(photos), out, recipe_for(model), fmt="jpeg", jobs=jobs,
                   on_exists="overwrite")
    start, cpu = time.perf_counter(), time.process_time()
    result = run_batch(job, engine)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if not result.ok:
        raise SystemExit(f"the batch failed: {result.failures[0].reason}")
    return seconds, cpu


_worker: dict[str, object] = {}


def _init_worker(zoo: str, model: str | None, device: str) -> None:
    cv2.setNumThreads(1)
    engine = batch_engine(Path(zoo), device=device, jobs=os.cpu_count() or 1)
    engine.session(model)
    _worker.update(engine=engine, recipe=recipe_for(model))


def _one(src: str, dst: str) -> None:
    process_file(src, dst, _worker["recipe"], _worker["engine"], fmt="jpeg")  # type: ignore[arg-type]


def time_processes(photos: list[Path], out: Path, zoo: Path, model: str | None,
                   jobs: int, device: str = "cpu") -> float:
    """Wall seconds of the same export with ``jobs`` worker processes (start-up included)."""
    out.mkdir(parents=True, exist_ok=True)
    ctx = multiprocessing.get_context("spawn")
    start = time.perf_counter()
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker,
                             initargs=(str(zoo), model, device)) as pool:
        list(pool.map(_one, map(str, photos), [str(out / p.name) for p in photos]))
    return time.perf_counter() - start


def time_cluster(photos: list[Path], out: Path, zoo: Path, model: str | None,
                 workers: int, device: str = "cpu") -> float | None:
    """Wall seconds of the batch on ``--cluster local:workers`` (start-up included), or None
    when ``distributed`` is not installed."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return None
    from limelight.core.engine import Engine

    engine = Engine(zoo, device=device, threads=1)
    engine.session(model)  # the client checks the model, as the CLI does
    job = BatchJob(tuple(photos), out, recipe_for(model), fmt="jpeg", on_exists="overwrite",
                   cluster=f"local:{workers}")
    start = time.perf_counter()
    result = run_batch(job, engine)
    seconds = time.perf_counter() - start
    if not result.ok:
        raise SystemExit(f"the cluster batch failed: {result.failures[0].reason}")
    return seconds


def _batch_args(photos: list[Path], out: Path, zoo: Path, model: str | None,
                device: str) -> list[str]:
    """``limelight batch`` arguments (after the program) exporting ``photos`` to JPEG in
    ``out`` with the benchmark's recipe (saved beside ``out``)."""
    recipe = save_recipe(recipe_for(model), out.parent / f"bench-recipe-{out.name}.json")
    return ["batch", *map(str, photos), "--out", str(out), "--zoo", str(zoo), "--device", device,
            "--recipe", str(recipe), "--format", "jpeg", "--on-exists", "overwrite",
            "--no-progress"]


def time_cli(photos: list[Path], out: Path, zoo: Path, model: str | None, jobs: int,
             cores: set[int] | None = None, device: str = "cpu") -> float | None:
    """Wall seconds of a ``limelight batch --jobs N`` child process (start-up included),
    pinned to ``cores`` (CPU affinity) when given; None where affinity is not supported."""
    if cores is not None and not hasattr(os, "sched_setaffinity"):
        return None
    # the child pins itself before anything starts a thread (no preexec_fn in a threaded parent)
    boot = (f"import os, runpy, sys; os.sched_setaffinity(0, {sorted(cores or [])!r} or "
            "os.sched_getaffinity(0)); sys.argv[0] = 'limelight'; "
            "runpy.run_module('limelight.cli', run_name='__main__')")
    cmd = [sys.executable, "-c", boot, *_batch_args(photos, out, zoo, model, device),
           "--jobs", str(jobs)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"the batch failed: {proc.stderr.strip()}")
    return seconds


#: runs the CLI and reports its own peak RSS (kB) on stderr, whatever other children did
_REPORT_RSS = ("import runpy, sys\nsys.argv[0] = 'limelight'\ntry:\n"
               "    runpy.run_module('limelight.cli', run_name='__main__')\nfinally:\n"
               "    from bench.common import own_peak_mb\n"
               "    sys.stderr.write('\\nmax_mb=%.1f\\n' % own_peak_mb())\n")


def peak_rss_mb(photo: Path, out: Path, zoo: Path, model: str | None,
                device: str = "cpu") -> float:
    """Peak resident memory (MB) of a ``limelight batch`` child process exporting ``photo``,
    as the child itself measures it (``common.own_peak_mb``: RUSAGE_CHILDREN would keep an
    earlier, larger child's, and the child's ru_maxrss counts this process's memory)."""
    cmd = [sys.executable, "-c", _REPORT_RSS, *_batch_args([photo], out, zoo, model, device)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)
    found = re.findall(r"max_mb=([\d.]+)", proc.stderr)
    if proc.returncode != 0 or not found:
        raise SystemExit(f"the 50 MP batch failed: {proc.stderr.strip()}")
    return float(found[-1])


def run_cases(zoo: Path, model: str | None, tmp: Path, *, quick: bool = False,
              peak: bool = True, device: str = "cpu") -> dict[str, float]:
    """Runs and prints the batch cases; returns the figures."""
    size = QUICK_BATCH_SIZE if quick else BATCH_SIZE
    h, w = size
    photos = make_batch(tmp / "batch-in", BATCH, size)
    print(f"batch of {BATCH} JPEGs {w}x{h} ({w * h / 1e6:.1f} MP) -> JPEG, "
          f"{os.cpu_count()} cores:")
    t1, cpu1 = time_threads(photos, tmp / "batch-1", zoo, model, 1, device)
    n_cores = os.cpu_count() or 1
    print(f"  1 job                        {t1:6.2f} s  {BATCH / t1:5.2f} photos/s  "
          f"(keeps {cpu1 / t1:.2f} of {n_cores} cores busy: CPU time / wall time)")
    t2, cpu2 = time_threads(photos, tmp / "batch-2", zoo, model, 2, device)
    print(f"  2 jobs (threads)             {t2:6.2f} s  {BATCH / t2:5.2f} photos/s  "
          f"= {t1 / t2:.2f}x one job (target >= 1.6x; {cpu2 / t2:.2f} cores busy)")
    # with the same CPU work per photo, more jobs can at best fill the idle cores
    print(f"  ceiling of any number of jobs on {n_cores} cores: {n_cores * t1 / cpu1:.2f}x one job "
          "(cores / cores one job keeps busy)")
    tp = time_processes(photos, tmp / "batch-p", zoo, model, 2, device)
    print(f"  2 jobs (processes, compared) {tp:6.2f} s  {BATCH / tp:5.2f} photos/s  "
          f"= {t1 / tp:.2f}x one job")
    tc = time_cluster(photos, tmp / "batch-cluster", zoo, model, 2, device)
    if tc is not None:
        print(f"  --cluster local:2 (Dask)      {tc:6.2f} s  {BATCH / tc:5.2f} photos/s  "
              f"= {t1 / tc:.2f}x one job (the cluster's start-up included)")
    figures = {"one_job_s": t1, "two_jobs_s": t2, "two_procs_s": tp, "speedup": t1 / t2,
               "one_job_cores": cpu1 / t1, "two_jobs_cores": cpu2 / t2}
    if peak:
        ph, pw = QUICK_PEAK_SIZE if quick else PEAK_SIZE
        big = make_photo(tmp / "big50.jpg", ph, pw, seed=7)
        mb = peak_rss_mb(big, tmp / "peak-out", zoo, model, device)
        print(f"  peak memory of 'limelight batch' on {pw}x{ph} ({pw * ph / 1e6:.1f} MP): "
              f"{mb:,.0f} MB max RSS (target < 3072 MB)")
        figures["peak_mb"] = mb
    # One job already overlaps decoding, the network and encoding of a photo on both cores,
    # so the ratio above measures how much CPU one job leaves idle. Per-core scaling: the
    # same CLI batch with one job confined to one core against two jobs on two.
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cores) >= 2:
        c1 = time_cli(photos, tmp / "batch-c1", zoo, model, 1, {cores[0]}, device)
        c2 = time_cli(photos, tmp / "batch-c2", zoo, model, 2, set(cores[:2]), device)
        if c1 and c2:
            print(f"  'limelight batch', 1 job on 1 core   {c1:6.2f} s  {BATCH / c1:5.2f} photos/s")
            print(f"  'limelight batch', 2 jobs on 2 cores {c2:6.2f} s  {BATCH / c2:5.2f} photos/s  "
                  f"= {c1 / c2:.2f}x (per-core scaling)")
            figures.update(one_core_s=c1, two_cores_s=c2)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.batch",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller photos")
    parser.add_argument("--zoo", type=Path, help="zoo folder (default: the installed one)")
    parser.add_argument("--model", help="model name (default: the zoo's default)")
    parser.add_argument("--no-peak", action="store_true", help="skip the 50 MP memory case")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as name:
        tmp = Path(name)
        zoo, note = zoo_or_tiny(args.zoo, tmp)
        if note:
            print(f"note: {note}")
        run_cases(zoo, args.model, tmp, quick=args.quick, peak=not args.no_peak)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
