"""deepupe: Underexposed Photo Enhancement using deep illumination estimation (DeepUPE,
Wang et al., CVPR 2019; referenced by paper 000 §4, Tables 1-2; public description).

Retinex: a low-resolution path on the image box-resampled to 256 x 256 extracts splat
features (four stride-2 convs, 256 -> 16 px), local features (two convs) and global features
(two stride-2 convs, global pooling, a linear layer), fuses them and predicts a bilateral grid
of illumination coefficients (16 x 16 cells, ``grid_depth`` guide bins, an affine (a, b) per
RGB channel). A learned full-resolution guide (pointwise 3 -> 1) slices it (bilateral guided
upsampling: the grid is sliced at 256 px and the affine coefficients are applied to the
full-resolution guide), giving the illumination L (3 channels) in (0, 1]; the output is
Y = I / L (retinex family).

RANLEN sites: splat features (after the first two convs), global features, local features
(paper 000 §4: "splat features extraction, global features extraction, local features
extraction"). DeepUPE has no normalisation layers there; they are inserted (affine
BatchNorm in global/concat).

Parameter counts (default options, asserted by tests/models/test_archs.py): global 55,097,
concat 55,257, ranlen 81,876 (RANLEN modules and the refine conv included).

Deviations for CPU, said plainly: widths 8-16-32-32 instead of HDRNet's 8-16-32-64; the grid
is sliced at 256 px and its affine coefficients upsampled (rather than slicing the full grid
at full resolution), which keeps the full-resolution work to a few channels; L is floored to
(FLOOR + sigmoid) so that I / L stays finite. No perceptual loss (no VGG weights here).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from limelight.core.recompose import FLOOR
from limelight_models.archs import register_backbone
from limelight_models.layers import (
    GlobalContext,
    area_resize,
    bilateral_slice,
    conv,
    upsample_to,
    with_mask,
)
from limelight_models.ranlen import check_conversion, mask_channels, norm_site

LOW_RES = 256


@register_backbone("deepupe", family="retinex")
class DeepUPE(nn.Module):
    """forward(image, mask) -> {"illumination": [N,3,H,W] in (0, 1)}."""

    map_names = ("illumination",)
    pad_multiple = 1

    def __init__(self, conversion: str, grid_depth: int = 8, ranlen_hidden: int = 16) -> None:
        super().__init__()
        check_conversion(conversion)
        self.conversion = conversion
        self.depth = grid_depth
        extra = mask_channels(conversion)
        widths = (8, 16, 32, 32)
        c_in = 3 + extra
        self.splat = nn.ModuleList()
        for w in widths:
            self.splat.append(conv(c_in, w, stride=2))
            c_in = w
        self.splat_norms = nn.ModuleList(
            norm_site(conversion, w, ranlen_hidden) for w in widths[:2]
        )
        self.glob_convs = nn.Sequential(conv(32, 32, stride=2), nn.ReLU(inplace=True))
        self.glob_norm = norm_site(conversion, 32, ranlen_hidden)
        self.glob_conv2 = conv(32, 32, stride=2)
        self.glob = GlobalContext(32, 32)
        self.local1 = conv(32, 32)
        self.local_norm = norm_site(conversion, 32, ranlen_hidden)
        self.local2 = conv(32, 32, bias=False)
        self.grid = conv(32, 3 * 2 * grid_depth, k=1)
        self.guide = nn.Sequential(conv(3 + extra, 8, k=1), nn.ReLU(inplace=True), conv(8, 1, k=1))

    def forward(self, image: Tensor, mask: Tensor) -> dict[str, Tensor]:
        cmask = mask if self.conversion == "concat" else None
        nmask = area_resize(mask, (LOW_RES, LOW_RES), 2) if self.conversion == "ranlen" else None
        full = with_mask(image, cmask)
        low = area_resize(full, (LOW_RES, LOW_RES), prepool=2)
        h = low
        for i, layer in enumerate(self.splat):
            h = layer(h)
            if i < 2:
                h = self.splat_norms[i](h, nmask)
            h = F.relu(h)
        g = self.glob_norm(self.glob_convs(h), nmask)
        g = self.glob(F.relu(self.glob_conv2(F.relu(g))))
        loc = self.local2(F.relu(self.local_norm(self.local1(h), nmask)))
        grid = self.grid(F.relu(loc + g))  # [N, 3*2*D, 16, 16]
        guide_low = torch.sigmoid(self.guide(low))
        guide = torch.sigmoid(self.guide(full))
        coeffs = upsample_to(bilateral_slice(grid, guide_low, channels=6), image)
        illum = coeffs[:, 0:3] * guide + coeffs[:, 3:6]
        return {"illumination": FLOOR + (1.0 - FLOOR) * torch.sigmoid(illum)}
