"""Smart select without any model: GrabCut plus an edge-aware (guided filter) refinement.

``smart_select(img, rect, include, exclude)`` segments the object inside a rectangle with
OpenCV's GrabCut at a working resolution, then runs a colour guided filter (He, Sun & Tang,
"Guided Image Filtering", TPAMI 2013) with the image as guide so that the soft mask follows
hair and edges.

Dark photos: GrabCut's colour models and its contrast-sensitive smoothness (normalised by the
image's mean squared neighbour difference) are dominated by the bright parts, so on a night
photo it kept a man's bright shirt and trousers and dropped his dark face and arm, whose edges
against a dark background are a few 8-bit levels. GrabCut therefore runs on
``exposure_normalised`` pixels, a per-channel log that gives dark-on-dark edges a contrast
comparable to bright ones, and only on the rectangle plus a margin (the local background is
what matters, and it is faster). An optional ``prior`` (the subject model's saliency,
``core.subject``) seeds GrabCut's probable-foreground/background labels inside the rectangle
instead of a plain rectangle init. The refinement uses the original pixels as guide.

``refine_to(mask_small, full_img)`` is the fast guided filter (He & Sun 2015):
the filter's local affine coefficients are fitted at the mask's resolution and upsampled to
the full image, where ``q = a · I + b`` is applied in row chunks, so a mask made on a preview
snaps to the full-resolution edges without a full-resolution solve.

All images are ``(H, W, 3)`` float32 RGB in [0, 1]; masks ``(H, W)`` float32 in [0, 1].
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from limelight.core.errors import MaskError
from limelight.core.masks import MaskSpec, RasterMask, Subject, derive_mask

log = logging.getLogger(__name__)

#: Rect as ``(x, y, w, h)`` in pixels of the image it refers to.
Rect = tuple[int, int, int, int]

#: Long side of the crop GrabCut runs on (its cost grows faster than the pixel count: 9.6 s
#: at 1024 px on a dark 1 MP astronaut, 1.8 s at 512; the guided filter restores the edges).
DEFAULT_MAX_SIDE = 512
#: GrabCut iterations of ``smart_select`` (3 is a third faster, but on a night portrait it
#: kept a lit car window behind the head that 5 leaves out).
DEFAULT_ITERATIONS = 5
#: GrabCut sees the rectangle plus this fraction of its mean side on each side (at least
#: ``MIN_MARGIN_PX``): the local background it learns from.
CROP_MARGIN = 0.2
MIN_MARGIN_PX = 12
#: ``exposure_normalised``: the log's knee is half this percentile of the crop's luminance (at
#: least ``LOG_FLOOR``), so its darker half is spread over a good part of [0, 1]. (Half the
#: 25th percentile also found the dark face but lost a darkened astronaut's orange suit: its
#: brighter colours were squeezed together.)
LOG_PERCENTILE = 50.0
LOG_FLOOR = 0.004
#: A prior of at least ``PRIOR_FG`` marks probable foreground, at most ``PRIOR_BG`` probable
#: background; it is used only if its foreground covers ``PRIOR_MIN_COVER`` of the rectangle.
PRIOR_FG = 0.5
PRIOR_BG = 0.05
PRIOR_MIN_COVER = 0.03
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
#: Guided-filter window radius as a fraction of the working image's short side.
RADIUS_FRACTION = 1.0 / 96.0
#: Guided-filter regulariser (image values in [0, 1]): small = follow edges closely.
DEFAULT_EPS = 1e-3
_ROW_CHUNK_PIXELS = 1 << 20


def _check_img(img: np.ndarray, name: str = "img") -> np.ndarray:
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3 or img.shape[0] < 2 or img.shape[1] < 2:
        raise MaskError(f"{name} must be an (H, W, 3) image, got shape {img.shape}")
    return img.astype(np.float32, copy=False)


def _check_mask(mask: np.ndarray | None, shape: tuple[int, int], name: str) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.shape != shape:
        raise MaskError(f"{name} must have the image's shape {shape}, got {mask.shape}")
    return mask.astype(bool, copy=False)


def default_radius(height: int, width: int) -> int:
    """Guided-filter radius (px) for an image of this size: about 1/96 of the short side."""
    return max(1, round(min(height, width) * RADIUS_FRACTION))


def _box(x: np.ndarray, r: int) -> np.ndarray:
    """Mean over a (2r+1)² window, reflected at the borders; keeps channels."""
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), normalize=True,
                         borderType=cv2.BORDER_REFLECT)


def guided_coefficients(
    guide: np.ndarray, src: np.ndarray, radius: int, eps: float = DEFAULT_EPS
) -> tuple[np.ndarray, np.ndarray]:
    """Window-averaged coefficients of the colour guided filter: ``q = a · I + b``.

    Args:
        guide: (h, w, 3) float32 in [0, 1]; src: (h, w) float32.
    Returns:
        ``a`` (h, w, 3) and ``b`` (h, w), float32.
    """
    guide = guide.astype(np.float32, copy=False)
    src = src.astype(np.float32, copy=False)
    mean_i = _box(guide, radius)
    mean_p = _box(src, radius)
    cov_ip = _box(guide * src[..., None], radius) - mean_i * mean_p[..., None]
    # Covariance of the guide's channels: the six entries of a symmetric 3x3 matrix.
    idx = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))
    prods = np.stack([guide[..., i] * guide[..., j] for i, j in idx], axis=-1)
    var = _box(prods, radius) - np.stack([mean_i[..., i] * mean_i[..., j] for i, j in idx], -1)
    s00, s01, s02, s11, s12, s22 = (var[..., k] for k in range(6))
    s00 = s00 + eps
    s11 = s11 + eps
    s22 = s22 + eps
    # Inverse by cofactors (the matrix is symmetric positive definite thanks to eps).
    c00 = s11 * s22 - s12 * s12
    c01 = s02 * s12 - s01 * s22
    c02 = s01 * s12 - s02 * s11
    c11 = s00 * s22 - s02 * s02
    c12 = s01 * s02 - s00 * s12
    c22 = s00 * s11 - s01 * s01
    det = s00 * c00 + s01 * c01 + s02 * c02
    cx, cy, cz = cov_ip[..., 0], cov_ip[..., 1], cov_ip[..., 2]
    a = np.stack([
        c00 * cx + c01 * cy + c02 * cz,
        c01 * cx + c11 * cy + c12 * cz,
        c02 * cx + c12 * cy + c22 * cz,
    ], axis=-1) / det[..., None]
    b = mean_p - np.einsum("hwc,hwc->hw", a, mean_i)
    return _box(a.astype(np.float32), radius), _box(b.astype(np.float32), radius)


def guided_filter(
    guide: np.ndarray, src: np.ndarray, radius: int | None = None, eps: float = DEFAULT_EPS
) -> np.ndarray:
    """Colour guided filter of ``src`` (h, w) with ``guide`` (h, w, 3) in [0, 1]: (h, w)
    float32 (not clipped). ``radius`` defaults to ``default_radius``."""
    guide = _check_img(guide, "guide")
    if src.shape != guide.shape[:2]:
        raise MaskError(f"the mask is {src.shape}, its guide {guide.shape[:2]}: sizes differ")
    r = default_radius(*src.shape) if radius is None else int(radius)
    a, b = guided_coefficients(guide, src, r, eps)
    return np.einsum("hwc,hwc->hw", a, guide) + b


def _resize(x: np.ndarray, height: int, width: int) -> np.ndarray:
    if x.shape[:2] == (height, width):
        return x
    shrink = height * width < x.shape[0] * x.shape[1]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(x, (width, height), interpolation=interp)


def _apply_upsampled(a: np.ndarray, b: np.ndarray, full: np.ndarray) -> np.ndarray:
    """``q = up(a) · I + up(b)`` at full size, bilinear (pixel-centre aligned, as
    cv2.resize), in row chunks so no full-size coefficient image is ever held."""
    h, w = a.shape[:2]
    big_h, big_w = full.shape[:2]
    out = np.empty((big_h, big_w), np.float32)
    map_x = ((np.arange(big_w, dtype=np.float32) + 0.5) * (w / big_w) - 0.5)[None, :]
    step = max(1, _ROW_CHUNK_PIXELS // big_w)
    ab = np.concatenate([a, b[..., None]], axis=-1)  # 4 channels: one remap per chunk
    for r0 in range(0, big_h, step):
        r1 = min(r0 + step, big_h)
        ys = ((np.arange(r0, r1, dtype=np.float32) + 0.5) * (h / big_h) - 0.5)[:, None]
        mx = np.broadcast_to(map_x, (r1 - r0, big_w)).astype(np.float32)
        my = np.broadcast_to(ys, (r1 - r0, big_w)).astype(np.float32)
        up = cv2.remap(ab, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        out[r0:r1] = np.einsum("hwc,hwc->hw", up[..., :3], full[r0:r1]) + up[..., 3]
    return out


def refine_to(
    mask_small: np.ndarray, full_img: np.ndarray, *,
    radius: int | None = None, eps: float = DEFAULT_EPS,
) -> np.ndarray:
    """Edge-aware upsampling of a mask to ``full_img``'s size (fast guided filter).

    Args:
        mask_small: (h, w) float in [0, 1], e.g. made on a preview of ``full_img``.
        full_img: (H, W, 3) float32 in [0, 1], same aspect ratio; the guide.
        radius: filter radius in pixels of the *small* grid (default ``default_radius``).
    Returns:
        (H, W) float32 in [0, 1] that follows ``full_img``'s edges.
    """
    full = _check_img(full_img, "full_img")
    m = np.asarray(mask_small, dtype=np.float32)
    if m.ndim != 2:
        raise MaskError(f"the mask must be (H, W), got shape {m.shape}")
    h, w = m.shape
    big_h, big_w = full.shape[:2]
    if abs((w / h) / (big_w / big_h) - 1.0) > 0.02 + 2.0 / min(h, w):
        raise MaskError(f"the mask is {w}x{h} pixels, the image {big_w}x{big_h}: "
                        "their shapes differ")
    r = default_radius(h, w) if radius is None else int(radius)
    guide = _resize(full, h, w)
    a, b = guided_coefficients(guide, m, r, eps)
    if (h, w) == (big_h, big_w):
        q = np.einsum("hwc,hwc->hw", a, full) + b
    else:
        q = _apply_upsampled(a, b, full)
    return np.clip(q, 0.0, 1.0, out=q)


def _check_rect(rect: Rect, height: int, width: int) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(round(float(v))) for v in rect)
    except (TypeError, ValueError) as err:
        raise MaskError(f"the rectangle must be four numbers x, y, w, h, got {rect!r}") from err
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, width), min(y + h, height)
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise MaskError(f"the rectangle {tuple(rect)} covers less than 2x2 pixels of the "
                        f"{width}x{height} image")
    return x0, y0, x1, y1


def _grabcut_seed(shape: tuple[int, int], box: tuple[int, int, int, int],
                  include: np.ndarray | None, exclude: np.ndarray | None) -> np.ndarray:
    """GrabCut's label map: outside the rect = background, inside = probable foreground,
    strokes = certain. The image border becomes probable background if nothing else is."""
    x0, y0, x1, y1 = box
    seed = np.full(shape, cv2.GC_BGD, np.uint8)
    seed[y0:y1, x0:x1] = cv2.GC_PR_FGD
    if include is not None:
        seed[include] = cv2.GC_FGD
    if exclude is not None:
        seed[exclude] = cv2.GC_BGD
    if not np.isin(seed, (cv2.GC_BGD, cv2.GC_PR_BGD)).any():
        border = np.zeros(shape, bool)
        border[[0, -1], :] = True
        border[:, [0, -1]] = True
        seed[border & (seed == cv2.GC_PR_FGD)] = cv2.GC_PR_BGD
    if not np.isin(seed, (cv2.GC_FGD, cv2.GC_PR_FGD)).any():
        raise MaskError("nothing to select: the exclude strokes cover the whole rectangle")
    return seed


def _seed_with_prior(seed: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Inside the rectangle (``GC_PR_FGD``), a low prior becomes probable background; strokes
    and the outside are kept. An empty prior (nothing salient in the box) changes nothing."""
    inside = seed == cv2.GC_PR_FGD
    if (inside & (prior >= PRIOR_FG)).sum() < PRIOR_MIN_COVER * max(1, int(inside.sum())):
        log.debug("smart select: the prior is empty inside the rectangle, not used")
        return seed
    out = seed.copy()
    out[inside & (prior <= PRIOR_BG)] = cv2.GC_PR_BGD
    return out


def grabcut(img: np.ndarray, rect: Rect, include: np.ndarray | None = None,
            exclude: np.ndarray | None = None, iterations: int = 5, *,
            prior: np.ndarray | None = None) -> np.ndarray:
    """Hard GrabCut segmentation of ``img`` (h, w, 3) [0, 1] seeded by ``rect`` (x, y, w, h
    in pixels) and stroke masks; returns (h, w) bool (True = object).

    ``prior``: optional (h, w) float [0, 1] saliency; inside ``rect`` it seeds probable
    foreground (>= ``PRIOR_FG``) and probable background (<= ``PRIOR_BG``). GrabCut's k-means
    is seeded, so a call gives the same answer whatever ran before it."""
    img = _check_img(img)
    shape = img.shape[:2]
    box = _check_rect(rect, *shape)
    seed = _grabcut_seed(shape, box, _check_mask(include, shape, "include"),
                         _check_mask(exclude, shape, "exclude"))
    if prior is not None:
        prior = np.asarray(prior, np.float32)
        if prior.shape != shape:
            raise MaskError(f"the prior must have the image's shape {shape}, got {prior.shape}")
        seed = _seed_with_prior(seed, prior)
    img8 = np.ascontiguousarray(np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8))
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # this thread's RNG, which GrabCut's k-means draws from
    # The rect argument is ignored with GC_INIT_WITH_MASK: the seed map carries it.
    cv2.grabCut(img8, seed, (0, 0, 0, 0), bgd, fgd, max(1, int(iterations)),
                cv2.GC_INIT_WITH_MASK)
    return (seed == cv2.GC_FGD) | (seed == cv2.GC_PR_FGD)


def _shrink(x: np.ndarray, height: int, width: int, nearest: bool = False) -> np.ndarray:
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
    return cv2.resize(x, (width, height), interpolation=interp)


def exposure_normalised(img: np.ndarray) -> np.ndarray:
    """(h, w, 3) float32 [0, 1] -> the same, each channel through ``log1p(c / k) /
    log1p(1 / k)``: black stays 0 and white 1, and the contrast of values near ``k`` is
    raised about ``1 / (k log1p(1 / k))`` times (16x for k = 0.005), so a dark face on a dark
    background differs by as many levels as a bright shirt does. ``k`` is half the image's
    ``LOG_PERCENTILE`` luminance percentile, at least ``LOG_FLOOR``: a bright photo is only
    mildly compressed."""
    lum = img @ _LUMA
    k = max(LOG_FLOOR, 0.5 * float(np.percentile(lum, LOG_PERCENTILE)))
    out = np.log1p(np.maximum(img, 0.0) * np.float32(1.0 / k)) * np.float32(1.0 / np.log1p(1.0 / k))
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)


def _crop_box(box: tuple[int, int, int, int], height: int, width: int,
              strokes: tuple[np.ndarray | None, ...]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) GrabCut works in: the rectangle plus ``CROP_MARGIN`` and any stroke."""
    x0, y0, x1, y1 = box
    m = max(MIN_MARGIN_PX, int(CROP_MARGIN * 0.5 * ((x1 - x0) + (y1 - y0))))
    x0, y0, x1, y1 = max(0, x0 - m), max(0, y0 - m), min(width, x1 + m), min(height, y1 + m)
    for stroke in strokes:
        if stroke is not None and stroke.any():
            ys = np.flatnonzero(stroke.any(axis=1))
            xs = np.flatnonzero(stroke.any(axis=0))
            x0, y0 = min(x0, int(xs[0])), min(y0, int(ys[0]))
            x1, y1 = max(x1, int(xs[-1]) + 1), max(y1, int(ys[-1]) + 1)
    return x0, y0, x1, y1


def smart_select(
    img: np.ndarray, rect: Rect, include: np.ndarray | None = None,
    exclude: np.ndarray | None = None, *, guide: np.ndarray | None = None,
    iterations: int = DEFAULT_ITERATIONS, max_side: int = DEFAULT_MAX_SIDE,
    prior: np.ndarray | None = None,
) -> np.ndarray:
    """Selects the object inside ``rect``: GrabCut on exposure-normalised pixels of the
    rectangle and its surroundings, then a guided-filter refinement with the photo as guide.

    Args:
        img: (H, W, 3) float32 in [0, 1], typically the editor's preview.
        rect: (x, y, w, h) in pixels of ``img``; clipped to the image.
        include, exclude: optional (H, W) bool strokes: certainly object / certainly not.
        guide: optional higher-resolution version of ``img`` (same aspect ratio); the mask is
            then refined with it as guide and returned at its size.
        iterations: GrabCut iterations.
        max_side: GrabCut runs on a copy of the crop whose long side is at most this.
        prior: optional (H', W') float [0, 1] saliency of ``img`` (any size of its aspect
            ratio, e.g. ``core.subject``'s map), used to seed GrabCut inside ``rect``.
    Returns:
        (H, W) float32 in [0, 1] (``guide``'s size if given); strokes are kept exactly;
        0 outside the rectangle's surroundings.
    """
    img = _check_img(img)
    height, width = img.shape[:2]
    include = _check_mask(include, (height, width), "include")
    exclude = _check_mask(exclude, (height, width), "exclude")
    box = _check_rect(rect, height, width)
    cx0, cy0, cx1, cy1 = _crop_box(box, height, width, (include, exclude))
    ch, cw = cy1 - cy0, cx1 - cx0
    scale = min(1.0, max_side / max(ch, cw))
    wh, ww = max(2, round(ch * scale)), max(2, round(cw * scale))
    crop = img[cy0:cy1, cx0:cx1]
    work = exposure_normalised(_shrink(crop, wh, ww) if (wh, ww) != (ch, cw) else crop)
    fx, fy = ww / cw, wh / ch
    x0, y0, x1, y1 = box
    work_rect = (round((x0 - cx0) * fx), round((y0 - cy0) * fy), round((x1 - x0) * fx),
                 round((y1 - y0) * fy))

    def small(m: np.ndarray | None) -> np.ndarray | None:
        if m is None:
            return None
        m = m[cy0:cy1, cx0:cx1]
        if (wh, ww) == (ch, cw):
            return m
        return _shrink(m.astype(np.uint8), wh, ww, nearest=True).astype(bool)

    work_prior = None
    if prior is not None:
        p = np.asarray(prior, np.float32)
        if p.ndim != 2:
            raise MaskError(f"the prior must be (H, W), got shape {p.shape}")
        py, px = p.shape[0] / height, p.shape[1] / width
        p = p[int(cy0 * py):max(int(cy0 * py) + 1, round(cy1 * py)),
              int(cx0 * px):max(int(cx0 * px) + 1, round(cx1 * px))]
        work_prior = cv2.resize(p, (ww, wh), interpolation=cv2.INTER_AREA
                                if p.shape[0] * p.shape[1] > wh * ww else cv2.INTER_LINEAR)

    hard = grabcut(work, work_rect, small(include), small(exclude), iterations,
                   prior=work_prior)
    target = _check_img(guide, "guide") if guide is not None else img
    th, tw = target.shape[:2]
    sy, sx = th / height, tw / width
    ty0, ty1 = int(cy0 * sy), max(int(cy0 * sy) + 2, min(th, round(cy1 * sy)))
    tx0, tx1 = int(cx0 * sx), max(int(cx0 * sx) + 2, min(tw, round(cx1 * sx)))
    # the radius the whole image would get (1/96 of its short side), in working pixels
    radius = max(1, round(min(height, width) * RADIUS_FRACTION * ww / cw))
    out = np.zeros((th, tw), np.float32)
    out[ty0:ty1, tx0:tx1] = refine_to(hard.astype(np.float32), target[ty0:ty1, tx0:tx1],
                                      radius=radius)
    for stroke, value in ((include, 1.0), (exclude, 0.0)):
        if stroke is not None:
            out[_resize_bool(stroke, th, tw)] = value
    log.debug("smart select: %dx%d crop worked at %dx%d, %.1f%% selected", cw, ch, ww, wh,
              100.0 * float(out.mean()))
    return out


def _resize_bool(m: np.ndarray, height: int, width: int) -> np.ndarray:
    if m.shape == (height, width):
        return m
    return cv2.resize(m.astype(np.uint8), (width, height),
                      interpolation=cv2.INTER_NEAREST).astype(bool)


def parse_rect(text: str, height: int, width: int) -> Rect:
    """``"X,Y,W,H"`` → pixel rect of an image of ``height`` x ``width``. Numbers all ≤ 1 are
    fractions of the width (X, W) and height (Y, H); otherwise they are pixels."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        vals = []
    if len(vals) != 4 or any(not np.isfinite(v) or v < 0 for v in vals):
        raise MaskError(f"--rect must be four non-negative numbers X,Y,W,H, got {text!r}")
    if all(v <= 1.0 for v in vals):
        vals = [vals[0] * width, vals[1] * height, vals[2] * width, vals[3] * height]
    x, y, w, h = (int(round(v)) for v in vals)
    return x, y, w, h


def segment_areas(segment: np.ndarray, transition: float = 0.06, *,
                  portrait: bool = False) -> np.ndarray:
    """Turns a segment (a selection) into the model's (2, H, W) mask [A, A ∪ B].

    Args:
        segment: (H, W) float in [0, 1], e.g. from ``smart_select`` or ``subject_mask``.
        transition: width of area B as a fraction of the short side.
        portrait: False (default): A = the segment, B = a band outside it (dilation).
            True: the RANLEN §5.2 portrait recipe, A = the segment eroded by the width and
            B = the band from there up to the segment's edge, so nothing outside the
            segment changes.
    """
    seg = np.asarray(segment, dtype=np.float32)
    if seg.ndim != 2:
        raise MaskError(f"the segment must be (H, W), got shape {seg.shape}")
    width_px = float(transition) * min(seg.shape)
    return derive_mask(seg, width_px, "inside" if portrait else "outside")


def segment_spec(source: str | Path | None = None, *, transition: float = 0.06,
                 portrait: bool = False) -> MaskSpec:
    """A recipe mask made of one segment: ``source`` None = the automatic subject (each photo
    of a batch is segmented anew), else a grayscale mask file (e.g. written by
    ``limelight select``). ``portrait`` as in ``segment_areas``."""
    shape = Subject() if source is None else RasterMask(Path(source))
    return MaskSpec(shapes=(shape,), transition=transition,
                    band="inside" if portrait else "outside")


def write_mask_png(path: str | Path, mask: np.ndarray, *,
                   protect: tuple[Path, ...] = ()) -> Path:
    """Writes ``mask`` (H, W) [0, 1] as an 8-bit grayscale PNG (255 = selected), atomically
    (``atomic.atomic_path``); refuses paths in ``protect``."""
    from PIL import Image as PILImage

    from limelight.core.atomic import atomic_path
    from limelight.core.errors import ImageWriteError
    from limelight.core.imageio_encode import refuse_protected

    path = Path(path)
    refuse_protected(path, protect, "the mask")
    m = np.asarray(mask, dtype=np.float32)
    if m.ndim != 2:
        raise MaskError(f"a mask must be (H, W), got shape {m.shape}")
    data = np.clip(m * 255.0 + 0.5, 0, 255).astype(np.uint8)
    try:
        with atomic_path(path) as tmp:
            PILImage.fromarray(data, "L").save(tmp, format="PNG")
    except OSError as err:
        raise ImageWriteError(f"cannot write the mask ({err})", path) from err
    return path
