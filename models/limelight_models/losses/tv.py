"""Total-variation maps: plain TV (DLN, paper 002 eq. 9) and structure-aware TV (eq. 8)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _grads(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward differences padded with a zero last column/row: (N, C, H, W) each."""
    dx = F.pad(x[..., :, 1:] - x[..., :, :-1], (0, 1, 0, 0))
    dy = F.pad(x[..., 1:, :] - x[..., :-1, :], (0, 0, 0, 1))
    return dx, dy


def tv_map(x: torch.Tensor) -> torch.Tensor:
    """Anisotropic TV per pixel: ``|dx| + |dy|`` averaged over channels.

    Args:
        x: (N, C, H, W).
    Returns:
        (N, 1, H, W); zero on a constant image.
    """
    dx, dy = _grads(x)
    return (dx.abs() + dy.abs()).mean(dim=1, keepdim=True)


def structure_aware_tv_map(
    illumination: torch.Tensor, guide: torch.Tensor, lambda_g: float = 10.0
) -> torch.Tensor:
    """Paper 002 eq. 8, one term: ``|grad L| * exp(-lambda_g |grad I|)`` per pixel.

    The illumination may vary where the guide (the input image) has edges, and is pushed
    to be flat elsewhere. Call it once with (L, I) and once with (L_inv, 1 - I).

    Args:
        illumination: (N, 1|3, H, W) the predicted illumination map.
        guide: (N, 3, H, W) the input image in [0, 1] (or its inverse).
        lambda_g: structure-awareness strength (10 in the paper).
    Returns:
        (N, 1, H, W).
    """
    if illumination.shape[-2:] != guide.shape[-2:]:
        raise ValueError(
            f"structure-aware TV: illumination {tuple(illumination.shape)} and guide "
            f"{tuple(guide.shape)} differ in size"
        )
    lx, ly = _grads(illumination)
    gx, gy = _grads(guide.mean(dim=1, keepdim=True))
    wx = torch.exp(-lambda_g * gx.abs())
    wy = torch.exp(-lambda_g * gy.abs())
    return (lx.abs() * wx + ly.abs() * wy).mean(dim=1, keepdim=True)
