"""Compositing and full-resolution enhancement.

Full resolution (``enhance_pixels``): the network runs on a downscaled *working* image (long
edge = the model's ``working_resolution``); the knobs recompose its maps into an enhanced
working image; a guided filter turns "working input -> enhanced" into per-pixel local affine
coefficients ``out = A * in + b`` (per channel), which are bilinearly upsampled to full size and
applied there in row chunks, together with the compositing weight (mask channel 1). The
source integers are composited directly, so wherever the weight is exactly 0 (area C) the
output integers are the input integers, bit for bit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from limelight.core.errors import ImageWriteError, LimelightError
from limelight.core.finish import side_pool
from limelight.core.imageio import Image, read_image, read_preview, write_image
from limelight.core.imageio_encode import same_file
from limelight.core.masks import (
    MaskSpec,
    Subject,
    SubjectFn,
    apply_range,
    derive_mask,
    follow_edges,
    rasterize_area_a,
)
from limelight.core.network import run_network, working_size
from limelight.core.recipe import Recipe
from limelight.core.recompose import Knobs

if TYPE_CHECKING:
    from limelight.core.engine import Engine

log = logging.getLogger(__name__)

Progress = Callable[[float], None]

#: Guided filter box radius in *working* pixels and its regulariser in [0, 1]^2 units. Chosen
#: by measuring the full-resolution result against the same model run at full size (the tiny
#: test models, 2048 px photo, working 128 and 512 px): r = 2 was best or within 0.5 dB of
#: the best for every family (larger radii blur the fit across map edges: r = 8 lost 2-12 dB);
#: eps = 1e-5 (std ~0.8/255) beat 1e-4 by up to 4 dB on pointwise maps, because dark photos
#: have little texture contrast and a larger eps flattens it into b. Flat patches (var 0)
#: still get a finite A.
GUIDE_RADIUS = 2
GUIDE_EPS = 1e-5
#: The compositing weight is rasterised with a long edge of at least this (never more than
#: the photo) and bilinearly upsampled: transition bands are tens of pixels wide, and a hard
#: edge becomes a ramp of (long edge / MASK_RESOLUTION) px, i.e. antialiased.
MASK_RESOLUTION = 2048
#: Pixels per row chunk at full resolution (~4 float32 planes of this size live at once).
#: 2^19 (6 MB per 3-channel plane) measured fastest on a 24 MP photo, 2 cores: apply
#: 0.21 s vs 0.31 s at 2^21 (local ellipse), 0.49 vs 0.64 s (whole image).
CHUNK_PIXELS = 1 << 19


def sample_photo_path() -> Path:
    """The bundled sample dark photo (``resources/samples/``, see its README for credits)."""
    return Path(str(files("limelight.resources") / "samples" / "sample_dark.jpg"))


def composite(img: np.ndarray, enhanced: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``img + weight * (enhanced - img)``; img/enhanced (H, W, 3) float32, weight (H, W) in
    [0, 1]. Where the weight is 0 the result is ``img`` exactly."""
    out = np.subtract(enhanced, img, dtype=np.float32)
    out *= weight[..., None]
    out += img
    return out


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    k = 2 * radius + 1
    return cv2.boxFilter(x, -1, (k, k), normalize=True, borderType=cv2.BORDER_REFLECT)


class GuidedFit:
    """He et al.'s guided filter fit ``target ≈ A * guide + b`` per channel over (2r+1)^2
    windows, with the guide's statistics computed once: the preview fits a new target (the
    enhancement for new knobs) against the same working image at every knob change.

    Args:
        guide: (h, w, 3) float32 in [0, 1].
    """

    def __init__(self, guide: np.ndarray, radius: int = GUIDE_RADIUS, eps: float = GUIDE_EPS
                 ) -> None:
        self.guide = np.ascontiguousarray(guide, np.float32)
        self.radius = radius
        self.mean_i = _box(self.guide, radius)
        var = cv2.subtract(_box(cv2.multiply(self.guide, self.guide), radius),
                           cv2.multiply(self.mean_i, self.mean_i))
        # var + eps, never below eps (the box sums can round var slightly negative)
        self.var_eps = cv2.max(var, 0.0) + np.float32(eps)  # type: ignore[call-overload]

    def __call__(self, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(A, b) for ``target`` (h, w, 3) float32, each (h, w, 3) float32, already
        box-averaged (He et al.'s mean_a, mean_b)."""
        r = self.radius
        mean_p = _box(target, r)
        cov = cv2.subtract(_box(cv2.multiply(self.guide, target), r),
                           cv2.multiply(self.mean_i, mean_p))
        a = cv2.divide(cov, self.var_eps)
        b = cv2.subtract(mean_p, cv2.multiply(a, self.mean_i))
        return _box(a, r), _box(b, r)


def affine_coefficients(
    guide: np.ndarray, target: np.ndarray, radius: int, eps: float = GUIDE_EPS
) -> tuple[np.ndarray, np.ndarray]:
    """One-shot ``GuidedFit(guide, radius, eps)(target)``; (h, w, 3) float32 in and out."""
    return GuidedFit(guide, radius, eps)(np.ascontiguousarray(target, np.float32))


def guided_upsample(
    guide_low: np.ndarray, target_low: np.ndarray, guide_full: np.ndarray,
    radius: int | None = None, eps: float = GUIDE_EPS,
) -> np.ndarray:
    """Transfers the low-resolution mapping guide_low -> target_low to ``guide_full``.

    All float32 in [0, 1], (h, w, 3) and (H, W, 3). For whole arrays that fit in memory (the
    preview, tests); ``enhance_pixels`` does the same in row chunks.
    """
    radius = radius if radius is not None else GUIDE_RADIUS
    a, b = affine_coefficients(guide_low, target_low, radius, eps)
    height, width = guide_full.shape[:2]
    a_full = _upsample_rows(a, height, width, 0, height)
    b_full = _upsample_rows(b, height, width, 0, height)
    return np.clip(a_full * guide_full + b_full, 0.0, 1.0)


def _upsample_rows(low: np.ndarray, height: int, width: int, y0: int, y1: int,
                   x0: int = 0, x1: int | None = None) -> np.ndarray:
    """Rows [y0, y1) and columns [x0, x1) of the bilinear resize of ``low`` to (height,
    width), as cv2.resize (half-pixel centres, edge replicated), without building the
    full-size array.

    Separable: ``warpAffine`` interpolates along y at the low width (cheap), then
    ``cv2.resize`` along x only (its rows map onto themselves). This is about twice as fast
    as one ``warpAffine`` over the full-width window.
    """
    x1 = width if x1 is None else x1
    h, w = low.shape[:2]
    sy = h / height
    my = np.array([[1.0, 0.0, 0.0], [0.0, sy, 0.5 * sy - 0.5 + sy * y0]], dtype=np.float64)
    rows = cv2.warpAffine(low, my, (w, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
    if w == width:
        out = rows[:, x0:x1]
        return np.ascontiguousarray(out if out.ndim == low.ndim else out[..., None])
    # columns [x0, x1) read low columns lo..hi only: resize that slice, keeping the mapping
    sx = w / width
    lo = max(0, int(np.floor((x0 + 0.5) * sx - 0.5)) - 1)
    hi = min(w, int(np.ceil((x1 - 0.5) * sx - 0.5)) + 2)
    if lo == 0 and hi == w:
        out = cv2.resize(rows, (width, y1 - y0), interpolation=cv2.INTER_LINEAR)[:, x0:x1]
    else:
        m = np.array([[sx, 0.0, 0.5 * sx - 0.5 + sx * x0 - lo], [0.0, 1.0, 0.0]])
        out = cv2.warpAffine(
            np.ascontiguousarray(rows[:, lo:hi]), m, (x1 - x0, y1 - y0),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(out if out.ndim == low.ndim else out[..., None])


def _full_span(lo: int, hi: int, full: int, low_n: int) -> tuple[int, int]:
    """Full-resolution indices [a, b) whose bilinear samples can touch low-resolution
    indices lo..hi (inclusive), with a pixel of margin; the rest sample only outside."""
    s = low_n / full
    a = int(np.floor((lo - 0.5) / s - 0.5)) - 1
    b = int(np.ceil((hi + 1.5) / s - 0.5)) + 1
    return max(0, a), min(full, b)


def _source_rows(y0: int, y1: int, height: int, low_h: int) -> slice:
    """Rows of a low-res array that bilinear upsampling reads for full-res rows [y0, y1)."""
    sy = low_h / height
    lo = int(np.floor((y0 + 0.5) * sy - 0.5)) - 1
    hi = int(np.ceil((y1 - 0.5) * sy - 0.5)) + 2
    return slice(max(0, lo), min(low_h, hi))


@dataclass(frozen=True)
class Plan:
    """What the full-resolution pass needs: coefficients, or the enhanced image itself
    (``plan_for``); ``apply_plan`` runs it over the source integers."""

    weight: np.ndarray  # (mh, mw) float32 at the mask resolution
    a: np.ndarray | None  # (h, w, 3) or None when the network ran at full size
    b: np.ndarray | None
    enhanced: np.ndarray | None  # (H, W, 3) float32, only when the network ran at full size


def plan_for(img: np.ndarray | GuidedFit, enhanced: np.ndarray, weight: np.ndarray,
             full: bool) -> Plan:
    """The plan that composites ``enhanced`` with ``weight``.

    Args:
        img: (h, w, 3) float32 in [0, 1], the working image, or a ``GuidedFit`` of it.
        enhanced: (h, w, 3) float32 in [0, 1], its enhancement.
        weight: (mh, mw) float32 compositing weight, at any resolution up to the photo's.
        full: the working image is the photo itself (no guided transfer).
    """
    weight = np.ascontiguousarray(weight, np.float32)
    if full:
        return Plan(weight, None, None, enhanced)
    fit = img if isinstance(img, GuidedFit) else GuidedFit(img)
    a, b = fit(np.ascontiguousarray(enhanced, np.float32))
    return Plan(weight, a, b, None)


def _weight(spec: MaskSpec, h: int, w: int, base_dir: Path | None,
            subject_fn: SubjectFn | None, guide: np.ndarray | None = None) -> np.ndarray:
    """The (2, h, w) mask of ``spec``; with ``spec.edge_aware`` its band follows the edges of
    ``guide`` ((h, w, 3), the photo at this size; required then, and for a luminance range,
    which multiplies the mask last)."""
    area_a = rasterize_area_a(spec, h, w, base_dir=base_dir, subject_fn=subject_fn, guide=guide)
    mask = derive_mask(area_a, spec.transition_px(h, w), spec.effective_band)
    if spec.edge_aware:
        if guide is None:
            raise ValueError("an edge-aware mask needs the photo as guide")
        mask = follow_edges(mask, guide, spec.transition_px(h, w))
    return apply_range(mask, spec, guide)


def _plan(
    pixels: np.ndarray, spec: MaskSpec, model: str | None, knobs: Knobs, engine: Engine,
    base_dir: Path | None, subject_fn: SubjectFn | None,
) -> Plan:
    height, width = pixels.shape[:2]
    info = engine.model(model)
    mh, mw = working_size(height, width, max(info.working_resolution, MASK_RESOLUTION))
    fine: list[Future[np.ndarray]] = []

    def small_mask(h: int, w: int, small: np.ndarray) -> np.ndarray:
        mask = _weight(spec, h, w, base_dir, subject_fn, small)
        if (h, w) != (height, width) and (mh, mw) != (h, w):
            # the finer weight does not depend on the network: rasterise it meanwhile (once
            # the small one is made, so a subject_fn computes its map once)
            guide = (cv2.resize(pixels, (mw, mh), interpolation=cv2.INTER_AREA)
                     if spec.needs_photo and (mh, mw) != (height, width) else pixels)
            fine.append(pool.submit(_weight, spec, mh, mw, base_dir, subject_fn, guide))
        return mask

    with ThreadPoolExecutor(1, thread_name_prefix="limelight-mask") as pool:
        work = run_network(pixels, small_mask, engine, info.name, info.working_resolution)
        enhanced = work.enhanced(knobs)
        if work.full:
            return plan_for(work.img, enhanced, work.weight, True)
        weight = fine[0].result()[1] if fine else work.weight
    return plan_for(work.img, enhanced, weight, False)


def enhance_pixels(
    pixels: np.ndarray, spec: MaskSpec, knobs: Knobs, engine: Engine, *,
    model: str | None = None, base_dir: Path | None = None,
    subject_fn: SubjectFn | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Enhances a full-resolution photo.

    Args:
        pixels: (H, W, 3) uint8 or uint16, RGB.
    Returns:
        (H, W, 3) array of the same dtype; equal to ``pixels`` wherever the weight is 0.
    Raises:
        ModelError, MaskError: from the engine and the rasteriser.
    """
    _check_pixels(pixels)
    plan = _plan(pixels, spec, model, knobs, engine, base_dir, subject_fn)
    return apply_plan(pixels, plan, progress)


def enhance_pixels_with_mask(
    pixels: np.ndarray, mask: np.ndarray, knobs: Knobs, engine: Engine, *,
    model: str | None = None, progress: Progress | None = None,
) -> np.ndarray:
    """``enhance_pixels`` with a ready (2, H, W) float32 mask instead of a MaskSpec.

    The mask (resized to the working resolution) is the network's mask input and its channel
    1 at full size is the compositing weight, so the mask a caller measures (the evaluation
    protocol) is exactly the mask applied; where channel 1 is 0 the output is ``pixels``.
    """
    _check_pixels(pixels)
    if mask.shape != (2, *pixels.shape[:2]):
        raise ValueError(f"mask must be (2, {pixels.shape[0]}, {pixels.shape[1]}), got {mask.shape}")
    info = engine.model(model)
    work = run_network(pixels, mask, engine, info.name, info.working_resolution)
    return apply_plan(pixels, plan_for(work.img, work.enhanced(knobs), mask[1], work.full),
                      progress)


def _check_pixels(pixels: np.ndarray) -> None:
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"pixels must be (H, W, 3) uint8/uint16, got {pixels.shape} "
                         f"{pixels.dtype}")


def apply_plan(pixels: np.ndarray, plan: Plan, progress: Progress | None,
               base: np.ndarray | None = None) -> np.ndarray:
    """The full-resolution pass of ``plan`` over ``pixels``, in row chunks.

    ``base`` (same shape and dtype; default ``pixels``) is what the enhancement is
    composited over: the result of the lights before this one (``core.lights``). The
    enhancement itself is always a function of ``pixels``, the photo."""
    if progress:
        progress(0.1)
    if base is None:
        base = pixels
    height, width = pixels.shape[:2]
    out = np.empty_like(pixels)
    rows = max(1, CHUNK_PIXELS // width)
    spans = [(y0, min(height, y0 + rows)) for y0 in range(0, height, rows)]
    workers = min(len(spans), max(1, cv2.getNumThreads()))
    if workers == 1:
        for y0, y1 in spans:
            _apply_chunk(pixels, out, plan, y0, y1, base)
            if progress:
                progress(0.1 + 0.9 * y1 / height)
        return out
    # Chunks are independent and OpenCV releases the GIL: one chunk per OpenCV thread (the
    # batch runner lowers OpenCV's thread count when photos run in parallel).
    with ThreadPoolExecutor(workers, thread_name_prefix="limelight-chunk") as pool:
        futures = [pool.submit(_apply_chunk, pixels, out, plan, y0, y1, base)
                   for y0, y1 in spans]
        try:
            for fut, (_y0, y1) in zip(futures, spans, strict=True):
                fut.result()
                if progress:
                    progress(0.1 + 0.9 * y1 / height)
        except BaseException:  # a failure or a cancelled export: drop the chunks not started
            for fut in futures:
                fut.cancel()
            raise
    return out


def _apply_chunk(pixels: np.ndarray, out: np.ndarray, plan: Plan, y0: int, y1: int,
                 base: np.ndarray) -> None:
    """Writes rows [y0, y1) of ``plan``'s enhancement of ``pixels`` composited over ``base``
    into ``out``.

    Works on flat (rows, W*3) single-channel views: OpenCV's arithmetic is several times
    faster than NumPy's here, and a Python scalar applies to every value of a one-channel
    array (on a 3-channel one, some OpenCV versions apply it to the first channel only).
    """
    height, width = pixels.shape[:2]
    src_rows = _source_rows(y0, y1, height, plan.weight.shape[0])
    if not plan.weight[src_rows].any():  # all area C: copy, nothing to compute
        out[y0:y1] = base[y0:y1]
        return
    # only the columns where the weight can be non-zero are computed; the rest is area C
    cols = np.flatnonzero(plan.weight[src_rows].any(axis=0))
    x0, x1 = _full_span(int(cols[0]), int(cols[-1]), width, plan.weight.shape[1])
    if x0 > 0 or x1 < width:
        out[y0:y1] = base[y0:y1]
    rows, cw = y1 - y0, x1 - x0
    maxv = float(np.iinfo(pixels.dtype).max)
    src = np.ascontiguousarray(pixels[y0:y1, x0:x1]).reshape(rows, cw * 3)
    under = src if base is pixels else np.ascontiguousarray(base[y0:y1, x0:x1]).reshape(
        rows, cw * 3)
    if plan.enhanced is not None:
        weight = np.ascontiguousarray(plan.weight[y0:y1, x0:x1])
        enh = cv2.multiply(_flat3(plan.enhanced[y0:y1, x0:x1]), maxv)  # type: ignore[call-overload]
    else:
        assert plan.a is not None and plan.b is not None
        weight = _upsample_rows(plan.weight, height, width, y0, y1, x0, x1)
        enh = _flat3(_upsample_rows(plan.a, height, width, y0, y1, x0, x1))
        cv2.multiply(enh, src, dst=enh, dtype=cv2.CV_32F)  # (integers converted on the fly)
        b = _flat3(_upsample_rows(plan.b, height, width, y0, y1, x0, x1))
        cv2.scaleAdd(b, maxv, enh, dst=enh)  # A x + b maxv
    depth = cv2.CV_8U if pixels.dtype == np.uint8 else cv2.CV_16U
    region = out[y0:y1, x0:x1]
    if cv2.minMaxLoc(weight)[0] >= 1.0:  # all area A: the result is the enhanced value
        # saturating conversion (the clip to [0, maxv]) with round-half-to-even
        region[...] = cv2.add(enh, 0.0, dtype=depth).reshape(rows, cw, 3)  # type: ignore[call-overload]
        return
    if depth == cv2.CV_8U:
        # blend the rounded enhancement in one pass: blendLinear divides by (w + 1 - w +
        # 1e-5), which leaves 8-bit values exact where the weight is 0 (or 1)
        enh8 = cv2.add(enh, 0.0, dtype=depth).reshape(rows, cw, 3)  # type: ignore[call-overload]
        rest = cv2.subtract(1.0, weight)  # type: ignore[call-overload]
        region[...] = cv2.blendLinear(enh8, under.reshape(rows, cw, 3), weight, rest)
        return
    x = under.astype(np.float32)
    cv2.min(enh, maxv, dst=enh)  # type: ignore[call-overload]
    cv2.max(enh, 0.0, dst=enh)  # type: ignore[call-overload]
    cv2.subtract(enh, x, dst=enh)
    cv2.multiply(enh, cv2.merge([weight] * 3).reshape(rows, cw * 3), dst=enh)
    cv2.add(enh, x, dst=enh)  # x exactly where the weight is 0
    region[...] = cv2.add(enh, 0.0, dtype=depth).reshape(rows, cw, 3)  # type: ignore[call-overload]


def _flat3(x: np.ndarray) -> np.ndarray:
    """(rows, W, 3) float32 -> contiguous (rows, W*3)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    return x.reshape(x.shape[0], -1)


def enhance_image(
    image: Image, recipe: Recipe, engine: Engine, *,
    progress: Progress | None = None, subject_fn: SubjectFn | None = None,
) -> np.ndarray:
    """Applies ``recipe``'s lights to a decoded photo at full resolution, in list order
    (``core.lights``): each light's enhancement comes from the photo itself and is
    composited over the result of the lights before it.

    Returns:
        (H, W, 3) array of ``image.pixels``' dtype; a pixel outside every light (weight 0)
        is ``image.pixels`` exactly, and no active light returns ``image.pixels`` exactly.
    """
    lights = [light for light in recipe.layers if light.active]
    if not lights:
        return image.pixels.copy()
    if subject_fn is None and any(isinstance(s, Subject) for s in recipe.shapes):
        from limelight.core.subject import subject_fn_for  # (only a subject edit needs it)

        subject_fn = subject_fn_for(image.pixels)  # this photo's own subject (batch: anew)
    _check_pixels(image.pixels)
    out = image.pixels
    for k, light in enumerate(lights):
        spec = light.effective_mask
        assert spec is not None
        plan = _plan(image.pixels, spec, recipe.model, light.knobs, engine, None, subject_fn)
        step = None if progress is None else (
            lambda f, k=k: progress((k + f) / len(lights)))  # type: ignore[misc]
        out = apply_plan(image.pixels, plan, step, base=out)
    return out


def process_file(
    input: str | Path, output: str | Path, recipe: Recipe, engine: Engine, *,
    fmt: str | None = None, quality: int = 95, bit_depth: int | None = None,
    progress: Progress | None = None, subject_fn: SubjectFn | None = None,
) -> Path:
    """Reads ``input``, applies ``recipe``, writes ``output`` atomically with EXIF/ICC.

    ``bit_depth`` None keeps the source's (8 for JPEG). Never writes ``input``: an output
    path that is the input raises ImageWriteError before anything is read.

    A JPEG larger than the model's working resolution is read twice at once: a reduced
    decode (libjpeg's DCT scaling) feeds the network while the full decode runs, so the
    network's time hides behind the decoder's (``_early_work``). The working image then
    comes from the reduced decode instead of an area resize of the full one: the same
    photo, and the output is the same for every caller (CLI, dialog, batch).
    Raises ImageReadError, ImageWriteError, ModelError, MaskError.
    """
    src, dst = Path(input), Path(output)
    if same_file(src, dst):
        raise ImageWriteError("the output would overwrite the input photo; choose another "
                              "file name", dst)
    lights = [light for light in recipe.layers if light.active]
    spec = lights[0].effective_mask if len(lights) == 1 else None
    early_ok = (subject_fn is None and spec is not None
                and not spec.needs_photo  # (its weight needs the decoded photo)
                and not any(isinstance(s, Subject) for s in spec.shapes)
                and src.suffix.lower() in (".jpg", ".jpeg", ".jpe"))
    if not early_ok:
        image = read_image(src)
        pixels = enhance_image(image, recipe, engine, progress=progress, subject_fn=subject_fn)
    else:
        info = engine.model(recipe.model)
        with ThreadPoolExecutor(2, thread_name_prefix="limelight-early") as pool:
            assert spec is not None
            early = pool.submit(_early_work, src, recipe.model, spec, lights[0].knobs, engine)
            try:
                image = read_image(src)
            except BaseException:
                early.cancel()  # the pool still waits for a started one; its result is dropped
                raise
            height, width = image.pixels.shape[:2]
            mh, mw = working_size(height, width, max(info.working_resolution, MASK_RESOLUTION))
            # the finer weight needs the photo's size only: rasterise it while the network runs
            fine = pool.submit(_weight, spec, mh, mw, None, None)
            work = early.result()
            weight = fine.result()[1] if work is not None else None
        if work is None or weight is None or max(height, width) <= max(work.a.shape[:2]):
            pixels = enhance_image(image, recipe, engine, progress=progress)
        else:
            _check_pixels(image.pixels)
            plan = Plan(np.ascontiguousarray(weight), work.a, work.b, None)
            pixels = apply_plan(image.pixels, plan, progress)
    return write_image(dst, pixels, meta=image.meta, fmt=fmt, quality=quality,
                       bit_depth=bit_depth, protect=(src,))


@dataclass(frozen=True)
class _Work:
    """The working-resolution half of a plan (see ``_early_work``): the guided transfer's
    coefficients, each (h, w, 3) float32."""

    a: np.ndarray
    b: np.ndarray


def _early_work(src: Path, model: str | None, spec: MaskSpec, knobs: Knobs,
                engine: Engine) -> _Work | None:
    """Network and recomposition on a reduced decode of ``src`` (``read_preview``: JPEG
    draft mode), or None when the photo is not larger than the working resolution (then the
    network must see the photo's own pixels) or the reduced decode fails (the full decode
    reports the problem)."""
    info = engine.model(model)
    try:
        small = read_preview(src, info.working_resolution)
    except LimelightError:
        return None
    if max(small.pixels.shape[:2]) < info.working_resolution or small.pixels.ndim != 3 \
            or small.pixels.dtype != np.uint8:
        return None
    work = run_network(small.pixels, lambda h, w, _: _weight(spec, h, w, None, None),
                       engine, info.name, info.working_resolution)
    with side_pool() as pool:
        fit = pool.submit(GuidedFit, work.img)  # (the guide's statistics, meanwhile)
        enhanced = work.enhanced(knobs)
        return _Work(*fit.result()(enhanced))


def export_plans(src: str | Path, image: Image, recipe: Recipe, engine: Engine, *,
                 subject_fn: SubjectFn | None = None) -> list[Plan]:
    """The plans ``process_file`` applies to ``image`` (read from ``src``), one per active
    light in list order, computed the way it computes them (a one-light JPEG edit: the
    network on libjpeg's reduced decode). ``apply_plans_rows`` applies them to any rows, so
    the editor's 1:1 view shows the export's own pixels."""
    src = Path(src)
    lights = [light for light in recipe.layers if light.active]
    if not lights:
        return []
    spec = lights[0].effective_mask if len(lights) == 1 else None
    if (subject_fn is None and spec is not None and not spec.needs_photo
            and not any(isinstance(s, Subject) for s in spec.shapes)
            and src.suffix.lower() in (".jpg", ".jpeg", ".jpe")):
        work = _early_work(src, recipe.model, spec, lights[0].knobs, engine)
        height, width = image.pixels.shape[:2]
        if work is not None and max(height, width) > max(work.a.shape[:2]):
            info = engine.model(recipe.model)
            mh, mw = working_size(height, width, max(info.working_resolution, MASK_RESOLUTION))
            weight = _weight(spec, mh, mw, None, None)[1]
            return [Plan(np.ascontiguousarray(weight), work.a, work.b, None)]
    if subject_fn is None and any(isinstance(s, Subject) for s in recipe.shapes):
        from limelight.core.subject import subject_fn_for

        subject_fn = subject_fn_for(image.pixels)
    _check_pixels(image.pixels)
    plans = []
    for light in lights:
        light_spec = light.effective_mask
        assert light_spec is not None
        plans.append(_plan(image.pixels, light_spec, recipe.model, light.knobs, engine, None,
                           subject_fn))
    return plans


def apply_plans_rows(pixels: np.ndarray, plans: list[Plan], y0: int, y1: int) -> np.ndarray:
    """Rows [y0, y1) of the export of ``pixels`` ((H, W, 3) integers) under ``plans`` (in
    list order, each over the result before it): (y1 - y0, W, 3), the same integers as the
    whole export's rows (each row is computed on its own)."""
    out = pixels
    for plan in plans:
        layer = np.empty_like(pixels)  # only rows [y0, y1) are written (pages untouched)
        _apply_chunk(pixels, layer, plan, y0, y1, out)
        out = layer
    return np.array(out[y0:y1], copy=True)
