"""Huber loss (paper 002 eq. 5), per pixel."""

from __future__ import annotations

import torch


def huber_map(pred: torch.Tensor, target: torch.Tensor, delta: float = 0.5) -> torch.Tensor:
    """Per-pixel Huber loss averaged over channels.

    Args:
        pred, target: (N, C, H, W), same shape, values in [0, 1].
        delta: the quadratic/linear switch (0.5 in paper 002).
    Returns:
        (N, 1, H, W): ``0.5 d^2`` where ``|d| < delta`` else ``delta (|d| - 0.5 delta)``.
    """
    if pred.shape != target.shape:
        raise ValueError(f"huber: pred {tuple(pred.shape)} vs target {tuple(target.shape)}")
    d = (pred - target).abs()
    quad = 0.5 * d * d
    lin = delta * (d - 0.5 * delta)
    return torch.where(d < delta, quad, lin).mean(dim=1, keepdim=True)
