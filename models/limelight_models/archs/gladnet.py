"""gladnet: GLobal illumination-Aware and Detail-preserving Network (paper 004, §2 and §3.1).

Global illumination estimation: the input is resized to 96 x 96, a conv + ReLU, five
down-sampling blocks (stride-2 conv + ReLU: 48, 24, 12, 6, 3 px, so the 3 x 3 bottleneck sees
the whole image), five up-sampling blocks (nearest x2 resize + conv + ReLU, "resize-conv")
with additive skips from the mirrored down blocks; the result is resized back to H x W.
Detail reconstruction: concatenation with the input, three 3 x 3 convs. Output: the residual
E with Y = I + E (residual family).

RANLEN sites (encoder): after the first conv and the first two down blocks (GLADNet has no
normalisation layers; they are inserted there, affine BatchNorm in global/concat).

Parameter counts (default options, asserted by tests/models/test_archs.py): global 25,127,
concat 25,559, ranlen 40,082 (RANLEN modules and the refine conv included).

Deviations for CPU, said plainly: width 16 instead of 64 in the encoder-decoder; the
global-path features are reduced to 4 channels before the resize to full resolution and the
three detail convs are 8 channels wide (the paper uses 64 at full resolution, far too slow on
a CPU at 1 MP); the 96 x 96 resize is a box average instead of nearest-neighbour, because
LOL's dark images are very noisy and nearest sampling keeps the noise; the last conv predicts
E directly (the paper predicts Y; same function class, E = Y - I).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from limelight_models.archs import register_backbone
from limelight_models.layers import area_resize, conv, upsample_to, with_mask
from limelight_models.ranlen import check_conversion, mask_channels, norm_site

SIZE = 96


@register_backbone("gladnet", family="residual")
class GLADNet(nn.Module):
    """forward(image, mask) -> {"residual": [N,3,H,W]}."""

    map_names = ("residual",)
    pad_multiple = 1

    def __init__(
        self, conversion: str, width: int = 16, detail_width: int = 8, ranlen_hidden: int = 16
    ) -> None:
        super().__init__()
        check_conversion(conversion)
        self.conversion = conversion
        extra = mask_channels(conversion)
        self.inp = conv(3 + extra, width)
        self.norms = nn.ModuleList(norm_site(conversion, width, ranlen_hidden) for _ in range(3))
        self.down = nn.ModuleList(conv(width, width, stride=2) for _ in range(5))
        self.up = nn.ModuleList(conv(width, width) for _ in range(5))
        self.reduce = conv(width, 4, k=1)
        self.detail = nn.Sequential(
            conv(3 + extra + 4, detail_width),
            nn.ReLU(inplace=True),
            conv(detail_width, detail_width),
            nn.ReLU(inplace=True),
            conv(detail_width, 3),
        )

    def forward(self, image: Tensor, mask: Tensor) -> dict[str, Tensor]:
        cmask = mask if self.conversion == "concat" else None
        nmask = mask if self.conversion == "ranlen" else None
        low_mask = area_resize(mask, (SIZE, SIZE), prepool=2)
        x = area_resize(image, (SIZE, SIZE), prepool=2)
        h = F.relu(
            self.norms[0](
                self.inp(with_mask(x, low_mask if cmask is not None else None)),
                low_mask if nmask is not None else None,
            )
        )
        skips = []
        for i, down in enumerate(self.down):
            skips.append(h)
            h = down(h)
            if i < 2:
                h = self.norms[i + 1](h, low_mask if nmask is not None else None)
            h = F.relu(h)
        for up in self.up:
            h = F.relu(up(F.interpolate(h, scale_factor=2.0, mode="nearest"))) + skips.pop()
        glob = upsample_to(self.reduce(h), image)
        residual = self.detail(torch.cat([with_mask(image, cmask), glob], dim=1))
        return {"residual": residual}
