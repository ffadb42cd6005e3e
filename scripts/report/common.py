"""What every part of the report shares: the folders, the prose, and record look-ups."""

from __future__ import annotations

import argparse
import functools
import json
import os
import tomllib
from pathlib import Path
from typing import Any

Record = dict[str, Any]

REPO = Path(__file__).resolve().parents[2]
#: The shared data and the synthetic-pair cache live outside the repo: the folders come from
#: the command line, by default from $LIMELIGHT_DATA and $LIMELIGHT_CACHE (None when unset:
#: the cards then count nothing there). Relative folders in a record are the configs' own,
#: from the repo root.
DATA = Path(os.environ["LIMELIGHT_DATA"]) if os.environ.get("LIMELIGHT_DATA") else None
CACHE = Path(os.environ["LIMELIGHT_CACHE"]) if os.environ.get("LIMELIGHT_CACHE") else None
#: The synthetic pairs' cache ($LIMELIGHT_CACHE/synth), counted by source for the cards.
SYNTH = CACHE / "synth" if CACHE else None
#: LOL's evaluation pairs and the non-uniform-light pairs made from them (``ship_zoo``).
EVAL_PAIRS = DATA / "lol" / "eval15" if DATA else None
MIXED_PAIRS = CACHE / "eval15-mixed" if CACHE else None


def add_pair_options(parser: argparse.ArgumentParser) -> None:
    """``--pairs`` and ``--mixed-pairs``, the evaluation's folders (``check_pairs``)."""
    parser.add_argument("--pairs", type=Path, default=EVAL_PAIRS,
                        help="LOL eval15 (default: $LIMELIGHT_DATA/lol/eval15)")
    parser.add_argument("--mixed-pairs", type=Path, default=MIXED_PAIRS,
                        help="non-uniform-light pairs, made from --pairs when missing "
                             "(default: $LIMELIGHT_CACHE/eval15-mixed)")


def check_pairs(args: argparse.Namespace) -> None:
    """SystemExit naming the option and the variable when a folder was not given."""
    for path, option, variable in ((args.pairs, "--pairs", "LIMELIGHT_DATA"),
                                   (args.mixed_pairs, "--mixed-pairs", "LIMELIGHT_CACHE")):
        if path is None:
            raise SystemExit(f"give {option} or set ${variable}")

#: The report's prose (fixed paragraphs, and templates whose {fields} the figures fill).
PROSE_PATH = REPO / "scripts" / "ship_report_prose.toml"
PROSE: dict[str, Any] = tomllib.loads(PROSE_PATH.read_text(encoding="utf-8"))

#: The real-photo figures (``limelight_models.real_eval``) by the key a results doc keeps them.
REAL_FILES = {"real": "real_photos.json", "real_lol": "real_photos_lol.json"}


def fmt(v: Any, nd: int = 2) -> str:
    """A table cell: floats to ``nd`` places, '–' for a missing figure."""
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def by_name(doc: Record) -> dict[str, Record]:
    """The doc's records by model name."""
    return {r["name"]: r for r in doc["models"]}


def shipped(doc: Record) -> list[Record]:
    """The shipped records, in the doc's order."""
    return [r for r in doc["models"] if r["shipped"]]


def default(doc: Record) -> Record | None:
    """The default model's record (None when it is not in the doc)."""
    return by_name(doc).get(doc["default"])


def in_group(doc: Record, group: str) -> list[Record]:
    """The records whose config's ``[report] groups`` hold ``group`` (e.g. ``lb-off``), in
    the doc's order: the report finds its rows by what the configs say they are for."""
    return [r for r in doc["models"] if group in report_tags(r.get("config"))]


def first(doc: Record, group: str) -> Record | None:
    """The first record of ``group`` (None when no config is tagged with it)."""
    rows = in_group(doc, group)
    return rows[0] if rows else None


@functools.cache
def report_tags(config: str | None) -> tuple[str, ...]:
    """The ``[report] groups`` of a config (a path from the repo root); () when it is gone."""
    from limelight_models.config import load_config

    path = REPO / config if config else None
    return load_config(path).report.groups if path and path.is_file() else ()


def totals(r: Record) -> tuple[int, float]:
    """(steps, wall seconds) of a model's training over all its stages."""
    stages = [*(r.get("earlier_stages") or []), r["training"]]
    return sum(st["step"] for st in stages), sum(st["wall_time_s"] for st in stages)


def count_pairs(folder: str | Path | None) -> int:
    """PNG pairs in ``folder``/low (a relative folder is a config's: from the repo root)."""
    low = REPO / folder / "low" if folder else None
    return len(list(low.glob("*.png"))) if low and low.is_dir() else 0


def synth_counts(folder: Path | None) -> dict[str, int]:
    """Pairs of the synthetic cache by source (file names ``<source>_<photo>_<k>.png``)."""
    counts: dict[str, int] = {}
    low = folder / "low" if folder else None
    if low is None or not low.is_dir():
        return counts
    for p in low.glob("*.png"):
        src = "Kodak" if "kodak" in p.name else "LOL our485 high" if "our485" in p.name else "other"
        counts[src] = counts.get(src, 0) + 1
    return counts


def load(path: Path) -> Record:
    """A JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


def load_real(docs: Path) -> Record:
    """{"real": ..., "real_lol": ...} from ``docs/real_photos*.json`` (written by
    ``limelight_models.real_eval``), the keys present only for the files that exist."""
    return {key: load(docs / name) for key, name in REAL_FILES.items()
            if (docs / name).is_file()}
