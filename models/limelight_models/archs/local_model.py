"""LocalModel: a registered backbone made local by a conversion, with the optional refinement
tail; its forward gives every exported map plus ``output`` (the recomposed image at default
knobs, via the torch mirror of ``limelight.core.recompose``) and ``smooth_target`` (the map
RANLEN's L_B acts on). Built by ``limelight_models.archs.build_model``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from limelight_models.archs.noise_smoothing import smoothing_noise_map
from limelight_models.ranlen import Refine
from limelight_models.recompose import recompose_torch

#: Options that change the computation, not the parameters: a later training stage may set
#: them on weights trained without.
GRAPH_OPTIONS = frozenset({"straight_through_clip", "noise_smoothing"})


class LocalModel(nn.Module):
    """A backbone turned local by a conversion, plus the optional refinement tail.

    Attributes:
        backbone, conversion, family: names (family as in core/recompose.py).
        options: the keyword options the backbone and tail were built with.
        pad_multiple: H and W must be divisible by it.
        map_names: the ONNX outputs, in order (the family's maps, then ``refine`` if any).
    forward(image [N,3,H,W] in [0,1], mask [N,2,H,W] in [0,1]) -> dict of NCHW tensors:
        every map, ``output`` [N,3,H,W] (recomposed at default knobs, in [0,1]) and
        ``smooth_target`` (illumination for retinex/fusion, else ``output``).
    """

    def __init__(
        self,
        backbone: str,
        conversion: str,
        family: str,
        net: nn.Module,
        refine: Refine | None,
        options: dict[str, Any],
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.conversion = conversion
        self.family = family
        self.options = dict(options)
        self.net = net
        self.refine = refine
        #: Training only: the output's clip passes gradients (recompose_torch's
        #: ``straight_through``); evaluation and export are unchanged.
        self.straight_through_clip = bool(options.get("straight_through_clip", False))
        #: fusion only: N = alpha * (box blur of the rest - the rest), see build_model.
        self.noise_smoothing = int(options.get("noise_smoothing", 0))
        if self.noise_smoothing and self.family != "fusion":
            raise ValueError(f"noise_smoothing needs the fusion family, not {self.family!r}")
        if self.noise_smoothing < 0:
            raise ValueError(f"noise_smoothing must be >= 0, got {self.noise_smoothing}")
        self.map_names: tuple[str, ...] = tuple(net.map_names) + (
            ("refine",) if refine is not None else ()
        )
        #: H and W must be multiples of this (the engine pads and crops).
        self.pad_multiple: int = int(getattr(net, "pad_multiple", 1))

    @property
    def name(self) -> str:
        """``<backbone>-<conversion>``, the zoo's model name."""
        return f"{self.backbone}-{self.conversion}"

    def forward(self, image: Tensor, mask: Tensor) -> dict[str, Tensor]:
        _check_inputs(image, mask)
        maps = dict(self.net(image, mask))
        base = None  # the output before refine (and, with noise_smoothing, without N)
        if self.refine is not None or self.noise_smoothing:
            base = recompose_torch(self.family, image, maps,
                                   gamma3=0.0 if self.noise_smoothing else 1.0)
        if self.refine is not None:
            maps["refine"] = self.refine(base, image, mask)
        if self.noise_smoothing:
            # The fusion of clipped exposures with convex weights lies in [0, 1], so ``base``
            # is the unclipped sum and the rest is one addition away (no second recompose).
            rest = base if self.refine is None else torch.clamp(base + maps["refine"], 0.0, 1.0)
            maps["noise"] = smoothing_noise_map(maps["noise"], rest, self.noise_smoothing)
        out = dict(maps)
        out["output"] = recompose_torch(
            self.family, image, maps, straight_through=self.training and self.straight_through_clip
        )
        if self.family in ("retinex", "fusion"):
            out["smooth_target"] = maps["illumination"]
        else:
            out["smooth_target"] = out["output"]
        return out


def _check_inputs(image: Tensor, mask: Tensor) -> None:
    if image.dim() != 4 or image.shape[1] != 3:
        raise ValueError(f"image must be [N,3,H,W], got {list(image.shape)}")
    if mask.dim() != 4 or mask.shape[1] != 2:
        raise ValueError(f"mask must be [N,2,H,W], got {list(mask.shape)}")
    if image.shape[0] != mask.shape[0] or image.shape[2:] != mask.shape[2:]:
        raise ValueError(
            f"image {list(image.shape)} and mask {list(mask.shape)} differ in N, H or W"
        )
