"""dln: Deep Lightening Network (paper 003, "The Proposed Method": LBP blocks, multi-level
fusion; residual learning Y = X + E(X)).

Shallow feature extraction, Lightening Back-Projection (LBP) blocks, then the enlightening
part. An LBP block lightens (L1: X -> Y~), darkens back (D1: Y~ -> X~), lightens the
residual (L2: X~ - X -> R) and outputs Y~ + R. Blocks are densely short-connected (each gets a
1 x 1 fusion of all previous outputs) and a fusion conv receives every level's result.

Multi-level and global context: the LBPs run at 1/4 resolution (two stride-2 convs), and a
global branch (the whole image box-resampled to 64 x 64, two stride-2 convs, global pooling)
adds an image-level bias to the features; the fused features are upsampled and an
enlightening tail at full resolution (on their concatenation with the image) predicts E.

RANLEN sites (encoder): after the two shallow feature convs (DLN has no normalisation layers;
inserted there, affine BatchNorm in global/concat).

Parameter counts (default options, asserted by tests/models/test_archs.py): global 32,244,
concat 32,874, ranlen 42,287 (RANLEN modules and the refine conv included).

Deviations for CPU, said plainly: width 16 and three LBPs (the slides do not give the widths;
the original works at full resolution with wider features), each L/D a single 3 x 3 conv +
PReLU, the LBPs at 1/4 resolution, plus the global-context branch; no darkening network /
cycle training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from limelight_models.archs import register_backbone
from limelight_models.layers import GlobalContext, area_resize, conv, upsample_to, with_mask
from limelight_models.ranlen import check_conversion, mask_channels, norm_site

CONTEXT = 64


def _unit(width: int) -> nn.Sequential:
    return nn.Sequential(conv(width, width), nn.PReLU(width))


class LBP(nn.Module):
    """Lightening Back-Projection block on features [N,C,h,w]."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.l1, self.d1, self.l2 = _unit(width), _unit(width), _unit(width)

    def forward(self, x: Tensor) -> Tensor:
        y = self.l1(x)
        return y + self.l2(self.d1(y) - x)


@register_backbone("dln", family="residual")
class DLN(nn.Module):
    """forward(image, mask) -> {"residual": [N,3,H,W]}."""

    map_names = ("residual",)
    pad_multiple = 4

    def __init__(
        self, conversion: str, width: int = 16, blocks: int = 3, ranlen_hidden: int = 16
    ) -> None:
        super().__init__()
        check_conversion(conversion)
        self.conversion = conversion
        extra = mask_channels(conversion)
        self.feat1 = conv(3 + extra, width, stride=2)
        self.norm1 = norm_site(conversion, width, ranlen_hidden)
        self.feat2 = conv(width, width, stride=2)
        self.norm2 = norm_site(conversion, width, ranlen_hidden)
        self.ctx = nn.Sequential(
            conv(3 + extra, width, stride=2),
            nn.ReLU(inplace=True),
            conv(width, width, stride=2),
            nn.ReLU(inplace=True),
        )
        self.glob = GlobalContext(width, width)
        self.lbps = nn.ModuleList(LBP(width) for _ in range(blocks))
        self.links = nn.ModuleList(conv(width * (i + 1), width, k=1) for i in range(blocks))
        self.fuse = conv(width * blocks, 8)
        self.tail = conv(3 + extra + 8, 3)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, image: Tensor, mask: Tensor) -> dict[str, Tensor]:
        cmask = mask if self.conversion == "concat" else None
        nmask = mask if self.conversion == "ranlen" else None
        x = with_mask(image, cmask)
        m1 = F.avg_pool2d(nmask, 2) if nmask is not None else None  # 1/2, 1/4 resolution
        m2 = F.avg_pool2d(m1, 2) if m1 is not None else None
        h = F.relu(self.norm1(self.feat1(x), m1))
        h = F.relu(self.norm2(self.feat2(h), m2))
        h = h + self.glob(self.ctx(area_resize(x, (CONTEXT, CONTEXT), prepool=2)))
        outs: list[Tensor] = [h]
        for link, lbp in zip(self.links, self.lbps, strict=True):
            outs.append(lbp(link(torch.cat(outs, dim=1))))
        fused = F.relu(self.fuse(torch.cat(outs[1:], dim=1)))
        residual = self.tail(torch.cat([x, upsample_to(fused, image)], dim=1))
        return {"residual": residual}
