"""The fusion family's optional noise map by construction: ``N = alpha * (box(rest) - rest)``.

With ``build_model(..., noise_smoothing=r)`` the restoration net's output is read as the
weight ``alpha`` of a (2r + 1)^2 box smoothing of the output without N, so N can only remove
noise and gamma3 sets how much (docs/architecture.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

#: alpha = sigmoid(raw - offset): with the restoration net's raw output near 0 (its last convs
#: start at zero; earlier checkpoints' N is ~0.01), alpha starts near 0.018, almost no
#: smoothing, so a fine-tune starts from the model's own output.
NOISE_ALPHA_OFFSET = 4.0


def smoothing_noise_map(raw: Tensor, rest: Tensor, radius: int) -> Tensor:
    """``sigmoid(raw - NOISE_ALPHA_OFFSET) * (box(rest) - rest)``; all [N,3,H,W]. The box is
    (2 radius + 1)^2, replicate-padded; the result is the negative of the weighted noise."""
    k = 2 * radius + 1
    blurred = F.avg_pool2d(F.pad(rest, (radius,) * 4, mode="replicate"), k, stride=1)
    return torch.sigmoid(raw - NOISE_ALPHA_OFFSET) * (blurred - rest)
