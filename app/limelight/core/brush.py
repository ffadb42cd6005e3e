"""The brush: one stroke segment's antialiased, optionally soft footprint.

Shared by ``limelight.core.masks.rasterize_area_a`` (which paints a recipe's strokes segment
by segment) and the editor (which paints the same segments live into its preview mask), so
both give the same pixels. Points are in pixel coordinates of the array painted: pixel
``(i, j)`` covers ``[j, j+1) x [i, i+1)``, its centre is ``(j + 0.5, i + 0.5)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from limelight.core.errors import MaskError

Mode = Literal["add", "erase"]
MODES = ("add", "erase")
#: (y0, y1, x0, x1): the rows and columns a stamp touched (half-open).
BBox = tuple[int, int, int, int]
#: Positions (ellipse centres, stroke points, as fractions of the image) lie within this many
#: image sizes of it: far enough for any shape that can still touch the image, near enough
#: that pixel arithmetic cannot overflow (a centre of 1e308 overflowed when rasterised).
COORD_LIMIT = 100.0
#: A stroke holds at most this many points (a minute of painting in the editor holds a few
#: thousand), and its segments' boxes cover at most this many image areas in all:
#: rasterising costs per segment and per pixel of its box (1e5 points took minutes).
MAX_STROKE_POINTS = 10_000
MAX_STROKE_COVERAGE = 1_000.0


def stroke_coverage(points: Sequence[tuple[float, float]], radius: float) -> float:
    """An upper bound of the image areas that the boxes of a stroke's segments cover (relative
    points, radius a fraction of the short side; each box counts at most one image): what
    rasterising the stroke costs, at any resolution."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 2:
        return 1.0
    span = np.abs(np.diff(pts, axis=0)) + 2.0 * radius + 1e-3
    return float(np.sum(np.minimum(span[:, 0], 1.0) * np.minimum(span[:, 1], 1.0)))


def _check_mode(mode: object) -> None:
    if mode not in MODES:
        raise MaskError(f"mode must be 'add' or 'erase', got {mode!r}")


def _smoothstep(t: np.ndarray) -> np.ndarray:
    """3t² − 2t³ of t clipped to [0, 1]; float32. Overwrites ``t`` if it is float32."""
    out = t if t.dtype == np.float32 else None
    t = np.clip(t, 0.0, 1.0, out=out).astype(np.float32, copy=False)
    s = np.multiply(t, -2.0, dtype=np.float32)
    s += 3.0
    s *= t
    s *= t
    return s


def _brush_profile(dist: np.ndarray, radius_px: float, hardness: float) -> np.ndarray:
    """Brush value at distance ``dist`` (px) from the stroke's centre line, float32 [0, 1].

    1 up to ``hardness * radius`` (less half a pixel), a smoothstep falloff to 0 at
    ``radius + 0.5``: a 1-pixel antialiased edge at hardness 1, a soft edge below.
    """
    outer = radius_px + 0.5
    inner = max(hardness * radius_px - 0.5, 0.0)
    return _smoothstep((outer - dist) / (outer - inner))


def _segment_patch(
    shape: tuple[int, int], p0: tuple[float, float], p1: tuple[float, float],
    radius_px: float, hardness: float,
) -> tuple[BBox, np.ndarray] | None:
    """The brush profile of segment p0-p1 (pixel coords) on its bounding box, or None if the
    segment lies off the image."""
    h, w = shape
    reach = radius_px + 1.0

    def clipped(v: float, hi: int) -> float:  # before int(): far-off points never overflow
        return min(max(v, 0.0), float(hi))

    x0 = int(math.floor(clipped(min(p0[0], p1[0]) - reach, w)))
    x1 = int(math.ceil(clipped(max(p0[0], p1[0]) + reach, w)))
    y0 = int(math.floor(clipped(min(p0[1], p1[1]) - reach, h)))
    y1 = int(math.ceil(clipped(max(p0[1], p1[1]) + reach, h)))
    if x0 >= x1 or y0 >= y1:
        return None
    px = np.arange(x0, x1, dtype=np.float32)[None, :] + np.float32(0.5 - p0[0])
    py = np.arange(y0, y1, dtype=np.float32)[:, None] + np.float32(0.5 - p0[1])
    dx, dy = np.float32(p1[0] - p0[0]), np.float32(p1[1] - p0[1])
    length2 = float(dx * dx + dy * dy)
    if length2 > 1e-12:
        t = np.clip((px * dx + py * dy) / np.float32(length2), 0.0, 1.0)
        px = px - t * dx
        py = py - t * dy
    dist = np.sqrt(px * px + py * py)
    return (y0, y1, x0, x1), _brush_profile(dist, radius_px, hardness)


def stamp_stroke_segment(
    area_a: np.ndarray, p0: tuple[float, float], p1: tuple[float, float],
    radius_px: float, hardness: float = 1.0, mode: Mode = "add",
) -> BBox | None:
    """Paints one brush segment into ``area_a`` (H, W) float32 in place; returns the touched
    bbox ``(y0, y1, x0, x1)`` or None. ``p0``, ``p1`` are in pixel coordinates of ``area_a``.

    ``add`` takes the maximum with the brush, as ``rasterize_area_a`` does. ``erase`` here is
    the idempotent ``min(A, 1 - brush)``, equal to the rasteriser's ``A * (1 - stroke)``
    wherever A was 0 or 1; ``StrokePainter`` reproduces the rasteriser exactly in both modes.
    """
    _check_mode(mode)
    got = _segment_patch(area_a.shape, p0, p1, radius_px, hardness)
    if got is None:
        return None
    (y0, y1, x0, x1), patch = got
    view = area_a[y0:y1, x0:x1]
    if mode == "add":
        np.maximum(view, patch, out=view)
    else:
        np.minimum(view, 1.0 - patch, out=view)
    return (y0, y1, x0, x1)


class StrokePainter:
    """Paints one stroke, segment by segment, exactly as ``rasterize_area_a`` would.

    Keeps the area as it was when the stroke began and the stroke's own coverage, so an
    ``erase`` stroke is ``A_before * (1 - stroke)`` however often its segments overlap.
    Args:
        area_a: (H, W) float32 [0, 1], painted in place (e.g. the editor's preview mask).
        radius_px: brush radius in pixels of ``area_a``; hardness in [0, 1]; mode add|erase.
    """

    def __init__(self, area_a: np.ndarray, radius_px: float, hardness: float = 1.0,
                 mode: Mode = "add") -> None:
        _check_mode(mode)
        self.area_a, self.radius_px, self.hardness, self.mode = area_a, radius_px, hardness, mode
        self._base = area_a.copy() if mode == "erase" else None
        self._layer = np.zeros_like(area_a) if mode == "erase" else None

    def segment(self, p0: tuple[float, float], p1: tuple[float, float]) -> BBox | None:
        """Paints p0-p1 (pixel coordinates); returns the touched bbox or None."""
        if self._layer is None:
            return stamp_stroke_segment(self.area_a, p0, p1, self.radius_px, self.hardness)
        got = _segment_patch(self.area_a.shape, p0, p1, self.radius_px, self.hardness)
        if got is None:
            return None
        (y0, y1, x0, x1), patch = got
        layer = self._layer[y0:y1, x0:x1]
        np.maximum(layer, patch, out=layer)
        assert self._base is not None
        self.area_a[y0:y1, x0:x1] = self._base[y0:y1, x0:x1] * (1.0 - layer)
        return (y0, y1, x0, x1)
