"""The backbone registry: each backbone module registers its network class with
``@register_backbone(name, family=...)`` (as BasicSR's ARCH_REGISTRY does), and
``build_model("fusion_net", "ranlen")`` builds a registered backbone made local by a
conversion (a :class:`LocalModel`, archs/local_model.py).

``BACKBONES`` (registration order, the order of every table) and ``FAMILY_OF`` are read from
the registry; nothing else lists the backbones. Checkpoint I/O is ``limelight_models.checkpoint``,
the noise map by construction archs/noise_smoothing.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from torch import nn

from limelight.core.recompose import FAMILIES
from limelight_models.archs.local_model import GRAPH_OPTIONS, LocalModel
from limelight_models.archs.noise_smoothing import NOISE_ALPHA_OFFSET, smoothing_noise_map
from limelight_models.layers import count_params
from limelight_models.ranlen import CONVERSIONS, Refine, check_conversion

__all__ = [
    "BACKBONES",
    "CONVERSIONS",
    "FAMILY_OF",
    "GRAPH_OPTIONS",
    "NOISE_ALPHA_OFFSET",
    "Backbone",
    "LocalModel",
    "backbone_entry",
    "build_model",
    "list_models",
    "parameter_count",
    "register_backbone",
    "smoothing_noise_map",
]

Net = TypeVar("Net", bound=type[nn.Module])


@dataclass(frozen=True)
class Backbone:
    """A registered backbone: its zoo name, its family (``limelight.core.recompose
    .FAMILIES``: which maps it outputs and how they recompose) and its network class, built
    as ``cls(conversion, **options)``."""

    name: str
    family: str
    cls: type[nn.Module]


_REGISTRY: dict[str, Backbone] = {}


def register_backbone(name: str, *, family: str) -> Callable[[Net], Net]:
    """Class decorator: registers ``cls`` as backbone ``name`` of ``family``. ValueError for
    an unknown family or a name registered twice."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {sorted(FAMILIES)}, got {family!r}")

    def register(cls: Net) -> Net:
        if name in _REGISTRY:
            raise ValueError(f"backbone {name!r} is registered twice")
        _REGISTRY[name] = Backbone(name, family, cls)
        return cls

    return register


# The backbone modules register themselves when imported, in the order the tables list them.
from limelight_models.archs import deepupe, star_dce, fusion_net, dln, gladnet  # noqa: E402, F401, I001

BACKBONES: tuple[str, ...] = tuple(_REGISTRY)
FAMILY_OF: dict[str, str] = {b.name: b.family for b in _REGISTRY.values()}


def backbone_entry(backbone: str) -> Backbone:
    """The registry's entry for ``backbone``; ValueError naming the known ones."""
    if backbone not in _REGISTRY:
        raise ValueError(f"backbone must be one of {BACKBONES}, got {backbone!r}")
    return _REGISTRY[backbone]


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
    entry = backbone_entry(backbone)
    opts = dict(options)
    use_refine = bool(opts.pop("refine", conversion == "ranlen"))
    refine_width = int(opts.pop("refine_width", 0))
    opts.pop("straight_through_clip", None)
    opts.pop("noise_smoothing", None)
    net = entry.cls(conversion, **opts)
    refine = Refine(refine_width, use_mask=conversion != "global") if use_refine else None
    return LocalModel(backbone, conversion, entry.family, net, refine, options)


def list_models() -> list[tuple[str, str]]:
    """Every (backbone, conversion) pair, backbones in ``BACKBONES`` order."""
    return [(b, c) for b in BACKBONES for c in CONVERSIONS]


def parameter_count(model: nn.Module) -> int:
    """Trainable parameters of a model."""
    return count_params(model)
