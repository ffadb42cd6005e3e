"""Synthetic low-light pairs from well-exposed photos, and a CLI that caches them.

Darkening (DLN, paper 003): ``X = beta * (alpha * Y) ** gamma`` per channel with
alpha ~ U(0.9, 1), beta ~ U(0.5, 1), gamma ~ U(1.5, 5). Then signal-dependent
(Poisson-Gaussian) noise, ``X + N(0, a X + b)`` with a ~ logU(1e-4, 1e-2) (shot) and
b ~ logU(1e-6, 1e-4) (read), quantised to 8 bits, and JPEG compression at a random quality
in [40, 95] with probability 0.7 (paper 002 trains its denoiser on such artifacts).

Mixed exposure (``--mixed P``: with probability P per pair): the photo is lit unevenly, as
in paper 002's non-uniform illumination. A smooth field m in [0, 1] (a ramp in a random
direction plus a Gaussian blob) blends the darkened photo with an over-exposed one,
``1 - (1 - Y) ** k``, k ~ U(2, 5) (highlights pushed toward white, detail kept); noise and
JPEG follow. LOL has no over-exposure at all, so without such pairs the Fusion-Net learns to
give the over-exposure branch I_O no weight and the gamma2 knob has nothing to act on.

    python -m limelight_models.data.synth --src DIR [DIR...] --out /work/cache/synth \
        --per-image 8 --seed 0 [--mixed 0.8]

writes ``out/low/*.png`` and ``out/high/*.png`` (a ``PairedFolder``), so training does
not pay for synthesis. The output folder must not be inside a git work tree's tracked data.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage

from limelight_models.data.paired import IMAGE_SUFFIXES, read_rgb8

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SynthParams:
    """Ranges of the synthesis (defaults as documented in the module)."""

    alpha: tuple[float, float] = (0.9, 1.0)
    beta: tuple[float, float] = (0.5, 1.0)
    gamma: tuple[float, float] = (1.5, 5.0)
    shot: tuple[float, float] = (1e-4, 1e-2)
    read: tuple[float, float] = (1e-6, 1e-4)
    jpeg_probability: float = 0.7
    jpeg_quality: tuple[int, int] = (40, 95)
    mixed_probability: float = 0.0
    over_k: tuple[float, float] = (2.0, 5.0)


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def darken(high: np.ndarray, rng: np.random.Generator, p: SynthParams = SynthParams()) -> np.ndarray:
    """``beta (alpha Y)^gamma`` per channel; (H, W, 3) float32 [0, 1] in and out."""
    a = rng.uniform(*p.alpha, size=3).astype(np.float32)
    b = rng.uniform(*p.beta, size=3).astype(np.float32)
    g = rng.uniform(*p.gamma, size=3).astype(np.float32)
    return (b * np.power(a * high, g)).astype(np.float32)


def overexpose(high: np.ndarray, rng: np.random.Generator, p: SynthParams = SynthParams()
               ) -> np.ndarray:
    """``1 - (1 - Y) ** k`` per image; (H, W, 3) float32 [0, 1] in and out (brighter)."""
    k = np.float32(rng.uniform(*p.over_k))
    return (1.0 - np.power(1.0 - high, k)).astype(np.float32)


def exposure_field(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth (H, W, 1) float32 field in [0, 1]: 1 = over-exposed, 0 = dark."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy, xx = yy / max(h, w), xx / max(h, w)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    cy, cx = rng.uniform(0, h / max(h, w)), rng.uniform(0, w / max(h, w))
    sigma = rng.uniform(0.1, 0.35)
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))
    field = np.clip(0.6 * ramp + 0.6 * blob - 0.2, 0.0, 1.0)
    return field[..., None].astype(np.float32)


def add_noise(x: np.ndarray, rng: np.random.Generator, p: SynthParams = SynthParams()) -> np.ndarray:
    """Poisson-Gaussian noise N(0, a x + b); float32 [0, 1] clipped."""
    var = _log_uniform(rng, *p.shot) * x + _log_uniform(rng, *p.read)
    noisy = x + rng.standard_normal(x.shape, dtype=np.float32) * np.sqrt(var)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def jpeg(x8: np.ndarray, quality: int) -> np.ndarray:
    """JPEG round trip of (H, W, 3) uint8 RGB at ``quality``."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(x8, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def synthesize(
    high8: np.ndarray, rng: np.random.Generator, p: SynthParams = SynthParams()
) -> np.ndarray:
    """A dark, noisy, compressed (H, W, 3) uint8 version of ``high8`` (uint8 RGB)."""
    high = high8.astype(np.float32) / 255.0
    dark = darken(high, rng, p)
    if p.mixed_probability and rng.uniform() < p.mixed_probability:
        m = exposure_field(*high.shape[:2], rng)
        dark = (1.0 - m) * dark + m * overexpose(high, rng, p)
    x = add_noise(dark, rng, p)
    x8 = np.round(x * 255.0).astype(np.uint8)
    if rng.uniform() < p.jpeg_probability:
        x8 = jpeg(x8, int(rng.integers(p.jpeg_quality[0], p.jpeg_quality[1] + 1)))
    return x8


def source_images(folders: list[Path]) -> list[Path]:
    """Image files of the given folders, sorted (deterministic order for seeding)."""
    files: list[Path] = []
    for folder in folders:
        files += sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return files


def pregenerate(sources: list[Path], out: Path, per_image: int, seed: int,
                params: SynthParams = SynthParams()) -> int:
    """Writes ``per_image`` synthetic pairs per source photo into ``out/{low,high}``.

    Each photo gets its own generator seeded by (seed, index), so adding folders does not
    change earlier pairs. Returns the number of pairs written.
    """
    (out / "low").mkdir(parents=True, exist_ok=True)
    (out / "high").mkdir(parents=True, exist_ok=True)
    count = 0
    for index, path in enumerate(sources):
        high8 = read_rgb8(path)
        rng = np.random.default_rng([seed, index])
        for k in range(per_image):
            name = f"{path.parent.parent.name}_{path.parent.name}_{path.stem}_{k:02d}.png"
            PILImage.fromarray(synthesize(high8, rng, params)).save(out / "low" / name)
            PILImage.fromarray(high8).save(out / "high" / name, compress_level=1)
            count += 1
        log.info("%s: %d pairs", path, per_image)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", type=Path, nargs="+", required=True, help="folders of photos")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-image", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mixed", type=float, default=0.0,
                        help="probability of a mixed-exposure pair (see the module doc)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if not 0.0 <= args.mixed <= 1.0:
        parser.error(f"--mixed must be in [0, 1], got {args.mixed}")
    n = pregenerate(source_images(args.src), args.out, args.per_image, args.seed,
                    SynthParams(mixed_probability=args.mixed))
    sys.stdout.write(f"wrote {n} pairs to {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
