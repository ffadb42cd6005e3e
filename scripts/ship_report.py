"""Markdown of the shipped zoo: ``docs/results.md`` and the model cards (used by ship_zoo.py;
``python scripts/ship_report.py`` re-writes them from ``docs/results.json`` alone).

Every figure comes from the records ship_zoo.py measured (``docs/results.json``); nothing
here is typed by hand except the peer figures, copied from ``../shared/data/README.md``.
"""

from __future__ import annotations

import collections
import functools
import json
import os
import tomllib
from pathlib import Path
from typing import Any

import ship_knobs

from limelight_models.archs import BACKBONES, CONVERSIONS  # the registry's order: every table's

REPO = Path(__file__).resolve().parents[1]
#: The shared data and the synthetic-pair cache live outside the repo: $LIMELIGHT_DATA and
#: $LIMELIGHT_CACHE, by default beside the checkout (../shared/data, ../cache) as the configs
#: name them; relative folders in a record are the configs' own, from the repo root.
DATA = Path(os.environ.get("LIMELIGHT_DATA") or REPO.parent / "shared" / "data")
CACHE = Path(os.environ.get("LIMELIGHT_CACHE") or REPO.parent / "cache")

#: The report's prose (fixed paragraphs, and templates whose {fields} the figures fill) lives in
#: ship_report_prose.toml beside this script.
PROSE: dict[str, Any] = tomllib.loads(
    Path(__file__).with_name("ship_report_prose.toml").read_text(encoding="utf-8"))
SYNTH_RECIPE, PROTOCOL, ABLATION_NOTE, BUDGET_NOTE, LIMITS_TEXT, REAL_LIMITS = (
    PROSE[k] for k in ("synth_recipe", "protocol", "ablation_note", "budget_note",
                       "limits_text", "real_limits"))
LIMITS: list[str] = PROSE["limits"]

METRIC_KEYS = ("global_psnr", "global_ssim", "global_delta_e", "area_a_psnr", "area_a_ssim", "area_c_max",
               "b_roughness", "ms_1mp", "params", "pairs")
#: LOL eval15, global setting (../shared/data/README.md): name -> (PSNR, SSIM, source).
PEERS = {
    "input (no enhancement)": (7.77, 0.191, "re-measured on this data"),
    "Zero-DCE": (14.86, 0.562, "re-measured, authors' weights, CPU"),
    "Zero-DCE++": (15.35, 0.573, "re-measured, authors' weights, CPU"),
    "SCI (medium)": (14.85, 0.527, "re-measured, authors' weights, CPU"),
    "RUAS (lol)": (16.45, 0.505, "re-measured, authors' weights, CPU"),
    "SGZ": (16.04, 0.576, "re-measured, authors' weights, CPU"),
    "DLN": (19.26, 0.724, "its slides (not re-measured)"),
}


def _f(v: Any, nd: int = 2) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def _by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in doc["models"]}


def in_group(doc: dict[str, Any], group: str) -> list[dict[str, Any]]:
    """The records whose config's ``[report] groups`` hold ``group`` (e.g. ``lb-off``), in
    the doc's order: the report finds its rows by what the configs say they are for."""
    return [r for r in doc["models"] if group in _report_tags(r.get("config"))]


def _first(doc: dict[str, Any], group: str) -> dict[str, Any] | None:
    rows = in_group(doc, group)
    return rows[0] if rows else None


@functools.cache
def _report_tags(config: str | None) -> tuple[str, ...]:
    """The ``[report] groups`` of a config (a path from the repo root); () when it is gone."""
    from limelight_models.config import load_config

    path = REPO / config if config else None
    return load_config(path).report.groups if path and path.is_file() else ()


def synth_counts(folder: Path) -> dict[str, int]:
    """Pairs of the synthetic cache by source (file names ``<source>_<photo>_<k>.png``)."""
    counts: dict[str, int] = {}
    low = folder / "low"
    if not low.is_dir():
        return counts
    for p in low.glob("*.png"):
        src = "Kodak" if "kodak" in p.name else "LOL our485 high" if "our485" in p.name else "other"
        counts[src] = counts.get(src, 0) + 1
    return counts


def _totals(r: dict[str, Any]) -> tuple[int, float]:
    """(steps, wall seconds) of a model's training over all its stages."""
    stages = [*(r.get("earlier_stages") or []), r["training"]]
    return sum(st["step"] for st in stages), sum(st["wall_time_s"] for st in stages)


def _row(r: dict[str, Any]) -> str:
    name = r["name"] if r["shipped"] else f"{r['name']} (not shipped: under the 15 dB floor)"
    steps, wall = _totals(r)
    stages = len(r.get("earlier_stages") or []) + 1
    cells = [
        name, f"{r['params']:,}", _f(r["global_psnr"]), _f(r["global_ssim"], 3),
        _f(r.get("global_delta_e"), 1), _f(r["area_a_psnr"]), _f(r["area_a_ssim"], 3), str(r["area_c_max"]),
        _f(r["b_roughness"], 4), _f(r["ms_1mp"], 0), f"{steps:,}",
        f"{wall / 60:.1f}" + (f" ({stages} stages)" if stages > 1 else ""),
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = ("| model | params | PSNR | SSIM | ΔE | A PSNR | A SSIM | C max | B rough. | ms @1 MP "
          "| steps | train min |\n|" + " --- |" * 12)


def main_table(doc: dict[str, Any]) -> str:
    """backbone x {global, concat, ranlen}; rows under the shipping floor say so."""
    rows = _by_name(doc)
    lines = [HEADER]
    for b in BACKBONES:
        for c in CONVERSIONS:
            r = rows.get(f"{b}-{c}")
            if r:
                lines.append(_row(r))
            else:
                lines.append(f"| {b}-{c} | not trained/finished |" + " |" * 9)
    return "\n".join(lines)


def peer_table(doc: dict[str, Any]) -> str:
    rows = [r for r in doc["models"] if r["shipped"]]
    best = max(rows, key=lambda r: r["global_psnr"]) if rows else None
    default = _by_name(doc).get(doc["default"])
    lines = ["| method | PSNR | SSIM | source |", "| --- | --- | --- | --- |"]
    for name, (p, s, src) in PEERS.items():
        lines.append(f"| {name} | {p:.2f} | {s:.3f} | {src} |")
    for label, r in (("best shipped", best), ("default", default)):
        if r:
            lines.append(f"| **Limelight {r['name']}** ({label}) | {r['global_psnr']:.2f} | "
                         f"{r['global_ssim']:.3f} | this table |")
    return "\n".join(lines)


def targets(doc: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) of issue 4."""
    rows = _by_name(doc)
    shipped = [r for r in doc["models"] if r["shipped"]]
    out: list[tuple[str, str, bool | None]] = []
    if shipped:
        best = max(shipped, key=lambda r: r["global_psnr"])
        out.append(("best shipped global PSNR ≥ 21.0 dB and SSIM ≥ 0.78",
                    f"{best['name']}: {best['global_psnr']:.2f} dB / {best['global_ssim']:.3f} "
                    f"(best SSIM {max(r['global_ssim'] for r in shipped):.3f})",
                    best["global_psnr"] >= 21.0 and max(r["global_ssim"] for r in shipped) >= 0.78))
    ranlen = [r for r in shipped if r["conversion"] == "ranlen"]
    if ranlen:
        low = [r for r in ranlen if r["global_psnr"] < 17.0]
        unshipped = [r for r in doc["models"] if r["conversion"] == "ranlen"
                     and not r["shipped"] and r["name"] == f"{r['backbone']}-ranlen"]
        out.append(("every shipped ranlen ≥ 17.0 dB",
                    ", ".join(f"{r['backbone']} {r['global_psnr']:.2f}" for r in ranlen)
                    + "".join(f"; {r['backbone']} {r['global_psnr']:.2f} not shipped"
                              for r in unshipped),
                    not low))
    wins, pairs = [], 0
    for b in BACKBONES:  # every trained pair (the last stage), shipped or not
        rl, cc = rows.get(f"{b}-ranlen"), rows.get(f"{b}-concat")
        if rl and cc:
            pairs += 1
            if rl["area_a_psnr"] >= cc["area_a_psnr"]:
                wins.append(b)
    out.append(("ranlen Area-A PSNR ≥ concat's for ≥ 4 of 5 backbones",
                f"{len(wins)} of {pairs} ({', '.join(wins) or 'none'})", len(wins) >= 4))
    cmax = max((r["area_c_max"] for r in doc["models"]), default=None)
    out.append(("Area-C max difference exactly 0 for every model", f"max over all: {cmax}",
                cmax == 0))
    with_lb, no_lb = _first(doc, "lb-reference"), _first(doc, "lb-off")
    if with_lb and no_lb:
        out.append(("with L_B, B roughness lower than without (Fig. 6)",
                    f"{with_lb['b_roughness']:.4f} with vs {no_lb['b_roughness']:.4f} without",
                    with_lb["b_roughness"] < no_lb["b_roughness"]))
    fusion = [r for r in doc["models"] if r["shipped"] and "gamma1_dark" in r.get("knobs", {})]
    if fusion:
        works = {g: [r["name"] for r in fusion if ship_knobs.knob_moves(r["knobs"], g)]
                 for g in ("γ1", "γ2", "γ3")}
        out.append(("knobs on the shipped fusion models: γ1 raises the darkest decile, γ2 "
                    "lowers the brightest, γ3 lowers a flat patch's noise",
                    "; ".join(f"{g} works on {len(v)} of {len(fusion)}" for g, v in works.items()),
                    all(len(v) == len(fusion) for v in works.values())))
    d = rows.get(doc["default"])
    if d:
        out.append(("default model, preview at 1 MP (network + recomposition) < 100 ms",
                    f"{d['ms_1mp']:.0f} ms: the editor's first (fast) pass, network at 384 px "
                    "plus recomposition and guided transfer to 1 MP (evaluation timing; the "
                    "full-detail pass that follows is in the benchmark below)",
                    d["ms_1mp"] < 100))
    return out


def _ablation_note(doc: dict[str, Any]) -> str:
    with_lb = _first(doc, "lb-reference")
    share = with_lb.get("lb_share") if with_lb else None
    return ABLATION_NOTE.format(share=(
        f": β·L_B is {100 * share:.1f} % of the total loss over the last 50 logged steps of "
        "the run with L_B (`log.jsonl`)" if share is not None else
        " (its share of the loss is not known: that run's log was lost with the machine it "
        "ran on, and `models/checkpoints` keeps logs only for runs made since)"))


def ablation(doc: dict[str, Any]) -> str:
    with_lb, no_lb = _first(doc, "lb-reference"), _first(doc, "lb-off")
    if not (with_lb and no_lb):
        return "The ablation runs have not both finished.\n"
    lines = ["| run | L_B | B roughness | PSNR | SSIM | A PSNR | steps | train min |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    heavier = sorted(in_group(doc, "lb-heavier"), key=lambda r: r["training"].get("beta") or 0.0)
    runs = [(with_lb, f"yes, β {with_lb['training'].get('beta') or 1e-4:g}"), (no_lb, "no"),
            *((r, f"yes, β {r['training'].get('beta'):g}") for r in heavier)]
    for r, lb in runs:
        t = r["training"]
        lines.append(f"| {r['config']} | {lb} | {r['b_roughness']:.4f} | {r['global_psnr']:.2f} "
                     f"| {r['global_ssim']:.3f} | {r['area_a_psnr']:.2f} | {t['step']:,} | "
                     f"{t['wall_time_s'] / 60:.1f} |")
    return "\n".join(lines) + "\n"


def budgets(doc: dict[str, Any]) -> str:
    lines = ["| run | config | steps | wall min | stopped by | threads | L_B | "
             "training-time eval near 5 min (torch): step, PSNR, A PSNR |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in doc["models"]:
        t, e = r["training"], r.get("training_eval")
        ev = f"{e['step']}, {e['global_psnr']:.2f}, {e['area_a_psnr']:.2f}" if e else "–"
        lines.append(f"| {r['name']} | `{r['config']}` | {t['step']:,} | "
                     f"{t['wall_time_s'] / 60:.1f} | {t['stopped_by']} | {t['threads']} | "
                     f"{'yes' if t['use_lb'] else 'no'} | {ev} |")
    return "\n".join(lines)


def _mixed_note(r: dict[str, Any]) -> str:
    """Card text for the mixed-exposure synthetic pairs, when a stage of ``r`` used them."""
    folders = [f for st in [*(r.get("earlier_stages") or []), r["training"]]
               for f in (st.get("synthetic") or [])]
    mixed = sorted({f for f in folders if "mixed" in f})
    if not mixed:
        return ""
    n = sum(_count_pairs(f) for f in mixed)
    return (f"; and {n} mixed-exposure pairs ({', '.join(mixed)}: the same darkening blended "
            "with an over-exposed `1 - (1 - Y)^k`, k ~ U(2, 5), through a smooth random field: "
            "`--per-image 3 --seed 1 --mixed 1.0`, the command in the config) in the stages "
            "listed below")


def write_cards(zoo: Path, records: list[dict[str, Any]], runs_synth: Path,
                real: dict[str, Any] | None = None, lol: Path = DATA / "lol" / "our485") -> None:
    """Rewrites ``<name>.md`` beside each shipped ONNX file from the measured records
    (``runs_synth``: the synthetic pairs' cache; ``lol``: LOL's training pairs, counted)."""
    counts = synth_counts(runs_synth)
    for r in records:
        if not r["shipped"]:
            continue
        path = zoo / f"{r['name']}.md"
        stub = path.read_text(encoding="utf-8") if path.is_file() else ""
        arch = stub.split("## Architecture", 1)[1].strip() if "## Architecture" in stub else ""
        path.write_text(card_text(r, counts, arch, real, lol), encoding="utf-8")
        path.chmod(0o644)


REAL_FILES = {"real": "real_photos.json", "real_lol": "real_photos_lol.json"}


def load_real(docs: Path) -> dict[str, Any]:
    """{"real": ..., "real_lol": ...} from ``docs/real_photos*.json`` (written by
    ``limelight_models.real_eval``), the keys present only for the files that exist."""
    out = {}
    for key, name in REAL_FILES.items():
        path = docs / name
        if path.is_file():
            out[key] = json.loads(path.read_text(encoding="utf-8"))
    return out


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _count_pairs(folder: str | Path | None) -> int:
    """PNG pairs in ``folder``/low (a relative folder is a config's: from the repo root)."""
    low = REPO / folder / "low" if folder else None
    return len(list(low.glob("*.png"))) if low and low.is_dir() else 0


def _default_reason(doc: dict[str, Any]) -> str:
    rows = [r for r in doc["models"] if r["shipped"]]
    d = _by_name(doc).get(doc["default"])
    if not d or not rows:
        return ""
    rank = 1 + sum(r["global_psnr"] > d["global_psnr"] for r in rows)
    faster = sum(r["ms_1mp"] < d["ms_1mp"] for r in rows)
    return (f"**{d['name']}** ({d['backbone']} · {d['conversion']}, family `{d['family']}`, "
            f"{d['params']:,} parameters): {d['global_psnr']:.2f} dB / {d['global_ssim']:.3f} "
            f"globally (rank {rank} of {len(rows)} shipped), {d['area_a_psnr']:.2f} dB in "
            f"area A, {d['ms_1mp']:.0f} ms per 1 MP preview ({faster} shipped models are "
            f"faster){_mixed_rank(doc)}. Like every model it answers the four knobs (light, "
            f"shadows, highlights, noise) through the core's light finish"
            f"{_knob_note(d, lead=': ')}; ranlen is the region-aware conversion the editor "
            f"is built around.")


def _mixed_rank(doc: dict[str, Any]) -> str:
    """'; on non-uniform light X dB (the input itself: Y), rank k of n shipped' for the
    default model, when that set was measured ('' otherwise)."""
    d = _by_name(doc).get(doc["default"]) or {}
    if not d.get("mixed"):
        return ""
    mixed = [r for r in doc["models"] if r["shipped"] and r.get("mixed")]
    rank = 1 + sum(r["mixed"]["global_psnr"] > d["mixed"]["global_psnr"] for r in mixed)
    inp = (doc.get("mixed_light") or {}).get("input_psnr")
    ref = f" (the input itself: {inp:.2f})" if inp is not None else ""
    return (f"; on non-uniform light (dark and over-exposed parts in one photo) "
            f"{d['mixed']['global_psnr']:.2f} dB{ref}, rank {rank} of {len(mixed)} shipped")


def _knob_note(r: dict[str, Any], lead: str = " (light, shadows, highlights, noise; ") -> str:
    """Which γ knobs the model's measured response shows inert (ship_knobs)."""
    k = r.get("knobs") or {}
    if "gamma1_dark" not in k:
        return ""
    inert = [g for g in ("γ1", "γ2", "γ3") if not ship_knobs.knob_moves(k, g)]
    tail = (f"on this model {', '.join(inert)} measurably do{'es' if len(inert) == 1 else ''} "
            "nothing, see docs/results.md" if inert else "each measured to act")
    return f"{lead}{tail}" + (")" if lead.startswith(" (") else "")


def results_markdown(doc: dict[str, Any], bench: str | None) -> str:
    """The whole of docs/results.md (the ``results_page`` template)."""
    steps = [r["training"]["step"] for r in doc["models"]]
    short = [r["training"]["step"] for r in doc["models"]
             if r["training"]["time_budget_min"] == 5]
    return PROSE["results_page"].format(
        dry_run=PROSE["results_dry_run"] if doc.get("snapshot") else "",
        missing=PROSE["results_missing"].format(names=", ".join(doc["missing"]))
        if doc.get("missing") else "",
        default_reason=_default_reason(doc), n_shipped=sum(r["shipped"] for r in doc["models"]),
        zoo_mb=doc["zoo_mb"],
        target_rows="".join(f"| {t} | {m} | {'yes' if ok else '**no**'} |\n"
                            for t, m, ok in targets(doc)),
        protocol=PROTOCOL, stages_note=_stages_note(doc), main_table=main_table(doc),
        peer_table=peer_table(doc), ablation=ablation(doc), ablation_note=_ablation_note(doc),
        real="".join(f"{x}\n" for x in real_section(doc.get("real"), doc.get("real_lol"))),
        knobs=ship_knobs.knobs_section(doc),
        mixed="".join(f"{x}\n" for x in mixed_light_section(doc)),
        budgets=budgets(doc), budget_note=BUDGET_NOTE,
        bench=PROSE["results_bench"].format(bench=bench.rstrip()) if bench else "",
        exposure=_exposure_limit(doc),
        limits=LIMITS_TEXT.format(
            train_min=sum(r["training"]["wall_time_s"] for r in doc["models"]) / 60,
            runs=len(doc["models"]), steps_min=min(steps), steps_max=max(steps),
            short_min=min(short or [0]), short_max=max(short or [0]), knobs=_knob_limits(doc)))


def _exposure_limit(doc: dict[str, Any]) -> str:
    """The 'Exposure' item of the limits: the default's PSNR against its exposure-fit PSNR,
    and what was tried on it (empty when the figure was not measured)."""
    r = _by_name(doc).get(doc["default"], {})
    if "exposure_fit_psnr" not in r:
        return ""
    gain = r.get("exposure_gain")
    gaps = [x["exposure_fit_psnr"] - x["global_psnr"] for x in doc["models"]
            if x["shipped"] and "exposure_fit_psnr" in x]
    tried = [(x["name"], x) for x in in_group(doc, "exposure")]
    tried_text = "; ".join(PROSE["exposure_tried"].format(
        name=n, psnr=x["global_psnr"], fit=x["exposure_fit_psnr"])
        for n, x in tried if "exposure_fit_psnr" in x)
    return PROSE["exposure_limit"].format(
        fit=r["exposure_fit_psnr"], psnr=r["global_psnr"], gap_min=min(gaps), gap_max=max(gaps),
        gains=PROSE["exposure_gains"].format(mean=gain[0], low=gain[1], high=gain[2])
        if gain else "", tried=f": {tried_text}" if tried_text else "",
        lifted=_lifted(r, tried), best_fit=_best_fit_note(r, tried))


def _best_fit_note(default: dict[str, Any], tried: list[tuple[str, dict[str, Any]]]) -> str:
    """A sentence on a tried run whose exposure-fit PSNR beats the default's, if any."""
    fits = [(x["exposure_fit_psnr"], n, x) for n, x in tried if "exposure_fit_psnr" in x]
    if not fits or max(fits)[0] <= default["exposure_fit_psnr"]:
        return ""
    fit, name, x = max(fits)
    return (f" `{name}` has the highest exposure-fit figure ({fit:.2f} dB against the "
            f"default's {default['exposure_fit_psnr']:.2f}): it does the local work better "
            f"and loses it to the exposure ({x['global_psnr']:.2f} dB as it is). Learning each "
            "photo's exposure is where the 21 dB target is lost; a global exposure head "
            "trained on many more real pairs than LOL's 243 is what we would try next.")


#: How far the default's training-time evaluations swing between checkpoints (dB): about
#: +-0.3 over the last ten of each stage (../runs/fusion_net-ranlen*/eval.jsonl).
EVAL_NOISE_DB = 0.3


def _lifted(default: dict[str, Any], tried: list[tuple[str, dict[str, Any]]]) -> str:
    """Whether any tried run beat the default by more than the checkpoint-to-checkpoint swing."""
    if not tried:
        return ""
    better = [n for n, x in tried if x["global_psnr"] > default["global_psnr"] + EVAL_NOISE_DB]
    if not better:
        return (f"None lifted eval15 by more than the ±{EVAL_NOISE_DB} dB that the default's "
                "training-time evaluations swing between checkpoints.")
    return (f"Beyond that ±{EVAL_NOISE_DB} dB swing: " + ", ".join(f"`{n}`" for n in better)
            + ".")


def mixed_light_section(doc: dict[str, Any]) -> list[str]:
    """results.md parts on the non-uniform-light pairs (none when they were not measured):
    the shipped models in table order, then the other fusion_net runs."""
    ml = doc.get("mixed_light")
    rows = [r for r in doc["models"] if r.get("mixed")]
    if not ml or not rows:
        return []
    order = {f"{b}-{c}": i for i, (b, c) in enumerate((b, c) for b in BACKBONES
                                                        for c in CONVERSIONS)}
    rows = [r for r in rows if r["shipped"] or r["backbone"] == "fusion_net"]
    rows.sort(key=lambda r: (not r["shipped"], order.get(r["name"], 99), r["name"]))
    lines = ["| model | LOL eval15 PSNR | non-uniform PSNR | SSIM | ΔE | A PSNR |",
             "| --- | --- | --- | --- | --- | --- |",
             f"| the input itself | {ml['lol_input_psnr']:.2f} | {ml['input_psnr']:.2f} | "
             f"{ml['input_ssim']:.3f} | {_f(ml.get('input_delta_e'), 1)} | – |"]
    for r in rows:
        m = r["mixed"]
        name = r["name"] if r["shipped"] else f"{r['name']} (not shipped)"
        lines.append(f"| {name} | {r['global_psnr']:.2f} | {m['global_psnr']:.2f} | "
                     f"{m['global_ssim']:.3f} | {_f(m.get('global_delta_e'), 1)} | "
                     f"{m['area_a_psnr']:.2f} |")
    return [
        "## Non-uniform light: dark and over-exposed parts in one photo\n",
        PROSE["mixed_light_intro"].format(**ml),
        "\n".join(lines), "",
    ]


def _knob_limits(doc: dict[str, Any]) -> str:
    """The 'Knobs' item of the limits."""
    return (
        "* **Knobs.** Until 2026-12-01 γ1–γ3 acted only through the fusion maps of eq. 10, "
        "and each did something only if training gave its term a job (γ2 needed over-exposed "
        "training pairs, γ3 a noise map built to remove noise, and on some rows a term still "
        "saturated and its knob did nothing). They now act in the core's light finish on every "
        "model (docs/architecture.md): the network's output is read as a gain map, and "
        "shadows, highlights and noise shape how that gain is applied, so no knob depends on "
        "how a short training run went. The table above and the real-photo knob check measure "
        "them; the editor names a knob that measurably does nothing on the chosen model.\n"
    )


def _kept(s: dict[str, Any]) -> str:
    return f"{s['kept']}/{s['n']}"


def real_section(real: dict[str, Any] | None, lol: dict[str, Any] | None) -> list[str]:
    """The real-photo section of results.md (``limelight_models.real_eval`` figures)."""
    if not real:
        return []
    summary = real["summary"]
    parts = [
        "## Real photos: the light a photographer keeps\n",
        PROSE["real_intro"].format(n=len(real["photos"])),
        _real_table(summary), "",
    ]
    if real.get("knob_summary"):
        from limelight_models.real_eval import knob_markdown

        parts += [knob_markdown(real["knob_summary"], real.get("knob_model", "")), ""]
    if real.get("sheets"):
        links = ", ".join(f"[{Path(p).name}](real_sheets/{Path(p).name})"
                          for p in real["sheets"])
        parts += [f"Contact sheets of {real.get('knob_model') or 'the default'} (input | global "
                  f"| ellipse | subject | baseline B, a row a photo): {links}.\n"]
    parts += [REAL_LIMITS]
    if lol:
        parts += [f"The same measures on LOL eval15's {len(lol['photos'])} low images "
                  "(`--real ../shared/data/lol/eval15/low`):\n", _real_table(lol["summary"]), ""]
    return parts


def _real_table(summary: dict[str, Any]) -> str:
    lines = ["| method | global kept | ellipse kept | subject kept | clip | fog | lift | hue ° "
             "| sat | grain | ellipse halo ≤ 8 |", "| --- | --- | --- | --- | --- | --- | --- "
             "| --- | --- | --- | --- |"]
    for method, edits in summary.items():
        g = edits["global"]
        e, sub = edits.get("ellipse"), edits.get("subject")
        lines.append(
            f"| {method} | {_kept(g)} | {_kept(e) if e else '–'} | {_kept(sub) if sub else '–'} "
            f"| {g['clip']:.2f} | {g['fog']:.1f} | {g['lift']:.2f} | {g['hue']:.1f} | "
            f"{g['sat']:.2f} | {g['grain']:.2f} | "
            f"{(str(e['halo_ok']) + '/' + str(e['n'])) if e else '–'} |")
    return "\n".join(lines)


def real_line(r: dict[str, Any], real: dict[str, Any] | None) -> str:
    """One sentence of a model's real-photo figures ('' when not measured)."""
    s = (real or {}).get("summary", {}).get(r["name"])
    if not s:
        return ""
    base = real["summary"].get("baseline_b", {}).get("global")
    g = s["global"]
    text = (f"On {g['n']} real night photos (docs/results.md, Real photos) it is kept on "
            f"{_kept(g)} globally")
    if "ellipse" in s:
        text += f", {_kept(s['ellipse'])} with a centred ellipse"
    if "subject" in s:
        text += f", {_kept(s['subject'])} with the subject"
    text += f"; median lift {g['lift']:.1f}, fog {g['fog']:.1f}, hue {g['hue']:.1f}°"
    if base:
        verdict = ("more than" if g["kept"] > base["kept"] else
                   "no more than")
        text += (f"; baseline B (denoise, gamma, shoulder) is kept on {_kept(base)}, so this "
                 f"model is kept on {verdict} the baseline")
    return text + "."


def _stages_note(doc: dict[str, Any]) -> str:
    """The results.md note on the models trained in several stages (one paragraph)."""
    staged = [r for r in doc["models"] if r.get("earlier_stages")]
    if not staged:
        return ""
    items = []
    for r in staged:
        steps, wall = _totals(r)
        items.append(f"{r['name']} ({len(r['earlier_stages']) + 1} stages, last "
                     f"`{r['config']}`; {steps:,} steps, {wall / 60:.1f} min)")
    return ("\nTrained in stages, each starting from the previous stage's final weights; the "
            "earlier stages are evaluated as the rows `<model>-short` (stage 1) and "
            "`<model>-stage<k>`, and a staged row's steps and minutes are the totals over its "
            "stages: " + "; ".join(items) + ".\n")


def _train_commands(stages: list[dict[str, Any]], cfg_path: str) -> str:
    """The training command of every stage, in order."""
    paths = [f"models/configs/{st['name']}.toml" for st in stages] + [cfg_path]
    return ", then ".join(f"`python -m limelight_models.train --config {c}`" for c in paths)


def _stage_row(model: str, stage: int) -> str:
    """Row name of an earlier stage (as ship_zoo names it)."""
    return f"{model}-short" if stage == 1 else f"{model}-stage{stage}"


def card_text(r: dict[str, Any], synth: dict[str, int], arch: str,
              real: dict[str, Any] | None = None, lol: Path = DATA / "lol" / "our485") -> str:
    """A model card from a results record (the ``card*`` templates of the prose)."""
    t, e = r["training"], r.get("training_eval")
    frac = 100 * (t.get("synth_fraction") if t.get("synth_fraction") is not None else 0.3)
    stages = r.get("earlier_stages") or []
    line = real_line(r, real)
    mixed = r.get("mixed")
    chain = "; ".join(PROSE["card_stage"].format(
        i=i, name=st["name"], step=st["step"], wall_min=st["wall_time_s"] / 60,
        synthetic=", ".join(st["synthetic"] or []), synth_pct=100 * (st["synth_fraction"] or 0))
        for i, st in enumerate(stages, 1))
    return PROSE["card"].format(
        name=r["name"], backbone=r["backbone"], conversion=r["conversion"], params=r["params"],
        header=HEADER, row=_row(r),
        real=PROSE["card_real"].format(line=line) if line else "",
        mixed=PROSE["card_mixed"].format(**mixed) if mixed else "",
        n_lol=_count_pairs(lol) or 243, n_synth=sum(synth.values()),
        synth_parts=", ".join(f"{v} from {k}" for k, v in sorted(synth.items())),
        synth_recipe=SYNTH_RECIPE, mixed_note=_mixed_note(r), real_pct=100 - frac,
        synth_pct=frac, crop_min=t["crops"][0], crop_max=t["crops"][1],
        batch_size=t["batch_size"], step=t["step"], wall_min=t["wall_time_s"] / 60,
        threads=t["threads"], time_budget_min=t["time_budget_min"], stopped_by=t["stopped_by"],
        lb="on" if t["use_lb"] else "off",
        loss_extras="".join(PROSE[f"card_loss_{k}"].format(**t) for k in (
            "refine_l1", "mse_a", "straight_through_clip", "noise_smoothing") if t.get(k)),
        stages=PROSE["card_stages"].format(
            n=len(stages) + 1, chain=chain, synthetic=", ".join(t.get("synthetic") or []),
            synth_pct=100 * (t.get("synth_fraction") or 0),
            steps=sum(st["step"] for st in stages) + t["step"],
            minutes=(sum(st["wall_time_s"] for st in stages) + t["wall_time_s"]) / 60)
        if stages else "",
        evaluation=PROSE["card_evaluation"].format(
            step=e["step"], minutes=e["elapsed_s"] / 60, global_psnr=e["global_psnr"],
            area_a_psnr=e["area_a_psnr"]) if e else "",
        commands=_train_commands(stages, r["config"]),
        limits="\n".join(f"* {x}" for x in LIMITS), arch=arch)


def bench_figures(bench: str | None) -> dict[str, str]:
    """The headline lines of a ``limelight.bench`` output (verbatim numbers), by key."""
    import re

    found: dict[str, str] = {}
    if not bench:
        return found
    patterns = {
        "preview": r"fast pass, network at (\d+) px\s+(\d+) ms",
        "refined": r"refined pass, network at (\d+) px\s+(\d+) ms",
        # the floor: Pillow's decode + encode since issue 19 (before: Limelight's own I/O)
        "export": r"export \(decode\+enhance\+encode\)\s+([\d.]+) s\s+= ([\d.]+)x",
        "floor": r"(?:floor: Pillow decode \+ encode|decode \+ encode alone)\s+([\d.]+) s",
        "peak": r"peak memory exporting (\S+) \(([\d.]+) MP\): ([\d,]+) MB",
        "load": r"load average before the run: ([\d.]+)",
        "size": r"(\d+x\d+) \(([\d.]+) MP\) JPEG -> JPEG",
    }
    for key, pat in patterns.items():
        m = re.search(pat, bench)
        if m:
            found[key] = m.group(0)
            for i, g in enumerate(m.groups()):
                found[f"{key}{i}"] = g
    return found


def readme_block(doc: dict[str, Any], bench: str | None) -> str:
    """The README's models/results paragraph (between its ship_zoo markers)."""
    d = _by_name(doc).get(doc["default"])
    shipped = [r for r in doc["models"] if r["shipped"]]
    if not d or not shipped:
        return PROSE["readme_none"]
    best = max(shipped, key=lambda r: r["global_psnr"])
    speed = collections.defaultdict(lambda: "?", bench_figures(bench), name=d["name"])
    dropped = [r["name"] for r in doc["models"]
               if r["name"] == f"{r['backbone']}-{r['conversion']}" and not r["shipped"]]
    line = real_line(d, doc.get("real"))
    return PROSE["readme"].format(
        n_shipped=len(shipped), zoo_mb=doc["zoo_mb"],
        unshipped=PROSE["readme_unshipped"].format(n=len(dropped), names=", ".join(dropped))
        if dropped else "", name=d["name"], knob_note=_knob_note(d), mixed_rank=_mixed_rank(doc),
        global_psnr=d["global_psnr"], global_ssim=d["global_ssim"],
        area_a_psnr=d["area_a_psnr"], area_c_max=d["area_c_max"], best=best["name"],
        best_psnr=best["global_psnr"], best_ssim=best["global_ssim"],
        real=PROSE["readme_real"].format(line=line[0].lower() + line[1:]) if line else "",
        speed=PROSE["readme_speed"].format_map(speed) if bench_figures(bench) else "")


README_BEGIN = "<!-- ship_zoo:begin (written by scripts/ship_zoo.py) -->"
README_END = "<!-- ship_zoo:end -->"


def update_readme(readme: Path, doc: dict[str, Any], bench: str | None) -> bool:
    """Replaces the block between the markers; False when the README has no markers."""
    text = readme.read_text(encoding="utf-8")
    if README_BEGIN not in text or README_END not in text:
        return False
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_BEGIN}\n{readme_block(doc, bench)}{README_END}{tail}",
                      encoding="utf-8")
    return True



def write_docs(docs: Path, doc: dict[str, Any], readme: Path | None) -> bool:
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
    parser.add_argument("--synth", type=Path, default=CACHE / "synth",
                        help="the synthetic pairs' cache, counted by source for the cards "
                             "(default: $LIMELIGHT_CACHE/synth, ../cache/synth)")
    parser.add_argument("--lol", type=Path, default=DATA / "lol" / "our485",
                        help="LOL's training pairs, counted for the cards (default: "
                             "$LIMELIGHT_DATA/lol/our485, ../shared/data/lol/our485)")
    args = parser.parse_args(argv)
    doc = json.loads((args.docs / "results.json").read_text(encoding="utf-8"))
    write_cards(args.zoo, doc["models"], runs_synth=args.synth,
                real=load_real(args.docs).get("real"), lol=args.lol)
    if not write_docs(args.docs, doc, args.readme):
        raise SystemExit(f"{args.readme} has no ship_zoo markers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
