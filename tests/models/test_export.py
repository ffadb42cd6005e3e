"""ONNX export: parity with torch for every backbone x conversion at two sizes, manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from limelight.core.zoo import load_zoo
from limelight_models.archs import build_model, list_models
from limelight_models.checkpoint import load_checkpoint, save_checkpoint
from limelight_models.export import export_onnx, list_lines, main, sample_inputs

torch.set_num_threads(1)


def _session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


COMBOS = [
    pytest.param(b, c, {}, marks=() if (b, c) == ("fusion_net", "ranlen") else pytest.mark.slow)
    for b, c in list_models()
] + [pytest.param("fusion_net", c, {"noise_smoothing": 2}, id=f"fusion_net-{c}-smoothing",
                  marks=() if c == "ranlen" else pytest.mark.slow)
     for c in ("global", "concat", "ranlen")]
# ~2 s each on a loaded 2-core machine: only the default model's graph is in the fast subset


@pytest.mark.parametrize(("backbone", "conversion", "options"), COMBOS)
def test_onnx_matches_torch_at_two_sizes(tmp_path: Path, backbone: str, conversion: str,
                                         options: dict) -> None:
    torch.manual_seed(0)
    model = build_model(backbone, conversion, **options).eval()
    with torch.no_grad():  # random non-zero weights everywhere, so parity is not trivial
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    path = tmp_path / "m.onnx"
    export_onnx(model, path, sizes=((32, 48), (24, 20)))
    session = _session(path)
    assert [o.name for o in session.get_outputs()] == list(model.map_names)
    assert [i.name for i in session.get_inputs()] == ["image", "mask"]
    assert path.stat().st_size < 2 * 1024 * 1024
    for h, w in ((32, 48), (40, 28)):  # the second size was never seen by the exporter
        image, mask = sample_inputs(model, h, w, seed=h)
        with torch.no_grad():
            ref = model(image, mask)
        got = session.run(None, {"image": image.numpy(), "mask": mask.numpy()})
        for name, arr in zip(model.map_names, got, strict=True):
            np.testing.assert_allclose(arr, ref[name].numpy(), atol=1e-4, rtol=1e-4)


def test_checkpoint_round_trip_and_manifest(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model("fusion_net", "ranlen")
    ckpt = save_checkpoint(
        tmp_path / "ck" / "last.pt",
        model,
        config={"lr": 1e-3},
        step=7,
        wall_time_s=12.5,
        extra={"metrics": {"psnr": 1.0}},
    )
    loaded, doc = load_checkpoint(ckpt)
    assert doc["step"] == 7 and doc["config"] == {"lr": 1e-3}
    image, mask = sample_inputs(model, 32, 48)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(image, mask)["output"], model(image, mask)["output"])

    zoo_dir = tmp_path / "zoo"
    assert main(["--checkpoint", str(ckpt), "--out", str(zoo_dir)]) == 0
    assert main(["--checkpoint", str(ckpt), "--out", str(zoo_dir), "--name", "second"]) == 0
    zoo = load_zoo(zoo_dir)
    assert zoo.names == ("fusion_net-ranlen", "second")
    assert zoo.default == "fusion_net-ranlen"
    info = zoo.get()
    info.verify()  # sha256 matches the file
    assert info.family == "fusion" and info.pad_multiple == 2
    assert info.outputs == model.map_names and info.params == sum(
        p.numel() for p in model.parameters()
    )
    assert info.training["step"] == 7 and info.metrics == {"psnr": 1.0}
    assert info.card is not None and info.card.is_file()
    # re-exporting the same name replaces its entry instead of duplicating it
    assert main(["--checkpoint", str(ckpt), "--out", str(zoo_dir), "--name", "second"]) == 0
    doc = json.loads((zoo_dir / "manifest.json").read_text())
    assert [m["name"] for m in doc["models"]] == ["fusion_net-ranlen", "second"]


def test_list_has_one_line_per_combination() -> None:
    lines = list_lines()
    assert len(lines) == 15
    assert lines[8].split()[:2] == ["fusion_net", "ranlen"] and "refine" in lines[8]
