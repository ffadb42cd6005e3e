"""RANLEN and the Concat conversion: how a global backbone g becomes a local model f.

RANLEN (paper 000, §3.2, eq. 1): selected normalisation layers of g's *encoder* are replaced
by a mask-conditioned spatially-adaptive normalisation::

    gamma_{c,y,x}(M) * (h_{n,c,y,x} - mu_c) / sigma_c + beta_{c,y,x}(M)

mu_c, sigma_c are per-channel statistics over the batch and positions (a parameter-free
BatchNorm, as eq. 1 indexes them by channel only); gamma(M), beta(M) come from a two-layer CNN
on the mask M resized (box average) to the layer. We predict ``1 + gamma`` (as SPADE does) so
that a fresh module starts as the plain normalisation. RANLEN also adds "one more convolution
layer after the output tail to refine the enhancement result": :class:`Refine`, exported as
the ``refine`` residual map (``Y += min(degree, 1) * refine`` in recompose.py).

In ``global`` and ``concat`` models the same places hold an ordinary affine BatchNorm, so the
three conversions differ only in how the mask enters (none / input channels / normalisation).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from limelight_models.layers import area_resize, conv

CONVERSIONS = ("global", "concat", "ranlen")


def check_conversion(conversion: str) -> None:
    """ValueError naming the allowed values if ``conversion`` is unknown."""
    if conversion not in CONVERSIONS:
        raise ValueError(f"conversion must be one of {CONVERSIONS}, got {conversion!r}")


def mask_channels(conversion: str) -> int:
    """Extra input channels of a first layer: 2 for ``concat``, else 0."""
    return 2 if conversion == "concat" else 0


class RANLEN(nn.Module):
    """Mask-conditioned normalisation of eq. 1.

    Args:
        channels: C of the activation h [N,C,h,w].
        hidden: width of the mask-embedding layer.
    forward(h, mask): mask [N,2,H',W'] in [0,1] at any size (resized to h's size).
    """

    def __init__(self, channels: int, hidden: int = 16) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.embed = nn.Sequential(conv(2, hidden), nn.ReLU(inplace=True))
        self.gamma = conv(hidden, channels)
        self.beta = conv(hidden, channels)
        for layer in (self.gamma, self.beta):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        if mask is None:
            raise ValueError("RANLEN needs the mask")
        m = mask
        if tuple(m.shape[-2:]) != tuple(h.shape[-2:]):  # callers at full res pass it resized
            m = area_resize(mask, (int(h.shape[-2]), int(h.shape[-1])))
        e = self.embed(m)
        return self.norm(h) * (1.0 + self.gamma(e)) + self.beta(e)


class PlainNorm(nn.Module):
    """The unconditional normalisation at a RANLEN site (global / concat): affine BatchNorm."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels)

    def forward(self, h: Tensor, mask: Tensor | None = None) -> Tensor:
        return self.norm(h)


def norm_site(conversion: str, channels: int, hidden: int = 16) -> nn.Module:
    """A normalisation site of an encoder: RANLEN for ``ranlen``, else affine BatchNorm.

    Call it as ``site(h, mask)``; the plain norm ignores the mask.
    """
    check_conversion(conversion)
    if conversion == "ranlen":
        return RANLEN(channels, hidden)
    return PlainNorm(channels)


class Refine(nn.Module):
    """The extra refinement after the output tail: the ``refine`` residual [N,3,H,W].

    Input: the recomposed output Y at default knobs, the image I and (when ``use_mask``) the
    mask, concatenated. ``width`` 0 is the paper's single 3x3 convolution (the default: it is
    cheap at full resolution); ``width`` > 0 puts a hidden layer of that many channels (ReLU)
    before it, for backbones without a noise path of their own (design.md: a thin full-
    resolution tail is what handles LOL's noise and zero pixels). The last conv starts at
    zero, so training starts from the backbone's own output. Unbounded output; the sum is
    clipped by the recomposition.
    """

    def __init__(self, width: int = 0, use_mask: bool = True) -> None:
        super().__init__()
        self.use_mask = use_mask
        c_in = 6 + (2 if use_mask else 0)
        self.hidden = conv(c_in, width) if width > 0 else None
        self.out = conv(width if width > 0 else c_in, 3)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, output: Tensor, image: Tensor, mask: Tensor) -> Tensor:
        parts = [output, image] + ([mask] if self.use_mask else [])
        x = torch.cat(parts, dim=1)
        if self.hidden is not None:
            x = torch.relu(self.hidden(x))
        return self.out(x)
