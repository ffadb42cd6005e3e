"""L_B: the weighted second-order gradient-smooth loss of RANLEN (paper 000 eq. 2-3).

For every pixel p::

    L_B(p) = w_xx (d_xx T)^2 + w_yx (d_y d_x T)^2 + w_xy (d_x d_y T)^2 + w_yy (d_yy T)^2
    w_uv   = (|d_u d_v log I|^s + eps)^-1,   s = 1.2, eps = 1e-4

``T`` is the model's ``smooth_target``: the log of the illumination map for Retinex-style
backbones and the output image otherwise (footnote 2 of the paper); ``I`` is the *input*
image. The weights relax the smoothness where the input itself curves (edges, texture), so
the transition follows the image's structure instead of blurring across it. The discrete
mixed derivative is symmetric, so the two cross terms are equal and both are kept, as
written in eq. 2. Pixels whose stencil leaves the image get 0. ``log I`` uses
``max(I, LOG_FLOOR)`` because LOL's dark frames have exact zeros.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from limelight.core.recompose import FLOOR

S = 1.2
EPS = 1e-4
#: Lowest value the log of the input may see (one 8-bit code value).
LOG_FLOOR = 1.0 / 255.0


def second_derivatives(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Central d_xx, d_yy and forward mixed d_xy of (N, C, H, W), zero-padded to its size."""
    dxx = F.pad(t[..., :, 2:] - 2 * t[..., :, 1:-1] + t[..., :, :-2], (1, 1, 0, 0))
    dyy = F.pad(t[..., 2:, :] - 2 * t[..., 1:-1, :] + t[..., :-2, :], (0, 0, 1, 1))
    dxy = F.pad(
        t[..., 1:, 1:] - t[..., 1:, :-1] - t[..., :-1, 1:] + t[..., :-1, :-1], (0, 1, 0, 1)
    )
    return dxx, dyy, dxy


def smoothness_weights(
    image: torch.Tensor, channels: int, s: float = S, eps: float = EPS
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. 3 on the input: (w_xx, w_yy, w_xy), each (N, channels|1, H, W), no gradient.

    Per channel when ``channels`` equals the image's channel count, else on the channel mean.
    """
    with torch.no_grad():
        src = image if channels == image.shape[1] else image.mean(dim=1, keepdim=True)
        log_i = torch.log(src.clamp_min(LOG_FLOOR))
        return tuple(1.0 / (d.abs() ** s + eps) for d in second_derivatives(log_i))  # type: ignore[return-value]


def gradient_smooth_map(
    smooth_target: torch.Tensor, image: torch.Tensor, s: float = S, eps: float = EPS
) -> torch.Tensor:
    """Per-pixel L_B before restricting it to area B.

    Args:
        smooth_target: (N, C, H, W), C = 1 or 3 (log illumination, or the output image).
        image: (N, 3, H, W) the input in [0, 1]; only its weights are used (no gradient).
    Returns:
        (N, 1, H, W) >= 0, averaged over channels; 0 wherever T is locally affine.
    """
    if smooth_target.shape[-2:] != image.shape[-2:] or smooth_target.shape[0] != image.shape[0]:
        raise ValueError(
            f"gradient-smooth loss: smooth_target {tuple(smooth_target.shape)} does not match "
            f"image {tuple(image.shape)}"
        )
    wxx, wyy, wxy = smoothness_weights(image, smooth_target.shape[1], s, eps)
    dxx, dyy, dxy = second_derivatives(smooth_target)
    per_pixel = wxx * dxx**2 + wyy * dyy**2 + 2.0 * wxy * dxy**2
    return per_pixel.mean(dim=1, keepdim=True)




def lb_target(family: str, smooth_target: torch.Tensor) -> torch.Tensor:
    """What L_B differentiates: ``log(max(L, FLOOR))`` for the Retinex-style families
    (``retinex``, ``fusion``: the model's ``smooth_target`` is its illumination L), the
    output image itself otherwise.

    The log makes L_B act on the log-gain the knobs scale (``Y = I exp(-d log L)``), which
    is also what the evaluation's B roughness measures (log(out / in)).
    """
    if family in ("retinex", "fusion"):
        return torch.log(smooth_target.clamp_min(FLOOR))
    return smooth_target
