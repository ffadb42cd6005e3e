"""Losses: each backbone's own L_A, RANLEN's L_B (gradient smooth) and L_C, and eq. 5."""

from limelight_models.losses.backbone_losses import BACKBONE_LOSSES, backbone_loss_map
from limelight_models.losses.gradient_smooth import gradient_smooth_map
from limelight_models.losses.region import RegionLoss, RegionWeights, area_weights, region_loss
from limelight_models.losses.ssim import ssim, ssim_map

__all__ = [
    "BACKBONE_LOSSES",
    "RegionLoss",
    "RegionWeights",
    "area_weights",
    "backbone_loss_map",
    "gradient_smooth_map",
    "region_loss",
    "ssim",
    "ssim_map",
]
