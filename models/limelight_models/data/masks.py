"""Training masks: random area-A shapes rasterised exactly as the app rasterises recipes.

Every sample is a ``limelight.core.masks.MaskSpec`` (image-relative shapes plus a transition
width), turned into the (2, H, W) model mask by the app's own ``rasterize_area_a`` and
``derive_mask``, so area B is derived in training exactly as in the editor.

Kinds (weights set in the config, ``data.mask_weights``):

* ``circle``: the RANLEN paper's training mask, r1 = 2m/7 (m = short side), transition
  r2 - r1 with r2 ~ U(1.2, 1.25) r1; the centre is uniform in the middle half of the image.
* ``ellipse``: radii U(0.1, 0.45) of each axis, any angle, transition U(0.03, 0.12).
* ``brush``: 1-3 random-walk strokes of 3-8 points, radius U(0.04, 0.15), hardness
  U(0.5, 1), transition U(0.03, 0.10).
* ``blob``: 2-5 overlapping small ellipses, one of them possibly erased (non-convex A).
* ``global``: no shapes (area A = whole image, the global setting).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from limelight.core.masks import Ellipse, MaskSpec, Stroke, derive_mask, rasterize_area_a
from limelight.core.masks import circle_spec as protocol_circle

MASK_KINDS = ("circle", "ellipse", "brush", "blob", "global")


def circle_spec(rng: np.random.Generator, height: int, width: int) -> MaskSpec:
    """The paper's circle (``core.masks.circle_spec``) at a random centre, with
    r2 ~ U(1.2, 1.25) r1."""
    ratio = float(rng.uniform(1.2, 1.25))
    cx, cy = float(rng.uniform(0.25, 0.75)), float(rng.uniform(0.25, 0.75))
    return protocol_circle(height, width, ratio=ratio, cx=cx, cy=cy)


def ellipse_spec(rng: np.random.Generator, height: int, width: int) -> MaskSpec:
    shape = Ellipse(
        cx=float(rng.uniform(0.2, 0.8)), cy=float(rng.uniform(0.2, 0.8)),
        rx=float(rng.uniform(0.1, 0.45)), ry=float(rng.uniform(0.1, 0.45)),
        angle=float(rng.uniform(0.0, 180.0)),
    )
    return MaskSpec(shapes=(shape,), transition=float(rng.uniform(0.03, 0.12)))


def _random_walk(rng: np.random.Generator) -> tuple[tuple[float, float], ...]:
    n = int(rng.integers(3, 9))
    start = rng.uniform(0.15, 0.85, size=2)
    steps = rng.normal(0.0, 0.15, size=(n - 1, 2))
    pts = np.clip(np.vstack([start, start + np.cumsum(steps, axis=0)]), 0.02, 0.98)
    return tuple((float(x), float(y)) for x, y in pts)


def brush_spec(rng: np.random.Generator, height: int, width: int) -> MaskSpec:
    strokes = tuple(
        Stroke(points=_random_walk(rng), radius=float(rng.uniform(0.04, 0.15)),
               hardness=float(rng.uniform(0.5, 1.0)))
        for _ in range(int(rng.integers(1, 4)))
    )
    return MaskSpec(shapes=strokes, transition=float(rng.uniform(0.03, 0.10)))


def blob_spec(rng: np.random.Generator, height: int, width: int) -> MaskSpec:
    centre = rng.uniform(0.3, 0.7, size=2)
    shapes: list[Ellipse | Stroke] = []
    for k in range(int(rng.integers(2, 6))):
        c = centre + rng.normal(0.0, 0.12, size=2)
        mode = "erase" if k > 1 and rng.uniform() < 0.3 else "add"
        shapes.append(Ellipse(
            cx=float(c[0]), cy=float(c[1]),
            rx=float(rng.uniform(0.06, 0.22)), ry=float(rng.uniform(0.06, 0.22)),
            angle=float(rng.uniform(0.0, 180.0)), mode=mode,
        ))
    return MaskSpec(shapes=tuple(shapes), transition=float(rng.uniform(0.03, 0.10)))


def global_spec(rng: np.random.Generator, height: int, width: int) -> MaskSpec:
    return MaskSpec(shapes=(), transition=0.0)


_SPECS = {
    "circle": circle_spec,
    "ellipse": ellipse_spec,
    "brush": brush_spec,
    "blob": blob_spec,
    "global": global_spec,
}


def mask_from_spec(spec: MaskSpec, height: int, width: int) -> np.ndarray:
    """(2, H, W) float32 [A, A u B] exactly as the app rasterises ``spec``."""
    area_a = rasterize_area_a(spec, height, width)
    return derive_mask(area_a, spec.transition_px(height, width)).astype(np.float32)


@dataclass(frozen=True)
class MaskSampler:
    """Draws a kind by ``weights`` (kind -> relative weight), then a random spec of it.

    Raises:
        ValueError: an unknown kind, a negative weight, or all weights zero.
    """

    weights: Mapping[str, float]

    def __post_init__(self) -> None:
        for kind, w in self.weights.items():
            if kind not in _SPECS:
                raise ValueError(f"unknown mask kind {kind!r}; known: {list(MASK_KINDS)}")
            if w < 0:
                raise ValueError(f"mask weight of {kind!r} must be >= 0, got {w}")
        if sum(self.weights.values()) <= 0:
            raise ValueError("at least one mask weight must be positive")

    def spec(self, rng: np.random.Generator, height: int, width: int) -> MaskSpec:
        kinds = list(self.weights)
        p = np.asarray([self.weights[k] for k in kinds], dtype=np.float64)
        kind = kinds[int(rng.choice(len(kinds), p=p / p.sum()))]
        return _SPECS[kind](rng, height, width)

    def __call__(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        """A (2, H, W) float32 mask."""
        return mask_from_spec(self.spec(rng, height, width), height, width)
