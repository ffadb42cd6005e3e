"""Each backbone's own loss (L_A of RANLEN eq. 5) as a per-pixel map.

The maps are averaged over area A by ``region.region_loss``; every term here is therefore
written per pixel (N, 1, H, W). What each backbone's paper uses, and what we changed:

* ``fusion_net`` (paper 002 eq. 4-9): Huber (delta 0.5) + (1 - SSIM) + 0.002 x structure-aware
  TV of both illuminations (lambda_g 10) + 1e-4 x TV of the output (the restoration loss's
  global TV). The paper trains the Restoration-Net in a second stage with the first frozen;
  we train all three parts end to end with the sum. Its VGG-19 perceptual term is left out:
  no pretrained VGG weights can be obtained here.
* ``dln`` (paper 003): 1 - SSIM + 0.001 x TV of the output.
* ``gladnet`` (paper 004): L1 with channel weights (0.29891, 0.58661, 0.11448) (R, G, B).
* ``deepupe`` (DeepUPE, CVPR 2019; not in our seeds): L2 reconstruction + illumination
  smoothness (first-order, weights (|d log I|^1.2 + 1e-4)^-1) + colour loss (angle between
  RGB vectors of output and target). The term weights DEEPUPE_SMOOTH and DEEPUPE_COLOUR are
  our choice (the paper's values could not be checked here): each term starts at the order
  of magnitude of the reconstruction term. Its VGG-16 encoder is not pretrained either.
* ``star_dce``: STAR trains supervised on pairs; we use L1 + (1 - SSIM).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from limelight_models.losses.gradient_smooth import LOG_FLOOR
from limelight_models.losses.huber import huber_map
from limelight_models.losses.ssim import ssim_map
from limelight_models.losses.tv import structure_aware_tv_map, tv_map

FUSION_DELTA = 0.5
FUSION_OMEGA_I = 0.002
FUSION_LAMBDA_G = 10.0
FUSION_OMEGA_G = 1e-4
DLN_TV = 0.001
GLADNET_CHANNELS = (0.29891, 0.58661, 0.11448)
DEEPUPE_SMOOTH = 0.01
DEEPUPE_COLOUR = 0.05
DEEPUPE_S, DEEPUPE_EPS = 1.2, 1e-4

Maps = Mapping[str, torch.Tensor]


def _one_minus_ssim(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return 1.0 - ssim_map(out, target)


def fusion_net_loss(maps: Maps, target: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Paper 002 eq. 4 + eq. 9 without the perceptual term; (N, 1, H, W)."""
    out = maps["output"]
    loss = huber_map(out, target, FUSION_DELTA) + _one_minus_ssim(out, target)
    smooth = structure_aware_tv_map(maps["illumination"], image, FUSION_LAMBDA_G)
    smooth = smooth + structure_aware_tv_map(maps["illumination_inv"], 1.0 - image, FUSION_LAMBDA_G)
    return loss + FUSION_OMEGA_I * smooth + FUSION_OMEGA_G * tv_map(out)


def dln_loss(maps: Maps, target: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """DLN: 1 - SSIM + 0.001 TV; (N, 1, H, W)."""
    out = maps["output"]
    return _one_minus_ssim(out, target) + DLN_TV * tv_map(out)


def gladnet_loss(maps: Maps, target: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """GLADNet: channel-weighted L1; (N, 1, H, W)."""
    w = torch.tensor(GLADNET_CHANNELS, dtype=target.dtype, device=target.device)
    return ((maps["output"] - target).abs() * w.view(1, 3, 1, 1)).sum(dim=1, keepdim=True)


def illumination_smoothness_map(illumination: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """DeepUPE's smoothness: sum_uv w_u (d_u S)^2, w_u = (|d_u log I|^1.2 + 1e-4)^-1."""
    with torch.no_grad():
        log_i = torch.log(image.mean(dim=1, keepdim=True).clamp_min(LOG_FLOOR))
        gx = torch.nn.functional.pad(log_i[..., :, 1:] - log_i[..., :, :-1], (0, 1, 0, 0))
        gy = torch.nn.functional.pad(log_i[..., 1:, :] - log_i[..., :-1, :], (0, 0, 0, 1))
        wx = 1.0 / (gx.abs() ** DEEPUPE_S + DEEPUPE_EPS)
        wy = 1.0 / (gy.abs() ** DEEPUPE_S + DEEPUPE_EPS)
    sx = torch.nn.functional.pad(illumination[..., :, 1:] - illumination[..., :, :-1], (0, 1, 0, 0))
    sy = torch.nn.functional.pad(illumination[..., 1:, :] - illumination[..., :-1, :], (0, 0, 0, 1))
    return (wx * sx**2 + wy * sy**2).mean(dim=1, keepdim=True)


def colour_angle_map(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Angle (radians) between the RGB vectors of two images, per pixel; (N, 1, H, W)."""
    cos = torch.nn.functional.cosine_similarity(out, target, dim=1, eps=1e-6)
    return torch.acos(cos.clamp(-1.0 + 1e-6, 1.0 - 1e-6)).unsqueeze(1)


def deepupe_loss(maps: Maps, target: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """DeepUPE: L2 + smoothness of the illumination + colour angle; (N, 1, H, W)."""
    out = maps["output"]
    loss = ((out - target) ** 2).mean(dim=1, keepdim=True)
    loss = loss + DEEPUPE_SMOOTH * illumination_smoothness_map(maps["illumination"], image)
    return loss + DEEPUPE_COLOUR * colour_angle_map(out, target)


def star_dce_loss(maps: Maps, target: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """STAR-DCE supervised: L1 + (1 - SSIM); (N, 1, H, W)."""
    out = maps["output"]
    return (out - target).abs().mean(dim=1, keepdim=True) + _one_minus_ssim(out, target)


BACKBONE_LOSSES: dict[str, Callable[[Maps, torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "fusion_net": fusion_net_loss,
    "dln": dln_loss,
    "gladnet": gladnet_loss,
    "deepupe": deepupe_loss,
    "star_dce": star_dce_loss,
}


def backbone_loss_map(
    backbone: str, maps: Maps, target: torch.Tensor, image: torch.Tensor
) -> torch.Tensor:
    """L_A per pixel for ``backbone``.

    Args:
        backbone: one of ``BACKBONE_LOSSES``.
        maps: the model's forward() dict ("output" and the family's maps), NCHW.
        target: (N, 3, H, W) ground truth in [0, 1].
        image: (N, 3, H, W) the input in [0, 1].
    Returns:
        (N, 1, H, W).
    """
    try:
        fn = BACKBONE_LOSSES[backbone]
    except KeyError:
        raise ValueError(
            f"no loss for backbone {backbone!r}; known: {sorted(BACKBONE_LOSSES)}"
        ) from None
    return fn(maps, target, image)
