"""The model zoo: ``resources/zoo/manifest.json`` and the ONNX files it lists.

Manifest format (version 1)::

    {"schema": 1, "default": "<name>", "models": [
        {"name": "fusion_net-ranlen", "file": "fusion_net-ranlen.onnx",
         "backbone": "fusion_net", "conversion": "ranlen", "family": "fusion",
         "inputs": ["image", "mask"],
         "outputs": ["illumination", "illumination_inv", "weights", "noise", "refine"],
         "working_resolution": 1024, "pad_multiple": 16, "sha256": "<hex>",
         "params": 5123, "card": "fusion_net-ranlen.md",
         "training": {...}, "metrics": {...}}]}

``working_resolution`` is the long edge (px) the network runs at for full-resolution work;
``pad_multiple`` is what H and W must be divisible by (the engine pads and crops).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from limelight.core.errors import ModelError
from limelight.core.recompose import FAMILIES

MANIFEST_SCHEMA = 1


def default_zoo_dir() -> Path:
    """The zoo folder shipped inside the installed package."""
    return Path(str(files("limelight.resources") / "zoo"))


@dataclass(frozen=True)
class ModelInfo:
    """One manifest entry; ``path`` is resolved against the manifest's folder."""

    name: str
    path: Path
    backbone: str
    conversion: str
    family: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    working_resolution: int
    pad_multiple: int
    sha256: str
    params: int = 0
    card: Path | None = None
    training: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    metrics: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def label(self) -> str:
        """Human label, e.g. ``fusion_net · ranlen``."""
        return f"{self.backbone} · {self.conversion}"

    def verify(self) -> None:
        """Raises ModelError if the file is missing or its sha256 differs from the manifest."""
        if not self.path.is_file():
            raise ModelError(f"model file of {self.name!r} is missing", self.path)
        digest = sha256_file(self.path)
        if digest != self.sha256:
            raise ModelError(
                f"model file of {self.name!r} is corrupted (sha256 {digest[:12]}…, "
                f"manifest says {self.sha256[:12]}…); reinstall Limelight",
                self.path,
            )


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Zoo:
    """The parsed manifest: models by name, in manifest order, and the default's name."""

    models: tuple[ModelInfo, ...]
    default: str | None
    root: Path

    def get(self, name: str | None = None) -> ModelInfo:
        """The model called ``name`` (the default when None); ModelError if unknown."""
        name = name or self.default
        for m in self.models:
            if m.name == name:
                return m
        known = ", ".join(m.name for m in self.models) or "none installed"
        raise ModelError(f"unknown model {name!r} (known: {known})")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.models)


_REQUIRED = ("name", "file", "backbone", "conversion", "family", "outputs", "sha256")


def load_zoo(root: Path | None = None) -> Zoo:
    """Reads ``<root>/manifest.json`` (default: the shipped zoo). An absent manifest is an
    empty zoo; a malformed one raises ModelError naming the entry and field."""
    root = Path(root) if root is not None else default_zoo_dir()
    manifest = root / "manifest.json"
    if not manifest.is_file():
        return Zoo(models=(), default=None, root=root)
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read the model manifest: {exc}", manifest) from exc
    if not isinstance(doc, dict) or doc.get("schema") != MANIFEST_SCHEMA:
        raise ModelError(f"manifest schema must be {MANIFEST_SCHEMA}", manifest)
    models = []
    for i, entry in enumerate(doc.get("models", [])):
        where = f"models[{i}]"
        if not isinstance(entry, dict):
            raise ModelError(f"{where} must be an object", manifest)
        for key in _REQUIRED:
            if key not in entry:
                raise ModelError(f"{where}.{key} is missing", manifest)
        if entry["family"] not in FAMILIES:
            raise ModelError(f"{where}.family {entry['family']!r} is unknown", manifest)
        card = entry.get("card")
        models.append(
            ModelInfo(
                name=str(entry["name"]),
                path=root / str(entry["file"]),
                backbone=str(entry["backbone"]),
                conversion=str(entry["conversion"]),
                family=str(entry["family"]),
                inputs=tuple(entry.get("inputs", ("image", "mask"))),
                outputs=tuple(entry["outputs"]),
                working_resolution=int(entry.get("working_resolution", 1024)),
                pad_multiple=int(entry.get("pad_multiple", 1)),
                sha256=str(entry["sha256"]),
                params=int(entry.get("params", 0)),
                card=root / card if card else None,
                training=dict(entry.get("training", {})),
                metrics=dict(entry.get("metrics", {})),
            )
        )
    default = doc.get("default")
    if default is not None and default not in {m.name for m in models}:
        raise ModelError(f"default model {default!r} is not in the manifest", manifest)
    return Zoo(models=tuple(models), default=default, root=root)
