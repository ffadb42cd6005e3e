"""Training configuration: frozen dataclasses loaded from TOML, unknown keys rejected.

A config file (``models/configs/<backbone>-<conversion>.toml``)::

    name = "fusion_net-ranlen"
    backbone = "fusion_net"
    conversion = "ranlen"
    steps = 6000
    [model]          # keyword options of limelight_models.archs.build_model
    [data]           # folders, crops, batch, synthetic fraction, mask kinds
    [loss]           # alpha, beta, gamma of RANLEN eq. 5 and the L_B switch
    [optim]          # Adam learning rate and schedule
    [report]         # what the run is for in docs/results.md: role, why, groups

Relative paths are resolved against the current working directory: run the commands from
the repository root (``../shared/data`` and ``../runs`` then sit beside the checkout).
A misspelt key fails at load time with ``ConfigError`` naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from limelight.core.errors import LimelightError
from limelight_models.losses.region import RegionWeights

CONVERSIONS = ("global", "concat", "ranlen")
SCHEDULES = ("cosine", "constant")
#: ``[report] role``: a stage of a zoo model, a controlled comparison, or a tried idea.
ROLES = ("shipped", "ablation", "experiment")


class ConfigError(LimelightError):
    """A training config is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class DataConfig:
    """Where the pairs come from and how batches are cut."""

    lol: str | None = "../shared/data/lol/our485"
    synthetic: tuple[str, ...] = ("../cache/synth",)
    eval_pairs: str | None = "../shared/data/lol/eval15"
    crop_min: int = 128
    crop_max: int = 256
    batch_size: int = 4
    synth_fraction: float = 0.3
    #: mask kind -> relative weight (see limelight_models.data.masks).
    mask_weights: dict[str, float] = field(
        default_factory=lambda: {"circle": 0.35, "ellipse": 0.2, "brush": 0.15, "blob": 0.15,
                                 "global": 0.15}
    )
    #: Load at most this many pairs per folder (tests, quick looks); None = all.
    limit: int | None = None
    #: Folders of well-exposed photos relit in memory by ``data.light`` (spatially varying
    #: light; the target is the photo), added to the synthetic pairs.
    light_sources: tuple[str, ...] = ()
    #: generator name (``data.light.GENERATORS``) -> weight; empty = no relit pairs.
    light_mix: dict[str, float] = field(default_factory=dict)
    light_per_image: int = 2


#: ``[loss]``: RANLEN eq. 5 weights (paper: 1, 1e-4, 1); ``use_lb = false`` is the Fig. 6
#: ablation. The loss's own dataclass, so the config and the loss cannot drift apart.
LossConfig = RegionWeights


@dataclass(frozen=True)
class OptimConfig:
    """Adam; ``cosine`` decays from ``lr`` to ``lr * min_lr_ratio`` over the run's progress
    (the larger of steps done / steps and minutes spent / time budget) after a linear warm-up."""

    lr: float = 1e-3
    schedule: str = "cosine"
    warmup_steps: int = 100
    min_lr_ratio: float = 0.05
    weight_decay: float = 0.0
    grad_clip: float = 1.0


@dataclass(frozen=True)
class ReportConfig:
    """What a run is for, as scripts/ship_report.py reads it: the report finds its rows by
    ``groups`` (e.g. ``lb-off``: the L_B ablation's run without L_B), never by run names.

    role: one of ``ROLES``; why: one sentence; groups: the report's tables the run belongs to.
    """

    role: str = "shipped"
    why: str = ""
    groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ConfigError(f"report.role must be one of {ROLES}, got {self.role!r}")


@dataclass(frozen=True)
class TrainConfig:
    """One training run."""

    name: str
    backbone: str
    conversion: str
    model: dict[str, Any] = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    steps: int = 5000
    #: Stop early after this many minutes of training (wall clock); None = no limit.
    time_budget_min: float | None = None
    seed: int = 0
    threads: int = 1
    checkpoint_every: int = 200
    #: Also checkpoint when this many minutes passed since the last one.
    checkpoint_minutes: float = 3.0
    log_every: int = 20
    #: Evaluate on ``data.eval_pairs`` every this many steps (0 = only at the end).
    eval_every: int = 0
    out_dir: str = "../runs/unnamed"
    #: A later training stage: start from this checkpoint's weights (same backbone, conversion
    #: and model options) with a fresh optimiser and schedule. None = random initialisation.
    init_from: str | None = None
    #: With ``init_from``: multiply the parameters of these modules (dotted names in the
    #: model, e.g. ``"net.fusion.out"``) by a factor after loading. A small factor on the
    #: layer before a saturated softmax brings its gradients back (see
    #: fusion_net-ranlen-long3.toml).
    init_scale: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.conversion not in CONVERSIONS:
            raise ConfigError(f"conversion must be one of {CONVERSIONS}, got {self.conversion!r}")
        if self.optim.schedule not in SCHEDULES:
            raise ConfigError(f"optim.schedule must be one of {SCHEDULES}, got {self.optim.schedule!r}")
        if not 0.0 <= self.data.synth_fraction <= 1.0:
            raise ConfigError(f"data.synth_fraction must be in [0, 1], got {self.data.synth_fraction}")
        if not 16 <= self.data.crop_min <= self.data.crop_max:
            raise ConfigError("data.crop_min must be >= 16 and <= data.crop_max")
        if self.data.light_mix or self.data.light_sources:
            from limelight_models.data.light import check_mix

            if not (self.data.light_mix and self.data.light_sources):
                raise ConfigError("data.light_sources and data.light_mix go together")
            try:
                check_mix(self.data.light_mix)
            except ValueError as exc:
                raise ConfigError(f"data.light_mix: {exc}") from None
        if self.init_scale and not self.init_from:
            raise ConfigError("init_scale needs init_from (it rescales loaded weights)")
        for name, factor in self.init_scale.items():
            if not isinstance(factor, int | float) or isinstance(factor, bool) or factor <= 0:
                raise ConfigError(f"init_scale.{name} must be a positive number, got {factor!r}")
        for key in ("steps", "threads", "checkpoint_every", "log_every"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1, got {getattr(self, key)}")

    def as_dict(self) -> dict[str, Any]:
        """A TOML/JSON-friendly dict (stored in checkpoints)."""
        return dataclasses.asdict(self)


def _check_type(where: str, value: Any, hint: Any) -> Any:
    """Checks ``value`` against a simple type hint; returns it (lists become tuples)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arm in typing.get_args(hint):
            if arm is type(None) and value is None:
                return None
            if arm is not type(None):
                try:
                    return _check_type(where, value, arm)
                except ConfigError:
                    continue
        raise ConfigError(f"{where} has the wrong type: {value!r}")
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        return tuple(_check_type(f"{where}[{i}]", v, typing.get_args(hint)[0]) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table, got {value!r}")
        return dict(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is Any or (isinstance(hint, type) and isinstance(value, hint)
                       and not (hint is int and isinstance(value, bool))):
        return value
    raise ConfigError(f"{where} must be {getattr(hint, '__name__', hint)}, got {value!r}")


def _build(cls: type, table: dict[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(where + k for k in unknown)}; "
                          f"known here: {sorted(known)}")
    kwargs = {}
    for key, value in table.items():
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}{key} must be a table, got {value!r}")
            kwargs[key] = _build(hint, value, f"{where}{key}.")
        else:
            kwargs[key] = _check_type(where + key, value, hint)
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required key is missing
        raise ConfigError(f"{where or 'top level'}: {exc}") from None


def config_from_dict(table: dict[str, Any]) -> TrainConfig:
    """Builds and validates a TrainConfig; ConfigError names the offending key."""
    return _build(TrainConfig, table, "")


def load_config(path: str | Path, **overrides: Any) -> TrainConfig:
    """Reads a TOML config; ``overrides`` replace top-level keys (e.g. steps, out_dir)."""
    path = Path(path)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the config ({exc})", path) from exc
    table.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return config_from_dict(table)
    except ConfigError as exc:
        raise ConfigError(exc.problem, path) from None
