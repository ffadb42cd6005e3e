"""The light finish: turns a model's own output into light a photographer keeps.

Every model (any backbone, any conversion) is run at its own setting; its output Y is read
only as a *gain map*: how much brighter the network wants each neighbourhood. The finish
then applies that gain to the photo under rules that hold whatever the network did (the
real-photo light issue, #16; measured by ``limelight_models.real_eval``):

* **multiplicative, with a toe**: the gain multiplies the luminance, so black stays black;
  neighbourhoods near the photo's own black level get less of it (a toe through 0), so the
  darkest shadows are not fogged;
* **base and detail**: the luminance is split into an edge-preserving base (a guided filter
  in the square-root domain, where shot noise and the quantisation of a dark JPEG have about
  one size at every level) and the detail left over; the base takes the whole gain, the
  detail only ``gain^(1 - gamma3)`` above a gain of 8, and the toe is read from the base
  (or a darker denoised pixel), so a lifted dark area shows less of the speckle of its
  single black pixels and of the 8-bit steps and JPEG blocks that a per-pixel curve
  multiplies;
* **a gain that falls to 1 where the photo is already exposed**: the gain of a
  neighbourhood is capped so that its mean luminance reaches at most ``cap(gamma2)``
  (0.75 at the default);
* **colour carried by ratio**: RGB = luminance x the input's own chroma ratios, smoothed
  where the gain is high (colour noise), so hue and saturation are kept;
* **a soft shoulder**: the max channel rolls off above a knee and is never newly clipped;
* **noise removed in proportion to the gain** that lifts it (the detail's smaller gain,
  and a blur of the chroma ratios that keeps a pixel's own colour where it departs from its
  neighbours' by more than the noise can).

Knobs (``recompose.Knobs``), each acting both ways around its default:

* ``degree`` in [0, 2], default 1: the gain is raised to this power (0 = the input, 2 = the
  gain squared; for a Retinex model ``I / L`` this is the paper's illumination scale).
* ``gamma1`` shadows in [0, 1], default 0.5: the gain's exponent in the darkest
  neighbourhoods, from 0.4x (0) to 1.6x (1).
* ``gamma2`` highlights in [0, 1], default 0.5: the neighbourhood cap, 0.95 (0) to 0.55 (1),
  and the shoulder's knee, 0.9 (0) to 0.5 (1); above 0.5 bright pixels may also be pulled
  below the input (by up to 30 % at 1).
* ``gamma3`` noise in [0, 1], default 0.5: the detail rises as ``gain^(1 - gamma3)`` (0 = a
  plain gain, no noise removed; 1 = the detail is not lifted at all), the chroma is smoothed
  in proportion, and past 0.5 the base moves towards a smoother one.

All arrays are float32; images (H, W, 3) RGB in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import cv2
import numpy as np

from limelight.core.recompose import OWN, Knobs, Recomposer

#: Rec.601 luminance weights (R, G, B), as the real-photo measures use.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
#: A neighbourhood's mean luminance after the gain is capped at CAP_HI - CAP_SPAN * gamma2
#: (the gain never drops below 1 for it): well-exposed parts keep gain ~1, faces and skies
#: do not blow out. At the default 0.75: LOL's references are bright all over, and a cap of
#: 0.5 left the default 2 dB under its own output there (16.6 dB; 0.75: 18.6, with Kodak's
#: well-exposed photos brightened by a median 1.25x instead of 1.12x).
CAP_HI = 0.95
CAP_SPAN = 0.4
#: Largest gain the finish applies at degree 1.
GAIN_MAX = 64.0
#: Added to both luminances of the gain's ratio (in [0, 1] units): where the photo is
#: black, the network's lift is not divided by ~0.
GAIN_EPS = 0.1 / 255.0
#: The toe: a neighbourhood's share of the gain is B^4 / (B^4 + b^4), B its base luminance,
#: b = TOE_K x the photo's 1st percentile of luminance, at least TOE_MIN (quartic: it holds
#: the black level and lets the shadows just above it rise). TOE_MIN 1.5 codes: an 8-bit
#: neighbourhood within a code or two of 0 holds quantisation and the JPEG's crushed-zero
#: blocks, not detail. At 0.5 a car's ceiling averaging 0.6 code (44 % of it exact zeros)
#: under an ellipse at the default knobs came out near-white with black blotches; at 1.5 it
#: stays black while the face beside it (3 codes) is lit as before. On the real panel the
#: kept counts are the same at 0.5, 1 and 1.5; the darkest half's lift falls from 26x to
#: 12x and 6x and the darkest 1 %'s rise (fog) from 4.0 to 1.3 and 0.2 codes.
TOE_K = 2.0
TOE_MIN = 1.5 / 255.0
#: Guided filter radius of the gain map, as a fraction of the short side, and its eps.
GAIN_RADIUS = 1.0 / 96.0
GAIN_FILTER_EPS = 1e-3
#: Gain at which the chroma smoothing reaches full strength at gamma3 = 0.5 (it moves the
#: hue of the darkest coloured pixels: at 3 it shifted the real-photo panel's hue past 8
#: degrees on 4 of 35 photos, at 8 on 3), and at which the base reaches the smoother one at
#: gamma3 = 1.
CHROMA_GAIN = 8.0
DENOISE_GAIN = 3.0
#: The gain the detail takes in full; above it the detail rises as gain^(1 - gamma3).
DETAIL_GAIN = 8.0
#: Denoising of the detail: guided filters of L by itself, eps = (k x noise sigma)^2, radius r,
#: reaching full strength at DENOISE_GAIN (gamma3 0.5; the second one past 0.5).
DENOISE_K = (3.0, 6.0)
DENOISE_R = (2, 3)
#: The base: guided filters of sqrt(L + ROOT_EPS) by itself, eps = (k x sigma)^2 with sigma
#: the root's noise (at least ROOT_NOISE: a dark JPEG's 8-bit steps are ~0.03 there), radius
#: r px per 512 px of short side; the first is the default's base, the second the smoother
#: one gamma3 > 0.5 moves to. Chosen on the real night panel by eye (contact sheets) and by
#: the measures: radius 2-3 px kept the JPEG blocks of a face lifted 30x, ROOT_NOISE 0.03
#: blurred the frames of glasses away.
ROOT_EPS = 1.0 / 255.0
ROOT_NOISE = 0.015
BASE_K = (3.0, 6.0)
BASE_R = (6.0, 12.0)
#: Where L is ~0 a pixel's own chroma ratios are noise: it takes its neighbours' in the share
#: CHROMA_EPS / (L + CHROMA_EPS) at gamma3 >= 0.5, whatever the gain.
CHROMA_EPS = 0.5 / 255.0
#: A pixel keeps its own chroma where it departs from the smoothed one by more than about
#: CHROMA_K x the ratio noise at its level (luminance noise sigma / L): the colour of a
#: detail. 3 left LOL eval15's colour noise in (SSIM 0.59); 10: 0.73 (none: 0.75).
CHROMA_K = 10.0
#: Chroma smoothing Gaussian sigma, px per 512 px of short side.
CHROMA_SIGMA = 4.0
#: The shoulder's asymptote: 249/255, so a pixel the finish brightens never reaches the
#: real-photo measure's clip level (Y >= 250), however large the gain.
SHOULDER_TOP = 249.0 / 255.0
#: Where the neighbourhood's lifted luminance is below this, gamma1 acts in full.
SHADOW_LEVEL = 0.5


def luminance(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB -> (H, W) float32 Rec.601 luminance."""
    x = np.ascontiguousarray(img, np.float32)
    return cv2.transform(x, LUMA[None, :]).reshape(x.shape[:2])


def _box(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter, grey guide and source (H, W) float32 -> (H, W)."""
    mi, gg = _box(guide, radius), _box(guide * guide, radius)
    # a self-guided filter (src is guide) shares the guide's statistics
    mp, gs = (mi, gg) if src is guide else (_box(src, radius), _box(guide * src, radius))
    var = np.maximum(gg - mi * mi, 0.0)
    a = (gs - mi * mp) / (var + np.float32(eps))
    b = mp - a * mi
    return _box(a, radius) * guide + _box(b, radius)


def noise_sigma(lum: np.ndarray) -> float:
    """Robust std of the luminance's fine detail (1.4826 x median |L - blur(L)|), >= 0.5/255."""
    hp = lum - cv2.GaussianBlur(lum, (0, 0), 1.0)
    return max(1.4826 * float(_median(np.abs(hp))), 0.5 / 255.0)


def _median(x: np.ndarray) -> np.floating:
    """``np.median(x)`` of a float array without NaN, the same value (the two middle order
    statistics averaged as numpy does), without np.median's first-call import of numpy.ma
    (~30 ms of every export's start)."""
    flat = x.ravel()
    k = flat.size // 2
    if flat.size % 2:
        return np.partition(flat, k)[k]
    return np.mean(np.partition(flat, [k - 1, k])[k - 1:k + 1])


def _percentile(x: np.ndarray, q: float) -> float:
    """``np.percentile(x, q)`` (linear interpolation) of a float array without NaN, the same
    value (numpy's two order statistics and its lerp), without np.percentile's first-call
    import of numpy.ma."""
    flat = x.ravel()
    n = flat.size
    pos = (n - 1) * (q / 100.0)
    lo = min(int(pos), n - 1)
    hi = min(lo + 1, n - 1)
    part = np.partition(flat, [lo, hi] if hi != lo else lo)
    a, b = part[lo], part[hi]
    t = pos - lo
    diff = b - a
    return float(b - diff * (1.0 - t) if t >= 0.5 else a + diff * t)


_T = TypeVar("_T")


class _InOrder:
    """An executor that runs each submitted call at once, in the caller's thread."""

    def submit(self, fn: Callable[..., _T], *args: Any) -> Future[_T]:
        done: Future[_T] = Future()
        done.set_result(fn(*args))
        return done

    def __enter__(self) -> _InOrder:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _gain_part(lum: np.ndarray, own_lum: np.ndarray, short: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``LightFinish``'s gain map: (log gain, log room, shadow), each (H, W) float32."""
    r = max(2, int(round(short * GAIN_RADIUS)))
    with side_pool() as pool:  # (the two filters at once)
        own_mean = pool.submit(guided_filter, lum, own_lum, r, GAIN_FILTER_EPS)
        lm = np.maximum(guided_filter(lum, lum, r, GAIN_FILTER_EPS), 0.0)
        tm = np.maximum(own_mean.result(), 0.0)
    gain = np.clip((tm + GAIN_EPS) / (lm + GAIN_EPS), 1.0, GAIN_MAX)
    log_gain = np.log(gain).astype(np.float32)
    # log(1 / the neighbourhood's mean): the cap's gain is cap / mean
    log_room = (-np.log(np.maximum(lm, 1e-4))).astype(np.float32)
    capped = np.minimum(gain, np.maximum(1.0, cap(0.5) / np.maximum(lm, 1e-4)))
    shadow = np.clip(1.0 - capped * lm / SHADOW_LEVEL, 0.0, 1.0).astype(np.float32)
    return log_gain, log_room, shadow


def _base_part(lum: np.ndarray, short: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``LightFinish``'s base: (base, step to the smoother base, detail), each (H, W)."""
    root = cv2.sqrt(cv2.add(lum, ROOT_EPS))  # type: ignore[call-overload]
    rsig = max(noise_sigma(root), ROOT_NOISE)
    base = []
    for k, rr in zip(BASE_K, BASE_R, strict=True):
        smooth = guided_filter(root, root, max(1, int(round(rr * short / 512.0))),
                               (k * rsig) ** 2)
        base.append(np.maximum(smooth * smooth - ROOT_EPS, 0.0).astype(np.float32))
    return base[0], base[1] - base[0], lum - base[0]


def _chroma_part(img: np.ndarray, lum: np.ndarray, short: int, sigma: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The colour's smoothing: (chroma, chroma_step, chroma_keep, chroma_black) of
    ``FinishPhoto``; (H, W, 3) twice, then (H, W) twice."""
    s = max(0.5, CHROMA_SIGMA * short / 512.0)
    safe = np.maximum(lum, 1e-4)
    blur_lum = np.maximum(cv2.GaussianBlur(lum, (0, 0), s), 1e-4)
    # (cv2's per-element float32 arithmetic: the same bits as numpy's, several x faster
    # on (H, W, 3) than broadcasting and last-axis reductions)
    chroma_smooth = cv2.divide(cv2.GaussianBlur(img, (0, 0), s), cv2.merge([blur_lum] * 3))
    chroma = cv2.divide(img, cv2.merge([safe] * 3))
    chroma_step = chroma_smooth - chroma
    sq = cv2.split(cv2.multiply(chroma_step, chroma_step))
    dev = np.sqrt(cv2.add(cv2.add(sq[0], sq[1]), sq[2]))
    tau = CHROMA_K * sigma / blur_lum
    # the share of the smoothing a pixel takes (a pixel that departs from its neighbours by
    # far more than the noise can is a coloured detail)
    keep = np.exp(-np.square(dev / tau)).astype(np.float32)
    # the share it takes whatever the gain, as its own ratios are noise where L is ~0
    black = (CHROMA_EPS / (lum + np.float32(CHROMA_EPS))).astype(np.float32)
    return chroma, chroma_step, keep, black


@dataclass(frozen=True)
class FinishPhoto:
    """The part of a ``LightFinish`` that needs only the photo, not the model's output: a
    caller may compute it while the network runs (``network.run_network``).

    Attributes (float32; images (H, W, 3), maps (H, W)):
        img: the working image in [0, 1]; lum: its luminance.
        base, base_step, detail: the base luminance, its step to the smoother base, and
            the detail L - base.
        den_step: the detail's two denoising steps, L -> den[0] -> den[1].
        chroma, chroma_step: the pixel's chroma ratios and the step to the smoothed ones;
        chroma_keep, chroma_black: in [0, 1], the share of that smoothing a pixel takes
            (less for a coloured detail) and takes whatever the gain (where L is ~0).
        toe: in [0, 1], each neighbourhood's share of the gain.
        max_in: the input's max channel.
    """

    img: np.ndarray
    lum: np.ndarray
    base: np.ndarray
    base_step: np.ndarray
    detail: np.ndarray
    den_step: tuple[np.ndarray, np.ndarray]
    chroma: np.ndarray
    chroma_step: np.ndarray
    chroma_keep: np.ndarray
    chroma_black: np.ndarray
    toe: np.ndarray
    max_in: np.ndarray

    @classmethod
    def of(cls, img: np.ndarray, weight: np.ndarray | None = None) -> FinishPhoto:
        """The photo's part for ``img`` (H, W, 3) in [0, 1] and the compositing ``weight``
        (H, W) or None (see ``LightFinish``)."""
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"image {img.shape} must be (H, W, 3)")
        img = np.ascontiguousarray(img, np.float32)
        lum = luminance(img)
        short = min(lum.shape)
        # independent parts, the base in a second thread (OpenCV and numpy release the
        # GIL); in turn when OpenCV may use one thread only (a batch of one job per core)
        with side_pool() as pool:
            base_part = pool.submit(_base_part, lum, short)
            sigma = noise_sigma(lum)  # (also the chroma's noise level)
            den = [guided_filter(lum, lum, rr, (k * sigma) ** 2)
                   for k, rr in zip(DENOISE_K, DENOISE_R, strict=True)]
            chroma = _chroma_part(img, lum, short, sigma)
            base, base_step, detail = base_part.result()
        lit = lum if weight is None or not (weight > 0).any() else lum[weight > 0]
        # (to a tenth of an 8-bit code, so a float proxy and its 8-bit export agree)
        code = round(float(_percentile(lit, 1.0)) * 2550.0) / 10.0
        black = max(TOE_MIN, TOE_K * code / 255.0)
        lo = np.minimum(base, den[0])
        b4 = cv2.multiply(lo, lo)
        b4 = cv2.multiply(b4, b4)
        toe = cv2.divide(b4, cv2.add(b4, float(black**4)))  # type: ignore[call-overload]
        red, green, blue = cv2.split(img)
        return cls(img, lum, base, base_step, detail, (den[0] - lum, den[1] - den[0]),
                   *chroma, toe, cv2.max(cv2.max(red, green), blue))

    def map(self, fn: Callable[[np.ndarray], np.ndarray]) -> FinishPhoto:
        """The same part with ``fn`` applied to every array (a crop, a resize)."""
        changes: dict[str, Any] = {
            name: tuple(fn(v) for v in value) if isinstance(value, tuple) else fn(value)
            for name, value in vars(self).items()}
        return replace(self, **changes)


def photo_alongside(img: np.ndarray, weight: np.ndarray | None, run: Callable[[], _T]
                    ) -> tuple[FinishPhoto, _T]:
    """(``FinishPhoto.of(img, weight)``, ``run()``), the photo's part computed in a second
    thread while ``run`` (the network) runs; in turn when OpenCV may use one thread only.
    When ``run`` raises, its error is raised at once (the photo's part finishes unseen)."""
    if not _threaded():
        result = run()
        return FinishPhoto.of(img, weight), result
    pool = ThreadPoolExecutor(1, thread_name_prefix="limelight-photo")
    try:
        photo = pool.submit(FinishPhoto.of, img, weight)
        result = run()
        # copied by the caller's thread: the editor reads these maps at every knob change,
        # and read from the memory the helper thread allocated them in, its full-detail
        # frame took ~45 ms instead of ~30 (1 MP, measured); the copy costs a few ms once
        return photo.result().map(np.copy), result
    finally:
        pool.shutdown(wait=False)


def side_pool() -> ThreadPoolExecutor | _InOrder:
    """An executor for work beside the caller's: one more thread, or the caller's own thread
    in turn when OpenCV may use one thread only."""
    if _threaded():
        return ThreadPoolExecutor(1, thread_name_prefix="limelight-side")
    return _InOrder()


def _threaded() -> bool:
    """Whether the finish may add threads: not when OpenCV may use one thread only (a batch
    running one job per core, which lowers it)."""
    return cv2.getNumThreads() > 1


class LightFinish:
    """The finish of one working image, with everything knob-independent computed once.

    Args:
        img: (H, W, 3) float32 in [0, 1], the image the model saw.
        own: (H, W, 3) float32 in [0, 1], the model's own output for it (default knobs of
            the family's recomposition).
        weight: (H, W) compositing weight, or None (the whole image): the toe's black level
            is taken where it is > 0, so a local edit holds the blacks of the area it lights.
        photo: ``FinishPhoto.of(img, weight)`` when the caller has made it already.
    """

    def __init__(self, img: np.ndarray, own: np.ndarray, weight: np.ndarray | None = None,
                 photo: FinishPhoto | None = None) -> None:
        if img.shape != own.shape or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"image {img.shape} and output {own.shape} must be (H, W, 3)")
        if photo is None:
            photo = FinishPhoto.of(img, weight)
        elif photo.img.shape != img.shape:
            raise ValueError(f"the photo's part is {photo.img.shape}, the image {img.shape}")
        #: what needs only the photo (base, denoising, colour, toe)
        self.photo = photo
        #: (H, W) each: the log gain the model asks of each neighbourhood, the log of the
        #: room to the cap, and the share of gamma1 it takes
        self.log_gain, self.log_room, self.shadow = _gain_part(
            photo.lum, luminance(own), min(photo.lum.shape))

    @property
    def img(self) -> np.ndarray:
        """(H, W, 3) float32 in [0, 1], the working image."""
        return self.photo.img

    @classmethod
    def of_maps(cls, family: str, img: np.ndarray, maps: Mapping[str, np.ndarray],
                weight: np.ndarray | None = None, photo: FinishPhoto | None = None
                ) -> LightFinish:
        """The finish of a model's exported ``maps`` (``recompose``) for ``img``."""
        return cls(img, Recomposer(family, img, maps)(OWN), weight, photo)

    def crop(self, ys: slice, xs: slice) -> LightFinish:
        """The same finish restricted to rows ``ys`` and columns ``xs`` (statistics and
        filters stay those of the whole image, so values inside are unchanged)."""
        return self._map(lambda x: np.ascontiguousarray(x[ys, xs]))

    def resized(self, height: int, width: int) -> LightFinish:
        """An approximation of this finish at ``height`` x ``width`` (every map area-averaged):
        the editor's draft while a slider moves (``core.preview``); the fine detail averages
        out, so its output is the finish of the base, which the guided transfer carries back
        to the full-size pixels."""
        return self._map(lambda x: cv2.resize(x, (width, height), interpolation=cv2.INTER_AREA))

    def _map(self, fn: Callable[[np.ndarray], np.ndarray]) -> LightFinish:
        out = object.__new__(LightFinish)
        out.photo = self.photo.map(fn)
        out.log_gain, out.log_room, out.shadow = (
            fn(self.log_gain), fn(self.log_room), fn(self.shadow))
        return out

    def gain(self, knobs: Knobs) -> np.ndarray:
        """(H, W) float32 >= 1: the gain the knobs give each neighbourhood (before the toe)."""
        d = knobs.degree
        room = cv2.max(cv2.add(self.log_room, float(np.log(cap(knobs.gamma2)))), 0.0)  # type: ignore[call-overload]
        exponent = cv2.addWeighted(self.shadow, 1.2 * (knobs.gamma1 - 0.5) * d, self.shadow,
                                   0.0, d)
        return cv2.exp(cv2.multiply(cv2.min(self.log_gain, room), exponent))

    def __call__(self, knobs: Knobs) -> np.ndarray:
        """The finished image for ``knobs``, (H, W, 3) float32 in [0, 1] (a new array);
        degree 0 returns a copy of the input."""
        if knobs.degree == 0.0:
            return self.img.copy()
        p = self.photo
        g1 = cv2.multiply(cv2.subtract(self.gain(knobs), 1.0), p.toe)  # type: ignore[call-overload]
        g = cv2.add(g1, 1.0)  # type: ignore[call-overload]
        base = p.base
        # the detail, denoised: up to den[0] at the default, on to den[1] past it
        lift = cv2.multiply(g1, 2.0 * knobs.gamma3 / DENOISE_GAIN)  # type: ignore[call-overload]
        detail = cv2.add(p.detail, cv2.multiply(cv2.min(lift, 1.0), p.den_step[0]))  # type: ignore[call-overload]
        if knobs.gamma3 > 0.5:
            more = cv2.min(cv2.max(cv2.subtract(lift, 1.0), 0.0), 1.0)  # type: ignore[call-overload]
            detail = cv2.add(detail, cv2.multiply(more, p.den_step[1]))
            step = cv2.multiply(more, p.base_step)
            base, detail = cv2.add(base, step), cv2.subtract(detail, step)
        # the detail takes the whole gain up to DETAIL_GAIN, then rises as gain^(1 - gamma3)
        over = cv2.max(cv2.multiply(g, 1.0 / DETAIL_GAIN), 1.0)  # type: ignore[call-overload]
        detail_gain = cv2.divide(g, cv2.exp(cv2.multiply(cv2.log(over), knobs.gamma3)))  # type: ignore[call-overload]
        out_lum = cv2.add(cv2.multiply(base, g), cv2.multiply(detail, detail_gain))
        out_lum = cv2.max(out_lum, 0.0)  # type: ignore[call-overload]
        mix = cv2.min(cv2.multiply(g1, 2.0 * knobs.gamma3 / CHROMA_GAIN), 1.0)  # type: ignore[call-overload]
        mix = cv2.max(cv2.multiply(mix, p.chroma_keep),
                      cv2.multiply(p.chroma_black, min(1.0, 2.0 * knobs.gamma3)))  # type: ignore[call-overload]
        chroma = cv2.add(p.chroma, cv2.multiply(cv2.merge([mix] * 3), p.chroma_step))
        out = cv2.multiply(chroma, cv2.merge([out_lum] * 3))
        return shoulder(out, p.max_in, knobs.gamma2)


def cap(gamma2: float) -> float:
    """The highest mean luminance the gain may give a neighbourhood, for ``gamma2``."""
    return CAP_HI - CAP_SPAN * gamma2


def shoulder(out: np.ndarray, max_in: np.ndarray, gamma2: float) -> np.ndarray:
    """Rolls the max channel of ``out`` (H, W, 3) off above the knee 0.9 - 0.4 gamma2 towards
    ``SHOULDER_TOP`` (never above it), scaling RGB together; a pixel never ends darker than its
    input's max channel ``max_in`` (H, W) x (1 - 0.6 max(0, gamma2 - 0.5)). Returns [0, 1]
    float32."""
    knee = 0.9 - 0.4 * gamma2
    span = SHOULDER_TOP - knee
    r, g, b = cv2.split(out)
    m = cv2.max(cv2.max(r, g), b)
    # tanh(u) = 1 - 2 / (exp(2u) + 1), u = (m - knee) / span, for m > knee
    u = cv2.max(cv2.multiply(cv2.subtract(m, knee), 2.0 / span), 0.0)  # type: ignore[call-overload]
    e = cv2.exp(cv2.min(u, 60.0))  # type: ignore[call-overload]
    tanh = cv2.subtract(1.0, cv2.divide(2.0, cv2.add(e, 1.0)))  # type: ignore[call-overload]
    rolled = cv2.min(m, cv2.add(cv2.multiply(tanh, span), knee))  # type: ignore[call-overload]
    floor = cv2.min(cv2.multiply(max_in, 1.0 - 0.6 * max(0.0, gamma2 - 0.5)), m)  # type: ignore[call-overload]
    final = cv2.max(rolled, floor)
    scale = cv2.divide(final, cv2.max(m, 1e-6))  # type: ignore[call-overload]
    res = cv2.multiply(out, cv2.merge([scale] * 3))
    return np.clip(res, 0.0, 1.0, out=res)  # (a cv2 scalar may reach one channel only)


class BandFade:
    """Fades an enhancement's darkening out across the transition band of one weight.

    A region-aware network is trained to keep its output smooth in band B (L_B); around small
    bright details (specular highlights) that smooth output can dip below the input, and
    composited with the band's weight it showed as dark blotches along the band. Darkening
    (enhanced < img) is kept in full where the weight is 1 (area A: gamma2 still tames
    highlights there) and fades to none at weight 0.5; brightening is untouched, so the band
    still carries the light from A to C. The band's box and fade factors are computed once
    per weight, so a knob change (a new enhancement, same weight) only applies them.

    Args:
        weight: (h, w) float32 in [0, 1], the compositing weight at the working size.
    """

    def __init__(self, weight: np.ndarray) -> None:
        x, y, bw, bh = cv2.boundingRect(((weight > 0) & (weight < 1)).view(np.uint8))
        self.box = (slice(y, y + bh), slice(x, x + bw)) if bw and bh else None
        #: (bh, bw, 1): the share of the darkening removed
        self.lost = (np.clip(2.0 - 2.0 * weight[self.box], 0.0, 1.0)[..., None]
                     if self.box is not None else None)

    def __call__(self, img: np.ndarray, enhanced: np.ndarray) -> np.ndarray:
        """(h, w, 3) float32 ``enhanced`` of ``img`` -> the faded copy (``enhanced`` itself
        when no pixel is in the band)."""
        if self.box is None:
            return enhanced
        box = self.box
        out = enhanced.copy()
        out[box] -= np.minimum(enhanced[box] - img[box], 0.0) * self.lost
        return out


def fade_band_darkening(img: np.ndarray, enhanced: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """One-shot ``BandFade(weight)(img, enhanced)``; (h, w, 3) float32 in [0, 1]."""
    return BandFade(weight)(img, enhanced)
