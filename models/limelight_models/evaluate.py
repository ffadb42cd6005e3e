"""Evaluate models with the protocol of design.md on a folder of pairs (LOL eval15).

    python -m limelight_models.evaluate --model A.onnx B.pt ... \
        [--pairs ../shared/data/lol/eval15] [--json out.json] [--markdown out.md]

* ONNX models run THROUGH THE APP'S PATH: ``limelight.core.engine.Engine`` and
  ``limelight.core.pipeline.enhance_pixels`` (working resolution, guided upsampling,
  compositing in the source integers), so the figures are the shipped product's. A file
  listed in a ``manifest.json`` beside it uses that entry; otherwise a one-model zoo is made
  from the ONNX file (backbone and conversion from its name ``<backbone>-<conversion>``).
* Checkpoints (``*.pt``) run through torch (quick looks during training): the model's own
  output at default knobs, composited with mask channel 1 and rounded to uint8 as the app does.

Settings: global (area A = the whole image) -> PSNR/SSIM, and as a diagnostic the exposure-fit
PSNR with the best gains' mean, min and max (``metrics.exposure_fit_psnr``); local (centred
circle of ``limelight.core.masks.protocol_mask``) -> Area-A PSNR/SSIM, Area-C max difference and
B roughness (``metrics.py``). Plus parameters and CPU milliseconds at 1 megapixel (network +
recomposition at default knobs, median of 7 after a warm-up; ONNX models with the Engine's
threads, i.e. ONNX Runtime's default as in the app, unless ``--ort-threads`` is given).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from limelight.core.masks import MaskSpec, protocol_mask
from limelight.core.pipeline import composite
from limelight_models import metrics
from limelight_models.data.paired import PairedFolder

log = logging.getLogger("limelight_models.evaluate")

MP_SIDE = (816, 1224)  # ~1.0 megapixel, 2:3 like most photos
#: Timed runs after the warm-up; the median is reported.
TIMING_REPEATS = 7


class Runner(Protocol):
    name: str
    backbone: str
    conversion: str
    params: int

    def enhance(self, low: np.ndarray, local: bool) -> np.ndarray:
        """(H, W, 3) uint8 -> composited (H, W, 3) uint8 (global or protocol-local mask)."""

    def time_1mp(self) -> float:
        """Milliseconds of network + recomposition at ~1 MP."""


def local_mask(h: int, w: int) -> np.ndarray:
    return protocol_mask(h, w)


def global_mask(h: int, w: int) -> np.ndarray:
    return np.ones((2, h, w), np.float32)


def _median_ms(fn: Any, repeats: int = 3) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000.0)
    return round(statistics.median(times), 1)


class TorchRunner:
    """A ``LocalModel`` (or a checkpoint path) run through torch."""

    def __init__(self, model: Any, name: str | None = None) -> None:
        import torch

        from limelight_models.archs import parameter_count
        from limelight_models.checkpoint import load_checkpoint

        if isinstance(model, str | Path):
            model, _ = load_checkpoint(model)
        self.model, self._torch = model, torch
        self.name = name or model.name
        self.backbone, self.conversion = model.backbone, model.conversion
        self.params = parameter_count(model)

    def _output(self, img: np.ndarray, mask: np.ndarray) -> np.ndarray:
        t = self._torch
        with t.no_grad():
            x = t.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None]
            m = t.from_numpy(np.ascontiguousarray(mask))[None]
            return self.model(x, m)["output"][0].permute(1, 2, 0).numpy()

    def enhance(self, low: np.ndarray, local: bool) -> np.ndarray:
        h, w = low.shape[:2]
        mask = local_mask(h, w) if local else global_mask(h, w)
        img = low.astype(np.float32) / 255.0
        out = composite(img, self._output(img, mask), mask[1])
        return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)

    def time_1mp(self) -> float:
        h, w = MP_SIDE
        img = np.full((h, w, 3), 0.2, np.float32)
        mask = global_mask(h, w)
        return _median_ms(lambda: self._output(img, mask), TIMING_REPEATS)


class EngineRunner:
    """An ONNX model run by the app's Engine and full-resolution pipeline."""

    def __init__(self, onnx_path: str | Path, threads: int | None = None) -> None:
        from limelight.core.engine import Engine

        self.info, zoo = _zoo_for(Path(onnx_path))
        self.engine = Engine(zoo=zoo, device="cpu", threads=threads)
        self.name = self.info.name
        self.backbone, self.conversion = self.info.backbone, self.info.conversion
        self.params = int(self.info.params)

    def enhance(self, low: np.ndarray, local: bool) -> np.ndarray:
        from limelight.core.pipeline import enhance_pixels
        from limelight.core.recompose import Knobs

        if not local:
            spec = MaskSpec(shapes=(), transition=0.0)
            return enhance_pixels(low, spec, Knobs(), self.engine, model=self.name)
        return self.enhance_with_mask(low, local_mask(*low.shape[:2]))

    def enhance_with_mask(self, low: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``low`` (H, W, 3) uint8 enhanced at default knobs with the (2, H, W) ``mask`` as
        both the network's mask input and the compositing weight: the app's own
        ``enhance_pixels_with_mask``, so the mask the metrics measure is the mask applied and
        area C (channel 1 == 0) is the input bit for bit."""
        from limelight.core.pipeline import enhance_pixels_with_mask
        from limelight.core.recompose import Knobs

        return enhance_pixels_with_mask(low, mask, Knobs(), self.engine, model=self.name)

    def time_1mp(self) -> float:
        """Median ms of the editor's first preview of a dark 1 MP photo after a warm-up: the
        core's fast pass (network at FAST_EDGE px), recomposition, guided transfer to 1 MP
        and compositing, the operation ``python -m bench`` times as 'preview'."""
        from skimage import data

        from limelight.core.preview import FAST_EDGE, PreviewMaps
        from limelight.core.recompose import Knobs

        img = cv2.resize(data.coffee(), (1224, 816)).astype(np.float32) * np.float32(0.35 / 255)
        display = np.round(img * 255).astype(np.uint8)
        mask = np.ones((2, *img.shape[:2]), np.float32)
        return _median_ms(lambda: PreviewMaps.compute(
            self.engine, self.name, img, mask, FAST_EDGE).render(Knobs(), display), TIMING_REPEATS)


def _zoo_for(path: Path) -> tuple[Any, Any]:
    """(ModelInfo, Zoo) for an ONNX file: its manifest entry, or a one-model zoo."""
    from limelight.core.recompose import FAMILIES
    from limelight.core.zoo import ModelInfo, Zoo, load_zoo, sha256_file

    path = path.resolve()
    zoo = load_zoo(path.parent)
    for info in zoo.models:
        if info.path.resolve() == path:
            return info, zoo
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    backbone, _, conversion = path.stem.partition("-")
    conversion = conversion.split("-")[0] or "global"
    from limelight_models.archs import FAMILY_OF

    family = FAMILY_OF.get(backbone, "")
    if family not in FAMILIES:
        raise ValueError(f"{path}: cannot tell the model family from the name {path.stem!r}; "
                         "list it in a manifest.json beside it")
    params = sum(int(np.prod(t.dims)) for t in proto.graph.initializer)
    info = ModelInfo(
        name=path.stem, path=path, backbone=backbone, conversion=conversion, family=family,
        inputs=("image", "mask"), outputs=tuple(o.name for o in proto.graph.output),
        working_resolution=1024, pad_multiple=16, sha256=sha256_file(path), params=params,
    )
    return info, Zoo(models=(info,), default=info.name, root=path.parent)


def make_runner(path: str | Path, ort_threads: int | None = None) -> Runner:
    """EngineRunner for ``.onnx`` (``ort_threads`` None: ORT's default, as the app), else
    TorchRunner for a checkpoint."""
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        return EngineRunner(path, threads=ort_threads)
    return TorchRunner(path)


def _mean(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return round(float(np.mean(finite)), 4) if finite else float("nan")


def evaluate_runner(runner: Runner, pairs: PairedFolder, timing: bool = True,
                    colour: bool = True) -> dict[str, Any]:
    """The protocol's figures of one model over all pairs (means; C max is the max);
    ``colour`` adds the mean CIEDE2000 (``global_delta_e``, ~0.2 s per 600x400 pair)."""
    acc: dict[str, list[float]] = {
        k: [] for k in ("psnr", "ssim", "de", "fit", "gain", "a_psnr", "a_ssim", "b_rough")}
    c_max = 0
    for pair in pairs.pairs:
        h, w = pair.low.shape[:2]
        out_g = runner.enhance(pair.low, local=False)
        acc["psnr"].append(metrics.psnr(out_g, pair.high))
        acc["ssim"].append(metrics.ssim(out_g, pair.high))
        acc["gain"].append(metrics.exposure_gain(out_g, pair.high))
        acc["fit"].append(metrics.exposure_fit_psnr(out_g, pair.high, acc["gain"][-1]))
        if colour:
            acc["de"].append(metrics.delta_e(out_g, pair.high))
        out_l = runner.enhance(pair.low, local=True)
        mask = local_mask(h, w)
        acc["a_psnr"].append(metrics.area_psnr(out_l, pair.high, mask[0]))
        acc["a_ssim"].append(metrics.area_ssim(out_l, pair.high, mask[0]))
        acc["b_rough"].append(metrics.b_roughness(out_l, pair.low, mask))
        c_max = max(c_max, metrics.area_c_max(out_l, pair.low, mask))
    result: dict[str, Any] = {
        "name": runner.name, "backbone": runner.backbone, "conversion": runner.conversion,
        "params": runner.params, "pairs": len(pairs),
        "global_psnr": _mean(acc["psnr"]), "global_ssim": _mean(acc["ssim"]),
        "exposure_fit_psnr": _mean(acc["fit"]),
        "exposure_gain": [_mean(acc["gain"]), round(min(acc["gain"]), 3),
                          round(max(acc["gain"]), 3)],
        "area_a_psnr": _mean(acc["a_psnr"]), "area_a_ssim": _mean(acc["a_ssim"]),
        "area_c_max": c_max, "b_roughness": _mean(acc["b_rough"]),
    }
    if colour:
        result["global_delta_e"] = _mean(acc["de"])
    if timing:
        result["ms_1mp"] = runner.time_1mp()
    return result


COLUMNS = [
    ("name", "model"), ("params", "params"), ("global_psnr", "PSNR"), ("global_ssim", "SSIM"),
    ("area_a_psnr", "A PSNR"), ("area_a_ssim", "A SSIM"), ("area_c_max", "C max"),
    ("b_roughness", "B rough."), ("ms_1mp", "ms @1MP"),
]


def markdown_table(results: list[dict[str, Any]]) -> str:
    """The protocol's table, one row per model."""
    lines = ["| " + " | ".join(h for _, h in COLUMNS) + " |",
             "|" + "|".join(" --- " for _ in COLUMNS) + "|"]
    for r in results:
        cells = []
        for key, _ in COLUMNS:
            v = r.get(key, "")
            if isinstance(v, float):
                v = f"{v:.2f}" if key.endswith("psnr") or key == "ms_1mp" else f"{v:.4f}" if key == "b_roughness" else f"{v:.3f}"
            cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate models on pairs (design.md protocol).")
    parser.add_argument("--model", nargs="+", required=True, help="ONNX files or checkpoints")
    parser.add_argument("--pairs", type=Path, default=Path("../shared/data/lol/eval15"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--markdown", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--ort-threads", type=int, default=None,
                        help="ONNX Runtime intra-op threads (default: ORT's, as the app)")
    parser.add_argument("--no-timing", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    pairs = PairedFolder(args.pairs)
    results = []
    for path in args.model:
        res = evaluate_runner(make_runner(path, args.ort_threads), pairs,
                              timing=not args.no_timing)
        res["file"] = str(path)
        log.info("%s", res)
        results.append(res)
    table = markdown_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    if args.markdown:
        args.markdown.write_text(table, encoding="utf-8")
    sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
