"""Train one model from a config: ``python -m limelight_models.train --config FILE``.

Options: ``--resume`` (continue from ``<out>/last.pt``), ``--steps N`` and ``--out DIR``
(override the config). Writes into the output folder:

* ``last.pt`` every ``checkpoint_every`` steps or ``checkpoint_minutes`` (atomic; model,
  optimiser, step, numpy and torch RNG states, wall time), ``final.pt`` at the end;
* ``log.jsonl``: one line per ``log_every`` steps (mean total and L_A, L_B, L_C over the
  window, learning rate, elapsed seconds, steps per second);
* ``eval.jsonl``: evaluation figures every ``eval_every`` steps and at the end
  (``limelight_models.evaluate``, torch path, on ``data.eval_pairs``);
* ``config.json``: the resolved config.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from tqdm import tqdm

from limelight_models.archs import GRAPH_OPTIONS, LocalModel, build_model
from limelight_models.checkpoint import save_checkpoint
from limelight_models.config import ConfigError, TrainConfig, load_config
from limelight_models.data.batches import BatchStream
from limelight_models.data.light import light_pairs
from limelight_models.data.masks import MaskSampler
from limelight_models.data.paired import Pair, PairedFolder
from limelight_models.losses.backbone_losses import backbone_loss_map
from limelight_models.losses.gradient_smooth import lb_target
from limelight_models.losses.region import RegionWeights, region_loss

log = logging.getLogger("limelight_models.train")


@dataclass
class _Window:
    """Running sums of the loss terms over one logging window."""

    n: int = 0
    sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(
        ("total", "l_a", "l_b", "l_c", "l_refine"), 0.0))

    def add(self, **terms: float) -> None:
        self.n += 1
        for k, v in terms.items():
            self.sums[k] += v

    def means(self) -> dict[str, float]:
        return {k: v / max(self.n, 1) for k, v in self.sums.items()}


def learning_rate(cfg: TrainConfig, step: int, elapsed_s: float) -> float:
    """Warm-up then cosine (or constant) on the run's progress (steps or time budget)."""
    o = cfg.optim
    if step < o.warmup_steps:
        return o.lr * (step + 1) / o.warmup_steps
    if o.schedule == "constant":
        return o.lr
    progress = step / cfg.steps
    if cfg.time_budget_min:
        progress = max(progress, elapsed_s / (60.0 * cfg.time_budget_min))
    progress = min(progress, 1.0)
    floor = o.lr * o.min_lr_ratio
    return floor + 0.5 * (o.lr - floor) * (1.0 + math.cos(math.pi * progress))


def load_pairs(cfg: TrainConfig) -> tuple[list[Pair], list[Pair]]:
    """(real, synthetic) pairs of the config, decoded into memory."""
    d = cfg.data
    real = PairedFolder(d.lol, limit=d.limit).pairs if d.lol else []
    synthetic: list[Pair] = []
    for folder in d.synthetic:
        synthetic += PairedFolder(folder, limit=d.limit).pairs
    if d.light_mix:
        synthetic += light_pairs(d.light_sources, d.light_mix, d.light_per_image, cfg.seed,
                                 limit=d.limit)
    return real, synthetic


def train_step(
    model: LocalModel, batch: Any, opt: torch.optim.Optimizer, weights: RegionWeights,
    grad_clip: float,
) -> dict[str, float]:
    """One optimisation step; returns the loss terms."""
    maps = model(batch.low, batch.mask)
    la_map = backbone_loss_map(model.backbone, maps, batch.high, batch.low)
    if weights.mse_a:
        la_map = la_map + weights.mse_a * ((maps["output"] - batch.high) ** 2).mean(1, keepdim=True)
    terms = region_loss(la_map, maps["output"], lb_target(model.family, maps["smooth_target"]),
                        batch.low, batch.mask, weights)
    total = terms.total
    l_r = 0.0
    if weights.refine_l1 and "refine" in maps:
        penalty = maps["refine"].abs().mean()
        total = total + weights.refine_l1 * penalty
        l_r = float(penalty.detach())
    opt.zero_grad(set_to_none=True)
    total.backward()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    return {"total": float(total.detach()), "l_a": terms.loss_a, "l_b": terms.loss_b,
            "l_c": terms.loss_c, "l_refine": l_r}


def _rng_state(rng: np.random.Generator) -> dict[str, Any]:
    return {"numpy": rng.bit_generator.state, "torch": torch.get_rng_state()}


def _save(path: Path, model: LocalModel, opt: torch.optim.Optimizer, cfg: TrainConfig,
          step: int, wall: float, rng: np.random.Generator) -> None:
    save_checkpoint(path, model, config=cfg.as_dict(), step=step, wall_time_s=wall,
                    extra={"optimizer": opt.state_dict(), "rng": _rng_state(rng)})


def _append_jsonl(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


@functools.lru_cache(maxsize=2)
def _eval_pairs(folder: str) -> PairedFolder:
    """The evaluation pairs, decoded once per run rather than at every evaluation."""
    return PairedFolder(folder)


def _evaluate(model: LocalModel, cfg: TrainConfig, out: Path, step: int) -> dict[str, Any] | None:
    if not cfg.data.eval_pairs:
        return None
    from limelight_models.evaluate import TorchRunner, evaluate_runner

    model.eval()
    try:
        # no colour error here: it would cost ~3 s of every time-budgeted run's evaluations
        pairs = _eval_pairs(str(cfg.data.eval_pairs))
        result = evaluate_runner(TorchRunner(model, name=cfg.name), pairs,
                                 timing=False, colour=False)
    finally:
        model.train()
    record = {"step": step, **result}
    _append_jsonl(out / "eval.jsonl", record)
    log.info("eval at step %d: %s", step, {k: v for k, v in result.items() if isinstance(v, float)})
    return record


def _init_from(model: LocalModel, cfg: TrainConfig) -> None:
    """Loads the weights of an earlier stage's checkpoint (``cfg.init_from``) into ``model``."""
    doc = torch.load(cfg.init_from, map_location="cpu", weights_only=False)
    def same(opts: dict[str, Any] | None) -> dict[str, Any]:  # GRAPH_OPTIONS may differ
        return {k: v for k, v in (opts or {}).items() if k not in GRAPH_OPTIONS}

    theirs = (doc.get("backbone"), doc.get("conversion"), same(doc.get("options")))
    ours = (model.backbone, model.conversion, same(model.options))
    if theirs != ours:
        raise ConfigError(f"init_from {cfg.init_from}: checkpoint is {theirs}, config builds {ours}")
    model.load_state_dict(doc["state_dict"])
    log.info("%s starts from %s (step %s)", cfg.name, cfg.init_from, doc.get("step"))
    for name, factor in cfg.init_scale.items():
        try:
            module = model.get_submodule(name)
        except AttributeError:
            raise ConfigError(f"init_scale: the model has no module {name!r}") from None
        with torch.no_grad():
            for param in module.parameters():
                param.mul_(float(factor))
        log.info("%s: parameters of %s scaled by %g", cfg.name, name, factor)


def train(cfg: TrainConfig, out: Path, resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """Runs the training of ``cfg`` into ``out``; returns a summary dict."""
    torch.set_num_threads(cfg.threads)
    cv2.setNumThreads(1)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(cfg.as_dict(), indent=2), encoding="utf-8")
    model = build_model(cfg.backbone, cfg.conversion, **cfg.model)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    step, wall0 = 0, 0.0
    if resume and (out / "last.pt").is_file():
        doc = torch.load(out / "last.pt", map_location="cpu", weights_only=False)
        model.load_state_dict(doc["state_dict"])
        opt.load_state_dict(doc["optimizer"])
        step, wall0 = int(doc["step"]), float(doc["wall_time_s"])
        rng.bit_generator.state = doc["rng"]["numpy"]
        torch.set_rng_state(doc["rng"]["torch"])
        log.info("resumed %s at step %d (%.1f min)", cfg.name, step, wall0 / 60)
    elif cfg.init_from:
        _init_from(model, cfg)
    real, synthetic = load_pairs(cfg)
    stream = BatchStream(real, synthetic, cfg.data.synth_fraction, MaskSampler(cfg.data.mask_weights),
                         cfg.data.batch_size, cfg.data.crop_min, cfg.data.crop_max)
    weights = cfg.loss
    model.train()
    t0 = time.monotonic() - wall0
    last_ckpt = time.monotonic()
    window = _Window()
    bar = tqdm(total=cfg.steps, initial=step, disable=not progress, desc=cfg.name, file=sys.stderr)
    stopped_by = "steps"
    while step < cfg.steps:
        elapsed = time.monotonic() - t0
        if cfg.time_budget_min and elapsed >= 60.0 * cfg.time_budget_min:
            stopped_by = "time"
            break
        lr = learning_rate(cfg, step, elapsed)
        for g in opt.param_groups:
            g["lr"] = lr
        window.add(**train_step(model, stream.next(rng), opt, weights, cfg.optim.grad_clip))
        step += 1
        bar.update(1)
        if step % cfg.log_every == 0:
            m = window.means()
            el = time.monotonic() - t0
            _append_jsonl(out / "log.jsonl", {"step": step, **m, "lr": lr, "elapsed_s": round(el, 2),
                                              "steps_per_s": round(step / max(el, 1e-9), 3)})
            bar.set_postfix(loss=f"{m['total']:.4f}")
            window = _Window()
        if step % cfg.checkpoint_every == 0 or time.monotonic() - last_ckpt > 60 * cfg.checkpoint_minutes:
            _save(out / "last.pt", model, opt, cfg, step, time.monotonic() - t0, rng)
            last_ckpt = time.monotonic()
        if cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.steps:
            _evaluate(model, cfg, out, step)
    bar.close()
    wall = time.monotonic() - t0
    _save(out / "last.pt", model, opt, cfg, step, wall, rng)
    _save(out / "final.pt", model, opt, cfg, step, wall, rng)
    summary: dict[str, Any] = {"name": cfg.name, "step": step, "wall_time_s": round(wall, 1),
                               "stopped_by": stopped_by}
    final_eval = _evaluate(model, cfg, out, step)
    if final_eval:
        summary["eval"] = final_eval
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train a Limelight model from a TOML config.")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--resume", action="store_true", help="continue from <out>/last.pt")
    parser.add_argument("--steps", type=int, default=None, help="override the config's steps")
    parser.add_argument("--out", type=Path, default=None, help="override the config's out_dir")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        stream=sys.stderr)
    cfg = load_config(args.config, steps=args.steps,
                      out_dir=str(args.out) if args.out is not None else None)
    summary = train(cfg, Path(cfg.out_dir), resume=args.resume, progress=not args.no_progress)
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
