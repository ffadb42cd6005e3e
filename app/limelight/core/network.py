"""The one network step that every path takes: export, preview, evaluation and benchmark.

A photo (the full decode, libjpeg's reduced decode, or the editor's proxy) is resized to the
model's working size (area average, never up), scaled to [0, 1], its mask brought to that
size, and the engine runs once. ``run_network`` returns a ``WorkingPass``; its ``finish``
turns knobs into the enhanced working image (``core.finish``). What follows differs by
caller: the export fits the guided transfer to full resolution (``pipeline.plan_for``), the
preview keeps the finish so that a knob change never re-runs the network (``preview``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from limelight.core.finish import FinishPhoto, LightFinish, fade_band_darkening, photo_alongside
from limelight.core.imageio import to_float
from limelight.core.recompose import Knobs

#: A mask at the photo's size ((2, H, W) float32, resized by area), or a function that makes
#: it at the working size: ``(h, w, small) -> (2, h, w)``, where ``small`` is the working
#: image in the photo's own dtype (the guide of an edge-aware or luminance-range mask).
MaskSource = np.ndarray | Callable[[int, int, np.ndarray], np.ndarray]


class RunsModels(Protocol):
    """What the core needs of ``limelight.core.engine.Engine`` to run a model."""

    def run(self, model: str | None, img: np.ndarray, mask: np.ndarray, *,
            cancel: Any = None) -> Any: ...


def working_size(height: int, width: int, long_edge: int, min_side: int = 1
                 ) -> tuple[int, int]:
    """(h, w) with the long edge at most ``long_edge``, aspect kept, never upscaled; each side
    keeps at least ``min_side`` pixels (or all it has), so a 3x5000 strip is not one row."""
    scale = min(1.0, long_edge / max(height, width))
    return (max(min(height, min_side), round(height * scale)),
            max(min(width, min_side), round(width * scale)))


def downscale_mask(mask: np.ndarray, h: int, w: int) -> np.ndarray:
    """(2, H, W) float32 mask -> (2, h, w) by area averaging (unchanged when the size is)."""
    if mask.shape[1:] == (h, w):
        return np.ascontiguousarray(mask, np.float32)
    return np.stack([cv2.resize(c, (w, h), interpolation=cv2.INTER_AREA) for c in mask])


@dataclass(frozen=True)
class WorkingPass:
    """One run of the network at the working size.

    Attributes:
        img: (h, w, 3) float32 in [0, 1], the working image the network saw.
        small: (h, w, 3) the same image in the caller's dtype (integers or float32).
        mask: (2, h, w) float32, the mask it saw; channel 1 is the compositing weight.
        maps: the engine's ``Maps`` (``family``, ``img``, ``maps``; ``device`` when known).
        full: the working image is the photo itself (no resize, no guided transfer).
        elapsed_ms: the network's time.
        photo: the part of the finish that needs only the photo, made while the network ran.
    """

    img: np.ndarray
    small: np.ndarray
    mask: np.ndarray
    maps: Any
    full: bool
    elapsed_ms: float
    photo: FinishPhoto

    @property
    def weight(self) -> np.ndarray:
        """(h, w) float32 in [0, 1], the compositing weight at the working size."""
        return self.mask[1]

    def finish(self) -> LightFinish:
        """The knob-independent finish of the maps (``core.finish``), made once per pass."""
        return LightFinish.of_maps(self.maps.family, self.maps.img, self.maps.maps,
                                   self.mask[1], self.photo)

    def enhanced(self, knobs: Knobs) -> np.ndarray:
        """The enhanced working image for ``knobs``, its darkening faded across the band
        (``finish.BandFade``); (h, w, 3) float32 in [0, 1]."""
        return fade_band_darkening(self.maps.img, self.finish()(knobs), self.mask[1])


def run_network(pixels: np.ndarray, mask: MaskSource, engine: RunsModels, model: str | None,
                long_edge: int, *, cancel: Any = None) -> WorkingPass:
    """Runs ``model`` once on ``pixels`` scaled to ``long_edge`` (never up).

    Args:
        pixels: (H, W, 3) uint8/uint16, or float32 in [0, 1]; integers are scaled after the
            resize, so every caller that starts from the same integers gets the same bytes.
        mask: see ``MaskSource``.
        model: the model's name (None: the engine's default).
        long_edge: the working resolution (px).
        cancel: an ``engine.Cancel`` another thread may use to stop the network.
    Raises:
        ModelError: from the engine; RunCancelled when ``cancel`` was used.
    """
    height, width = pixels.shape[:2]
    h, w = working_size(height, width, long_edge)
    full = (h, w) == (height, width)
    small = pixels if full else cv2.resize(pixels, (w, h), interpolation=cv2.INTER_AREA)
    img = small if small.dtype == np.float32 else to_float(small)
    small_mask = mask(h, w, small) if callable(mask) else downscale_mask(mask, h, w)
    started = time.perf_counter()
    photo, maps = photo_alongside(
        img, small_mask[1], lambda: engine.run(model, img, small_mask) if cancel is None
        else engine.run(model, img, small_mask, cancel=cancel))
    elapsed = getattr(maps, "elapsed_ms", (time.perf_counter() - started) * 1000.0)
    return WorkingPass(img, small, small_mask, maps, full, float(elapsed), photo)
