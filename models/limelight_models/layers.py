"""Blocks shared by the backbones: ONNX-exportable resampling, bilateral-grid slicing, convs.

Everything here traces with the TorchScript ONNX exporter (opset 17) with dynamic H and W:
no data-dependent Python control flow, sizes taken from tensors, not baked in.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def conv(c_in: int, c_out: int, k: int = 3, stride: int = 1, bias: bool = True) -> nn.Conv2d:
    """A 'same'-padded convolution (k odd)."""
    return nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=bias)


def _area_matrix(ref: Tensor, n_out: int) -> Tensor:
    """(n_out, n_in) row-stochastic matrix of the area (box) resampling of ``n_in`` samples.

    ``ref`` is a 1-D tensor of length n_in (any values): its length is read from the tensor so
    that the ONNX graph keeps n_in dynamic. Entry (i, y) is the overlap of output cell
    [i/n_out, (i+1)/n_out) with input cell [y/n_in, (y+1)/n_in), rows normalised to sum 1;
    exact box averaging when shrinking, piecewise-constant/linear blending when enlarging.
    """
    y = torch.cumsum(torch.ones_like(ref), 0) - 1.0  # 0..n_in-1, length from the graph
    n_in = y[-1:] + 1.0
    i = torch.arange(n_out, dtype=ref.dtype, device=ref.device)
    lo_y, hi_y = y / n_in, (y + 1.0) / n_in
    lo_i, hi_i = i / n_out, (i + 1.0) / n_out
    overlap = torch.minimum(hi_i[:, None], hi_y[None, :]) - torch.maximum(
        lo_i[:, None], lo_y[None, :]
    )
    overlap = overlap.clamp(min=0.0)
    return overlap / overlap.sum(dim=1, keepdim=True)


def area_resize(x: Tensor, size: tuple[int, int], prepool: int = 1) -> Tensor:
    """Resamples ``x`` [N,C,H,W] (any H, W) to the fixed ``size`` by box averaging.

    Anti-aliased, unlike bilinear interpolation, which matters on LOL's noisy dark images.
    Implemented as two small matrix products so it exports to ONNX with dynamic H and W.
    ``prepool`` > 1 first average-pools by that factor (cheaper at megapixel sizes).
    """
    if prepool > 1:
        x = F.avg_pool2d(x, prepool)
    a_h = _area_matrix(x[0, 0, :, 0], size[0])
    a_w = _area_matrix(x[0, 0, 0, :], size[1])
    return torch.matmul(torch.matmul(a_h, x), a_w.transpose(0, 1))


def _linear_matrix(src: Tensor, dst: Tensor) -> Tensor:
    """(n_out, n_in) matrix of bilinear resampling, exactly as ``F.interpolate(...,
    mode="bilinear", align_corners=False)`` along one axis; ``src`` and ``dst`` are 1-D tensors
    whose lengths are n_in and n_out (read from the graph, so both stay dynamic in ONNX)."""
    y = torch.cumsum(torch.ones_like(src), 0) - 1.0  # 0..n_in-1
    i = torch.cumsum(torch.ones_like(dst), 0) - 1.0  # 0..n_out-1
    n_in = y[-1:] + 1.0
    pos = ((i + 0.5) * (n_in / (i[-1:] + 1.0)) - 0.5).clamp(min=0.0)
    i0 = torch.floor(pos)
    lam = pos - i0
    i1 = torch.minimum(i0 + 1.0, n_in - 1.0)
    w0 = (y[None, :] == i0[:, None]).to(src.dtype) * (1.0 - lam)[:, None]
    w1 = (y[None, :] == i1[:, None]).to(src.dtype) * lam[:, None]
    return w0 + w1


def upsample_to(x: Tensor, ref: Tensor) -> Tensor:
    """Bilinear resize of ``x`` [N,C,h,w] to the spatial size of ``ref`` [N,*,H,W].

    Same values as ``F.interpolate(x, size=(H, W), mode="bilinear", align_corners=False)``,
    computed as two matrix products: ONNX Runtime's Resize took ~0.45 s to enlarge a 64 x 64
    map to 1 MP on this CPU, the products take a few ms (and export with dynamic sizes).
    """
    a_h = _linear_matrix(x[0, 0, :, 0], ref[0, 0, :, 0])
    a_w = _linear_matrix(x[0, 0, 0, :], ref[0, 0, 0, :])
    return torch.matmul(torch.matmul(a_h, x), a_w.transpose(0, 1))


def bilateral_slice(grid: Tensor, guide: Tensor, channels: int = 1) -> Tensor:
    """Slices a bilateral grid with a guide (HDRNet-style trilinear lookup).

    Args:
        grid: [N, channels*D, Gh, Gw]: for each output channel, D guide bins per cell.
        guide: [N, 1, H, W] in [0, 1], picks the bin (tent-weighted between neighbours).
        channels: how many values each cell holds per bin.
    Returns:
        [N, channels, H, W]: the grid at (y, x, guide(y, x)), bilinear in space.
    """
    depth = grid.shape[1] // channels
    up = upsample_to(grid, guide)
    pos = guide.clamp(0.0, 1.0) * (depth - 1)
    bins = torch.arange(depth, dtype=guide.dtype, device=guide.device).view(1, depth, 1, 1)
    weight = torch.relu(1.0 - torch.abs(pos - bins))
    parts = [
        (up[:, c * depth : (c + 1) * depth] * weight).sum(dim=1, keepdim=True)
        for c in range(channels)
    ]
    return parts[0] if channels == 1 else torch.cat(parts, dim=1)


def guided_affine(grid: Tensor, guide_low: Tensor, guide: Tensor) -> Tensor:
    """Bilateral guided upsampling: per-pixel affine (a, b) in the guide, full resolution.

    The grid holds (a, b) for D guide bins per cell; it is sliced at the *low* resolution of
    ``guide_low`` (cheap), and the resulting coefficient maps are bilinearly upsampled and
    applied to the full-resolution ``guide``: ``a * guide + b``. Edges of the guide stay
    sharp at full resolution while only two channels are ever resized to full size.

    Args:
        grid: [N, 2*D, Gh, Gw]. guide_low: [N, 1, h, w] in [0, 1]. guide: [N, 1, H, W].
    Returns:
        [N, 1, H, W].
    """
    coeffs = upsample_to(bilateral_slice(grid, guide_low, channels=2), guide)
    return coeffs[:, 0:1] * guide + coeffs[:, 1:2]


class GlobalContext(nn.Module):
    """Image-level context: global average pooling -> linear -> per-channel bias [N,C,1,1]."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.fc = nn.Linear(c_in, c_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(x.mean(dim=(2, 3)))[:, :, None, None]


def with_mask(x: Tensor, mask: Tensor | None) -> Tensor:
    """``cat([x, mask], 1)`` when a mask is given (the Concat conversion), else ``x``."""
    return x if mask is None else torch.cat([x, mask], dim=1)


def count_params(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
