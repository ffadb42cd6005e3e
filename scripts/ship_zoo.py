"""Ship the trained models: export every finished run, evaluate, write the table and cards.

    python scripts/ship_zoo.py                 (from the repository root)
    python scripts/ship_zoo.py --bench         (also re-run ``python -m bench``)
    python scripts/ship_zoo.py --snapshot --zoo /tmp/zoo --docs /tmp/docs   (dry run)

For every config in ``models/configs/`` whose run (``out_dir``, default ``../runs/<name>``)
has finished (``summary.json`` and ``final.pt``):

* the backbone x conversion models (config name ``<backbone>-<conversion>``) are exported
  with ``limelight_models.export`` into a fresh zoo that replaces ``--zoo`` (ONNX,
  ``manifest.json`` with sha256, a model card each); staged runs ``<name>-long`` (stage 2)
  and ``<name>-long<k>`` (stage k, each ``init_from`` the one before) ship under ``<name>``:
  the last finished stage ships, the earlier ones are evaluated as ``<name>-short`` and
  ``<name>-stage<k>``;
* the other runs (the L_B ablation ``fusion_net-ranlen-nolb``, a superseded short run) are
  exported into a scratch folder and evaluated, never shipped;
* every ONNX file is evaluated through the app's Engine and pipeline on LOL eval15
  (``limelight_models.evaluate``, protocol of design.md), with CPU ms at 1 MP, and on
  *non-uniform light*: eval15's normal-light photos under the mixed-exposure synthesis
  (``MIXED_EVAL``: made once into ``--mixed-pairs`` when missing; LOL itself has no
  over-exposure, so only this set shows what the highlights branch and gamma2 do);
* ``docs/results.json`` and ``docs/results.md`` are written from those figures, and the
  figures are copied into each model card and the manifest's ``metrics``.

``--snapshot`` uses the runs' ``last.pt`` (copied to the scratch folder first) so the tooling
can be tried while training runs; never point it at the shipped zoo.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ship_knobs  # sibling modules: Python puts a script's own folder first on sys.path
import ship_report
from report.common import add_pair_options, check_pairs

REPO = Path(__file__).resolve().parents[1]

log = logging.getLogger("ship_zoo")

#: The zoo's default model: the fusion family carries all four knobs (degree, gamma1-3) and
#: ranlen is the region-aware conversion; results.md gives the figures behind the choice.
DEFAULT_MODEL = "fusion_net-ranlen"
MAX_ZOO_MB = 30.0
#: A model ships only if it beats the classic zero-reference baselines re-measured on this
#: data (Zero-DCE 14.86 dB): a row whose short training failed (e.g. 7.7 dB, no better than
#: the input) stays in the table but is not offered to photographers in the model picker.
SHIP_FLOOR_DB = 15.0


@dataclass(frozen=True)
class Run:
    """One training run of a config."""

    config: Path
    name: str  # the config's name
    model_name: str  # <backbone>-<conversion>
    out: Path
    cfg: dict[str, Any]

    @property
    def finished(self) -> bool:
        return (self.out / "summary.json").is_file() and (self.out / "final.pt").is_file()

    @property
    def summary(self) -> dict[str, Any]:
        p = self.out / "summary.json"
        return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}


def discover_runs(config_dir: Path) -> list[Run]:
    """Every config's run, in file-name order."""
    from limelight_models.config import load_config

    runs = []
    for path in sorted(config_dir.glob("*.toml")):
        cfg = load_config(path)
        runs.append(Run(path, cfg.name, f"{cfg.backbone}-{cfg.conversion}", Path(cfg.out_dir),
                        cfg.as_dict()))
    return runs


def shipping_plan(runs: list[Run], snapshot: bool) -> tuple[dict[str, Run], dict[str, Run]]:
    """(shipped model name -> run, evaluated-only name -> run) among the usable runs."""
    usable = [r for r in runs if (r.out / "last.pt").is_file()] if snapshot else [
        r for r in runs if r.finished]
    shipped: dict[str, Run] = {}
    extra: dict[str, Run] = {}
    keyed = sorted(((key, r) for r in usable if (key := ship_key(r)) is not None),
                   key=lambda kr: (kr[0][1], kr[1].name))
    for (name, _stage), r in keyed:  # later stages replace earlier ones
        earlier = shipped.get(name)
        if earlier is not None:
            extra[_superseded_name(earlier)] = earlier
        shipped[name] = r
    for r in usable:
        if ship_key(r) is None:
            extra[r.name] = r
    return shipped, extra


def ship_key(run: Run) -> tuple[str, int] | None:
    """(shipped name, stage) of a run: stage 1 for ``<model>``, 2 for ``<model>-long``, k for
    ``<model>-long<k>``, where ``<model>`` is ``<backbone>-<conversion>``; None for a run
    that does not ship (an ablation, a comparison)."""
    if run.name == run.model_name:
        return run.model_name, 1
    m = re.fullmatch(re.escape(run.model_name) + r"-long(\d*)", run.name)
    return (run.model_name, int(m.group(1)) if m.group(1) else 2) if m else None


def _superseded_name(run: Run) -> str:
    """Row name of a superseded stage: ``<model>-short`` (stage 1), ``<model>-stage<k>``."""
    key = ship_key(run)
    assert key is not None, run.name  # only shipped stages are superseded
    name, stage = key
    return f"{name}-short" if stage == 1 else f"{name}-stage{stage}"


def _checkpoint(run: Run, snapshot: bool, scratch: Path) -> Path:
    if not snapshot:
        return run.out / "final.pt"
    copy = scratch / "ckpt" / f"{run.name}.pt"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(run.out / "last.pt", copy)
    return copy


def export_all(shipped: dict[str, Run], extra: dict[str, Run], zoo: Path, scratch: Path,
               snapshot: bool) -> tuple[dict[str, Path], dict[str, dict[str, Any]]]:
    """Exports the shipped models into ``zoo`` and the others into ``scratch/extra``.

    Returns (name -> ONNX path, name -> checkpoint facts: step, wall_time_s)."""
    from limelight_models.archs import list_models
    from limelight_models.export import export_checkpoint

    order = {f"{b}-{c}": i for i, (b, c) in enumerate(list_models())}
    paths: dict[str, Path] = {}
    facts: dict[str, dict[str, Any]] = {}
    jobs = [(n, r, zoo) for n, r in sorted(shipped.items(), key=lambda kv: order.get(kv[0], 99))]
    jobs += [(n, r, scratch / "extra") for n, r in sorted(extra.items())]
    for name, run, folder in jobs:
        entry = export_checkpoint(_checkpoint(run, snapshot, scratch), folder, name=name)
        paths[name] = folder / f"{name}.onnx"
        facts[name] = {"step": entry["training"]["step"],
                       "wall_time_s": entry["training"]["wall_time_s"]}
    for p in zoo.iterdir():
        p.chmod(0o644)
    return paths, facts


#: The non-uniform-light evaluation set: every normal-light photo of LOL eval15 (never
#: trained on) darkened and partly over-exposed by the training synthesis's ``--mixed``
#: recipe, one pair per photo, seed 2 (the training caches use seeds 0 and 1).
MIXED_EVAL = {"per_image": 1, "seed": 2, "mixed": 1.0}


def mixed_light_pairs(pairs: Path, out: Path) -> Path:
    """``out``, made from ``pairs/high`` with ``MIXED_EVAL`` when it is not there yet."""
    if not (out / "low").is_dir():
        from limelight_models.data.synth import SynthParams, pregenerate, source_images

        n = pregenerate(source_images([pairs / "high"]), out, MIXED_EVAL["per_image"],
                        MIXED_EVAL["seed"], SynthParams(mixed_probability=MIXED_EVAL["mixed"]))
        log.info("made %d non-uniform-light pairs in %s", n, out)
    return out


def input_figures(pairs: Any, psnr_only: bool = False) -> dict[str, float]:
    """Mean PSNR, SSIM and CIEDE2000 (PSNR alone with ``psnr_only``) of a PairedFolder's
    inputs against their targets (no enhancement)."""
    from limelight_models import metrics

    ps = pairs.pairs
    out = {"input_psnr": sum(metrics.psnr(p.low, p.high) for p in ps) / len(ps)}
    if not psnr_only:
        out["input_ssim"] = sum(metrics.ssim(p.low, p.high) for p in ps) / len(ps)
        out["input_delta_e"] = sum(metrics.delta_e(p.low, p.high) for p in ps) / len(ps)
    return out


def evaluate_all(paths: dict[str, Path], folder: Any, mixed_folder: Any = None
                 ) -> dict[str, dict[str, Any]]:
    """name -> the protocol's figures (ONNX through the app's Engine and pipeline) on the
    PairedFolder ``folder``; with ``mixed_folder`` also ``res["mixed"]``: global and area-A
    figures on those pairs."""
    from limelight_models.evaluate import EngineRunner, evaluate_runner

    results = {}
    for name, path in paths.items():
        t = time.perf_counter()
        runner = EngineRunner(path)
        res = evaluate_runner(runner, folder, timing=True)
        if mixed_folder is not None:
            m = evaluate_runner(runner, mixed_folder, timing=False)
            res["mixed"] = {k: m[k] for k in ("global_psnr", "global_ssim", "global_delta_e",
                                              "area_a_psnr")}
        res["name"], res["family"] = name, runner.info.family
        res["knobs"] = ship_knobs.knob_response(runner.engine, runner.name)
        results[name] = res
        log.info("%s: %.2f dB / %.3f, A %.2f dB, C max %d, B %.4f, %.0f ms @1MP (%.0f s)",
                 name, res["global_psnr"], res["global_ssim"], res["area_a_psnr"],
                 res["area_c_max"], res["b_roughness"], res["ms_1mp"],
                 time.perf_counter() - t)
    return results


def previous_records(docs: Path) -> dict[str, dict[str, Any]]:
    """The rows of the last ``results.json``, by config path ({} when there is none)."""
    p = docs / "results.json"
    if not p.is_file():
        return {}
    return {r["config"]: r for r in json.loads(p.read_text(encoding="utf-8")).get("models", [])}


def _carried_over(record: dict[str, Any], previous: dict[str, dict[str, Any]]) -> None:
    """Fills the log-derived figures (``training_eval``, ``lb_share``) of a run whose logs
    are gone (a run restored from ``models/checkpoints`` without them) from the last
    ``results.json``, only from a row measured on the same run: the same config with the
    same step and wall time, or (a config renamed since) the one row with that step and
    wall time."""
    def same_run(old: dict[str, Any]) -> bool:
        t = old.get("training", {})
        return (t.get("step") == record["training"]["step"]
                and t.get("wall_time_s") == record["training"]["wall_time_s"])

    old = previous.get(record["config"])
    if old is None:
        matches = [r for r in previous.values() if same_run(r)]
        old = matches[0] if len(matches) == 1 else None
    if not old or not same_run(old):
        return
    for key in ("training_eval", "lb_share"):
        if record.get(key) is None and old.get(key) is not None:
            record[key] = old[key]


def run_record(name: str, run: Run, facts: dict[str, Any], figures: dict[str, Any],
               shipped: bool, previous: dict[str, dict[str, Any]] | None = None,
               stage_runs: dict[Path, Run] | None = None) -> dict[str, Any]:
    """One row of results.json: the figures plus the run's training budget; figures from
    the run's logs fall back to ``previous`` rows of the same run (see ``_carried_over``);
    ``stage_runs``: resolved run folder -> its current config's run (``config_runs``)."""
    summary = run.summary
    record = {
        **figures,
        "name": name,
        "config": str(run.config.relative_to(REPO)),
        "shipped": shipped,
        "training": {
            "step": facts["step"],
            "wall_time_s": round(float(facts["wall_time_s"]), 1),
            "stopped_by": summary.get("stopped_by", "unfinished (snapshot)"),
            "threads": run.cfg.get("threads"),
            "time_budget_min": run.cfg.get("time_budget_min"),
            "use_lb": run.cfg.get("loss", {}).get("use_lb"),
            "beta": run.cfg.get("loss", {}).get("beta"),
            "refine_l1": run.cfg.get("loss", {}).get("refine_l1"),
            "mse_a": run.cfg.get("loss", {}).get("mse_a"),
            "straight_through_clip": bool(run.cfg.get("model", {}).get("straight_through_clip")),
            "noise_smoothing": run.cfg.get("model", {}).get("noise_smoothing", 0),
            "batch_size": run.cfg.get("data", {}).get("batch_size"),
            "crops": [run.cfg.get("data", {}).get("crop_min"),
                      run.cfg.get("data", {}).get("crop_max")],
            "synthetic": run.cfg.get("data", {}).get("synthetic"),
            "synth_fraction": run.cfg.get("data", {}).get("synth_fraction"),
        },
        "training_eval": _budget_point(run),
        "lb_share": _lb_share(run),
        "earlier_stages": _earlier_stages(run, stage_runs),
    }
    _carried_over(record, previous or {})
    return record


def _lb_share(run: Run, last: int = 50) -> float | None:
    """beta * L_B as a fraction of the total loss, averaged over the last ``last`` logged
    steps (``log.jsonl``); None without L_B or a log."""
    log_p = run.out / "log.jsonl"
    beta = run.cfg.get("loss", {}).get("beta")
    if not log_p.is_file() or not run.cfg.get("loss", {}).get("use_lb") or not beta:
        return None
    recs = [json.loads(x) for x in log_p.read_text(encoding="utf-8").splitlines()[-last:]]
    shares = [beta * r["l_b"] / r["total"] for r in recs if r.get("total")]
    return sum(shares) / len(shares) if shares else None


def config_runs(runs: list[Run]) -> dict[Path, Run]:
    """Resolved run folder -> the current config's run that writes it (a renamed config's
    runs keep the old name, and the old ``init_from``, in their stored files)."""
    return {r.out.resolve(): r for r in runs}


def _earlier_stages(run: Run, current: dict[Path, Run] | None = None) -> list[dict[str, Any]]:
    """The runs a staged config starts from (``init_from``, followed back to stage 1), first
    stage first: their config names, checkpoints, steps, wall time and synthetic data. A
    stage that a current config writes (``current``) is named, and followed further, by that
    config; otherwise by the name in its summary and the ``init_from`` of its stored config."""
    stages: list[dict[str, Any]] = []
    init = run.cfg.get("init_from")
    while init:
        out = Path(init).parent
        summary, config = out / "summary.json", out / "config.json"
        if not summary.is_file():
            break
        doc = json.loads(summary.read_text(encoding="utf-8"))
        cfg = json.loads(config.read_text(encoding="utf-8")) if config.is_file() else {}
        now = (current or {}).get(out.resolve())
        if now is not None:
            cfg = {**cfg, "init_from": now.cfg.get("init_from")}
        data = cfg.get("data", {})
        stages.insert(0, {"name": now.name if now else doc.get("name", out.name),
                          "init_from": init,
                          "step": doc["step"], "wall_time_s": doc["wall_time_s"],
                          "synthetic": data.get("synthetic"),
                          "synth_fraction": data.get("synth_fraction")})
        init = cfg.get("init_from")
    return stages


def _budget_point(run: Run, minutes: float = 5.0) -> dict[str, Any] | None:
    """The run's own training-time evaluation (torch path) at the last eval within the first
    ``minutes`` of training, so a longer run can be compared at the others' budget."""
    log_p, eval_p = run.out / "log.jsonl", run.out / "eval.jsonl"
    if not (log_p.is_file() and eval_p.is_file()):
        return None
    elapsed = {}
    for line in log_p.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        elapsed[rec["step"]] = rec["elapsed_s"]
    best = None
    for line in eval_p.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        t = elapsed.get(rec["step"])
        if t is not None and t <= 60 * minutes:
            best = {"step": rec["step"], "elapsed_s": t, "global_psnr": rec["global_psnr"],
                    "global_ssim": rec["global_ssim"], "area_a_psnr": rec["area_a_psnr"]}
    return best


def drop_below_floor(zoo: Path, results: dict[str, dict[str, Any]], shipped: dict[str, Run],
                     default: str) -> list[str]:
    """Removes from ``zoo`` (files and manifest) the shipped models under SHIP_FLOOR_DB."""
    low = sorted(n for n in shipped if n != default and results[n]["global_psnr"] < SHIP_FLOOR_DB)
    if not low:
        return []
    manifest = zoo / "manifest.json"
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    doc["models"] = [m for m in doc["models"] if m["name"] not in low]
    manifest.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    for name in low:
        for suffix in (".onnx", ".md"):
            (zoo / f"{name}{suffix}").unlink(missing_ok=True)
        log.warning("%s: %.2f dB is under the %.1f dB floor: evaluated, not shipped",
                    name, results[name]["global_psnr"], SHIP_FLOOR_DB)
    return low


def finalize_manifest(zoo: Path, results: dict[str, dict[str, Any]], default: str) -> None:
    """Copies each model's figures into its manifest entry and marks the default."""
    manifest = zoo / "manifest.json"
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    if default not in {m["name"] for m in doc["models"]}:
        raise SystemExit(f"the default model {default!r} was not exported")
    for m in doc["models"]:
        r = results[m["name"]]
        m["metrics"] = {k: r[k] for k in ship_report.METRIC_KEYS if k in r}
        m["metrics"]["protocol"] = "LOL eval15, design.md; python scripts/ship_zoo.py"
        knobs = r.get("knobs") or {}
        if "gamma1_dark" in knobs:  # measured on the knob tests' inputs (ship_knobs)
            m["metrics"]["inert_knobs"] = [
                f"gamma{g}" for g in (1, 2, 3) if not ship_knobs.knob_moves(knobs, f"γ{g}")]
    doc["default"] = default
    manifest.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    manifest.chmod(0o644)


def run_bench(out: Path, model: str, onnx: Path) -> str:
    """Runs ``python -m bench`` on the shipped zoo, then times the default's ONNX
    session under other session options; returns the text (with the load) written to
    ``out``."""
    load = os.getloadavg()
    cmd = [sys.executable, "-m", "bench", "--model", model]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO)
    text = (f"$ {' '.join(['python', *cmd[1:]])}\n"
            f"# load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
            f"({os.cpu_count()} cores); {time.strftime('%Y-%m-%d %H:%M %Z')}\n"
            + proc.stdout + session_sweep(onnx))
    out.write_text(text, encoding="utf-8")
    return text


def session_sweep(onnx: Path, repeat: int = 7) -> str:
    """Network-only ms at 1 MP (1232 x 816, padded) under ONNX Runtime session options that
    do not change the model: graph optimisation level x intra-op threads (median)."""
    import numpy as np
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    feeds = {"image": rng.random((1, 3, 816, 1232), dtype=np.float32) * np.float32(0.3),
             "mask": np.ones((1, 2, 816, 1232), np.float32)}
    lines = [f"ONNX Runtime session options, {onnx.stem} network only at 1 MP (median of "
             f"{repeat}):"]
    levels = {"basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
              "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}
    for label, level in levels.items():
        for threads in (0, 1, 2):
            so = ort.SessionOptions()
            so.graph_optimization_level = level
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
            so.intra_op_num_threads = threads
            sess = ort.InferenceSession(str(onnx), so, providers=["CPUExecutionProvider"])
            sess.run(None, feeds)
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                sess.run(None, feeds)
                times.append((time.perf_counter() - start) * 1000)
            lines.append(f"  optimisation {label:<5} intra-op threads "
                         f"{threads or 'default':<7} {sorted(times)[repeat // 2]:6.0f} ms")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", type=Path, default=REPO / "resources" / "zoo")
    parser.add_argument("--docs", type=Path, default=REPO / "docs")
    parser.add_argument("--configs", type=Path, default=REPO / "models" / "configs")
    add_pair_options(parser)
    parser.add_argument("--readme", type=lambda s: Path(s) if s else None,
                        default=REPO / "README.md",
                        help="README whose ship_zoo block is rewritten")
    parser.add_argument("--default", default=DEFAULT_MODEL)
    parser.add_argument("--snapshot", action="store_true", help="use last.pt of unfinished runs")
    parser.add_argument("--bench", action="store_true", help="re-run the benchmark (python -m bench) too")
    args = parser.parse_args(argv)
    check_pairs(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    os.chdir(REPO)  # configs hold paths relative to the repository root
    runs = discover_runs(args.configs)
    shipped, extra = shipping_plan(runs, args.snapshot)
    missing = sorted({r.model_name for r in runs} - set(shipped))
    if missing:
        log.warning("not finished, not shipped: %s", ", ".join(missing))
    with tempfile.TemporaryDirectory(prefix="ship-zoo-") as tmp_name:
        scratch = Path(tmp_name)
        new_zoo = scratch / "zoo"
        paths, facts = export_all(shipped, extra, new_zoo, scratch, args.snapshot)
        from limelight_models.data.paired import PairedFolder

        lol = PairedFolder(args.pairs)
        mixed = PairedFolder(mixed_light_pairs(args.pairs, args.mixed_pairs))
        results = evaluate_all(paths, lol, mixed)
        for name in drop_below_floor(new_zoo, results, shipped, args.default):
            extra[name] = shipped.pop(name)
        finalize_manifest(new_zoo, results, args.default)
        previous = previous_records(args.docs)
        stage_runs = config_runs(runs)
        records = [run_record(n, shipped.get(n) or extra[n], facts[n], results[n], n in shipped,
                              previous, stage_runs) for n in paths]
        ship_report.write_cards(new_zoo, records, runs_synth=ship_report.SYNTH,
                                real=ship_report.load_real(args.docs).get("real"))
        size_mb = sum(p.stat().st_size for p in new_zoo.iterdir()) / 1e6
        if size_mb >= MAX_ZOO_MB:
            raise SystemExit(f"the zoo is {size_mb:.1f} MB, over {MAX_ZOO_MB} MB")
        args.zoo.mkdir(parents=True, exist_ok=True)
        for old in args.zoo.iterdir():
            if old.suffix in (".onnx", ".md", ".json"):
                old.unlink()
        for p in new_zoo.iterdir():
            shutil.copy2(p, args.zoo / p.name)
    args.docs.mkdir(parents=True, exist_ok=True)
    bench_path = args.docs / "bench.txt"
    if args.bench:
        run_bench(bench_path, args.default, args.zoo / f"{args.default}.onnx")
    doc = {"default": args.default, "zoo_mb": round(size_mb, 2), "snapshot": args.snapshot,
           "missing": missing, "models": records,
           "mixed_light": {"pairs": os.path.relpath(args.mixed_pairs, REPO), **MIXED_EVAL,
                           **input_figures(mixed),
                           "lol_input_psnr": input_figures(lol, psnr_only=True)["input_psnr"]}}
    (args.docs / "results.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    if not ship_report.write_docs(args.docs, doc, args.readme):
        log.warning("%s has no ship_zoo markers: its results paragraph was not updated",
                    args.readme)
    log.info("zoo %.2f MB, %d shipped, %d evaluated only; docs in %s", size_mb, len(shipped),
             len(extra), args.docs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
