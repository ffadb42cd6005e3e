"""Keep finished training runs in the repository, and put them back where training expects them.

Runs live outside the repository (``out_dir``, default ``../runs/<name>``) and are lost when a
machine is replaced; ``models/checkpoints/<name>/`` keeps what a later session needs to go on
(next stage's ``init_from``, ``--resume``) and to re-make every figure (``scripts/ship_zoo.py``):

    python scripts/checkpoints.py save       # runs -> models/checkpoints (finished runs only)
    python scripts/checkpoints.py restore    # models/checkpoints -> runs (missing ones only)

Kept per run: ``final.pt`` (weights, optimiser and RNG state, config), ``summary.json``,
``config.json`` and the logs ``log.jsonl`` / ``eval.jsonl`` when the run wrote them (the
results table reads the L_B share and the equal-budget point from them). On restore a missing
``config.json`` is written from the config stored in ``final.pt``.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KEPT = ("final.pt", "summary.json", "config.json", "log.jsonl", "eval.jsonl")
log = logging.getLogger("checkpoints")


def _runs(config_dir: Path) -> list[tuple[str, Path]]:
    """(config name, out_dir resolved from the repository root) for every config."""
    from limelight_models.config import load_config

    out = []
    for path in sorted(config_dir.glob("*.toml")):
        cfg = load_config(path)
        out.append((cfg.name, (REPO / cfg.out_dir).resolve()))
    return out


def _copy_atomic(src: Path, dst: Path) -> None:
    tmp = dst.with_name(dst.name + ".part")
    shutil.copyfile(src, tmp)
    tmp.replace(dst)


def save(config_dir: Path, store: Path) -> int:
    """Copies every finished run's kept files into ``store/<name>/``; returns how many runs."""
    n = 0
    for name, out in _runs(config_dir):
        if not ((out / "final.pt").is_file() and (out / "summary.json").is_file()):
            continue
        dst = store / name
        dst.mkdir(parents=True, exist_ok=True)
        for f in KEPT:
            if (out / f).is_file():
                _copy_atomic(out / f, dst / f)
        n += 1
        log.info("saved %s", name)
    return n


def restore(config_dir: Path, store: Path) -> int:
    """Copies ``store/<name>/`` into each config's ``out_dir`` where that run is missing."""
    n = 0
    for name, out in _runs(config_dir):
        src = store / name
        if not (src / "final.pt").is_file() or (out / "summary.json").is_file():
            continue
        out.mkdir(parents=True, exist_ok=True)
        for f in KEPT:
            if (src / f).is_file():
                _copy_atomic(src / f, out / f)
        if not (out / "config.json").is_file():
            import torch

            doc = torch.load(out / "final.pt", map_location="cpu", weights_only=False)
            (out / "config.json").write_text(json.dumps(doc["config"], indent=2), encoding="utf-8")
        n += 1
        log.info("restored %s -> %s", name, out)
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("save", "restore"))
    parser.add_argument("--configs", type=Path, default=REPO / "models" / "configs")
    parser.add_argument("--store", type=Path, default=REPO / "models" / "checkpoints")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    n = (save if args.action == "save" else restore)(args.configs, args.store)
    log.info("%s: %d run(s)", args.action, n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
