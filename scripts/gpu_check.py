"""The GPU check's measurements (run by ``scripts/gpu_check.sh``): the CUDA parity tests,
then the 1 MP preview, the 24 MP export against the decode+encode floor and the batch's
photos per second, on CUDA, or on the CPU with the reason CUDA cannot load.

``--quick``: a 1.5 MP export and a batch of 4 photos of 0.5 MP (CI's fallback test).
Exit codes: 0 all done on CUDA (or on the CPU with ``--allow-cpu``), 1 a parity test
failed, 3 CUDA is not usable here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/gpu_check.py", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller photos (CI)")
    parser.add_argument("--allow-cpu", action="store_true",
                        help="exit 0 when CUDA is not usable (the CPU fallback)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    from bench.batch import BATCH, make_batch, time_threads
    from bench.common import make_photo
    from bench.export import bench_export, bench_preview
    from limelight.core.engine import Engine, cuda_problem

    engine = Engine(device="auto")  # CUDA when it works
    on_cuda = engine.device == "CUDA"
    if on_cuda:
        print("== CUDA works: measuring on the GPU")
    else:
        print(f"== CUDA is not usable here: {cuda_problem()}.")
        print("== CPU fallback: the figures below are the CPU's, not the GPU's")
    device = "cuda" if on_cuda else "cpu"

    print("== parity: the engine's maps on CUDA against the CPU (max difference <= 1e-3)")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-s", "-p",
                           "no:cacheprovider", "tests/core/test_engine_cuda.py"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    print("\n".join("   " + ln for ln in lines if "max |CUDA" in ln or "SKIPPED" in ln
                    or " passed" in ln or " failed" in ln or " skipped" in ln))
    if proc.returncode not in (0, 5):  # 5: nothing collected
        print(proc.stdout[-3000:] + proc.stderr[-2000:])
        print("== FAILED: the CUDA maps differ from the CPU's (or the test broke)")
        return 1

    model = None
    info = engine.model(model)
    size = (1000, 1500) if args.quick else (4000, 6000)
    with tempfile.TemporaryDirectory(prefix="limelight-gpu-check-") as name:
        tmp = Path(name)
        engine.session(model)
        print(f"== figures on {engine.device}, model {info.name}")
        repeat = 2 if args.quick else 7
        fast = bench_preview(engine, model, repeat)
        refined = bench_preview(engine, model, repeat, long_edge=1224)
        print(f"preview at 1 MP: fast pass {fast:.0f} ms, refined pass {refined:.0f} ms")
        photo = make_photo(tmp / "photo.jpg", *size)
        r = bench_export(engine, model, photo, tmp, 1 if args.quick else 3)
        mp = size[0] * size[1] / 1e6
        print(f"export {mp:.1f} MP JPEG -> JPEG: {r['export_s']:.2f} s = {r['ratio']:.2f}x the "
              f"decode+encode floor ({r['pillow_floor_s']:.2f} s, Pillow, same run)")
        n, bsize = (4, (600, 900)) if args.quick else (BATCH, (2000, 3000))
        photos = make_batch(tmp / "batch", n, bsize)
        for jobs in (1, 2):
            seconds, _cpu = time_threads(photos, tmp / f"out{jobs}", engine.zoo.root, model,
                                         jobs, device)
            print(f"batch of {n} photos at {bsize[0] * bsize[1] / 1e6:.1f} MP, {jobs} job(s): "
                  f"{n / seconds:.2f} photos/s")
    print(f"== done in {time.perf_counter() - start:.0f} s"
          + ("" if on_cuda else " (CPU fallback)"))
    if not on_cuda and not args.allow_cpu:
        return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
