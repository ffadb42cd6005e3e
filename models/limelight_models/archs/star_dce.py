"""star_dce: STAR (structure-aware light-weight transformer, Zhang et al., ICCV 2021) with a
Zero-DCE curve tail, as used by paper 000 (§4, "Backbones": "the STAR-DCE backbone with the
Mean Head tokenization Strategy. The network width is 32"; public descriptions).

The image is box-resampled to 64 x 64; a conv stem extracts features, and *mean-head
tokenisation* turns every 4 x 4 patch into a token by averaging the patch's features
(the mean head) and projecting to width 32, plus a learned position embedding (16 x 16
tokens). Two transformer blocks (pre-LayerNorm, 2-head self-attention, MLP x2) mix the
tokens globally. A head upsamples the token map to 64 x 64, fuses it with the stem features
(skip) and predicts 3n Zero-DCE curve parameters a in [-1, 1] (tanh), bilinearly upsampled to
full resolution: the ``curve`` map [N,3n,H,W]. The curve LE(x) = x + a x (1 - x) is applied n
times per pixel at full resolution (curve family; see recompose.py).

RANLEN site: in the tokenisation (paper 000 §4), after the stem conv (STAR's tokeniser has no
normalisation there; one is inserted, affine BatchNorm in global/concat).

Parameter counts (default options, asserted by tests/models/test_archs.py): global 35,036,
concat 35,324, ranlen 40,167 (RANLEN modules and the refine conv included).

Deviations for CPU, said plainly: n = 4 curve iterations (Zero-DCE uses 8) to keep the
exported map at 12 channels; two transformer blocks; per-pixel parameters come from a 64 x 64
map bilinearly upsampled (STAR-DCE predicts them at low resolution too).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from limelight_models.archs import register_backbone
from limelight_models.layers import area_resize, conv, upsample_to, with_mask
from limelight_models.ranlen import check_conversion, mask_channels, norm_site

LOW_RES = 64
PATCH = 4


class Block(nn.Module):
    """Pre-norm transformer block on tokens [N,T,C]."""

    def __init__(self, dim: int, heads: int = 2, mlp: int = 2) -> None:
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp * dim), nn.GELU(), nn.Linear(mlp * dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        n, t, c = x.shape
        d = c // self.heads
        q, k, v = self.qkv(self.ln1(x)).reshape(n, t, 3, self.heads, d).permute(2, 0, 3, 1, 4)
        att = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d), dim=-1)
        y = torch.matmul(att, v).permute(0, 2, 1, 3).reshape(n, t, c)
        x = x + self.proj(y)
        return x + self.mlp(self.ln2(x))


@register_backbone("star_dce", family="curve")
class StarDCE(nn.Module):
    """forward(image, mask) -> {"curve": [N,3n,H,W] in [-1, 1]}."""

    map_names = ("curve",)
    pad_multiple = 1

    def __init__(
        self,
        conversion: str,
        width: int = 32,
        depth: int = 2,
        iterations: int = 4,
        ranlen_hidden: int = 16,
    ) -> None:
        super().__init__()
        check_conversion(conversion)
        self.conversion = conversion
        extra = mask_channels(conversion)
        self.stem = conv(3 + extra, 16)
        self.stem_norm = norm_site(conversion, 16, ranlen_hidden)
        self.embed = nn.Linear(16, width)
        side = LOW_RES // PATCH
        self.pos = nn.Parameter(torch.zeros(1, side * side, width))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList(Block(width) for _ in range(depth))
        self.ln = nn.LayerNorm(width)
        self.head1 = conv(width + 16, 16)
        self.head2 = conv(16, 3 * iterations)

    def forward(self, image: Tensor, mask: Tensor) -> dict[str, Tensor]:
        side = LOW_RES // PATCH
        low_mask = area_resize(mask, (LOW_RES, LOW_RES), prepool=2)
        cmask = low_mask if self.conversion == "concat" else None
        nmask = low_mask if self.conversion == "ranlen" else None
        x = with_mask(area_resize(image, (LOW_RES, LOW_RES), prepool=2), cmask)
        feat = F.relu(self.stem_norm(self.stem(x), nmask))
        tokens = F.avg_pool2d(feat, PATCH).flatten(2).transpose(1, 2)  # mean head
        t = self.embed(tokens) + self.pos
        for block in self.blocks:
            t = block(t)
        t = self.ln(t).transpose(1, 2).reshape(t.shape[0], -1, side, side)
        up = F.interpolate(t, scale_factor=float(PATCH), mode="bilinear", align_corners=False)
        params = torch.tanh(self.head2(F.relu(self.head1(torch.cat([up, feat], dim=1)))))
        return {"curve": upsample_to(params, image)}
