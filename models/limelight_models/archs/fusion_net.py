"""fusion_net: the light-weight dual-illumination network for non-uniform illumination.

Paper 002 (seeds/002_*), §4.1 (enhancement model, eq. 2-3), §4.2 (network) and eq. 10 (the
interactive model with gamma1, gamma2, gamma3). Three sub-networks:

* Illumination-Net: the bright channel max_c(I) (and, for the over-exposure branch, the bright
  channel of the inverted image, max_c(1 - I)) is box-resampled to 2S x 2S and packed 2x2 into
  4 channels at S x S (S = ``low_res``, 64); a small conv encoder with a global-pooling branch
  predicts a bilateral grid (16 x 16 cells x ``grid_depth`` bins of an affine (a, b)) per
  illumination. Bilateral guided upsampling: the grid is sliced at S x S with the low-res
  bright channel, and the coefficients, bilinearly upsampled, are applied to the
  full-resolution bright channel (a * guide + b); sigmoid -> L, Li in (0, 1).
* Fusion-Net: a small U-Net (two scales + global pooling) on the S x S thumbnails of I, I_U
  and I_O predicts softmax weights for (I, I_U, I_O), bilinearly upsampled (a convex mix of
  simplex points stays on the simplex, so the weights still sum to 1).
* Restoration-Net: multi-branch, on I scaled to [-1, 1] and packed 2 x 2 (lossless
  space-to-depth, so H and W must be even: ``pad_multiple`` 2): a branch on the packed pixels
  and a quarter-resolution branch fed from its features (the skip between branches), summed
  and unpacked into the negative noise map N (3 channels). Its last convs start at zero.
  With the model option ``noise_smoothing`` (``build_model``; the shipped fusion rows since
  2026-11-30) this output is instead the weight alpha = sigmoid(x - 4) of a smoothing,
  N = alpha * (box5(rest) - rest), so that N can only remove noise (docs/architecture.md).

RANLEN sites (encoder only): after the first two convs of the Illumination-Net and of the
Fusion-Net's encoder. The published network has no normalisation layers; they are inserted
there (affine BatchNorm in ``global``/``concat``, RANLEN in ``ranlen``).

Parameter counts (default options, asserted by tests/models/test_archs.py): global 8,667,
concat 9,531, ranlen 14,102 (RANLEN modules and the refine conv included).

Deviations for CPU, said plainly: the paper's exact layer widths are in a figure we do not
have; ours land near its size (8.7k rather than ~5k: the restoration branch is wider so it
can handle LOL's noise). The Illumination-Net shares one encoder
for I and its inverse (the two packed bright channels are stacked as 8 input channels), and
the Fusion-Net runs at S x S instead of full resolution. Everything heavy runs at S x S or
smaller; at full resolution only two 1-channel affine maps, the weight upsampling, the
packing/unpacking and the formulas run (plus the refine conv in ``ranlen``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from limelight_models.archs import register_backbone
from limelight_models.layers import (
    GlobalContext,
    area_resize,
    conv,
    guided_affine,
    upsample_to,
    with_mask,
)
from limelight_models.ranlen import check_conversion, mask_channels, norm_site
from limelight_models.recompose import over_exposure, under_exposure

MAP_NAMES = ("illumination", "illumination_inv", "weights", "noise")


class IlluminationNet(nn.Module):
    """Packed bright channels [N,8(+2),S,S] -> two grids [N,2D,S/4,S/4] of affine (a, b)."""

    def __init__(self, conversion: str, width: int, depth: int, hidden: int) -> None:
        super().__init__()
        self.conv1 = conv(8 + mask_channels(conversion), width)
        self.norm1 = norm_site(conversion, width, hidden)
        self.conv2 = conv(width, width, stride=2)
        self.norm2 = norm_site(conversion, width, hidden)
        self.conv3 = conv(width, width, stride=2)
        self.glob_conv = conv(width, width, stride=2)
        self.glob = GlobalContext(width, width)
        self.head = conv(width, 4 * depth, k=1)

    def forward(self, x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        h = F.relu(self.norm1(self.conv1(x), mask))
        h = F.relu(self.norm2(self.conv2(h), mask))
        h = self.conv3(h)
        g = self.glob(F.relu(self.glob_conv(F.relu(h))))
        grids = self.head(F.relu(h + g))
        return grids.chunk(2, dim=1)


class FusionUNet(nn.Module):
    """Thumbnails of (I, I_U, I_O) [N,9(+2),S,S] -> fusion weights [N,3,S,S] (softmax)."""

    def __init__(self, conversion: str, width: int, hidden: int) -> None:
        super().__init__()
        w1 = w2 = width
        self.conv1 = conv(9 + mask_channels(conversion), w1)
        self.norm1 = norm_site(conversion, w1, hidden)
        self.down = conv(w1, w2, stride=2)
        self.norm2 = norm_site(conversion, w2, hidden)
        self.mid = conv(w2, w2)
        self.glob = GlobalContext(w2, w2)
        self.up = conv(w2, w1)
        self.out = conv(w1, 3)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        e1 = F.relu(self.norm1(self.conv1(x), mask))
        e2 = F.relu(self.norm2(self.down(e1), mask))
        m = F.relu(self.mid(e2) + self.glob(e2))
        u = F.relu(self.up(F.interpolate(m, scale_factor=2.0, mode="nearest")) + e1)
        return torch.softmax(self.out(u), dim=1)


class RestorationNet(nn.Module):
    """Multi-branch noise estimator: [N,3(+2),H,W] -> negative noise map N [N,3,H,W].

    H and W must be even: the image is packed 2x2 (space-to-depth, lossless) so that every
    conv runs at half resolution yet sees every full-resolution pixel. Branch 1 works on the
    packed pixels, branch 2 at quarter resolution on branch 1's features (the skip between
    branches); their sums are unpacked to full resolution.
    """

    def __init__(self, conversion: str, width: int) -> None:
        super().__init__()
        self.stem = conv(4 * (3 + mask_channels(conversion)), width)
        self.branch1 = conv(width, 12)
        self.branch2 = conv(width, width)
        self.branch2_out = conv(width, 12)
        for layer in (self.branch1, self.branch2_out):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: Tensor) -> Tensor:
        f = F.relu(self.stem(F.pixel_unshuffle(x, 2)))
        b2 = self.branch2_out(F.relu(self.branch2(F.avg_pool2d(f, 2))))
        return F.pixel_shuffle(self.branch1(f) + upsample_to(b2, f), 2)


@register_backbone("fusion_net", family="fusion")
class FusionNet(nn.Module):
    """fusion_net backbone; ``forward(image, mask) -> {illumination, illumination_inv,
    weights, noise}`` (NCHW; L, Li [N,1,H,W] in (0,1); weights [N,3,H,W]; noise [N,3,H,W])."""

    map_names = MAP_NAMES
    pad_multiple = 2

    def __init__(
        self,
        conversion: str,
        low_res: int = 64,
        width: int = 8,
        grid_depth: int = 8,
        restoration_width: int = 8,
        ranlen_hidden: int = 8,
    ) -> None:
        super().__init__()
        check_conversion(conversion)
        if low_res % 8:
            raise ValueError(f"low_res must be a multiple of 8, got {low_res}")
        self.conversion = conversion
        self.low_res = low_res
        self.illum = IlluminationNet(conversion, width, grid_depth, ranlen_hidden)
        self.fusion = FusionUNet(conversion, width, ranlen_hidden)
        self.restore = RestorationNet(conversion, restoration_width)

    def forward(self, image: Tensor, mask: Tensor) -> dict[str, Tensor]:
        s = self.low_res
        concat = self.conversion == "concat"
        norm_mask = area_resize(mask, (s, s), prepool=2) if self.conversion == "ranlen" else None
        low_mask = area_resize(mask, (s, s), prepool=2) if concat else None
        bright = image.amax(dim=1, keepdim=True)
        bright_inv = 1.0 - image.amin(dim=1, keepdim=True)
        brights = area_resize(torch.cat([bright, bright_inv], 1), (2 * s, 2 * s), prepool=2)
        packed = F.pixel_unshuffle(brights, 2)
        grid, grid_inv = self.illum(with_mask(packed, low_mask), norm_mask)
        guides_low = F.avg_pool2d(brights, 2)
        illumination = torch.sigmoid(guided_affine(grid, guides_low[:, 0:1], bright))
        illumination_inv = torch.sigmoid(guided_affine(grid_inv, guides_low[:, 1:2], bright_inv))

        thumb = area_resize(torch.cat([image, illumination, illumination_inv], 1), (s, s), 2)
        i_s, l_s, li_s = thumb[:, :3], thumb[:, 3:4], thumb[:, 4:5]
        under, over = under_exposure(i_s, l_s), over_exposure(i_s, li_s)
        weights = upsample_to(
            self.fusion(with_mask(torch.cat([i_s, under, over], 1), low_mask), norm_mask), image
        )
        noise = self.restore(with_mask(image * 2.0 - 1.0, mask if concat else None))
        return {
            "illumination": illumination,
            "illumination_inv": illumination_inv,
            "weights": weights,
            "noise": noise,
        }
