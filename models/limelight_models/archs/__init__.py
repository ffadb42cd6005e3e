"""Registry of backbones x conversions, the :class:`LocalModel` wrapper and checkpoints.

``build_model("fusion_net", "ranlen")`` returns a :class:`LocalModel` whose forward gives every
exported map plus ``output`` (the recomposed image at default knobs, via the torch mirror of
``limelight.core.recompose``) and ``smooth_target`` (the map RANLEN's L_B acts on).
"""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from limelight_models.archs.common import count_params
from limelight_models.ranlen import CONVERSIONS, Refine, check_conversion
from limelight_models.recompose import recompose_torch

BACKBONES = ("deepupe", "star_dce", "fusion_net", "dln", "gladnet")
_CLASSES = {
    "deepupe": "DeepUPE",
    "star_dce": "StarDCE",
    "fusion_net": "FusionNet",
    "dln": "DLN",
    "gladnet": "GLADNet",
}
FAMILY_OF = {
    "deepupe": "retinex",
    "star_dce": "curve",
    "fusion_net": "fusion",
    "dln": "residual",
    "gladnet": "residual",
}
__all__ = [
    "BACKBONES",
    "CONVERSIONS",
    "FAMILY_OF",
    "GRAPH_OPTIONS",
    "NOISE_ALPHA_OFFSET",
    "LocalModel",
    "build_model",
    "list_models",
    "load_checkpoint",
    "save_checkpoint",
]


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
        net: nn.Module,
        refine: Refine | None,
        options: dict[str, Any],
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.conversion = conversion
        self.family: str = net.family
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


#: Options that change the computation, not the parameters: a later training stage may set
#: them on weights trained without.
GRAPH_OPTIONS = frozenset({"straight_through_clip", "noise_smoothing"})

#: alpha = sigmoid(raw - offset): with the restoration net's raw output near 0 (its last convs
#: start at zero; earlier checkpoints' N is ~0.01), alpha starts near 0.018, almost no
#: smoothing, so a fine-tune starts from the model's own output.
NOISE_ALPHA_OFFSET = 4.0


def smoothing_noise_map(raw: Tensor, rest: Tensor, radius: int) -> Tensor:
    """``sigmoid(raw - NOISE_ALPHA_OFFSET) * (box(rest) - rest)``; all [N,3,H,W]. The box is
    (2 radius + 1)^2, replicate-padded; the result is the negative of the weighted noise."""
    k = 2 * radius + 1
    blurred = F.avg_pool2d(F.pad(rest, (radius,) * 4, mode="replicate"), k, stride=1)
    return torch.sigmoid(raw - NOISE_ALPHA_OFFSET) * (blurred - rest)


def _check_inputs(image: Tensor, mask: Tensor) -> None:
    if image.dim() != 4 or image.shape[1] != 3:
        raise ValueError(f"image must be [N,3,H,W], got {list(image.shape)}")
    if mask.dim() != 4 or mask.shape[1] != 2:
        raise ValueError(f"mask must be [N,2,H,W], got {list(mask.shape)}")
    if image.shape[0] != mask.shape[0] or image.shape[2:] != mask.shape[2:]:
        raise ValueError(
            f"image {list(image.shape)} and mask {list(mask.shape)} differ in N, H or W"
        )


def _backbone_class(backbone: str) -> type[nn.Module]:
    if backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}, got {backbone!r}")
    module = importlib.import_module(f"limelight_models.archs.{backbone}")
    return getattr(module, _CLASSES[backbone])


def build_model(backbone: str, conversion: str, **options: Any) -> LocalModel:
    """Builds ``backbone`` converted by ``conversion``.

    Options: the backbone's constructor keywords, plus ``refine`` (bool; default True for
    ``ranlen`` — the paper's extra refinement conv — and False otherwise, so that ``global``
    and ``concat`` are as published; set it True to give them the same tail) and
    ``refine_width`` (int, default 0: the paper's single conv; see :class:`Refine`), and
    ``straight_through_clip`` (bool, default False: in training the output's clip to [0, 1]
    passes gradients; no effect in eval mode or on the export), and ``noise_smoothing``
    (int radius, default 0: the paper's N, the restoration net's output as it is; fusion
    family only). With a radius r > 0 the noise map is made a denoiser by construction:
    ``N = alpha * (box_r(rest) - rest)``, where ``rest`` is the output without N (refine
    included) and ``alpha = sigmoid(restoration output - NOISE_ALPHA_OFFSET)`` in (0, 1) per
    pixel and channel, so ``rest + N`` is the rest smoothed where the network chooses (flat
    noisy areas) and kept where smoothing would cost detail. The paper's N, trained only
    through the output, never learned to carry the noise here (gamma3 was inert on every
    model); this one cannot do anything but remove it, and gamma3 sets how much.
    Unknown options raise TypeError.
    """
    check_conversion(conversion)
    cls = _backbone_class(backbone)
    opts = dict(options)
    use_refine = bool(opts.pop("refine", conversion == "ranlen"))
    refine_width = int(opts.pop("refine_width", 0))
    opts.pop("straight_through_clip", None)
    opts.pop("noise_smoothing", None)
    net = cls(conversion, **opts)
    refine = Refine(refine_width, use_mask=conversion != "global") if use_refine else None
    return LocalModel(backbone, conversion, net, refine, options)


def list_models() -> list[tuple[str, str]]:
    """Every (backbone, conversion) pair, backbones in ``BACKBONES`` order."""
    return [(b, c) for b in BACKBONES for c in CONVERSIONS]


def save_checkpoint(
    path: str | Path,
    model: LocalModel,
    *,
    config: dict[str, Any] | None = None,
    step: int = 0,
    wall_time_s: float = 0.0,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Writes a checkpoint atomically (temporary file in the same folder, then replace).

    Keys: backbone, conversion, options, state_dict, config, step, wall_time_s, plus any of
    ``extra`` (e.g. ``optimizer``, ``scheduler``, ``rng`` for resuming).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "backbone": model.backbone,
        "conversion": model.conversion,
        "options": dict(model.options),
        "state_dict": model.state_dict(),
        "config": dict(config or {}),
        "step": int(step),
        "wall_time_s": float(wall_time_s),
    }
    doc.update(extra or {})
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(doc, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_checkpoint(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[LocalModel, dict[str, Any]]:
    """Rebuilds the model of a checkpoint and loads its weights.

    Returns (model in eval mode, the whole checkpoint dict). Raises FileNotFoundError, or
    ValueError naming the file when a key is missing.
    """
    path = Path(path)
    doc = torch.load(path, map_location=map_location, weights_only=False)
    for key in ("backbone", "conversion", "options", "state_dict"):
        if key not in doc:
            raise ValueError(f"{path}: checkpoint has no {key!r}")
    model = build_model(doc["backbone"], doc["conversion"], **doc["options"])
    model.load_state_dict(doc["state_dict"])
    model.eval()
    return model, doc


def parameter_count(model: nn.Module) -> int:
    """Trainable parameters of a model."""
    return count_params(model)
