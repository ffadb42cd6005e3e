"""The editor's preview, computed the way the export computes the photo.

The export runs the network on a *working* image (long edge = the model's
``working_resolution``) and transfers the enhancement to full size with the guided filter
(``pipeline``). The preview does the same on the editor's proxy (about 1 MP), at two
working sizes:

* **fast**: long edge ``FAST_EDGE`` (384 px). The default model's network takes about a
  quarter of its proxy-size time there, so a new mask or photo shows within the 100 ms
  budget of issue 4 (``python -m bench`` measures it).
* **refined**: the proxy's own size, once the user pauses; it replaces the fast frame. The
  network then sees every proxy pixel (as the export does for a photo up to the model's
  working resolution), and a knob change only recomposes the box where the weight is
  non-zero, at proxy size, with no transfer (30-50 ms at 1 MP, see the benchmark).

A knob change never re-runs the network: ``PreviewMaps.render`` recomposes the cached maps
(at the working size, then the guided transfer to the proxy's integers, for the fast pass)
only inside the box where the compositing weight is non-zero; area C is copied.

While a slider moves, ``draft_plan`` stands in for ``plan``: the finish at about
``DRAFT_PIXELS`` over the box, carried to the proxy's own pixels as each channel's ratio
(so the frame stays sharp), in a few milliseconds; the editor shows the exact frame when the
slider is let go or the user pauses. ``apply`` keeps a full-size plan's rounded enhancement,
so the lights above a moving one are composited again with one blend each; during a drag
``FoldedAbove`` folds them into one blend over the moving light's box.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import cv2
import numpy as np

from limelight.core.finish import BandFade, LightFinish
from limelight.core.network import RunsModels, run_network
from limelight.core.pipeline import GuidedFit, Plan, apply_plan, plan_for
from limelight.core.recompose import Knobs

#: Long edge of the fast preview's working image (px).
FAST_EDGE = 384
#: Added to both sides of the draft's ratio (enhanced / photo, in [0, 1] units): where the
#: photo is black the ratio stays bounded.
DRAFT_EPS = 1.0 / 255.0
#: Most pixels of the draft finish a slider drag recomposes (``PreviewMaps.draft_plan``).
DRAFT_PIXELS = 1 << 15


@dataclass(frozen=True)
class DraftPlan:
    """A slider drag's stand-in for a ``Plan`` (``PreviewMaps.draft_plan``).

    Attributes:
        ratio: (bh, bw, 3) float32 >= 0, each channel's enhanced / photo over the box.
    """

    ratio: np.ndarray

    def lit(self, display: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """(bh, bw, 3) uint8: the draft's light over ``box`` of ``display`` (the proxy)."""
        y0, y1, x0, x1 = box
        return cv2.multiply(display[y0:y1, x0:x1], self.ratio, dtype=cv2.CV_8U)


@dataclass(frozen=True)
class PreviewMaps:
    """A model's maps for one proxy image and mask, at one working size.

    Attributes:
        img: (h, w, 3) float32 in [0, 1], the working image the network saw.
        recomposer: turns knobs into the enhanced working image (``core.finish``; only its
            ``box`` when ``full``).
        weight: (H, W) float32 in [0, 1], the compositing weight at proxy size.
        box: (y0, y1, x0, x1) of the proxy where the weight is non-zero, or None (all area C).
        full: the working image is the proxy itself (no guided transfer).
        device: where the network ran ("CPU", "CUDA").
        inference_ms: the network's time.
        fit: the guided filter's statistics of ``img`` (None when ``full``).
        fade: the band's darkening fade (``pipeline.BandFade``) at the recomposer's size.
    """

    img: np.ndarray
    recomposer: LightFinish
    weight: np.ndarray
    box: tuple[int, int, int, int] | None
    full: bool
    device: str
    inference_ms: float
    fit: GuidedFit | None = None
    fade: BandFade | None = None
    #: the last full-size plan's rounded enhancement and the box's 1 - weight (``apply``)
    _lit: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def compute(
        cls, engine: RunsModels, model: str | None, img: np.ndarray, mask: np.ndarray,
        long_edge: int, cancel: Any = None,
    ) -> PreviewMaps:
        """Runs ``model`` on ``img`` scaled to ``long_edge`` (never up).

        Args:
            img: (H, W, 3) float32 in [0, 1], the proxy; or its uint8/uint16 integers, which
                are scaled after the resize exactly as ``pipeline`` does (so the preview of
                an integer proxy is byte-identical to its export).
            mask: (2, H, W) float32: area A and A ∪ B; channel 1 is the compositing weight.
            cancel: an ``engine.Cancel`` another thread may use to stop the network.
        Raises:
            ModelError: from the engine; RunCancelled when ``cancel`` was used.
        """
        work = run_network(img, mask, engine, model, long_edge, cancel=cancel)
        weight = np.ascontiguousarray(mask[1], np.float32)
        x, y, bw, bh = cv2.boundingRect((weight > 0).view(np.uint8))
        box = (y, y + bh, x, x + bw) if bw and bh else None
        finish = work.finish()
        if work.full and box is not None:  # only the box can change: finish just that
            finish = finish.crop(slice(box[0], box[1]), slice(box[2], box[3]))
        return cls(work.img, finish, weight, box, work.full,
                   str(getattr(work.maps, "device", "CPU")), work.elapsed_ms,
                   None if work.full else GuidedFit(work.img),
                   BandFade(weight[box[0]:box[1], box[2]:box[3]] if work.full and box is not None
                            else work.weight))

    @property
    def size(self) -> tuple[int, int]:
        """(h, w) of the working image."""
        return self.img.shape[0], self.img.shape[1]

    def plan(self, knobs: Knobs) -> Plan | None:
        """The knob-dependent half of ``render`` (the finish and the guided fit), which a
        caller may keep while only the lights under this one change; None: nothing to do."""
        if self.box is None or knobs.degree == 0.0:
            return None
        enhanced = self.recomposer(knobs)
        if self.fade is not None:
            enhanced = self.fade(self.recomposer.img, enhanced)
        if self.full:  # enhanced is the box
            y0, y1, x0, x1 = self.box
            return plan_for(self.img, enhanced, self.weight[y0:y1, x0:x1], True)
        assert self.fit is not None
        return plan_for(self.fit, enhanced, self.weight, False)

    @cached_property
    def _draft(self) -> tuple[LightFinish, BandFade, tuple[int, int]] | None:
        """The box's finish and band fade at about ``DRAFT_PIXELS`` and the box's (h, w), or
        None when the box is that small already (or the maps are the fast pass's)."""
        if not self.full or self.box is None:
            return None
        y0, y1, x0, x1 = self.box
        scale = (DRAFT_PIXELS / ((y1 - y0) * (x1 - x0))) ** 0.5
        if scale > 0.7:
            return None
        h, w = max(2, round((y1 - y0) * scale)), max(2, round((x1 - x0) * scale))
        finish = self.recomposer.resized(h, w)
        weight = cv2.resize(self.weight[y0:y1, x0:x1], (w, h), interpolation=cv2.INTER_AREA)
        return finish, BandFade(weight), (y1 - y0, x1 - x0)

    def prepare_draft(self) -> None:
        """Makes the draft's finish now (``draft_plan`` would on its first call): the editor
        does it while idle, so that a slider drag's first frame costs what the others do."""
        _ = self._draft

    def draft_plan(self, knobs: Knobs) -> Plan | DraftPlan | None:
        """A quick stand-in for ``plan(knobs)`` while a slider moves: the finish at about
        ``DRAFT_PIXELS``, carried to the proxy's own pixels as each channel's ratio
        (enhanced / photo, bilinear), so the frame stays sharp; its fine detail takes the
        gain of its neighbourhood (the exact plan lifts it less where the gain is high, and
        smooths colour noise). ``apply`` composites it like a plan; falls back to ``plan``
        when the box is small."""
        draft = self._draft
        if draft is None or knobs.degree == 0.0:
            return self.plan(knobs)
        finish, fade, (bh, bw) = draft
        enhanced = fade(finish.img, finish(knobs))
        eps = np.float32(DRAFT_EPS)
        ratio = (enhanced + eps) / (finish.img + eps)
        return DraftPlan(cv2.resize(ratio, (bw, bh), interpolation=cv2.INTER_LINEAR))

    def apply(self, plan: Plan | DraftPlan | None, display: np.ndarray,
              under: np.ndarray | None = None, *, in_place: bool = False) -> np.ndarray:
        """Composites ``plan`` (from ``plan``) over ``under``; see ``render``. With
        ``in_place`` a full-size plan or a draft may write into ``under`` (a frame the
        caller owns) instead of a copy: the lights above a moving one, during a drag."""
        if under is None:
            under = display
        if plan is None or self.box is None:
            return under if in_place else under.copy()
        if isinstance(plan, DraftPlan):
            return self._apply_draft(plan, display, under, in_place)
        if self.keeps_lit(plan, display):
            return self._apply_lit(plan, under, in_place)
        if self.full:
            y0, y1, x0, x1 = self.box
            out = under.copy()
            out[y0:y1, x0:x1] = apply_plan(display[y0:y1, x0:x1], plan, None,
                                           base=None if under is display
                                           else under[y0:y1, x0:x1])
            return out
        return apply_plan(display, plan, None, base=under)

    def lit(self, plan: Plan) -> np.ndarray:
        """(bh, bw, 3) uint8: a full-size plan's enhancement over the box, rounded as
        ``apply_plan`` rounds it; kept while ``plan`` is the same object."""
        assert plan.enhanced is not None
        kept = self._lit.get("plan")
        if kept is None or kept[0] is not plan:
            enhanced = np.ascontiguousarray(plan.enhanced, np.float32)
            flat = cv2.multiply(enhanced.reshape(enhanced.shape[0], -1), 255.0)  # type: ignore[call-overload]
            lit = cv2.add(flat, 0.0, dtype=cv2.CV_8U).reshape(enhanced.shape)  # type: ignore[call-overload]
            kept = (plan, lit)
            self._lit["plan"] = kept
        return kept[1]

    def keeps_lit(self, plan: Plan | DraftPlan | None, display: np.ndarray) -> bool:
        """``apply`` of ``plan`` over ``display`` is one blend of ``lit(plan)``."""
        return (isinstance(plan, Plan) and self.full and self.box is not None
                and display.dtype == np.uint8 and plan.enhanced is not None)

    def _apply_lit(self, plan: Plan, under: np.ndarray, in_place: bool = False) -> np.ndarray:
        """``apply`` of a full-size plan on 8-bit pixels: the same bytes as ``apply_plan``,
        with the plan's rounded enhancement kept, so that compositing the lights above a
        moving one again costs one blend each."""
        return self._blend(self.lit(plan), under, in_place)

    def _blend(self, lit: np.ndarray, under: np.ndarray, in_place: bool = False
               ) -> np.ndarray:
        """``under`` with the box composited from ``lit`` ((bh, bw, 3) uint8) by the weight."""
        assert self.box is not None
        y0, y1, x0, x1 = self.box
        weight = self.weight[y0:y1, x0:x1]
        rest = self._lit.get("rest")
        if rest is None:
            rest = self._lit["rest"] = cv2.subtract(1.0, weight)  # type: ignore[call-overload]
        out = under if in_place else under.copy()
        # (pixel by pixel, so the box may be written over itself in place)
        cv2.blendLinear(lit, under[y0:y1, x0:x1], weight, rest, dst=out[y0:y1, x0:x1])
        return out

    def _apply_draft(self, plan: DraftPlan, display: np.ndarray, under: np.ndarray,
                     in_place: bool = False) -> np.ndarray:
        assert self.box is not None
        return self._blend(plan.lit(display, self.box), under, in_place)

    def render(self, knobs: Knobs, display: np.ndarray,
               under: np.ndarray | None = None) -> np.ndarray:
        """The composited preview for ``knobs``.

        Args:
            display: (H, W, 3) uint8, the proxy as shown (what the light enhances).
            under: (H, W, 3) uint8 it is composited over (the lights before this one,
                ``core.lights``); default ``display``.
        Returns:
            (H, W, 3) uint8; equal to ``under`` outside ``box`` and wherever the weight is 0.
        """
        return self.apply(self.plan(knobs), display, under)


def union_box(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int] | None:
    """The smallest (y0, y1, x0, x1) holding every one of ``boxes``; None for none."""
    if not boxes:
        return None
    return (min(b[0] for b in boxes), max(b[1] for b in boxes),
            min(b[2] for b in boxes), max(b[3] for b in boxes))


@dataclass(frozen=True)
class FoldedAbove:
    """The lights above a moving one, folded into one blend over its box.

    ``core.lights`` composites light k and then each light j above it as
    ``out = out + w_j (E_j - out)``. Over the moving light's box that chain is affine in
    light k's enhancement ``E_k``: ``out = E_k g + offset``, with ``g = w_k P`` and
    ``offset = under (1 - w_k) P + C``, where ``P`` is the product of the ``1 - w_j`` and
    ``C`` the lights above composited over black. Written as a blend,
    ``out = E_k g + U (1 - g)`` with ``U = offset / (1 - g)`` (bounded: where g nears 1
    the offset nears 0), so while a slider of light k moves, only ``E_k`` changes and each
    draft frame costs the one blend a top light's does. The frame differs from the
    step-by-step composite by its roundings only (about one code per light above: the steps
    round after each light, the fold rounds ``U`` and the result); outside the box it is
    that composite's bytes.

    Attributes:
        box: (y0, y1, x0, x1) of the moving light's box in the proxy.
        gain: (bh, bw) float32 in [0, 1], ``g``.
        rest: (bh, bw) float32, ``1 - g``.
        under: (bh, bw, 3) uint8, ``U`` rounded.
        frame: (H, W, 3) uint8, the step-by-step composite with the moving light left out;
            right outside ``box``.
    """

    box: tuple[int, int, int, int]
    gain: np.ndarray
    rest: np.ndarray
    under: np.ndarray
    frame: np.ndarray

    @classmethod
    def fold(cls, maps: PreviewMaps, display: np.ndarray, under: np.ndarray,
             above: list[tuple[PreviewMaps, Plan | DraftPlan | None]]) -> FoldedAbove | None:
        """Folds ``above`` (the lights over ``maps``' light, in list order, with their
        plans) for a light composited over ``under`` ((H, W, 3) uint8); None when a light
        above is not a full-size 8-bit plan (then the caller composites step by step)."""
        if maps.box is None or not all(m.box is None or p is None or m.keeps_lit(p, display)
                                       for m, p in above):
            return None
        y0, y1, x0, x1 = maps.box
        h, w = y1 - y0, x1 - x0
        rest = np.ones((h, w), np.float32)  # P
        over = np.zeros((h, w, 3), np.float32)  # C
        frame = under.copy()
        for m, p in above:
            if m.box is None or p is None:
                continue
            assert isinstance(p, Plan)
            frame = m.apply(p, display, under=frame, in_place=True)
            a0, a1, b0, b1 = m.box
            r0, r1, c0, c1 = max(y0, a0), min(y1, a1), max(x0, b0), min(x1, b1)
            if r0 >= r1 or c0 >= c1:
                continue
            wj = np.ascontiguousarray(m.weight[r0:r1, c0:c1])
            lit = m.lit(p)[r0 - a0:r1 - a0, c0 - b0:c1 - b0].astype(np.float32)
            part = (slice(r0 - y0, r1 - y0), slice(c0 - x0, c1 - x0))
            keep = cv2.subtract(1.0, wj)  # type: ignore[call-overload]
            over[part] = cv2.blendLinear(lit, np.ascontiguousarray(over[part]), wj, keep)
            rest[part] = cv2.multiply(rest[part], keep)
        wk = np.ascontiguousarray(maps.weight[y0:y1, x0:x1])
        gain = cv2.multiply(wk, rest)
        below = cv2.multiply(cv2.subtract(1.0, wk), rest)  # type: ignore[call-overload]
        offset = cv2.add(cv2.multiply(under[y0:y1, x0:x1], cv2.merge([below] * 3),
                                      dtype=cv2.CV_32F), over)
        keep = cv2.subtract(1.0, gain)  # type: ignore[call-overload]
        share = np.where(keep > 1e-6, 1.0 / np.maximum(keep, 1e-6), 0.0).astype(np.float32)
        flat = cv2.multiply(offset.reshape(h, w * 3),
                            cv2.merge([share] * 3).reshape(h, w * 3))
        base = cv2.add(flat, 0.0, dtype=cv2.CV_8U).reshape(h, w, 3)  # type: ignore[call-overload]
        return cls(maps.box, gain, keep, base, frame)

    def apply(self, plan: DraftPlan, display: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8: the frame with the moving light's draft ``plan`` and the lights
        above it; ``display`` is the proxy the draft lights (as ``PreviewMaps.apply``)."""
        y0, y1, x0, x1 = self.box
        out = self.frame.copy()
        cv2.blendLinear(plan.lit(display, self.box), self.under, self.gain, self.rest,
                        dst=out[y0:y1, x0:x1])
        return out
