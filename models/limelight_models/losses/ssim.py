"""Differentiable SSIM map (gaussian 11x11, sigma 1.5), for losses.

Same constants as skimage's ``structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False)``; borders use reflection padding so that a per-pixel map of
the input's size comes out (the evaluation uses skimage itself, see ``metrics.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

K1, K2 = 0.01, 0.03


def _gaussian_window(size: int, sigma: float, channels: int, like: torch.Tensor) -> torch.Tensor:
    coords = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma * sigma))
    g = g / g.sum()
    window = g[:, None] * g[None, :]
    return window.expand(channels, 1, size, size).contiguous()


def ssim_map(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
) -> torch.Tensor:
    """Per-pixel SSIM averaged over channels.

    Args:
        x, y: (N, C, H, W), same shape, values in [0, data_range].
    Returns:
        (N, 1, H, W); exactly 1 where ``x == y``.
    """
    if x.shape != y.shape:
        raise ValueError(f"ssim: x {tuple(x.shape)} vs y {tuple(y.shape)}")
    c = x.shape[1]
    win = _gaussian_window(window_size, sigma, c, x)
    pad = window_size // 2
    mode = "reflect" if min(x.shape[-2:]) > pad else "replicate"

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(t, (pad, pad, pad, pad), mode=mode), win, groups=c)

    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    num = (2 * mx * my + c1) * (2 * cxy + c2)
    den = (mx * mx + my * my + c1) * (vx + vy + c2)
    return (num / den).mean(dim=1, keepdim=True)


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Mean SSIM over all pixels and the batch: a scalar tensor."""
    return ssim_map(x, y, data_range).mean()
