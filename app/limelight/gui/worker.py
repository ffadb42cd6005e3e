"""Background preview worker: inference never runs on the GUI thread.

Each request carries an increasing id (``itertools.count``). The worker keeps one pending
slot: a newer request replaces a pending one (newest wins), and a result whose id is not
the latest submitted is dropped, both here and again by the receiver. The network re-runs
only when the image, the mask or the model changes (``PreviewRequest.maps_key``); a knob
change is recomposed from the cached maps (``limelight.core.preview.PreviewMaps``).

A request holds the photo's lights as ``PreviewLayer``s; the maps are cached per light
(``PreviewLayer.maps_key``), so a knob change on one light recomposes from cached maps and a
new mask on one light runs the network for that light only. The preview composites the
lights in list order over the proxy, as the export does (``limelight.core.lights``).

A knob change on a light whose maps are refined shows a draft first
(``PreviewMaps.draft_plan``, marked unrefined) and the exact plan once the user pauses or
the request is ``direct`` (the slider was let go); the composite of the lights below the one
that moves is kept (by the identity of their plans), so only that light and the ones above
it are composited again, the ones above folded into one blend over its box
(``FoldedAbove``).

Two passes, as the export computes (see ``core.preview``): a new mask or photo is first
shown from the network run at ``FAST_EDGE``; once no request has come for ``REFINE_DELAY_S``,
the worker re-runs the network on the whole proxy and delivers the refined preview for the
latest request's knobs. The pause is the worker's ``refine_delay_s`` (a constructor
argument: tests pass 0, or a pause longer than the test, instead of waiting on the clock). The worker stays busy until
then, so a test or the status bar can wait for the final frame.

Signals:
    result_ready(PreviewResult): the latest request's preview, delivered in the GUI thread.
    failed(int, str): request id and a one-sentence message for the status bar.
    busy_changed(bool): True while a request is pending or running.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal

from limelight.core.engine import Cancel, RunCancelled
from limelight.core.errors import LimelightError
from limelight.core.network import RunsModels
from limelight.core.preview import FAST_EDGE, DraftPlan, FoldedAbove, PreviewMaps, union_box
from limelight.core.recompose import Knobs
from limelight.gui.bridge import GuiBridge

log = logging.getLogger(__name__)

#: Pause (s) after the last request before the refined pass runs: a brush stroke or a slider
#: drag sends requests more often than that, so the slow pass waits for the user to stop.
REFINE_DELAY_S = 0.15


@dataclass(frozen=True)
class PreviewLayer:
    """One light of a preview request.

    Attributes:
        mask_key: changes whenever this light's area A changes.
        area_a: (H, W) float32 in [0, 1], invert applied.
        transition_px: transition width in proxy pixels.
        knobs: the light's settings.
        band: ``MaskSpec.effective_band`` ("outside" or "inside").
        edge_aware: the band follows the proxy's edges (``masks.follow_edges``).
    """

    mask_key: Any
    area_a: np.ndarray
    transition_px: float
    knobs: Knobs
    band: str = "outside"
    edge_aware: bool = False
    #: (low, high, soft) luminance range (``masks.luminance_range``); None keeps every pixel
    luma_range: tuple[float, float, float] | None = None

    def mask_cache_key(self, image_key: int) -> tuple[Any, ...]:
        return (image_key, self.mask_key, round(self.transition_px, 3), self.band,
                self.edge_aware, self.luma_range, self.area_a.shape)


@dataclass(frozen=True)
class PreviewRequest:
    """One preview to compute at proxy resolution.

    Attributes:
        request_id: from the worker's counter; larger is newer.
        image_key: changes whenever the proxy image changes.
        model: zoo name, or None when no model is installed (the preview is the input).
        img: (H, W, 3) float32 in [0, 1], the proxy.
        display: (H, W, 3) uint8, the proxy as shown (area C of the preview is copied from it).
        layers: the lights that change pixels, in list order.
        selected: the index in ``layers`` of the light whose mask the result carries, or -1.
    """

    request_id: int
    image_key: int
    model: str | None
    img: np.ndarray
    display: np.ndarray
    layers: tuple[PreviewLayer, ...] = ()
    selected: int = -1
    #: an interaction just ended (mouse-up): compute the full-detail pass straight away and
    #: keep the frame on screen until then, instead of showing the quick, softer pass
    direct: bool = False

    def layer_key(self, layer: PreviewLayer) -> tuple[Any, ...]:
        """Layers with equal keys share the network's maps."""
        return (*layer.mask_cache_key(self.image_key), self.model)

    @property
    def maps_key(self) -> tuple[Any, ...]:
        """Requests with equal keys share every light's maps."""
        return tuple(self.layer_key(layer) for layer in self.layers)


@dataclass(frozen=True)
class PreviewResult:
    """The composited preview of one request.

    Attributes:
        display: (H, W, 3) uint8, the composited preview ready to show.
        mask: (2, H, W) float32 of the selected light (zeros when none): channel 0 = A,
            channel 1 = A ∪ B (its weight).
        weight: (H, W) float32, the largest weight of all lights (0: area C of every light).
        histogram: (3, 256) int64 counts of ``display`` per channel.
        inference_ms: network time, or None when recomposed from cached maps.
        compute_ms: time spent by the worker on this request.
        changed: (y0, y1, x0, x1), the only part that can differ from the input (area C is
            outside it); None when the whole preview may differ.
        refined: False for the fast first pass (a refined one follows).
    """

    request_id: int
    display: np.ndarray
    mask: np.ndarray
    histogram: np.ndarray
    device: str
    inference_ms: float | None
    compute_ms: float
    changed: tuple[int, int, int, int] | None = None
    refined: bool = True
    weight: np.ndarray | None = None
    #: each light's weight (mask channel 1), in the request's layer order
    weights: tuple[np.ndarray, ...] = ()
    #: (y0, y1, x0, x1), the only part that can differ from the preview of request
    #: ``damage_since`` (the worker's result before this one): the box of each light whose
    #: plan changed (a knob drag: the moving light's); None when not known
    damage: tuple[int, int, int, int] | None = None
    damage_since: int = 0


def to_display(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 [0, 1] -> uint8, rounded to nearest (inverse of ``pixels / 255``)."""
    return cv2.convertScaleAbs(np.ascontiguousarray(img, dtype=np.float32), alpha=255.0)


def histogram_of(display: np.ndarray) -> np.ndarray:
    """(3, 256) int64 counts of a (H, W, 3) uint8 image (every pixel of it)."""
    return np.stack([cv2.calcHist([np.ascontiguousarray(display)], [c], None, [256], [0, 256]).reshape(-1)
                     for c in range(3)]).astype(np.int64)


class PreviewWorker(QObject):
    """Owns one daemon thread that computes previews; see the module docstring."""

    result_ready = Signal(object)
    failed = Signal(int, str)
    busy_changed = Signal(bool)

    def __init__(self, engine: RunsModels | None, parent: QObject | None = None, *,
                 refine_delay_s: float = REFINE_DELAY_S) -> None:
        super().__init__(parent)
        self.engine = engine
        #: pause (s) with no request before the refined pass (``REFINE_DELAY_S``)
        self.refine_delay_s = refine_delay_s
        self._ids = itertools.count(1)
        self._latest_id = 0
        self._pending: PreviewRequest | None = None
        self._running = False
        self._stop = False
        self._cond = threading.Condition()
        self._maps_key: tuple[Any, ...] | None = None
        self._maps: dict[tuple[Any, ...], tuple[PreviewMaps, bool]] = {}  # key -> (maps, refined)
        self._unrefined = False
        #: key -> (knobs, plan, maps): each light's finished plan for its current knobs
        self._plans: dict[tuple[Any, ...], tuple[Knobs, Any, PreviewMaps]] = {}
        self._refine_for: PreviewRequest | None = None  # the latest request, while unrefined
        self._refining: Cancel | None = None  # stops the refined pass when a request comes
        self._mask_cache: dict[tuple[Any, ...], np.ndarray] = {}
        #: each prefix of the lights' plans (by identity) -> the preview composited so far
        self._composites: dict[tuple[int, ...], np.ndarray] = {}
        #: (the lights under and above a moving one, by identity, ...) -> their fold
        self._folded: tuple[tuple[Any, ...], FoldedAbove | None, Any] | None = None
        #: the last result's request id, photo and lights (``_damage``)
        self._shown: tuple[int, np.ndarray, list[tuple[PreviewMaps, Any]]] | None = None
        self._weight: tuple[tuple[int, ...], np.ndarray] | None = None
        self.device = "CPU"
        self.dropped = 0
        self._bridge = GuiBridge(self)
        self._busy = False
        self._runs: list[int] = []  # ids of requests that ran the network (for tests)
        self.cancelled_refines = 0
        self._thread = threading.Thread(target=self._loop, name="preview-worker", daemon=True)
        self._thread.start()

    @property
    def latest_id(self) -> int:
        return self._latest_id

    def submit(self, **fields: Any) -> int:
        """Queues a request built from ``PreviewRequest`` fields (without the id); returns its id."""
        with self._cond:
            request_id = next(self._ids)
            self._latest_id = request_id
            if self._pending is not None:
                self.dropped += 1
            self._pending = PreviewRequest(request_id=request_id, **fields)
            if self._refining is not None:  # the user is busy again: the fast pass first
                self._refining.cancel()
            self._cond.notify()
        if not self._busy:
            self._busy = True
            self.busy_changed.emit(True)
        return request_id

    @property
    def busy(self) -> bool:
        return self._busy

    def _on_idle(self) -> None:
        """GUI thread: the thread reported idle; confirm (a request may have come since)."""
        with self._cond:
            idle = self._pending is None and not self._running
        if idle and self._busy:
            self._busy = False
            self.busy_changed.emit(False)

    def _deliver(self, result: PreviewResult) -> None:
        """GUI thread: emits the result if it is still the latest request's."""
        if result.request_id == self._latest_id:
            self.result_ready.emit(result)
        else:
            self.dropped += 1

    def invalidate(self) -> None:
        """Forget cached maps (for example after the engine's models changed)."""
        with self._cond:
            self._maps_key = None
            self._maps = {}
            self._refine_for = None

    def stop(self, timeout: float = 5.0) -> None:
        """Ends the thread after the request in progress."""
        with self._cond:
            self._stop = True
            self._pending = None
            self._refine_for = None
            if self._refining is not None:
                self._refining.cancel()
            self._cond.notify()
        self._thread.join(timeout)

    def _next_job(self) -> tuple[PreviewRequest, bool] | None:
        """Blocks until a request is pending (newest first) or a refine is due; None = stop."""
        with self._cond:
            while not self._stop:
                if self._pending is not None:
                    request, self._pending = self._pending, None
                    self._running = True
                    return request, False
                if self._refine_for is not None:
                    if not self._cond.wait(self.refine_delay_s) and self._pending is None \
                            and self._refine_for is not None and not self._stop:
                        request, self._refine_for = self._refine_for, None
                        self._running = True
                        return request, True
                    continue
                self._cond.wait()
            return None

    def _loop(self) -> None:
        while (job := self._next_job()) is not None:
            request, refine = job
            submitted = time.perf_counter()
            try:
                result = self._compute(request, submitted, refine)
            except Exception as exc:  # noqa: BLE001 - the user sees a sentence, the log the trace
                if isinstance(exc, LimelightError):
                    message = str(exc)
                else:
                    log.exception("preview %d failed", request.request_id)
                    message = f"Preview failed: {type(exc).__name__}: {exc}"
                idle = self._finish(None)
                self._bridge.post(self.failed.emit, request.request_id, message)
                if idle:
                    self._bridge.post(self._on_idle)
                continue
            idle = self._finish(request if self._unrefined and not refine else None)
            if result is not None and result.request_id == self._latest_id:
                self._bridge.post(self._deliver, result)
            elif result is not None:
                self.dropped += 1
            if idle:
                self._bridge.post(self._on_idle)
                if result is not None and result.refined:
                    self._warm(request)

    def _finish(self, refine_next: PreviewRequest | None) -> bool:
        """Ends a job; ``refine_next`` is the request to refine later. True when idle."""
        with self._cond:
            self._running = False
            if refine_next is not None and refine_next.maps_key == self._maps_key:
                self._refine_for = refine_next
            return self._pending is None and self._refine_for is None

    def _warm(self, request: PreviewRequest) -> None:
        """With nothing pending after an exact frame: prepares a slider drag of the selected
        light, its draft finish and the fold of the lights above it (``_composite`` finds it
        by the same key), so that the drag's first frame costs what the others do. A request
        that comes meanwhile waits for it (tens of ms)."""
        try:
            shown = self._shown
            sel = request.selected
            if shown is None or shown[0] != request.request_id \
                    or not 0 <= sel < len(request.layers):
                return
            base, lit = shown[1], shown[2]
            cached = self._maps.get(request.maps_key[sel])
            if cached is None or not cached[1]:
                return
            maps = cached[0]
            i = next((k for k, (m, _) in enumerate(lit) if m is maps), None)
            if i is None or any(isinstance(p, DraftPlan) for _, p in lit):
                return
            maps.prepare_draft()
            prefix = tuple(id(p) for _, p in lit[:i])
            under = self._composites.get(prefix) if prefix else base
            if i + 1 < len(lit) and under is not None:
                self._fold(lit, i, prefix, base, under)
        except Exception:  # noqa: BLE001 - only a head start: the drag computes it anyway
            log.debug("preparing the drag failed", exc_info=True)

    def _damage(self, request_id: int, base: np.ndarray, lit: list[tuple[PreviewMaps, Any]]
                ) -> tuple[tuple[int, int, int, int] | None, int]:
        """(damage, since) of ``PreviewResult``: a frame of the same photo and lights
        differs from the one before only in the boxes of the lights whose plans changed (a
        light above a changed one changes only inside the changed one's box). The lights are
        compared by identity, and kept until the next frame so that identity holds."""
        previous, self._shown = self._shown, (request_id, base, lit)
        if previous is None:
            return None, 0
        since, before, lights = previous
        if before is not base or len(lights) != len(lit) \
                or any(m0 is not m1 for (m0, _), (m1, _) in zip(lights, lit, strict=True)):
            return None, since
        boxes = [m.box for (_, p0), (m, p1) in zip(lights, lit, strict=True)
                 if p0 is not p1 and m.box is not None]
        return union_box(boxes) or (0, 0, 0, 0), since

    def _fold(self, lit: list[tuple[PreviewMaps, Any]], i: int, prefix: tuple[int, ...],
              base: np.ndarray, under: np.ndarray) -> FoldedAbove | None:
        """The fold of the lights above ``lit[i]`` over ``under`` (the composite of the
        plans ``prefix`` names), kept while the lights under and above stay the same (with
        the lights themselves, so that their ids stay theirs)."""
        maps, above = lit[i][0], lit[i + 1:]
        key = (prefix, id(maps), tuple(id(p) for _, p in above))
        if self._folded is None or self._folded[0] != key:
            self._folded = (key, FoldedAbove.fold(maps, base, under, above),
                            (base, [*lit[:i], *above]))
        return self._folded[1]

    def _composite(self, lit: list[tuple[PreviewMaps, Any]], base: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8: ``lit`` (each light's maps and plan, in list order) composited
        over ``base``, the proxy.

        The composite of each unchanged prefix of the plans (by identity) is kept, so the
        lights below the one whose knobs move are composited once, not per move. Above a
        draft (a new one each move) the lights are folded into one blend
        (``FoldedAbove``, kept while the lights under and above stay the same), or blended
        step by step into the draft's own frame, which no later request reuses."""
        display = base
        prefix: tuple[int, ...] = ()
        composites: dict[tuple[int, ...], np.ndarray] = {}
        drafting = False  # a draft is below: the frame is this request's own
        for i, (maps, plan) in enumerate(lit):
            draft = isinstance(plan, DraftPlan)
            if draft and not drafting and i + 1 < len(lit):
                folded = self._fold(lit, i, prefix, base, display)
                if folded is not None:
                    self._composites = composites
                    return folded.apply(plan, base)
            prefix = (*prefix, id(plan))
            cached = None if drafting else self._composites.get(prefix)
            display = (cached if cached is not None
                       else maps.apply(plan, base, under=display, in_place=drafting))
            if not (drafting or draft):
                composites[prefix] = display
            drafting |= draft
        self._composites = composites
        return display

    def _derived_mask(self, request: PreviewRequest, layer: PreviewLayer,
                      keep: dict[tuple[Any, ...], np.ndarray]) -> np.ndarray:
        from limelight.core.masks import derive_mask, follow_edges, luminance_range

        key = layer.mask_cache_key(request.image_key)
        mask = self._mask_cache.get(key)
        if mask is None:
            mask = derive_mask(layer.area_a, layer.transition_px, layer.band)  # type: ignore[arg-type]
            if layer.edge_aware:
                mask = follow_edges(mask, request.img, layer.transition_px)
            if layer.luma_range is not None:
                low, high, soft = layer.luma_range
                mask = np.ascontiguousarray(
                    mask * luminance_range(request.img, low, high, soft)[None], np.float32)
        keep[key] = mask
        return mask

    def _weight_of(self, masks: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
        """(H, W) float32: the largest weight (channel 1) of ``masks``, kept while they are
        the same arrays (a knob change)."""
        ids = tuple(id(m) for m in masks)
        if self._weight is not None and self._weight[0] == ids:
            return self._weight[1]
        weight = np.zeros(shape, np.float32)
        for m in masks:
            cv2.max(weight, m[1], dst=weight)
        self._weight = (ids, weight)
        return weight

    @staticmethod
    def _edges(request: PreviewRequest) -> tuple[int, int]:
        """(fast, refined) long edges of the network's working image for ``request``."""
        refined = max(request.img.shape[:2])
        return min(FAST_EDGE, refined), refined

    def _run_maps(self, request: PreviewRequest, mask: np.ndarray, edge: int,
                  refine: bool) -> PreviewMaps | None:
        """The network's maps at ``edge``; None when a refined pass was cancelled."""
        engine = self.engine
        assert engine is not None  # (``_compute`` runs the network only with an engine)
        if not refine:
            return PreviewMaps.compute(engine, request.model, request.img, mask, edge)
        cancel = Cancel()
        with self._cond:
            if self._pending is not None:
                return None
            self._refining = cancel
        try:
            return PreviewMaps.compute(engine, request.model, request.img, mask, edge,
                                       cancel=cancel)
        except RunCancelled:
            self.cancelled_refines += 1
            return None
        finally:
            with self._cond:
                self._refining = None

    def _compute(self, request: PreviewRequest, started: float,
                 refine: bool = False) -> PreviewResult | None:
        keep: dict[tuple[Any, ...], np.ndarray] = {}
        masks = [self._derived_mask(request, layer, keep) for layer in request.layers]
        self._mask_cache = keep
        inference_ms: float | None = None
        base = request.display
        display = base
        self._unrefined = False
        boxes = []
        lit: list[tuple[PreviewMaps, Any]] = []  # the lights with a box, and their plans
        if request.model is not None and self.engine is not None and request.layers:
            keys = request.maps_key
            if refine and keys != self._maps_key:
                return None  # a mask or the photo changed meanwhile: a new pass is coming
            fast, full = self._edges(request)
            ran = False
            for key, mask in zip(keys, masks, strict=True):
                cached = self._maps.get(key)
                if cached is not None and (cached[1] or not refine):
                    continue
                if not ran:
                    self._runs.append(request.request_id)
                    ran = True
                edge = full if refine or request.direct else fast
                maps = self._run_maps(request, mask, edge, refine)
                if maps is None:
                    return None  # the refined pass gave way to a new request
                self._maps[key] = (maps, edge == full)
                self.device = maps.device
                inference_ms = (inference_ms or 0.0) + maps.inference_ms
            self._maps = {k: self._maps[k] for k in keys}
            self._maps_key = keys
            exact = refine or request.direct
            plans = {}
            for layer, key in zip(request.layers, keys, strict=True):
                maps, refined = self._maps[key]
                self._unrefined |= not refined
                if maps.box is None:
                    continue
                boxes.append(maps.box)
                kept = self._plans.get(key)  # only the light whose knobs moved is finished
                if kept is None or kept[0] != layer.knobs or kept[2] is not maps \
                        or (exact and isinstance(kept[1], DraftPlan)):
                    # a slider drag (same maps, new knobs) shows a draft until the user pauses
                    quick = not exact and refined and kept is not None and kept[2] is maps
                    kept = (layer.knobs, maps.draft_plan(layer.knobs) if quick
                            else maps.plan(layer.knobs), maps)
                plans[key] = kept
                self._unrefined |= isinstance(kept[1], DraftPlan)
                lit.append((maps, kept[1]))
            self._plans = plans
            display = self._composite(lit, base)
        # a draft's histogram (repainted at most every HISTOGRAM_PACE_MS) from every other
        # row and column: a quarter of the work, the same shape
        h, w = display.shape[:2]
        hist = histogram_of(cv2.resize(display, (max(1, w // 2), max(1, h // 2)),
                                       interpolation=cv2.INTER_NEAREST)
                            if self._unrefined else display)
        changed = union_box(boxes)
        h, w = base.shape[:2]
        sel = request.selected
        mask = masks[sel] if 0 <= sel < len(masks) else np.zeros((2, h, w), np.float32)
        weight = self._weight_of(masks, (h, w))
        damage, since = self._damage(request.request_id, base, lit)
        return PreviewResult(
            damage=damage,
            damage_since=since,
            changed=changed,
            request_id=request.request_id,
            display=display,
            mask=mask,
            histogram=hist,
            device=self.device,
            inference_ms=inference_ms,
            compute_ms=(time.perf_counter() - started) * 1000.0,
            refined=not self._unrefined,
            weight=weight,
            weights=tuple(m[1] for m in masks),
        )
