"""Config loading and a tiny end-to-end training run (loss goes down, checkpoint, resume)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from limelight_models.config import ConfigError, load_config
from limelight_models.train import main as train_main

CONFIGS = Path(__file__).resolve().parents[2] / "models" / "configs"


def _toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_keys_are_rejected_by_name(tmp_path: Path) -> None:
    cfg = _toml(tmp_path / "c.toml", 'name="x"\nbackbone="dln"\nconversion="ranlen"\n[loss]\nbetta=1\n')
    with pytest.raises(ConfigError, match=r"loss\.betta") as err:
        load_config(cfg)
    assert "c.toml" in str(err.value)
    cfg2 = _toml(tmp_path / "d.toml", 'name="x"\nbackbone="dln"\nconversion="ranlen"\nstep=3\n')
    with pytest.raises(ConfigError, match="step"):
        load_config(cfg2)


def test_wrong_types_and_values_are_rejected(tmp_path: Path) -> None:
    cfg = _toml(tmp_path / "c.toml", 'name="x"\nbackbone="dln"\nconversion="local"\n')
    with pytest.raises(ConfigError, match="conversion"):
        load_config(cfg)
    cfg = _toml(tmp_path / "d.toml", 'name="x"\nbackbone="dln"\nconversion="ranlen"\nsteps="many"\n')
    with pytest.raises(ConfigError, match="steps"):
        load_config(cfg)


def test_every_shipped_config_loads() -> None:
    files = sorted(CONFIGS.glob("*.toml"))
    assert len(files) >= 16
    names = set()
    for f in files:
        cfg = load_config(f)
        assert cfg.name == f.stem and cfg.out_dir.endswith(f.stem)
        names.add((cfg.backbone, cfg.conversion))
        assert cfg.threads == 1
    assert len(names) == 15  # 5 backbones x 3 conversions (+ the ablation)


def _pairs(root: Path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for sub in ("low", "high"):
        (root / sub).mkdir(parents=True)
    for k in range(n):
        yy, xx = np.mgrid[0:48, 0:48]
        high = np.stack([120 + xx, 100 + yy, 140 + 0 * xx], -1) + rng.integers(0, 30, (48, 48, 3))
        high = np.clip(high, 0, 255).astype(np.uint8)
        PILImage.fromarray(high).save(root / "high" / f"{k}.png")
        PILImage.fromarray((high // 5).astype(np.uint8)).save(root / "low" / f"{k}.png")


@pytest.mark.slow
def test_training_smoke_loss_drops_checkpoint_resume(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    _pairs(tmp_path / "real", 2, 0)
    _pairs(tmp_path / "syn", 1, 1)
    cfg = _toml(tmp_path / "tiny.toml", f"""
name = "tiny"
backbone = "fusion_net"
conversion = "ranlen"
steps = 30
threads = 1
log_every = 5
checkpoint_every = 10
out_dir = "{(tmp_path / 'run').as_posix()}"
[data]
lol = "{(tmp_path / 'real').as_posix()}"
synthetic = ["{(tmp_path / 'syn').as_posix()}"]
eval_pairs = "{(tmp_path / 'real').as_posix()}"
crop_min = 48
crop_max = 48
batch_size = 2
mask_weights = {{ circle = 1.0, global = 1.0 }}
[optim]
lr = 0.01
warmup_steps = 2
schedule = "constant"
""")
    assert train_main(["--config", str(cfg), "--no-progress"]) == 0
    run = tmp_path / "run"
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [5, 10, 15, 20, 25, 30]
    assert log[-1]["total"] < 0.9 * log[0]["total"]  # seeded: 0.92 -> 0.79 here
    ckpt = torch.load(run / "last.pt", weights_only=False)
    assert ckpt["step"] == 30 and "optimizer" in ckpt and "rng" in ckpt
    evals = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
    assert evals[-1]["step"] == 30 and evals[-1]["area_c_max"] == 0
    assert np.isfinite(evals[-1]["global_psnr"])
    # resume continues from step 30 to 40 (steps overridden on the command line)
    assert train_main(["--config", str(cfg), "--resume", "--steps", "40", "--no-progress"]) == 0
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log][-2:] == [35, 40]
    assert torch.load(run / "final.pt", weights_only=False)["step"] == 40


def test_init_from_loads_an_earlier_stage_and_refuses_another_model(tmp_path: Path) -> None:
    from limelight_models.archs import build_model
    from limelight_models.checkpoint import save_checkpoint
    from limelight_models.train import _init_from

    torch.manual_seed(0)
    stage1 = build_model("fusion_net", "ranlen")
    save_checkpoint(tmp_path / "s1.pt", stage1, step=7)
    cfg = load_config(_toml(tmp_path / "s2.toml", f"""
name = "s2"
backbone = "fusion_net"
conversion = "ranlen"
init_from = "{(tmp_path / 's1.pt').as_posix()}"
"""))
    torch.manual_seed(1)
    stage2 = build_model("fusion_net", "ranlen")
    _init_from(stage2, cfg)
    for key, value in stage1.state_dict().items():
        assert torch.equal(value, stage2.state_dict()[key]), key
    with pytest.raises(ConfigError, match="init_from"):
        _init_from(build_model("fusion_net", "concat"), cfg)
    with pytest.raises(ConfigError, match="init_from"):  # another parameter shape
        _init_from(build_model("fusion_net", "ranlen", width=4), cfg)
    # an option that changes only the computation may be switched on by a later stage
    _init_from(build_model("fusion_net", "ranlen", noise_smoothing=2), cfg)


def test_init_scale_rescales_the_named_module_only(tmp_path: Path) -> None:
    from limelight_models.archs import build_model
    from limelight_models.checkpoint import save_checkpoint
    from limelight_models.train import _init_from

    torch.manual_seed(0)
    stage1 = build_model("fusion_net", "ranlen")
    save_checkpoint(tmp_path / "s1.pt", stage1, step=7)
    body = f"""
name = "s2"
backbone = "fusion_net"
conversion = "ranlen"
init_from = "{(tmp_path / 's1.pt').as_posix()}"
"""
    cfg = load_config(_toml(tmp_path / "s2.toml", body + 'init_scale = { "net.fusion.out" = 0.5 }\n'))
    stage2 = build_model("fusion_net", "ranlen")
    _init_from(stage2, cfg)
    before, after = stage1.state_dict(), stage2.state_dict()
    for key in before:
        expected = before[key] * 0.5 if key.startswith("net.fusion.out.") else before[key]
        assert torch.allclose(after[key], expected), key
    bad = load_config(_toml(tmp_path / "s3.toml", body + 'init_scale = { "net.nope" = 0.5 }\n'))
    with pytest.raises(ConfigError, match="net.nope"):
        _init_from(build_model("fusion_net", "ranlen"), bad)
    with pytest.raises(ConfigError, match="init_scale needs init_from"):
        load_config(_toml(tmp_path / "s4.toml", 'name = "x"\nbackbone = "fusion_net"\n'
                          'conversion = "ranlen"\ninit_scale = { "net.fusion.out" = 0.5 }\n'))


def test_refine_penalty_adds_mean_abs_refine_to_the_loss() -> None:
    from limelight_models.archs import build_model
    from limelight_models.data.batches import BatchStream
    from limelight_models.data.masks import MaskSampler
    from limelight_models.data.paired import Pair
    from limelight_models.losses.region import RegionWeights
    from limelight_models.train import train_step

    rng = np.random.default_rng(0)
    pairs = [Pair(f"p{i}", rng.integers(0, 60, (48, 64, 3), dtype=np.uint8),
                  rng.integers(60, 255, (48, 64, 3), dtype=np.uint8)) for i in range(2)]

    def step(refine_l1: float) -> dict[str, float]:
        torch.manual_seed(0)
        model = build_model("fusion_net", "ranlen")
        torch.nn.init.normal_(model.refine.out.weight, std=0.1)  # a non-zero residual
        stream = BatchStream(pairs, [], 0.0, MaskSampler({"global": 1.0}), 2, 32, 32)
        batch = stream.next(np.random.default_rng(1))
        opt = torch.optim.SGD(model.parameters(), lr=0.0)
        return train_step(model, batch, opt, RegionWeights(refine_l1=refine_l1), 0.0)

    plain, penalised = step(0.0), step(0.5)
    assert plain["l_refine"] == 0.0 and penalised["l_refine"] > 0
    assert penalised["total"] == pytest.approx(plain["total"] + 0.5 * penalised["l_refine"],
                                               rel=1e-5)


def test_mse_a_adds_the_area_a_squared_error_to_the_loss() -> None:
    from limelight_models.archs import build_model
    from limelight_models.data.batches import BatchStream
    from limelight_models.data.masks import MaskSampler
    from limelight_models.data.paired import Pair
    from limelight_models.losses.region import RegionWeights
    from limelight_models.train import train_step

    rng = np.random.default_rng(0)
    pairs = [Pair(f"p{i}", rng.integers(0, 60, (48, 64, 3), dtype=np.uint8),
                  rng.integers(60, 255, (48, 64, 3), dtype=np.uint8)) for i in range(2)]
    stream = BatchStream(pairs, [], 0.0, MaskSampler({"global": 1.0}), 2, 32, 32)
    batch = stream.next(np.random.default_rng(1))

    def step(mse_a: float) -> dict[str, float]:
        torch.manual_seed(0)
        model = build_model("fusion_net", "ranlen")
        opt = torch.optim.SGD(model.parameters(), lr=0.0)
        return train_step(model, batch, opt, RegionWeights(mse_a=mse_a), 0.0)

    torch.manual_seed(0)
    with torch.no_grad():  # global masks: area A is every pixel, so L_A's extra is the MSE
        mse = float(((build_model("fusion_net", "ranlen")(batch.low, batch.mask)["output"]
                      - batch.high) ** 2).mean())
    plain, weighted = step(0.0), step(10.0)
    assert mse > 0.01
    assert weighted["l_a"] == pytest.approx(plain["l_a"] + 10.0 * mse, rel=1e-4)


def test_the_training_queue_runs_every_config_once_and_each_stage_after_its_parent() -> None:
    import re

    text = (CONFIGS.parent / "train_queue.sh").read_text(encoding="utf-8")
    workers = [m.group(1).split() for m in re.finditer(r"WORKER_[AB]=\(([^)]*)\)", text)]
    queued = [name for w in workers for name in w]
    assert sorted(queued) == sorted(p.stem for p in CONFIGS.glob("*.toml"))
    for names in workers:  # a stage's init_from run is queued earlier in the same worker
        for i, name in enumerate(names):
            init = load_config(CONFIGS / f"{name}.toml").init_from
            if init:
                parent = Path(init).parent.name
                assert parent in names[:i], f"{name} starts from {parent}, not queued before it"
