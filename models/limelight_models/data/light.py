"""Spatially varying light synthesised from well-exposed photos (the real-photo light issue).

LOL's scenes are dark all over and its references bright all over, so a model trained on it
learns to lift everything. Real night photos are lit unevenly: a lamp, a flash-lit face, a
bright window behind a dark person. Each generator below returns an *exposure field*
``E`` (H, W, 1) float32: the fraction of the photo's light that reached each pixel (1 = as
exposed, up to 1.3 for a flash that over-exposes). The dark input is the photo in linear
light times ``E``, re-encoded, with signal-dependent noise and JPEG as ``synth`` makes them;
the target is the photo itself, so where ``E`` is ~1 the target is the identity and the
network learns to leave well-exposed content alone.

* ``smooth``: a random low-frequency field (a bicubic upsampling of a 3x3-6x6 grid);
* ``spotlight``: one to three soft elliptical pools of light on a dark ground;
* ``vignette``: light falling from the centre to the corners;
* ``backlight``: a dark subject (a soft ellipse, low and central) before an exposed ground;
* ``flash``: an exposed (or over-exposed) foreground blob, the rest falling off as 1/d^2.

``light_pairs`` draws generators by the weights of a config's ``data.light_mix``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from limelight_models.data.paired import IMAGE_SUFFIXES, Pair, read_rgb8
from limelight_models.data.synth import SynthParams, add_noise, jpeg

log = logging.getLogger(__name__)

Field = Callable[[int, int, np.random.Generator], np.ndarray]


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates scaled by the long side: (H, W) y and x in [0, 1]."""
    s = float(max(h, w))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return (yy + 0.5) / s, (xx + 0.5) / s


def _ground(rng: np.random.Generator) -> float:
    """The exposure of an unlit part: 2-20 % of the light (log-uniform)."""
    return float(np.exp(rng.uniform(np.log(0.02), np.log(0.2))))


def _soft_ellipse(h: int, w: int, rng: np.random.Generator, cy: float, cx: float,
                  size: tuple[float, float]) -> np.ndarray:
    """(H, W) float32 in [0, 1]: 1 inside a rotated ellipse, a smooth falloff outside."""
    yy, xx = _grid(h, w)
    ry, rx = (rng.uniform(*size) for _ in range(2))
    t = rng.uniform(0, np.pi)
    dy, dx = yy - cy, xx - cx
    u = (np.cos(t) * dx + np.sin(t) * dy) / rx
    v = (-np.sin(t) * dx + np.cos(t) * dy) / ry
    r = np.sqrt(u * u + v * v)
    soft = rng.uniform(0.2, 0.8)
    return np.clip((1.0 + soft - r) / soft, 0.0, 1.0).astype(np.float32) ** 2


def smooth_field(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A random low-frequency field between a dark ground and 1."""
    n = int(rng.integers(3, 7))
    grid = rng.uniform(0.0, 1.0, (n, n)).astype(np.float32)
    up = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    up = (up - up.min()) / max(float(np.ptp(up)), 1e-6)
    lo = _ground(rng)
    return (lo + (1.0 - lo) * up ** rng.uniform(0.7, 2.0))[..., None].astype(np.float32)


def spotlight_field(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """One to three soft elliptical pools of light on a dark ground."""
    lo = _ground(rng)
    light = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        cy, cx = rng.uniform(0.1, 0.9) * h / max(h, w), rng.uniform(0.1, 0.9) * w / max(h, w)
        light = np.maximum(light, _soft_ellipse(h, w, rng, cy, cx, (0.08, 0.3)))
    return (lo + (1.0 - lo) * light)[..., None]


def vignette_field(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """1 near a (roughly central) point, falling towards the corners to a dark ground."""
    yy, xx = _grid(h, w)
    cy = h / max(h, w) * rng.uniform(0.35, 0.65)
    cx = w / max(h, w) * rng.uniform(0.35, 0.65)
    r = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2) / 0.75
    lo = _ground(rng)
    fall = np.clip(1.0 - r ** rng.uniform(1.5, 3.0), 0.0, 1.0)
    return (lo + (1.0 - lo) * fall)[..., None].astype(np.float32)


def backlight_field(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A dark subject (a soft ellipse, low and central) before an exposed background."""
    cy = h / max(h, w) * rng.uniform(0.5, 0.8)
    cx = w / max(h, w) * rng.uniform(0.3, 0.7)
    subject = _soft_ellipse(h, w, rng, cy, cx, (0.15, 0.35))
    lo = _ground(rng)
    back = rng.uniform(0.7, 1.0)
    return (back + (lo - back) * subject)[..., None].astype(np.float32)


def flash_field(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A flash-lit foreground (peak 0.9-1.3: it may over-expose) with the light falling off
    as 1 / (1 + (d / d0)^2) into a dark background."""
    yy, xx = _grid(h, w)
    cy = h / max(h, w) * rng.uniform(0.4, 0.75)
    cx = w / max(h, w) * rng.uniform(0.3, 0.7)
    d0 = rng.uniform(0.08, 0.25)
    d2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / (d0 * d0)
    lo = _ground(rng)
    peak = rng.uniform(0.9, 1.3)
    return (lo + (peak - lo) / (1.0 + d2))[..., None].astype(np.float32)


GENERATORS: dict[str, Field] = {
    "smooth": smooth_field, "spotlight": spotlight_field, "vignette": vignette_field,
    "backlight": backlight_field, "flash": flash_field,
}


def _to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055).astype(np.float32)


def relight(high8: np.ndarray, exposure: np.ndarray, rng: np.random.Generator,
            p: SynthParams | None = None) -> np.ndarray:
    """``high8`` (H, W, 3) uint8 under ``exposure`` (H, W, 1) in linear light, with noise and
    (probability ``p.jpeg_probability``) JPEG: (H, W, 3) uint8."""
    p = p or SynthParams()
    lin = _to_linear(high8.astype(np.float32) / 255.0) * exposure
    x = add_noise(_to_srgb(lin), rng, p)
    x8 = np.round(x * 255.0).astype(np.uint8)
    if rng.uniform() < p.jpeg_probability:
        x8 = jpeg(x8, int(rng.integers(p.jpeg_quality[0], p.jpeg_quality[1] + 1)))
    return x8


def check_mix(mix: Mapping[str, float]) -> dict[str, float]:
    """Validates a ``light_mix`` (generator -> weight >= 0, some > 0); returns it normalised."""
    unknown = set(mix) - set(GENERATORS)
    if unknown:
        raise ValueError(f"unknown light generators {sorted(unknown)}; known: {sorted(GENERATORS)}")
    if any(not isinstance(v, int | float) or v < 0 for v in mix.values()) or not any(
            mix.values()):
        raise ValueError(f"light_mix weights must be >= 0 with one > 0, got {dict(mix)}")
    total = float(sum(mix.values()))
    return {k: float(v) / total for k, v in mix.items()}


def light_pairs(sources: Sequence[str | Path], mix: Mapping[str, float], per_image: int,
                seed: int, long_edge: int = 512, limit: int | None = None) -> list[Pair]:
    """``per_image`` relit pairs of every photo in ``sources`` (folders, sorted), each photo
    first resized to ``long_edge`` (never up); generators drawn by ``mix``. Deterministic
    for a seed; each photo has its own generator seeded by (seed, index)."""
    weights = check_mix(mix)
    names, probs = list(weights), np.array(list(weights.values()))
    files: list[Path] = []
    for folder in sources:
        files += sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    files = files[:limit] if limit else files
    pairs = []
    for index, path in enumerate(files):
        high = read_rgb8(path)
        scale = min(1.0, long_edge / max(high.shape[:2]))
        if scale < 1.0:
            high = cv2.resize(high, (round(high.shape[1] * scale), round(high.shape[0] * scale)),
                              interpolation=cv2.INTER_AREA)
        # sides cut to multiples of 16: a crop as large as a small photo must still fit the
        # backbones' downsampling (pixel_unshuffle refused an odd 213)
        h16, w16 = high.shape[0] // 16 * 16, high.shape[1] // 16 * 16
        high = np.ascontiguousarray(high[:h16, :w16])
        rng = np.random.default_rng([seed, index])
        for k in range(per_image):
            kind = names[int(rng.choice(len(names), p=probs))]
            field = GENERATORS[kind](*high.shape[:2], rng)
            pairs.append(Pair(f"{path.stem}_{kind}_{k}", relight(high, field, rng), high))
    log.info("%d relit pairs from %d photos", len(pairs), len(files))
    return pairs
