"""Markdown of the shipped zoo: ``docs/results.md``, the README block and the model cards
(used by ship_zoo.py; ``python scripts/ship_report.py`` re-writes them from
``docs/results.json`` alone, ``--help`` for the folders).

Every figure comes from the records ship_zoo.py measured (``docs/results.json``); the prose
is ``ship_report_prose.toml`` (the peer figures are typed there by hand, from
``../shared/data/README.md``); the rows of the ablation and exposure tables are found by the
configs' ``[report]`` groups. The parts live in ``scripts/report/``.
"""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

import ship_knobs
from report.cards import LOL_TRAIN, card_text, write_cards
from report.common import (
    PROSE,
    REPO,
    SYNTH,
    Record,
    by_name,
    in_group,
    load,
    load_real,
    shipped,
    synth_counts,
)
from report.notes import (
    ablation_note,
    default_reason,
    exposure_limit,
    knob_note,
    limits,
    mixed_rank,
    real_line,
    stages_note,
    targets,
)
from report.tables import (
    ablation,
    budgets,
    main_table,
    mixed_light_section,
    peer_table,
    real_section,
)

__all__ = ["METRIC_KEYS", "SYNTH", "ablation", "bench_figures", "card_text", "in_group",
           "load", "load_real", "main", "mixed_light_section", "real_line", "real_section",
           "readme_block", "results_markdown", "synth_counts", "targets", "write_cards",
           "write_docs"]

METRIC_KEYS = ("global_psnr", "global_ssim", "global_delta_e", "area_a_psnr", "area_a_ssim",
               "area_c_max", "b_roughness", "ms_1mp", "params", "pairs")

#: The headline lines of the benchmark's output (``python -m bench``), by key; each group
#: becomes ``<key><i>`` for the README's speed line.
BENCH_PATTERNS = {
    "preview": r"fast pass, network at (\d+) px\s+(\d+) ms",
    "refined": r"refined pass, network at (\d+) px\s+(\d+) ms",
    # the floor: Pillow's decode + encode since issue 19 (before: Limelight's own I/O)
    "export": r"export \(decode\+enhance\+encode\)\s+([\d.]+) s\s+= ([\d.]+)x",
    "floor": r"(?:floor: Pillow decode \+ encode|decode \+ encode alone)\s+([\d.]+) s",
    "peak": r"peak memory exporting (\S+) \(([\d.]+) MP\): ([\d,]+) MB",
    "load": r"load average before the run: ([\d.]+)",
    "size": r"(\d+x\d+) \(([\d.]+) MP\) JPEG -> JPEG",
    "process": r"'limelight enhance', whole process\s+([\d.]+) s\s+= ([\d.]+)x",
    "knob": r"knob_latency: .*?knob_to_preview_ms_median=([\d.]+)",
    "knob4": r"knob_latency_4_lights: .*?knob_to_preview_ms_median=([\d.]+)",
    "knob4b": r"knob_latency_4_lights_bottom: .*?knob_to_preview_ms_median=([\d.]+)",
}

README_BEGIN = "<!-- ship_zoo:begin (written by scripts/ship_zoo.py) -->"
README_END = "<!-- ship_zoo:end -->"


def _lines(parts: list[str]) -> str:
    return "".join(f"{x}\n" for x in parts)


def results_markdown(doc: Record, bench: str | None) -> str:
    """The whole of docs/results.md (the ``results_page`` template)."""
    return PROSE["results_page"].format(
        dry_run=PROSE["results_dry_run"] if doc.get("snapshot") else "",
        missing=PROSE["results_missing"].format(names=", ".join(doc["missing"]))
        if doc.get("missing") else "",
        default_reason=default_reason(doc), n_shipped=len(shipped(doc)), zoo_mb=doc["zoo_mb"],
        target_rows="".join(f"| {t} | {m} | {'yes' if ok else '**no**'} |\n"
                            for t, m, ok in targets(doc)),
        protocol=PROSE["protocol"], stages_note=stages_note(doc), main_table=main_table(doc),
        peer_table=peer_table(doc), ablation=ablation(doc), ablation_note=ablation_note(doc),
        real=_lines(real_section(doc.get("real"), doc.get("real_lol"))),
        knobs=ship_knobs.knobs_section(doc), mixed=_lines(mixed_light_section(doc)),
        budgets=budgets(doc), budget_note=PROSE["budget_note"],
        bench=PROSE["results_bench"].format(bench=bench.rstrip()) if bench else "",
        exposure=exposure_limit(doc), limits=limits(doc))


def bench_figures(bench: str | None) -> dict[str, str]:
    """The headline lines of a benchmark output (verbatim numbers), by key."""
    found: dict[str, str] = {}
    for key, pat in BENCH_PATTERNS.items():
        m = re.search(pat, bench or "")
        if m:
            found[key] = m.group(0)
            found.update({f"{key}{i}": g for i, g in enumerate(m.groups())})
    return found


def readme_block(doc: Record, bench: str | None) -> str:
    """The README's models/results paragraph (between its ship_zoo markers)."""
    d, ship = by_name(doc).get(doc["default"]), shipped(doc)
    if not d or not ship:
        return PROSE["readme_none"]
    best = max(ship, key=lambda r: r["global_psnr"])
    figures = bench_figures(bench)
    speed = collections.defaultdict(lambda: "?", figures, name=d["name"])
    dropped = [r["name"] for r in doc["models"]
               if r["name"] == f"{r['backbone']}-{r['conversion']}" and not r["shipped"]]
    line = real_line(d, doc.get("real"))
    return PROSE["readme"].format(
        n_shipped=len(ship), zoo_mb=doc["zoo_mb"],
        unshipped=PROSE["readme_unshipped"].format(n=len(dropped), names=", ".join(dropped))
        if dropped else "", name=d["name"], knob_note=knob_note(d), mixed_rank=mixed_rank(doc),
        global_psnr=d["global_psnr"], global_ssim=d["global_ssim"],
        area_a_psnr=d["area_a_psnr"], area_c_max=d["area_c_max"], best=best["name"],
        best_psnr=best["global_psnr"], best_ssim=best["global_ssim"],
        real=PROSE["readme_real"].format(line=line[0].lower() + line[1:]) if line else "",
        speed=PROSE["readme_speed"].format_map(speed) if figures else "")


def update_readme(readme: Path, doc: Record, bench: str | None) -> bool:
    """Replaces the block between the markers; False when the README has no markers."""
    text = readme.read_text(encoding="utf-8")
    if README_BEGIN not in text or README_END not in text:
        return False
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_BEGIN}\n{readme_block(doc, bench)}{README_END}{tail}",
                      encoding="utf-8")
    return True


def write_docs(docs: Path, doc: Record, readme: Path | None) -> bool:
    """Writes ``docs/results.md`` from ``doc`` and ``docs/bench.txt`` and rewrites the
    README's block; False when ``readme`` has no ship_zoo markers."""
    bench_path = docs / "bench.txt"
    bench = bench_path.read_text(encoding="utf-8") if bench_path.is_file() else None
    doc = doc | load_real(docs)
    (docs / "results.md").write_text(results_markdown(doc, bench), encoding="utf-8")
    return readme is None or update_readme(readme, doc, bench)


def main(argv: list[str] | None = None) -> int:
    """Re-writes results.md, the README block and the model cards from the measured
    ``docs/results.json`` and ``docs/bench.txt`` (no export, no evaluation)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--docs", type=Path, default=REPO / "docs")
    parser.add_argument("--zoo", type=Path, default=REPO / "resources" / "zoo")
    parser.add_argument("--readme", type=Path, default=REPO / "README.md")
    parser.add_argument("--synth", type=Path, default=SYNTH,
                        help="the synthetic pairs' cache, counted by source for the cards "
                             "(default: $LIMELIGHT_CACHE/synth)")
    parser.add_argument("--lol", type=Path, default=LOL_TRAIN,
                        help="LOL's training pairs, counted for the cards (default: "
                             "$LIMELIGHT_DATA/lol/our485; LOL's 243 when not given)")
    args = parser.parse_args(argv)
    doc = json.loads((args.docs / "results.json").read_text(encoding="utf-8"))
    write_cards(args.zoo, doc["models"], runs_synth=args.synth,
                real=load_real(args.docs).get("real"), lol=args.lol)
    if not write_docs(args.docs, doc, args.readme):
        raise SystemExit(f"{args.readme} has no ship_zoo markers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
