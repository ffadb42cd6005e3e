"""Export and preview cases of the benchmark (``python -m bench`` runs them, then the batch
cases of ``bench.batch``).

In one run, on a generated photo-like JPEG (scikit-image's coffee photo upscaled to 24 MP,
with grain so that JPEG coding costs what it does on real photos):

* the decode + encode floor measured with Pillow alone (open, load, save at the export's
  quality and chroma, EXIF and ICC kept), and Limelight's own I/O (``read_image`` +
  ``write_image``: atomic, fsynced);
* a full-resolution export: decode + ``enhance`` + encode (``process_file``), as a ratio to
  the Pillow floor (issue 19's target: at most 1.5x);
* the whole ``limelight enhance`` process on that photo (start-up, imports, model load
  included) as a ratio to the same floor (target: at most 4x), and ``limelight --version``
  (the CLI's start-up); the same photo through ``darktable-cli`` when it is installed;
* the editor's preview of a 1 MP proxy (fast and refined pass, ``core.preview``) and its
  time per knob change, per model family;
* the peak memory (max RSS of a child process) of exporting a 50-megapixel photo.

With an empty zoo it uses the synthetic ``tiny-*`` models (``bench.tinyzoo``, needs the
``onnx`` package) at a 1024 px working resolution and says so: their maps are cheap closed
forms, so the timing covers everything but a real network's inference.
Later issues add their cases to ``CASES``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from bench.common import (
    REPO,
    make_photo,
    make_preview_image,
    own_peak_mb,
    recipe_for,
    zoo_or_tiny,
)
from limelight.core.engine import Engine
from limelight.core.imageio import read_image, write_image
from limelight.core.pipeline import process_file
from limelight.core.preview import FAST_EDGE, PreviewMaps
from limelight.core.recompose import FAMILIES, Knobs

SIZES = {"full": (4000, 6000), "peak": (5800, 8640)}  # 24.0 MP and 50.1 MP
QUICK = {"full": (1632, 2448), "peak": (2448, 3264)}  # 4.0 MP and 8.0 MP


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _engine(args: argparse.Namespace, tmp: Path) -> tuple[Engine, str | None, str]:
    """(engine, model name, note): the requested/default model, or the tiny zoo."""
    zoo, note = zoo_or_tiny(args.zoo, tmp)
    return Engine(zoo, device=args.device), args.model, note


def bench_export(engine: Engine, model: str | None, photo: Path, tmp: Path,
                 repeat: int) -> dict[str, float]:
    """Seconds for the Pillow floor, Limelight's I/O, the export and enhance alone; the
    export's ratios to the Pillow floor (best and median) and to Limelight's I/O."""
    recipe = recipe_for(model)
    engine.session(model)  # load and verify before timing
    out = tmp / "out.jpg"
    # floors and export alternate, so that a slow spell of a shared machine hits all of them
    pillow, floors, exports = [], [], []
    for _ in range(repeat):
        pillow.append(_best(lambda: pillow_once(photo, tmp / "pillow.jpg"), 1))
        floors.append(_best(lambda: _io_once(photo, out), 1))
        exports.append(_best(lambda: process_file(photo, out, recipe, engine, quality=95), 1))
    image = read_image(photo)
    from limelight.core.pipeline import enhance_image

    enhance = _best(lambda: enhance_image(image, recipe, engine), repeat)
    floor, export = min(floors), min(exports)
    return {"pillow_floor_s": min(pillow), "io_floor_s": floor, "export_s": export,
            "enhance_s": enhance, "ratio": export / min(pillow),
            "ratio_median": statistics.median(exports) / statistics.median(pillow),
            "ratio_io": export / floor}


def pillow_once(photo: Path, out: Path) -> None:
    """Decode + encode with Pillow alone, as the export encodes (quality 95, 4:4:4 chroma,
    EXIF and ICC carried): the floor any JPEG -> JPEG tool pays."""
    from PIL import Image as PILImage

    with PILImage.open(photo) as im:
        im.load()
        info = im.info
        im.save(out, "JPEG", quality=95, subsampling=0, exif=info.get("exif", b""),
                icc_profile=info.get("icc_profile"))


def _io_once(photo: Path, out: Path) -> None:
    image = read_image(photo)
    write_image(out, image.pixels, meta=image.meta, quality=95)


def _timed_process(cmd: list[str], repeat: int) -> float | None:
    """Best wall seconds of running ``cmd`` (None when it fails), after one run that is not
    counted. The runs may write Python's bytecode cache even when this shell forbids it
    (``PYTHONDONTWRITEBYTECODE``): an installed app starts from compiled bytecode (pip
    compiles a wheel's modules; an editable install caches them on its first run), and
    compiling Limelight's modules anew took ~80 ms of every run here."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times = []
    for run in range(repeat + 1):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
        if run == 0 and proc.returncode == 0:
            continue
        if proc.returncode != 0:
            print(f"  ({' '.join(cmd[:3])}... failed: {proc.stderr.strip()[-300:]})")
            return None
        times.append(time.perf_counter() - start)
    return min(times)


def bench_process(args: argparse.Namespace, zoo: Path, photo: Path, tmp: Path,
                  repeat: int) -> dict[str, float | None]:
    """Whole-process seconds: ``limelight --version`` (start-up), ``limelight enhance`` of
    ``photo`` with the benchmark's ellipse, and ``darktable-cli`` (None if not installed)."""
    import shutil

    exe = [sys.executable, "-m", "limelight.cli"]
    r = recipe_for(None).mask.shapes[0]
    ellipse = f"{r.cx},{r.cy},{r.rx},{r.ry}"  # type: ignore[attr-defined]
    enhance = [*exe, "enhance", str(photo), "-o", str(tmp / "cli.jpg"), "--zoo", str(zoo),
               "--device", args.device, "--ellipse", ellipse, "--quality", "95"]
    if args.model:
        enhance += ["--model", args.model]
    result: dict[str, float | None] = {
        "version_s": _timed_process([*exe, "--version"], repeat),
        "enhance_s": _timed_process(enhance, repeat),
        "darktable_s": None,
    }
    darktable = shutil.which("darktable-cli")
    if darktable:
        result["darktable_s"] = _timed_process(
            [darktable, str(photo), str(tmp / "darktable.jpg"), "--core", "--conf",
             "plugins/imageio/format/jpeg/quality=95"], repeat)
    return result


def bench_recompose(engine: Engine, repeat: int = 7) -> dict[str, float]:
    """Median ms per knob change of the editor's 1 MP (1224 x 816) preview for each family in
    the zoo, from the refined pass's maps (the steady state after the user pauses; the
    whole image is area A, the worst case): recomposition and compositing."""
    rng = np.random.default_rng(0)
    img = cv2.resize(rng.random((102, 153, 3), dtype=np.float32), (1224, 816))
    display = np.round(img * 255).astype(np.uint8)
    mask = np.ones((2, 816, 1224), np.float32)
    result = {}
    for family in FAMILIES:
        info = next((m for m in engine.zoo.models if m.family == family), None)
        if info is None:
            continue
        maps = PreviewMaps.compute(engine, info.name, img, mask, max(img.shape[:2]))
        times = []
        for i in range(repeat):
            knobs = Knobs(degree=0.6 + 0.1 * i, gamma1=1.0 - 0.1 * i, gamma2=0.9, gamma3=1.0)
            start = time.perf_counter()
            maps.render(knobs, display)
            times.append((time.perf_counter() - start) * 1000)
        result[f"{family} ({info.name})"] = statistics.median(times)
    return result


def bench_preview(engine: Engine, model: str | None, repeat: int = 7,
                  long_edge: int = FAST_EDGE) -> float:
    """Median ms of the editor's first preview of a 1 MP proxy with ``model``, after a
    warm-up: the network at ``long_edge`` (the fast pass), recomposition, the guided transfer
    to 1 MP and compositing (issue 4's target: the default model under 100 ms)."""
    img = make_preview_image()
    display = np.round(img * 255).astype(np.uint8)
    mask = np.ones((2, *img.shape[:2]), np.float32)

    def once() -> None:
        PreviewMaps.compute(engine, model, img, mask, long_edge).render(Knobs(), display)

    once()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        once()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_peak(args: argparse.Namespace, zoo: Path, photo: Path, tmp: Path) -> float:
    """Peak RSS in MB of a child process exporting ``photo`` (decode, enhance, encode)."""
    cmd = [sys.executable, "-m", "bench", "--peak-child", str(photo),
           str(tmp / "peak_out.jpg"), "--zoo", str(zoo), "--device", args.device]
    if args.model:
        cmd += ["--model", args.model]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"the 50 MP export failed: {proc.stderr.strip()}")
    return float(json.loads(proc.stdout)["max_rss_mb"])


def peak_child(args: argparse.Namespace) -> int:
    """The child process of ``bench_peak``: exports, then prints its max RSS as JSON."""
    src, dst = (Path(p) for p in args.peak_child)
    engine = Engine(args.zoo, device=args.device)
    recipe = recipe_for(args.model)
    process_file(src, dst, recipe, engine, quality=95)
    print(json.dumps({"max_rss_mb": own_peak_mb()}))
    return 0


def run(args: argparse.Namespace, tmp: Path) -> tuple[Engine, str | None]:
    """Runs and prints the export, process, preview and peak-memory cases (``args``: the
    options of ``python -m bench``); returns the engine and model the batch cases reuse."""
    sizes = QUICK if args.quick else SIZES
    engine, model, note = _engine(args, tmp)
    info = engine.model(model)
    h, w = sizes["full"]
    print(f"model: {info.name} ({info.label}, working {info.working_resolution} px) "
          f"on {engine.device}; cv2 threads {cv2.getNumThreads()}")
    if note:
        print(f"note: {note}")
    photo = make_photo(tmp / "photo.jpg", h, w)
    r = bench_export(engine, model, photo, tmp, max(1, args.repeat))
    floor = r["pillow_floor_s"]
    print(f"{w}x{h} ({w * h / 1e6:.1f} MP) JPEG -> JPEG, best of {args.repeat}; ratios to "
          f"the decode + encode floor measured with Pillow in this run:")
    print(f"  floor: Pillow decode + encode      {floor:7.2f} s  = 1.00x")
    print(f"  Limelight's decode + encode alone  {r['io_floor_s']:7.2f} s  "
          f"= {r['io_floor_s'] / floor:.2f}x (atomic, fsynced write)")
    print(f"  enhance (full resolution)          {r['enhance_s']:7.2f} s  "
          f"= {r['enhance_s'] / floor:.2f}x")
    print(f"  export (decode+enhance+encode)     {r['export_s']:7.2f} s  "
          f"= {r['ratio']:.2f}x (medians: {r['ratio_median']:.2f}x; target <= 1.5x)")
    p = bench_process(args, engine.zoo.root, photo, tmp, max(1, min(5, args.repeat)))
    for label, key, target in (
            ("'limelight --version' (start-up)", "version_s", ""),
            ("'limelight enhance', whole process", "enhance_s", "; target <= 4x"),
            ("'darktable-cli', whole process", "darktable_s", "")):
        value = p[key]
        if value is None:
            if key == "darktable_s":
                print(f"  {label:<36} not installed")
            continue
        print(f"  {label:<36} {value:5.2f} s  = {value / floor:.2f}x{target}")
    print(f"preview of a 1 MP proxy ({info.name}, median of 7; network + recomposition + "
          "transfer + compositing):")
    print(f"  fast pass, network at {FAST_EDGE} px        "
          f"{bench_preview(engine, model):6.0f} ms")
    print("  refined pass, network at 1224 px      "
          f"{bench_preview(engine, model, long_edge=1224):6.0f} ms")
    print("preview per knob change at 1 MP, refined maps (median):")
    for family, ms in bench_recompose(engine).items():
        print(f"  {family:<28} {ms:6.1f} ms")
    if not args.no_peak:
        ph, pw = sizes["peak"]
        big = make_photo(tmp / "big.jpg", ph, pw, seed=1)
        mb = bench_peak(args, engine.zoo.root, big, tmp)
        print(f"peak memory exporting {pw}x{ph} ({pw * ph / 1e6:.1f} MP): {mb:,.0f} MB "
              "(max RSS of the exporting process)")
    return engine, model
