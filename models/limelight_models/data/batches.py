"""Training batches: pairs from real and synthetic folders, crops, masks, augmentation.

Single-process and seeded by a numpy Generator (its state goes into checkpoints), because
the training jobs run with one thread each and the pairs are already in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from limelight_models.data.augment import crop, flip_rotate, random_crop_box
from limelight_models.data.masks import MaskSampler
from limelight_models.data.paired import Pair


@dataclass(frozen=True)
class Batch:
    """NCHW float32 tensors: ``low`` and ``high`` in [0, 1], ``mask`` (N, 2, H, W)."""

    low: torch.Tensor
    high: torch.Tensor
    mask: torch.Tensor


class BatchStream:
    """Draws batches of one random square crop size in [crop_min, crop_max].

    Args:
        real, synthetic: pair lists (either may be empty, not both).
        synth_fraction: probability that a sample comes from ``synthetic``.
        sampler: the mask sampler (the mask is drawn on the crop).
        crop_min, crop_max: crop side range in pixels (multiples of ``crop_multiple``).
    """

    def __init__(
        self,
        real: list[Pair],
        synthetic: list[Pair],
        synth_fraction: float,
        sampler: MaskSampler,
        batch_size: int,
        crop_min: int,
        crop_max: int,
        crop_multiple: int = 16,
    ) -> None:
        if not real and not synthetic:
            raise ValueError("no training pairs: both the real and synthetic sets are empty")
        self.real, self.synthetic = real, synthetic
        self.synth_fraction = 1.0 if not real else (0.0 if not synthetic else synth_fraction)
        self.sampler = sampler
        self.batch_size = batch_size
        self.sizes = list(range(crop_min, crop_max + 1, crop_multiple)) or [crop_min]

    def _sample(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, ...]:
        pool = self.synthetic if rng.uniform() < self.synth_fraction else self.real
        pair = pool[int(rng.integers(0, len(pool)))]
        h, w = pair.low.shape[:2]
        low, high = crop([pair.low, pair.high], random_crop_box(rng, h, w, size))
        mask = self.sampler(rng, low.shape[0], low.shape[1]).transpose(1, 2, 0)
        return tuple(flip_rotate([low, high, mask], rng))

    def next(self, rng: np.random.Generator) -> Batch:
        """One batch; all samples share the crop size (images smaller than it are not
        mixed: every source here is at least crop_max on its short side)."""
        size = int(self.sizes[int(rng.integers(0, len(self.sizes)))])
        samples = [self._sample(rng, size) for _ in range(self.batch_size)]
        side = min(min(s[0].shape[0], s[0].shape[1]) for s in samples)
        low = np.stack([s[0][:side, :side] for s in samples]).astype(np.float32) / 255.0
        high = np.stack([s[1][:side, :side] for s in samples]).astype(np.float32) / 255.0
        mask = np.stack([s[2][:side, :side] for s in samples]).astype(np.float32)
        to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))  # noqa: E731
        return Batch(to_t(low), to_t(high), to_t(mask))
