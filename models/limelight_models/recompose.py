"""Torch mirror of ``limelight.core.recompose`` (the knob contract), for training and export.

Same formulas, same FLOOR and clipping, on NCHW tensors; ``tests/models/test_recompose_parity
.py`` checks it against the numpy ``Recomposer`` at default and non-default knobs. gamma3
strictly between 0 and 1 (the DCT high-pass of the noise map) is only needed by the app at
preview time, never in training, so it is not implemented here.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from limelight.core.recompose import FAMILIES, FLOOR


def recompose_torch(
    family: str,
    image: Tensor,
    maps: Mapping[str, Tensor],
    degree: float = 1.0,
    gamma1: float = 1.0,
    gamma2: float = 1.0,
    gamma3: float = 1.0,
    straight_through: bool = False,
) -> Tensor:
    """Applies the knobs to a model's maps.

    Args:
        family: one of ``FAMILIES``.
        image: [N,3,H,W] in [0,1].
        maps: name -> [N,C,H,W] (see core/recompose.py for each family's maps; ``refine``
            optional).
        degree, gamma1, gamma2, gamma3: the knobs (Python floats).
        straight_through: the final clip to [0, 1] passes gradients as if it were the
            identity (values unchanged). Training only: a pixel the hard clip holds at 0 or 1
            gets no gradient, so a model whose output starts below 0 almost everywhere never
            leaves it (gladnet-ranlen did, 2026-11-29: 67 % of pixels clipped at 0).
    Returns:
        [N,3,H,W] in [0,1].
    Raises:
        ValueError: unknown family or missing map. NotImplementedError: 0 < gamma3 < 1.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; known: {sorted(FAMILIES)}")
    for name in FAMILIES[family]:
        if name not in maps:
            raise ValueError(f"family {family!r} needs the map {name!r}")
    d = float(degree)
    if d == 0.0:
        return image.clone()
    if family == "fusion" and d < 1.0:  # (1 - d) I + d Y(1), as in limelight.core.recompose
        full = recompose_torch(family, image, maps, 1.0, gamma1, gamma2, gamma3)
        return (1.0 - d) * image + d * full
    if family == "retinex":
        out = image * torch.exp(-d * torch.log(maps["illumination"].clamp(min=FLOOR)))
    elif family == "curve":
        curve = maps["curve"]
        out = image
        for i in range(curve.shape[1] // 3):
            a = curve[:, 3 * i : 3 * i + 3]
            out = torch.clamp(out + d * a * out * (1.0 - out), 0.0, 1.0)
    elif family == "fusion":
        out = _fusion(image, maps, d, gamma1, gamma2, gamma3)
    else:  # residual
        out = image + d * maps["residual"]
    if "refine" in maps:
        out = out + min(d, 1.0) * maps["refine"]
    clipped = torch.clamp(out, 0.0, 1.0)
    return out + (clipped - out).detach() if straight_through else clipped


def under_exposure(image: Tensor, illumination: Tensor, power: float = 1.0) -> Tensor:
    """I_U = clip(I / max(L, FLOOR) ** power, 0, 1): the under-exposure correction of eq. 10.
    image [N,3,H,W] and illumination [N,1 or 3,H,W] in [0, 1]; returns [N,3,H,W] in [0, 1]."""
    log_l = torch.log(illumination.clamp(min=FLOOR))
    return torch.clamp(image * torch.exp(-power * log_l), 0.0, 1.0)


def over_exposure(image: Tensor, illumination_inv: Tensor, power: float = 1.0) -> Tensor:
    """I_O = clip(1 - (1 - I) / max(Li, FLOOR) ** power, 0, 1): the over-exposure correction
    of eq. 10 (the under-exposure one on the inverted image); shapes as ``under_exposure``."""
    return 1.0 - under_exposure(1.0 - image, illumination_inv, power)


def _fusion(
    image: Tensor, maps: Mapping[str, Tensor], d: float, g1: float, g2: float, g3: float
) -> Tensor:
    """Eq. 10 of the non-uniform-illumination paper; see core/recompose.py."""
    w = maps["weights"]
    under = under_exposure(image, maps["illumination"], g1 * d)
    over = over_exposure(image, maps["illumination_inv"], g2 * d)
    out = w[:, 0:1] * image + w[:, 1:2] * under + w[:, 2:3] * over
    if g3 >= 1.0:
        out = out + min(d, 1.0) * maps["noise"]
    elif g3 > 0.0:
        raise NotImplementedError("gamma3 strictly between 0 and 1 is only in limelight.core")
    return out
