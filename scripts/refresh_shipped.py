"""Re-measures the shipped models with the current app pipeline and re-writes the docs.

    python scripts/refresh_shipped.py [--docs docs] [--zoo resources/zoo]

When only the app's side changes (the light finish, the compositing), the trained weights do
not: this evaluates every model of the zoo's manifest on LOL eval15 and on the
non-uniform-light pairs, measures its knobs (exactly as ``ship_zoo.evaluate_all``), puts those
figures into the shipped rows of ``docs/results.json`` and the manifest (training history and the rows of runs
that are not shipped are kept as they were; each refreshed row gets ``measured_with``) and
re-writes results.md, the README block and the model cards (``ship_report``). ``ship_zoo``
re-exports and re-evaluates every run; this takes minutes instead of hours.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

import ship_report  # sibling modules: Python puts a script's own folder first on sys.path
import ship_zoo
from report.common import add_pair_options, check_pairs

REPO = Path(__file__).resolve().parents[1]

log = logging.getLogger("refresh_shipped")

#: The per-model figures ``evaluate_all`` measures (everything else in a row is kept).
MEASURED = ("global_psnr", "global_ssim", "exposure_fit_psnr", "exposure_gain", "area_a_psnr",
            "area_a_ssim", "area_c_max", "b_roughness", "global_delta_e", "ms_1mp", "mixed",
            "knobs")


def refresh(doc: dict, figures: dict[str, dict], note: str) -> list[str]:
    """Puts ``figures`` (name -> evaluate_all's figures) into the rows of ``doc`` of the same
    name that are shipped; returns the names refreshed."""
    done = []
    for row in doc["models"]:
        if row.get("shipped") and row["name"] in figures:
            row.update({k: figures[row["name"]][k] for k in MEASURED if k in figures[row["name"]]})
            row["measured_with"] = note
            done.append(row["name"])
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=REPO / "docs")
    parser.add_argument("--zoo", type=Path, default=REPO / "resources" / "zoo")
    add_pair_options(parser)
    parser.add_argument("--readme", type=Path, default=REPO / "README.md")
    parser.add_argument("--note", default="the current pipeline (scripts/refresh_shipped.py)")
    args = parser.parse_args(argv)
    check_pairs(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    os.chdir(REPO)
    from limelight_models.data.paired import PairedFolder

    manifest = json.loads((args.zoo / "manifest.json").read_text(encoding="utf-8"))
    paths = {m["name"]: args.zoo / m["file"] for m in manifest["models"]}
    lol = PairedFolder(args.pairs)
    mixed = PairedFolder(ship_zoo.mixed_light_pairs(args.pairs, args.mixed_pairs))
    figures = ship_zoo.evaluate_all(paths, lol, mixed)
    results = args.docs / "results.json"
    doc = json.loads(results.read_text(encoding="utf-8"))
    done = refresh(doc, figures, args.note)
    missing = sorted(set(paths) - set(done))
    if missing:
        raise SystemExit(f"no shipped row in {results} for {', '.join(missing)}")
    results.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    ship_zoo.finalize_manifest(args.zoo, figures, doc["default"])  # the figures it lists
    ship_report.write_cards(args.zoo, doc["models"], runs_synth=ship_report.SYNTH,
                            real=ship_report.load_real(args.docs).get("real"))
    if not ship_report.write_docs(args.docs, doc, args.readme):
        raise SystemExit(f"{args.readme} has no ship_zoo markers")
    log.info("refreshed %d shipped rows of %s", len(done), results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
