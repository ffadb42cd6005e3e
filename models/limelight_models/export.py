"""ONNX export of trained models into the zoo (``resources/zoo``) and ``--list``.

    python -m limelight_models.export --checkpoint CKPT --out resources/zoo [--name NAME]
    python -m limelight_models.export --list

The ONNX graph has inputs ``image`` [N,3,H,W] and ``mask`` [N,2,H,W] (dynamic N, H, W) and
outputs exactly ``model.map_names`` (never ``output``: the app recomposes). Before anything is
written, ONNX Runtime must reproduce torch within atol 1e-4 on a random input; the manifest
(schema of ``limelight.core.zoo``) is then updated atomically.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from limelight.core.atomic import atomic_path
from limelight.core.zoo import MANIFEST_SCHEMA, sha256_file
from limelight_models.archs import LocalModel, build_model, list_models
from limelight_models.checkpoint import load_checkpoint
from limelight_models.layers import count_params

log = logging.getLogger(__name__)
OPSET = 17
ATOL = 1e-4


class _Exported(nn.Module):
    """Wraps a LocalModel so that the graph returns its maps as a tuple, in map_names order."""

    def __init__(self, model: LocalModel) -> None:
        super().__init__()
        self.model = model
        self.names = tuple(model.map_names)

    def forward(self, image: Tensor, mask: Tensor) -> tuple[Tensor, ...]:
        out = self.model(image, mask)
        return tuple(out[n] for n in self.names)


def sample_inputs(
    model: LocalModel, height: int, width: int, seed: int = 0
) -> tuple[Tensor, Tensor]:
    """A random (image, mask) pair; H and W are rounded up to the model's pad multiple."""
    m = model.pad_multiple
    height, width = -(-height // m) * m, -(-width // m) * m
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(1, 3, height, width, generator=gen)
    mask = torch.rand(1, 2, height, width, generator=gen)
    mask[:, 0] = torch.minimum(mask[:, 0], mask[:, 1])
    return image, mask


def export_onnx(
    model: LocalModel, path: Path, sizes: tuple[tuple[int, int], ...] = ((64, 96), (48, 40))
) -> None:
    """Exports ``model`` to ``path`` (atomically) after checking ORT parity at ``sizes``.

    Raises RuntimeError (naming the map and the error) when ONNX Runtime disagrees with torch.
    """
    import onnxruntime as ort

    model = model.eval()
    wrapper = _Exported(model).eval()
    names = list(wrapper.names)
    dyn = {"image": {0: "n", 2: "h", 3: "w"}, "mask": {0: "n", 2: "h", 3: "w"}}
    dyn.update({n: {0: "n", 2: "h", 3: "w"} for n in names})
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, sync=False) as tmp:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper,
                sample_inputs(model, *sizes[0]),
                str(tmp),
                input_names=["image", "mask"],
                output_names=names,
                dynamic_axes=dyn,
                opset_version=OPSET,
                dynamo=False,
            )
        _restore_unused_inputs(tmp)
        wrapper.eval()
        session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        for i, (h, w) in enumerate(sizes):
            check_parity(wrapper, session, *sample_inputs(model, h, w, seed=i))


def _restore_unused_inputs(path: Path) -> None:
    """Puts back ``mask`` when the tracer dropped it (``global`` models ignore the mask), so
    that every model has the same inputs."""
    import onnx

    graph_model = onnx.load(str(path))
    present = {i.name for i in graph_model.graph.input}
    if "mask" in present:
        return
    graph_model.graph.input.append(
        onnx.helper.make_tensor_value_info("mask", onnx.TensorProto.FLOAT, ["n", 2, "h", "w"])
    )
    onnx.save(graph_model, str(path))


def check_parity(wrapper: nn.Module, session: Any, image: Tensor, mask: Tensor) -> float:
    """Max |ORT - torch| over all maps; RuntimeError if above ATOL."""
    with torch.no_grad():
        ref = wrapper(image, mask)
    got = session.run(None, {"image": image.numpy(), "mask": mask.numpy()})
    worst = 0.0
    for name, r, g in zip(wrapper.names, ref, got, strict=True):
        err = float(np.abs(r.numpy() - g).max())
        worst = max(worst, err)
        if not err <= ATOL:
            raise RuntimeError(
                f"ONNX Runtime differs from torch on map {name!r} at {tuple(image.shape[2:])}: "
                f"max |diff| {err:.2e} > {ATOL}"
            )
    return worst


def manifest_entry(
    model: LocalModel, name: str, onnx_path: Path, ckpt: dict[str, Any], working_resolution: int
) -> dict[str, Any]:
    """The zoo manifest entry of an exported model (see limelight.core.zoo)."""
    return {
        "name": name,
        "file": onnx_path.name,
        "backbone": model.backbone,
        "conversion": model.conversion,
        "family": model.family,
        "inputs": ["image", "mask"],
        "outputs": list(model.map_names),
        "working_resolution": int(working_resolution),
        "pad_multiple": int(model.pad_multiple),
        "sha256": sha256_file(onnx_path),
        "params": count_params(model),
        "card": f"{name}.md",
        "training": {
            "step": int(ckpt.get("step", 0)),
            "wall_time_s": float(ckpt.get("wall_time_s", 0.0)),
            "options": dict(ckpt.get("options", {})),
            "config": ckpt.get("config", {}),
        },
        "metrics": dict(ckpt.get("metrics", {})),
    }


def update_manifest(zoo_dir: Path, entry: dict[str, Any], make_default: bool = False) -> Path:
    """Adds or replaces ``entry`` (by name) in ``zoo_dir/manifest.json``, atomically."""
    manifest = zoo_dir / "manifest.json"
    doc: dict[str, Any] = {"schema": MANIFEST_SCHEMA, "default": None, "models": []}
    if manifest.is_file():
        doc = json.loads(manifest.read_text(encoding="utf-8"))
    models = [m for m in doc.get("models", []) if m.get("name") != entry["name"]]
    models.append(entry)
    doc["models"] = models
    doc["schema"] = MANIFEST_SCHEMA
    if make_default or not doc.get("default"):
        doc["default"] = entry["name"]
    with atomic_path(manifest, sync=False) as tmp:
        tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return manifest


def write_card(zoo_dir: Path, entry: dict[str, Any], model: LocalModel) -> Path:
    """A short markdown model card next to the ONNX file."""
    doc = (type(model.net).__module__ and sys.modules[type(model.net).__module__].__doc__) or ""
    lines = [
        f"# {entry['name']}",
        "",
        f"Backbone `{model.backbone}`, conversion `{model.conversion}`, family `{model.family}`, "
        f"{entry['params']:,} parameters, outputs {', '.join(entry['outputs'])}.",
        "",
        f"Training: {entry['training']['step']} steps, {entry['training']['wall_time_s']:.0f} s.",
        f"Metrics: `{json.dumps(entry['metrics'])}`",
        "",
        "## Architecture",
        "",
        doc.strip(),
        "",
    ]
    path = zoo_dir / entry["card"]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def export_checkpoint(
    checkpoint: Path,
    zoo_dir: Path,
    name: str | None = None,
    working_resolution: int = 1024,
    make_default: bool = False,
) -> dict[str, Any]:
    """Loads a train.py checkpoint, exports it into ``zoo_dir`` and updates the manifest."""
    model, ckpt = load_checkpoint(checkpoint)
    name = name or model.name
    onnx_path = zoo_dir / f"{name}.onnx"
    export_onnx(model, onnx_path)
    entry = manifest_entry(model, name, onnx_path, ckpt, working_resolution)
    write_card(zoo_dir, entry, model)
    update_manifest(zoo_dir, entry, make_default)
    log.info(
        "exported %s (%d params, %.0f kB) to %s",
        name,
        entry["params"],
        onnx_path.stat().st_size / 1024,
        onnx_path,
    )
    return entry


def list_lines() -> list[str]:
    """One line per backbone x conversion: name, family, parameter count, maps."""
    lines = []
    for backbone, conversion in list_models():
        model = build_model(backbone, conversion)
        lines.append(
            f"{backbone:<11} {conversion:<7} {model.family:<9} {count_params(model):>8,d} params"
            f"  maps: {', '.join(model.map_names)}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m limelight_models.export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--checkpoint", type=Path, help="checkpoint written by train.py")
    parser.add_argument("--out", type=Path, default=Path("resources/zoo"), help="zoo folder")
    parser.add_argument("--name", help="model name (default <backbone>-<conversion>)")
    parser.add_argument("--working-resolution", type=int, default=1024)
    parser.add_argument("--default", action="store_true", help="make it the zoo's default")
    parser.add_argument("--list", action="store_true", help="list backbone x conversion")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.list:
        sys.stdout.write("\n".join(list_lines()) + "\n")
        return 0
    if args.checkpoint is None:
        parser.error("--checkpoint is required (or --list)")
    export_checkpoint(args.checkpoint, args.out, args.name, args.working_resolution, args.default)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
