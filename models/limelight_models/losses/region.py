"""The region-aware total loss of RANLEN (paper 000 eq. 5) with coverage normalisation.

    L = alpha * L_A / r_a + beta * L_B / r_b + gamma * L_C / r_c

per image, then averaged over the batch. Each L_X is the mean over all pixels of a per-pixel
loss map multiplied by the soft area weight w_X, and r_X is the mean of w_X (the area's
coverage), so L_X / r_X is the loss averaged over the area alone, whatever its size. An area
with coverage below ``MIN_COVERAGE`` contributes 0 (for example B and C in the global
setting).

Area weights from the mask (N, 2, H, W) = [A, A u B], exactly as
``limelight.core.masks.area_weights`` computes them: w_A = ch0, w_B = ch1 - ch0, w_C = 1 - ch1.

L_B is a *sum* over the pixels of B in eq. 2, while L_A and L_C are means; beta = 1e-4 is
calibrated for that sum. We keep it a sum over a fixed reference image of
``LB_REFERENCE_PIXELS`` (256 x 256) pixels: the logged L_B is the B-average of eq. 2 times
65,536, so that its weight does not change with the random crop size.

Without L_B (``use_lb = False``, the ablation of the paper's Fig. 6) the image is split in two
parts, A and its complement, and the complement gets the reconstruction loss: w_C = 1 - ch0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from limelight_models.losses.gradient_smooth import gradient_smooth_map

MIN_COVERAGE = 1e-6
#: Pixel count that turns the B-average of eq. 2 back into its sum (a 256 x 256 crop).
LB_REFERENCE_PIXELS = 256 * 256


@dataclass(frozen=True)
class RegionWeights:
    """alpha, beta, gamma of eq. 5 (paper: 1, 1e-4, 1) and the L_B switch."""

    alpha: float = 1.0
    beta: float = 1e-4
    gamma: float = 1.0
    use_lb: bool = True
    #: Weight of mean |refine| (RANLEN's refinement residual, where a model has one) added to
    #: the total. Not in the paper: the residual is added after the knobs' formulas, so
    #: whatever it carries no knob can change; a penalty moves the work back into the maps
    #: the knobs act on. 0 = off (the paper's loss).
    refine_l1: float = 0.0
    #: Weight of a mean squared error over area A added to the backbone's own loss map. Not in
    #: the papers: LOL is scored by PSNR (a squared error), while the fusion_net loss's Huber
    #: term is 0.5 d^2 beside 1 - SSIM, which hardly sees a global brightness error; trained
    #: on it, the default's outputs are darker than LOL's references on average (its mean
    #: best gain, ``exposure_gain`` in docs/results.json, is above 1). 0 = off.
    mse_a: float = 0.0


@dataclass(frozen=True)
class RegionLoss:
    """The total (scalar, differentiable) and its three normalised terms (detached floats)."""

    total: torch.Tensor
    loss_a: float
    loss_b: float
    loss_c: float


def area_weights(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(w_A, w_B, w_C), each (N, 1, H, W) in [0, 1], from a (N, 2, H, W) mask."""
    if mask.ndim != 4 or mask.shape[1] != 2:
        raise ValueError(f"mask must be (N, 2, H, W), got {tuple(mask.shape)}")
    a, ab = mask[:, 0:1], mask[:, 1:2]
    return a, (ab - a).clamp_min(0.0), 1.0 - ab


def area_mean(loss_map: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Per image: sum(w * loss) / sum(w), or 0 where the area is (almost) empty. Shape (N,)."""
    num = (loss_map * weight).flatten(1).mean(dim=1)
    cov = weight.flatten(1).mean(dim=1)
    safe = cov.clamp_min(MIN_COVERAGE)
    return torch.where(cov > MIN_COVERAGE, num / safe, torch.zeros_like(num))


def region_loss(
    loss_a_map: torch.Tensor,
    output: torch.Tensor,
    smooth_target: torch.Tensor,
    image: torch.Tensor,
    mask: torch.Tensor,
    weights: RegionWeights = RegionWeights(),
) -> RegionLoss:
    """Eq. 5.

    Args:
        loss_a_map: (N, 1, H, W) the backbone's own loss per pixel (``backbone_losses``).
        output: (N, 3, H, W) the model's output in [0, 1].
        smooth_target: (N, 1|3, H, W) the map L_B acts on (see ``gradient_smooth``).
        image: (N, 3, H, W) the input in [0, 1].
        mask: (N, 2, H, W) [A, A u B].
    """
    w_a, w_b, w_c = area_weights(mask)
    if not weights.use_lb:
        w_c = 1.0 - w_a
    l_a = area_mean(loss_a_map, w_a)
    l_c = area_mean(((output - image) ** 2).mean(dim=1, keepdim=True), w_c)
    total = weights.alpha * l_a + weights.gamma * l_c
    if weights.use_lb:
        l_b = area_mean(gradient_smooth_map(smooth_target, image), w_b) * LB_REFERENCE_PIXELS
        total = total + weights.beta * l_b
    else:
        l_b = torch.zeros_like(l_a)
    return RegionLoss(
        total=total.mean(),
        loss_a=float(l_a.detach().mean()),
        loss_b=float(l_b.detach().mean()),
        loss_c=float(l_c.detach().mean()),
    )
