"""Mask shapes in image-relative coordinates, their rasterisation, and the 2-channel mask.

Coordinates (docs/architecture.md, "Masks"): ``x`` is a fraction of the width, ``y`` of the
height; an ellipse's ``rx`` is a fraction of the width, ``ry`` of the height, ``angle`` is in
degrees clockwise on screen. Lengths that belong to no axis (brush radius, transition width)
are fractions of the image's *short side*. Pixel ``(i, j)`` covers ``[j, j+1) x [i, i+1)`` in
pixel coordinates (its centre is ``(j + 0.5, i + 0.5)``), so a relative point ``(x, y)`` is at
``(x * W, y * H)`` at any resolution and a spec rasterises to the same mask up to resampling.

Area A is a float32 (H, W) map in [0, 1]; ``derive_mask`` turns it into the (2, H, W) mask the
models take: channel 0 = A, channel 1 = A ∪ B (B the transition band; also the compositing
weight: where it is 0, area C, the output equals the input).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image as PILImage

from limelight.core.brush import (
    COORD_LIMIT,
    MAX_STROKE_COVERAGE,
    MAX_STROKE_POINTS,
    MODES,
    BBox,
    Mode,
    StrokePainter,
    _check_mode,
    _smoothstep,
    stamp_stroke_segment,
    stroke_coverage,
)
from limelight.core.errors import MaskError

__all__ = [
    "BANDS", "MODES", "BBox", "Band", "Ellipse", "MaskSpec", "Mode", "RasterMask", "Shape",
    "Stroke", "StrokePainter", "Subject", "SubjectFn", "Whole", "area_weights", "circle_spec",
    "apply_range", "derive_mask", "follow_edges", "luminance_range", "snap_to_edges", "load_raster_mask", "protocol_mask", "rasterize_area_a",
    "stamp_stroke_segment",
]

Band = Literal["auto", "outside", "inside"]
BANDS = ("auto", "outside", "inside")
#: ``subject_fn(height, width) -> (H, W) float32 in [0, 1]``: the automatic subject.
SubjectFn = Callable[[int, int], np.ndarray]

_ROW_CHUNK_PIXELS = 1 << 20  # rows per chunk keep temporaries near 4 MB each at any size


def _field_error(name: str, rule: str, value: object) -> MaskError:
    return MaskError(f"{name} must be {rule}, got {value!r}")


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _field_error(name, "a number", value)
    try:
        v = float(value)
    except OverflowError:  # an int beyond a float's range (its repr may not even be printable)
        raise MaskError(f"{name} must be a number of ordinary size, got an integer of "
                        f"{int(value).bit_length():,} bits") from None
    if not math.isfinite(v):
        raise _field_error(name, "finite", value)
    return v


def _in_range(name: str, value: object, lo: float, hi: float, lo_open: bool = False) -> float:
    v = _number(name, value)
    if (v <= lo if lo_open else v < lo) or v > hi:
        raise _field_error(name, f"in {'(' if lo_open else '['}{lo:g}, {hi:g}]", value)
    return v


@dataclass(frozen=True)
class Ellipse:
    """An ellipse: centre (cx, cy), radii rx (of the width) and ry (of the height), angle in
    degrees clockwise on screen. Radii in (0, 10]; the centre may lie outside the image."""

    cx: float
    cy: float
    rx: float
    ry: float
    angle: float = 0.0
    mode: Mode = "add"

    def __post_init__(self) -> None:
        for name in ("cx", "cy"):
            object.__setattr__(self, name, _in_range(name, getattr(self, name), -COORD_LIMIT,
                                                      COORD_LIMIT))
        object.__setattr__(self, "angle", _in_range("angle", self.angle, -36000, 36000))
        for name in ("rx", "ry"):
            object.__setattr__(self, name, _in_range(name, getattr(self, name), 0, 10, True))
        _check_mode(self.mode)


@dataclass(frozen=True)
class Stroke:
    """A brush stroke: a polyline of relative points, ``radius`` a fraction of the short side
    in (0, 1], ``hardness`` in [0, 1] (1 = crisp edge, 0 = soft from the centre line out)."""

    points: tuple[tuple[float, float], ...]
    radius: float
    hardness: float = 1.0
    mode: Mode = "add"
    #: the auto-mask brush: the stroke snaps to edges in the photo (``snap_to_edges``)
    auto: bool = False

    def __post_init__(self) -> None:
        pts = self.points
        if isinstance(pts, str | bytes) or not isinstance(pts, Iterable):
            raise _field_error("points", "a list of [x, y] pairs", pts)
        if hasattr(pts, "__len__") and len(pts) > MAX_STROKE_POINTS:
            raise MaskError(f"points must hold at most {MAX_STROKE_POINTS:,} [x, y] pairs, got "
                            f"{len(pts):,}; split the stroke or simplify it")
        clean = []
        for k, p in enumerate(pts):
            if k >= MAX_STROKE_POINTS:
                raise MaskError(f"points must hold at most {MAX_STROKE_POINTS:,} [x, y] pairs")
            pair = tuple(p) if isinstance(p, list | tuple) else ()
            if len(pair) != 2:
                raise _field_error(f"points[{k}]", "an [x, y] pair", p)
            clean.append((_in_range(f"points[{k}][0]", pair[0], -COORD_LIMIT, COORD_LIMIT),
                          _in_range(f"points[{k}][1]", pair[1], -COORD_LIMIT, COORD_LIMIT)))
        if not clean:
            raise _field_error("points", "a non-empty list of [x, y] pairs", list(pts))
        object.__setattr__(self, "points", tuple(clean))
        object.__setattr__(self, "radius", _in_range("radius", self.radius, 0, 1, True))
        cover = stroke_coverage(self.points, self.radius)
        if cover > MAX_STROKE_COVERAGE:
            raise MaskError(f"points: the stroke is too heavy to paint (its {len(clean):,} "
                            f"segments at radius {self.radius:g} cover the image {cover:,.0f} "
                            f"times, at most {MAX_STROKE_COVERAGE:,.0f}); split or simplify it")
        object.__setattr__(self, "hardness", _in_range("hardness", self.hardness, 0, 1))
        if not isinstance(self.auto, bool):
            raise _field_error("auto", "true or false", self.auto)
        _check_mode(self.mode)


@dataclass(frozen=True)
class RasterMask:
    """A grayscale image (8/16-bit PNG...) used as a shape, resized to the image. A relative
    ``path`` is resolved against ``base_dir`` (the recipe's folder) when rasterised."""

    path: Path
    mode: Mode = "add"

    def __post_init__(self) -> None:
        if not isinstance(self.path, str | Path) or not str(self.path):
            raise _field_error("path", "a file path", self.path)
        object.__setattr__(self, "path", Path(self.path))
        _check_mode(self.mode)


@dataclass(frozen=True)
class Subject:
    """The automatic subject: rasterised by the ``subject_fn`` given to the rasteriser."""

    mode: Mode = "add"

    def __post_init__(self) -> None:
        _check_mode(self.mode)


@dataclass(frozen=True)
class Whole:
    """The whole frame (the editor's "Whole photo" light): 1 everywhere."""

    mode: Mode = "add"

    def __post_init__(self) -> None:
        _check_mode(self.mode)


Shape = Ellipse | Stroke | RasterMask | Subject | Whole
SHAPE_TYPES = (Ellipse, Stroke, RasterMask, Subject, Whole)


@dataclass(frozen=True)
class MaskSpec:
    """Area A as shapes applied in order; no shapes = the whole image (the global setting).

    ``transition`` is the width of area B as a fraction of the short side, in [0, 1].
    ``band="outside"``: B surrounds A (a dilation of A). ``band="inside"``: the RANLEN
    portrait recipe (§5.2), A is eroded by the width and B is the band up to the original
    edge. ``band="auto"`` (the default): inside when every added shape is a segment (the
    subject, or a raster mask such as a smart selection), so the band lies inside the person
    and nothing glows around them; outside for drawn shapes (brush, ellipse) and the global
    setting. ``effective_band`` resolves it.
    """

    shapes: tuple[Shape, ...] = ()
    invert: bool = False
    transition: float = 0.06
    band: Band = "auto"
    #: The band follows edges in the photo (``follow_edges``): a guided filter of the weight
    #: with the photo as guide, inside the band only.
    edge_aware: bool = False
    #: Luminance range (``luminance_range``): only pixels whose (slightly smoothed) luminance
    #: lies in [range_low, range_high] are lit, with a soft roll-off ``range_soft`` wide
    #: outside it, so a lamp or a highlight inside the painted area stays as it is. The
    #: default, [0, 1], keeps everything.
    range_low: float = 0.0
    range_high: float = 1.0
    range_soft: float = 0.1

    def __post_init__(self) -> None:
        shapes = tuple(self.shapes)
        for k, s in enumerate(shapes):
            if not isinstance(s, SHAPE_TYPES):
                raise _field_error(f"shapes[{k}]", "an Ellipse, Stroke, RasterMask, Subject or Whole", s)
        object.__setattr__(self, "shapes", shapes)
        if not isinstance(self.invert, bool):
            raise _field_error("invert", "true or false", self.invert)
        if not isinstance(self.edge_aware, bool):
            raise _field_error("edge_aware", "true or false", self.edge_aware)
        object.__setattr__(self, "transition", _in_range("transition", self.transition, 0, 1))
        for name in ("range_low", "range_high"):
            object.__setattr__(self, name, _in_range(name, getattr(self, name), 0, 1))
        if self.range_low >= self.range_high:
            raise MaskError(f"range_low must be below range_high, got {self.range_low:g} and "
                            f"{self.range_high:g}")
        object.__setattr__(self, "range_soft", _in_range("range_soft", self.range_soft, 0, 0.5))
        if self.band not in BANDS:
            raise _field_error("band", "'auto', 'outside' or 'inside'", self.band)

    @property
    def effective_band(self) -> Literal["outside", "inside"]:
        """``band`` with "auto" resolved (class docstring)."""
        if self.band != "auto":
            return self.band
        added = [s for s in self.shapes if s.mode == "add"]
        segments = bool(added) and all(isinstance(s, Subject | RasterMask) for s in added)
        return "inside" if segments and not self.invert else "outside"

    @property
    def needs_photo(self) -> bool:
        """Whether rasterising needs the photo as guide (edge-following band, luminance
        range, auto-mask strokes)."""
        return self.edge_aware or self.has_range or any(
            isinstance(s, Stroke) and s.auto for s in self.shapes)

    @property
    def has_range(self) -> bool:
        """Whether the luminance range leaves any pixel out."""
        return self.range_low > 0.0 or self.range_high < 1.0

    def transition_px(self, height: int, width: int) -> float:
        """The transition width in pixels for an image of this size."""
        return self.transition * min(height, width)


def _ellipse_bbox(e: Ellipse, height: int, width: int) -> BBox | None:
    a, b = e.rx * width, e.ry * height
    th = math.radians(e.angle)
    hw = math.hypot(a * math.cos(th), b * math.sin(th)) + 1.0
    hh = math.hypot(a * math.sin(th), b * math.cos(th)) + 1.0
    cx, cy = e.cx * width, e.cy * height
    # clipped to the image before int(): far-off values stay finite floats, never overflow
    x0 = int(math.floor(min(max(cx - hw, 0.0), width)))
    x1 = int(math.ceil(min(max(cx + hw, 0.0), width)))
    y0 = int(math.floor(min(max(cy - hh, 0.0), height)))
    y1 = int(math.ceil(min(max(cy + hh, 0.0), height)))
    return (y0, y1, x0, x1) if x0 < x1 and y0 < y1 else None


def _paint_ellipse(area: np.ndarray, e: Ellipse) -> None:
    """Combines an antialiased ellipse into ``area`` (1-pixel edge, first-order signed
    distance), in row chunks over its bounding box."""
    height, width = area.shape
    bbox = _ellipse_bbox(e, height, width)
    if bbox is None:
        return
    y0, y1, x0, x1 = bbox
    a, b = e.rx * width, e.ry * height
    c, s = math.cos(math.radians(e.angle)), math.sin(math.radians(e.angle))
    dx = np.arange(x0, x1, dtype=np.float32)[None, :] + np.float32(0.5 - e.cx * width)
    step = max(1, _ROW_CHUNK_PIXELS // (x1 - x0))
    for r0 in range(y0, y1, step):
        r1 = min(r0 + step, y1)
        dy = np.arange(r0, r1, dtype=np.float32)[:, None] + np.float32(0.5 - e.cy * height)
        # Rotate the offsets back into the ellipse's frame (clockwise on screen, y down).
        u = (dx * c + dy * s) / np.float32(a)
        v = (dy * c - dx * s) / np.float32(b)
        f = np.sqrt(u * u + v * v)
        grad = np.sqrt((u / a) ** 2 + (v / b) ** 2)
        grad = np.where(f > 1e-6, grad / np.maximum(f, 1e-6), 1.0 / max(a, b))
        patch = np.clip(0.5 - (f - 1.0) / grad, 0.0, 1.0).astype(np.float32)
        _combine(area[r0:r1, x0:x1], patch, e.mode)


def _combine(view: np.ndarray, patch: np.ndarray, mode: str) -> None:
    if mode == "add":
        np.maximum(view, patch, out=view)
    else:
        view *= 1.0 - patch


#: How far (in normalised luminance) a pixel may differ from the luminance under an
#: auto-mask stroke's centre line and still be painted (a Gaussian's width).
AUTO_MASK_TOLERANCE = 0.12


def snap_to_edges(patch: np.ndarray, guide: np.ndarray, radius_px: float,
                  centre: Sequence[tuple[float, float]]) -> np.ndarray:
    """An auto-mask stroke: ``patch`` ((H, W) float32 [0, 1], the stroke as painted) kept
    only where the photo resembles what lies under the stroke's ``centre`` line (pixel
    (x, y) points): each pixel's weight is multiplied by a Gaussian of its normalised
    luminance's distance to the centre line's median luminance (``AUTO_MASK_TOLERANCE``), and
    the result is smoothed by a guided filter with the photo's luminance as guide (radius a
    quarter of the brush), so it follows the outline the brush crossed. ``guide``: (H, W, 3)
    RGB, integer or float [0, 1]. Returns a new (H, W) float32 in [0, 1]."""
    from limelight.core.finish import guided_filter, luminance

    out = np.zeros_like(patch, dtype=np.float32)
    x, y, bw, bh = cv2.boundingRect((patch > 0).view(np.uint8))
    if bw == 0:
        return out
    r = max(1, int(round(radius_px / 4.0)))
    m = 2 * r + 2
    ys = slice(max(0, y - m), min(patch.shape[0], y + bh + m))
    xs = slice(max(0, x - m), min(patch.shape[1], x + bw + m))
    g = guide[ys, xs].astype(np.float32)
    if guide.dtype.kind in "ui":
        g /= float(np.iinfo(guide.dtype).max)
    lum = luminance(g)
    lum = np.clip(lum / max(float(np.percentile(lum, 99.0)), 1e-3), 0.0, 1.0)
    h, w = lum.shape
    samples = [lum[min(h - 1, max(0, int(py) - ys.start)), min(w - 1, max(0, int(px) - xs.start))]
               for px, py in centre]
    target = float(np.median(samples)) if samples else float(lum.mean())
    like = np.exp(-0.5 * ((lum - np.float32(target)) / np.float32(AUTO_MASK_TOLERANCE)) ** 2)
    kept = patch[ys, xs].astype(np.float32) * like.astype(np.float32)
    smooth = guided_filter(lum, kept, r, 1e-3)
    out[ys, xs] = np.clip(smooth, 0.0, 1.0) * (patch[ys, xs] > 0)
    return out


def _paint_stroke(area: np.ndarray, st: Stroke, guide: np.ndarray | None = None) -> None:
    height, width = area.shape
    if st.auto and guide is not None:
        patch = np.zeros_like(area)
        _paint_stroke(patch, Stroke(st.points, st.radius, st.hardness, "add"))
        centre = [(x * width, y * height) for x, y in st.points]
        _combine(area, snap_to_edges(patch, guide, st.radius * min(height, width), centre),
                 st.mode)
        return
    painter = StrokePainter(area, st.radius * min(height, width), st.hardness, st.mode)
    pts = [(x * width, y * height) for x, y in st.points]
    if len(pts) == 1:
        pts.append(pts[0])
    for p0, p1 in zip(pts[:-1], pts[1:], strict=True):
        painter.segment(p0, p1)


def load_raster_mask(path: Path, height: int, width: int) -> np.ndarray:
    """Reads a grayscale mask image (8/16-bit or float) as (height, width) float32 [0, 1],
    resized to the image; raises MaskError if unreadable or of another aspect ratio."""
    m: np.ndarray
    try:
        with PILImage.open(path) as im:
            im.load()
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                m = np.asarray(im, dtype=np.float32) / 65535.0
            elif im.mode == "F":
                m = np.asarray(im, dtype=np.float32)
            else:
                m = np.asarray(im.convert("L"), dtype=np.float32) / 255.0
    except (OSError, ValueError, PILImage.DecompressionBombError) as err:
        raise MaskError(f"cannot read the mask image ({err})", path) from err
    mh, mw = m.shape
    if abs((mw / mh) / (width / height) - 1.0) > 0.01 + 2.0 / min(mh, mw, height, width):
        raise MaskError(
            f"the mask is {mw}x{mh} pixels, the image {width}x{height}: their aspect ratios differ",
            path,
        )
    if (mh, mw) != (height, width):
        shrink = mh * mw > height * width
        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        m = cv2.resize(m, (width, height), interpolation=interp)
    return np.clip(np.nan_to_num(m), 0.0, 1.0).astype(np.float32, copy=False)


def _subject_area(subject_fn: SubjectFn | None, height: int, width: int,
                  index: int) -> np.ndarray:
    if subject_fn is None:
        raise MaskError(
            f"mask.shapes[{index}] is the automatic subject, but no subject detector is "
            "available (install the subject model, or remove that shape)"
        )
    m = np.asarray(subject_fn(height, width), dtype=np.float32)
    if m.shape != (height, width):
        raise MaskError(f"the subject detector returned {m.shape}, expected {(height, width)}")
    return np.clip(np.nan_to_num(m), 0.0, 1.0)


def rasterize_area_a(
    spec: MaskSpec, height: int, width: int, *,
    base_dir: Path | None = None, subject_fn: SubjectFn | None = None,
    guide: np.ndarray | None = None,
) -> np.ndarray:
    """Area A of ``spec`` at ``height`` x ``width``: (H, W) float32 in [0, 1].

    Shapes apply in order (``add`` = max, ``erase`` = multiply by 1 − shape) onto an empty
    area; no shapes means the whole image. ``invert`` applies last. Relative raster paths are
    resolved against ``base_dir`` (default: the working directory). ``guide`` ((H, W, 3),
    the photo at this size) snaps auto-mask strokes to its edges; without it they are
    painted as drawn.
    """
    if height < 1 or width < 1:
        raise MaskError(f"cannot rasterise a mask of {width}x{height} pixels")
    if not spec.shapes:
        area = np.ones((height, width), np.float32)
    else:
        area = np.zeros((height, width), np.float32)
    for k, shape in enumerate(spec.shapes):
        if isinstance(shape, Ellipse):
            _paint_ellipse(area, shape)
        elif isinstance(shape, Stroke):
            _paint_stroke(area, shape, guide)
        elif isinstance(shape, Whole):
            area[...] = 1.0 if shape.mode == "add" else 0.0
        else:
            if isinstance(shape, RasterMask):
                path = shape.path if shape.path.is_absolute() else (
                    (base_dir if base_dir is not None else Path.cwd()) / shape.path)
                patch = load_raster_mask(path, height, width)
            else:
                patch = _subject_area(subject_fn, height, width, k)
            _combine(area, patch, shape.mode)
    if spec.invert:
        np.subtract(1.0, area, out=area)
    return area


def derive_mask(
    area_a: np.ndarray, transition_px: float, band: Band = "outside", *, precise: bool = False,
) -> np.ndarray:
    """The model's mask from area A: (2, H, W) float32, channel 0 = A, channel 1 = A ∪ B.

    Distances are measured from A's half-level edge (the pixels where A >= 0.5) with
    ``cv2.distanceTransform``. ``band="outside"``: channel 1 = max(A, smoothstep falloff) that
    is 1 inside A and exactly 0 from ``transition_px`` beyond A's edge on, so a soft A keeps
    its own tail and channel 1 >= channel 0 everywhere. ``band="inside"`` (the RANLEN
    portrait recipe): channel 0 = A eroded by ``transition_px``, channel 1 falls from 1 at the
    eroded edge to exactly 0 at A's edge. ``transition_px = 0`` gives A in both channels.
    ``precise`` uses the exact Euclidean transform (about 4x slower); the default 5x5 chamfer
    is within 2 % of it. The image border is not an edge of A.
    """
    a = np.asarray(area_a)
    if a.ndim != 2 or a.size == 0:
        raise MaskError(f"area A must be a non-empty (H, W) array, got shape {a.shape}")
    t = float(transition_px)
    if not math.isfinite(t) or t < 0:
        raise MaskError(f"the transition width must be >= 0 pixels, got {transition_px!r}")
    if band not in BANDS:
        raise MaskError(f"band must be 'outside' or 'inside', got {band!r}")
    if band == "auto":  # no shapes to resolve it from: a drawn area
        band = "outside"
    h, w = a.shape
    out = np.empty((2, h, w), np.float32)
    np.clip(a, 0.0, 1.0, out=out[0])
    a = out[0]
    if t == 0.0:
        out[1] = a
        return out
    core = (a >= 0.5).view(np.uint8)
    noncore = 1 - core
    size = cv2.DIST_MASK_PRECISE if precise else cv2.DIST_MASK_5
    reach = int(math.ceil(t)) + 2
    box_core, box_non = cv2.boundingRect(core), cv2.boundingRect(noncore)
    if band == "outside":
        # Only non-core pixels within reach of the core change; their nearest core pixel lies
        # in the core's box and (or a nearer one does) within a pixel of the non-core's box.
        np.maximum(a, core, out=out[1])
        crop = _crop(_grow(box_core, reach), _grow(box_non, 1), h, w)
        if crop is None:
            return out
        ys, xs = crop
        dist = _distance(noncore[ys, xs], size)
        dist *= np.float32(-1.0 / t)
        dist += np.float32((t + 0.5) / t)
        np.maximum(out[1, ys, xs], _smoothstep(dist), out=out[1, ys, xs])
        return out
    # Inside: core pixels deeper than reach stay 1 in both channels, non-core ones 0.
    out[0] = core
    out[1] = core
    crop = _crop(_grow(box_core, 1), _grow(box_non, reach), h, w)
    if crop is None:
        return out
    ys, xs = crop
    depth = _distance(core[ys, xs], size)
    depth = np.minimum(depth, np.float32(t + 2.0))
    out[0, ys, xs] = np.clip(depth - t, 0.0, 1.0)
    depth -= 0.5
    depth *= np.float32(1.0 / t)
    out[1, ys, xs] = np.maximum(_smoothstep(depth), out[0, ys, xs])
    return out


def _distance(binary: np.ndarray, mask_size: int) -> np.ndarray:
    """Euclidean distance of each nonzero pixel to the nearest zero one: float32, 0 on zeros."""
    dist: np.ndarray = cv2.distanceTransform(np.ascontiguousarray(binary), cv2.DIST_L2, mask_size)
    return dist


def _grow(box: Sequence[int], margin: int) -> tuple[int, int, int, int] | None:
    """An OpenCV (x, y, w, h) box grown by ``margin`` as (x0, y0, x1, y1); None if empty."""
    x, y, bw, bh = box
    return None if bw == 0 else (x - margin, y - margin, x + bw + margin, y + bh + margin)


def _crop(b1: tuple[int, int, int, int] | None, b2: tuple[int, int, int, int] | None,
          h: int, w: int) -> tuple[slice, slice] | None:
    """The intersection of two boxes and the image as (rows, cols) slices; None if empty."""
    if b1 is None or b2 is None:
        return None
    x0, y0 = max(b1[0], b2[0], 0), max(b1[1], b2[1], 0)
    x1, y1 = min(b1[2], b2[2], w), min(b1[3], b2[3], h)
    return (slice(y0, y1), slice(x0, x1)) if x0 < x1 and y0 < y1 else None


def follow_edges(mask2: np.ndarray, guide: np.ndarray, transition_px: float) -> np.ndarray:
    """The band of a (2, H, W) mask made to follow the edges of ``guide`` ((H, W, 3) RGB,
    uint8/uint16 or float [0, 1]): channel 1 inside the band (0 < w < 1) becomes a guided
    filter of it with the photo's luminance (normalised to its 99th percentile, so a dark
    photo's edges count) as guide, radius half the band. Where the weight is 0 (area C) or 1
    it is unchanged, and channel 1 stays >= channel 0. Returns a new (2, H, W) float32."""
    from limelight.core.finish import guided_filter, luminance

    if guide.shape[:2] != mask2.shape[1:]:
        raise MaskError(f"the guide is {guide.shape[:2]}, the mask {mask2.shape[1:]}")
    g = guide.astype(np.float32)
    if guide.dtype.kind in "ui":
        g /= float(np.iinfo(guide.dtype).max)
    lum = luminance(g)
    lum = np.clip(lum / max(float(np.percentile(lum, 99.0)), 1e-3), 0.0, 1.0)
    out = np.array(mask2, np.float32, copy=True)
    w1 = out[1]
    band = (w1 > 0.0) & (w1 < 1.0)
    if not band.any():
        return out
    radius = max(1, int(round(transition_px / 2.0)))
    x, y, bw, bh = cv2.boundingRect(band.view(np.uint8))
    m = radius * 2 + 2
    ys = slice(max(0, y - m), min(w1.shape[0], y + bh + m))
    xs = slice(max(0, x - m), min(w1.shape[1], x + bw + m))
    filtered = np.clip(guided_filter(lum[ys, xs], w1[ys, xs], radius, 1e-3), 0.0, 1.0)
    sub_band = band[ys, xs]
    w1[ys, xs][sub_band] = np.maximum(filtered[sub_band], out[0][ys, xs][sub_band])
    return out


def luminance_range(guide: np.ndarray, low: float, high: float, soft: float) -> np.ndarray:
    """How much each pixel of ``guide`` ((H, W, 3) RGB, uint8/uint16 or float [0, 1]) lies in
    the luminance range [low, high]: (H, W) float32 in [0, 1], 1 inside, falling smoothly to
    0 at ``soft`` outside it (a hard step when ``soft`` is 0). The luminance is smoothed a
    little (sigma 0.2 % of the short side, at least half a pixel) so grain does not speckle
    the mask; ``low`` 0 and ``high`` 1 are open ends."""
    from limelight.core.finish import luminance

    g = guide.astype(np.float32)
    if guide.dtype.kind in "ui":
        g /= float(np.iinfo(guide.dtype).max)
    lum = luminance(g)
    sigma = max(0.5, 0.002 * min(lum.shape))
    lum = cv2.GaussianBlur(lum, (0, 0), sigma)
    out = np.ones(lum.shape, np.float32)
    s = max(float(soft), 1e-6)
    if low > 0.0:
        out *= _smoothstep((lum - np.float32(low - s)) / np.float32(s)) if soft > 0 else (
            lum >= low).astype(np.float32)
    if high < 1.0:
        out *= 1.0 - (_smoothstep((lum - np.float32(high)) / np.float32(s)) if soft > 0 else (
            lum > high).astype(np.float32))
    return out


def apply_range(mask2: np.ndarray, spec: MaskSpec, guide: np.ndarray | None) -> np.ndarray:
    """``mask2`` (2, H, W) with both channels multiplied by ``spec``'s luminance range of
    ``guide`` (the photo at the mask's size); unchanged when the range keeps everything.
    Where the weight was 0 it stays 0, and channel 1 stays >= channel 0."""
    if not spec.has_range:
        return mask2
    if guide is None:
        raise MaskError("a luminance range needs the photo as guide")
    if guide.shape[:2] != mask2.shape[1:]:
        raise MaskError(f"the guide is {guide.shape[:2]}, the mask {mask2.shape[1:]}")
    r = luminance_range(guide, spec.range_low, spec.range_high, spec.range_soft)
    return np.ascontiguousarray(mask2 * r[None], np.float32)


def area_weights(mask2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel weights of areas A, B, C from a (2, H, W) mask: (H, W) float32 each,
    wA = ch0, wB = ch1 − ch0, wC = 1 − ch1; they sum to 1."""
    if mask2.ndim != 3 or mask2.shape[0] != 2:
        raise MaskError(f"expected a (2, H, W) mask, got shape {mask2.shape}")
    a, ab = mask2[0], mask2[1]
    return a, np.clip(ab - a, 0.0, 1.0), 1.0 - ab


def circle_spec(height: int, width: int, *, radius: float = 2.0 / 7.0, ratio: float = 1.225,
                cx: float = 0.5, cy: float = 0.5) -> MaskSpec:
    """A circle of ``radius`` x the short side (RANLEN's r1 = 2m/7) with area B out to
    ``ratio`` x r1 (r2 = 1.225 r1), as a MaskSpec for a ``height`` x ``width`` image."""
    r1 = radius * min(height, width)
    return MaskSpec(
        shapes=(Ellipse(cx, cy, r1 / width, r1 / height),),
        transition=(ratio - 1.0) * radius,
    )


def protocol_mask(height: int, width: int) -> np.ndarray:
    """The RANLEN evaluation mask (design.md, "Evaluation protocol"): (2, H, W) float32, a
    centred circle r1 = 2·min(H, W)/7 as A and B out to r2 = 1.225·r1."""
    spec = circle_spec(height, width)
    area = rasterize_area_a(spec, height, width)
    return derive_mask(area, spec.transition_px(height, width), precise=True)
