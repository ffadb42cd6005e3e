"""Checkpoint I/O: a trained ``LocalModel`` with its options, config and training state.

A checkpoint is a ``torch.save`` dict (backbone, conversion, options, state_dict, config,
step, wall_time_s, plus a trainer's optimizer/scheduler/rng); ``load_checkpoint`` rebuilds the
model through the backbone registry (``limelight_models.archs``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from limelight.core.atomic import atomic_path
from limelight_models.archs import LocalModel, build_model


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
    with atomic_path(path, sync=False) as tmp:
        torch.save(doc, tmp)
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
