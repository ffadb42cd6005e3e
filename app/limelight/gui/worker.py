"""Background preview worker: inference never runs on the GUI thread.

Each request carries an increasing id (``itertools.count``). The worker keeps one pending
slot: a newer request replaces a pending one (newest wins), and a result whose id is not
the latest submitted is dropped, both here and again by the receiver. The network re-runs
only when the image, the mask or the model changes (``PreviewRequest.maps_key``); a knob
change is recomposed from the cached maps (``limelight.core.preview.PreviewMaps``).

Two passes, as the export computes (see ``core.preview``): a new mask or photo is first
shown from the network run at ``FAST_EDGE``; once no request has come for ``REFINE_DELAY_S``,
the worker re-runs the network on the whole proxy and delivers the refined preview for the
latest request's knobs. The worker stays busy until
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
from typing import Any, Protocol

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal

from limelight.core.engine import Cancel, RunCancelled
from limelight.core.errors import LimelightError
from limelight.core.preview import FAST_EDGE, PreviewMaps
from limelight.core.recompose import Knobs
from limelight.gui.bridge import GuiBridge

log = logging.getLogger(__name__)

#: Pause (s) after the last request before the refined pass runs: a brush stroke or a slider
#: drag sends requests more often than that, so the slow pass waits for the user to stop.
REFINE_DELAY_S = 0.15


class EngineLike(Protocol):
    """What the worker needs of ``limelight.core.engine.Engine``."""

    def run(self, model: str | None, img: np.ndarray, mask: np.ndarray) -> Any: ...


@dataclass(frozen=True)
class PreviewRequest:
    """One preview to compute at proxy resolution.

    Attributes:
        request_id: from the worker's counter; larger is newer.
        image_key, mask_key: change whenever the proxy image / area A changes.
        model: zoo name, or None when no model is installed (the preview is the input).
        img: (H, W, 3) float32 in [0, 1], the proxy.
        display: (H, W, 3) uint8, the proxy as shown (area C of the preview is copied from it).
        area_a: (H, W) float32 in [0, 1].
        transition_px: transition width in proxy pixels.
        knobs: the light settings.
        band: ``MaskSpec.effective_band`` ("outside" or "inside").
        edge_aware: the band follows the proxy's edges (``masks.follow_edges``).
    """

    request_id: int
    image_key: int
    mask_key: int
    model: str | None
    img: np.ndarray
    display: np.ndarray
    area_a: np.ndarray
    transition_px: float
    knobs: Knobs
    band: str = "outside"
    edge_aware: bool = False

    @property
    def maps_key(self) -> tuple[Any, ...]:
        """Requests with equal keys share the network's maps."""
        return (self.image_key, self.mask_key, round(self.transition_px, 3), self.band,
                self.edge_aware, self.model)


@dataclass(frozen=True)
class PreviewResult:
    """The composited preview of one request.

    Attributes:
        display: (H, W, 3) uint8, the composited preview ready to show.
        mask: (2, H, W) float32, channel 0 = A, channel 1 = A ∪ B (the weight).
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


def to_display(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 [0, 1] -> uint8, rounded to nearest (inverse of ``pixels / 255``)."""
    return cv2.convertScaleAbs(np.ascontiguousarray(img, dtype=np.float32), alpha=255.0)


def histogram_of(display: np.ndarray) -> np.ndarray:
    """(3, 256) int64 counts of a (H, W, 3) uint8 image (every pixel)."""
    return np.stack([cv2.calcHist([np.ascontiguousarray(display)], [c], None, [256], [0, 256]).reshape(-1)
                     for c in range(3)]).astype(np.int64)


class PreviewWorker(QObject):
    """Owns one daemon thread that computes previews; see the module docstring."""

    result_ready = Signal(object)
    failed = Signal(int, str)
    busy_changed = Signal(bool)

    def __init__(self, engine: EngineLike | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self._ids = itertools.count(1)
        self._latest_id = 0
        self._pending: PreviewRequest | None = None
        self._running = False
        self._stop = False
        self._cond = threading.Condition()
        self._maps_key: tuple[Any, ...] | None = None
        self._cached: _Rendered | None = None
        self._refine_for: PreviewRequest | None = None  # the latest request, while unrefined
        self._refining: Cancel | None = None  # stops the refined pass when a request comes
        self._mask_cache: tuple[tuple[Any, ...], np.ndarray] | None = None
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
            self._bridge.hold()
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
            self._bridge.release()
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
            self._cached = None
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
                    if not self._cond.wait(REFINE_DELAY_S) and self._pending is None \
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
            unrefined = self._cached is not None and not self._cached.refined
            idle = self._finish(request if unrefined and not refine else None)
            if result is not None and result.request_id == self._latest_id:
                self._bridge.post(self._deliver, result)
            elif result is not None:
                self.dropped += 1
            if idle:
                self._bridge.post(self._on_idle)

    def _finish(self, refine_next: PreviewRequest | None) -> bool:
        """Ends a job; ``refine_next`` is the request to refine later. True when idle."""
        with self._cond:
            self._running = False
            if refine_next is not None and refine_next.maps_key == self._maps_key:
                self._refine_for = refine_next
            return self._pending is None and self._refine_for is None

    def _derived_mask(self, request: PreviewRequest) -> np.ndarray:
        from limelight.core.masks import derive_mask, follow_edges

        key = (request.image_key, request.mask_key, round(request.transition_px, 3),
               request.band, request.edge_aware, request.area_a.shape)
        if self._mask_cache is not None and self._mask_cache[0] == key:
            return self._mask_cache[1]
        mask = derive_mask(request.area_a, request.transition_px, request.band)  # type: ignore[arg-type]
        if request.edge_aware:
            mask = follow_edges(mask, request.img, request.transition_px)
        self._mask_cache = (key, mask)
        return mask

    @staticmethod
    def _edges(request: PreviewRequest) -> tuple[int, int]:
        """(fast, refined) long edges of the network's working image for ``request``."""
        refined = max(request.img.shape[:2])
        return min(FAST_EDGE, refined), refined

    def _run_maps(self, request: PreviewRequest, mask: np.ndarray, edge: int,
                  refine: bool) -> PreviewMaps | None:
        """The network's maps at ``edge``; None when a refined pass was cancelled."""
        if not refine:
            return PreviewMaps.compute(self.engine, request.model, request.img, mask, edge)
        cancel = Cancel()
        with self._cond:
            if self._pending is not None:
                return None
            self._refining = cancel
        try:
            return PreviewMaps.compute(self.engine, request.model, request.img, mask, edge,
                                       cancel=cancel)
        except RunCancelled:
            self.cancelled_refines += 1
            return None
        finally:
            with self._cond:
                self._refining = None

    def _compute(self, request: PreviewRequest, started: float,
                 refine: bool = False) -> PreviewResult | None:
        mask = self._derived_mask(request)
        inference_ms: float | None = None
        base = request.display
        if request.model is None or self.engine is None:
            display, hist = base, histogram_of(base)
        else:
            if refine and request.maps_key != self._maps_key:
                return None  # the mask or photo changed meanwhile: a new pass is coming
            if refine or request.maps_key != self._maps_key or self._cached is None:
                if not refine:
                    self._cached = None
                self._runs.append(request.request_id)
                fast, refined = self._edges(request)
                edge = refined if refine else fast
                maps = self._run_maps(request, mask, edge, refine)
                if maps is None:
                    return None  # the refined pass gave way to a new request
                self._cached = _Rendered.build(maps, base, refined=edge == refined)
                self._maps_key = request.maps_key
                self.device = maps.device
                inference_ms = maps.inference_ms
            display, hist = self._cached.render(request.knobs, base)
        changed = None
        if self._cached is not None and self._cached.maps.box is not None:
            y0, y1, x0, x1 = self._cached.maps.box
            changed = (y0, y1, x0, x1)
        return PreviewResult(
            changed=changed,
            request_id=request.request_id,
            display=display,
            mask=mask,
            histogram=hist,
            device=self.device,
            inference_ms=inference_ms,
            compute_ms=(time.perf_counter() - started) * 1000.0,
            refined=self._cached is None or self._cached.refined,
        )


@dataclass(frozen=True)
class _Rendered:
    """Cached maps plus the histogram bookkeeping of the preview.

    Outside the weight's box the preview is the input, so the histogram is the input's minus
    the box's input counts plus the box's new counts.
    """

    maps: PreviewMaps
    refined: bool
    base_hist: np.ndarray
    box_hist: np.ndarray | None

    @classmethod
    def build(cls, maps: PreviewMaps, base: np.ndarray, refined: bool) -> _Rendered:
        box_hist = None
        if maps.box is not None:
            y0, y1, x0, x1 = maps.box
            box_hist = histogram_of(base[y0:y1, x0:x1])
        return cls(maps, refined, histogram_of(base), box_hist)

    def render(self, knobs: Knobs, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(display (H, W, 3) uint8, histogram (3, 256)) for ``knobs``."""
        if self.maps.box is None or self.box_hist is None:
            return base, self.base_hist
        display = self.maps.render(knobs, base)
        y0, y1, x0, x1 = self.maps.box
        return display, self.base_hist - self.box_hist + histogram_of(display[y0:y1, x0:x1])
