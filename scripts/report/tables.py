"""The markdown tables of docs/results.md and the cards (rows from the measured records)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from limelight_models.archs import BACKBONES, CONVERSIONS  # the registry's order: every table's
from report.common import PROSE, Record, by_name, first, fmt, in_group, shipped, totals

HEADER = ("| model | params | PSNR | SSIM | ΔE | A PSNR | A SSIM | C max | B rough. | ms @1 MP "
          "| steps | train min |\n|" + " --- |" * 12)


def model_row(r: Record) -> str:
    """One model's row of the main table (and of its card)."""
    name = r["name"] if r["shipped"] else f"{r['name']} (not shipped: under the 15 dB floor)"
    steps, wall = totals(r)
    stages = len(r.get("earlier_stages") or []) + 1
    cells = [
        name, f"{r['params']:,}", fmt(r["global_psnr"]), fmt(r["global_ssim"], 3),
        fmt(r.get("global_delta_e"), 1), fmt(r["area_a_psnr"]), fmt(r["area_a_ssim"], 3),
        str(r["area_c_max"]), fmt(r["b_roughness"], 4), fmt(r["ms_1mp"], 0), f"{steps:,}",
        f"{wall / 60:.1f}" + (f" ({stages} stages)" if stages > 1 else ""),
    ]
    return "| " + " | ".join(cells) + " |"


def main_table(doc: Record) -> str:
    """backbone x {global, concat, ranlen}; rows under the shipping floor say so."""
    rows = by_name(doc)
    lines = [HEADER]
    for b in BACKBONES:
        for c in CONVERSIONS:
            r = rows.get(f"{b}-{c}")
            lines.append(model_row(r) if r else f"| {b}-{c} | not trained/finished |" + " |" * 9)
    return "\n".join(lines)


def peer_table(doc: Record) -> str:
    """Published small models re-measured on LOL eval15 (the prose's ``peers``), then ours."""
    rows = shipped(doc)
    best = max(rows, key=lambda r: r["global_psnr"]) if rows else None
    lines = ["| method | PSNR | SSIM | source |", "| --- | --- | --- | --- |"]
    lines += [f"| {p['name']} | {p['psnr']:.2f} | {p['ssim']:.3f} | {p['source']} |"
              for p in PROSE["peers"]]
    for label, r in (("best shipped", best), ("default", by_name(doc).get(doc["default"]))):
        if r:
            lines.append(f"| **Limelight {r['name']}** ({label}) | {r['global_psnr']:.2f} | "
                         f"{r['global_ssim']:.3f} | this table |")
    return "\n".join(lines)


def ablation(doc: Record) -> str:
    """The L_B ablation: the runs tagged lb-reference, lb-off and lb-heavier (by β)."""
    with_lb, no_lb = first(doc, "lb-reference"), first(doc, "lb-off")
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


def budgets(doc: Record) -> str:
    """Every run's training budget and its training-time evaluation near 5 minutes."""
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


def mixed_light_section(doc: Record) -> list[str]:
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
             f"{ml['input_ssim']:.3f} | {fmt(ml.get('input_delta_e'), 1)} | – |"]
    for r in rows:
        m = r["mixed"]
        name = r["name"] if r["shipped"] else f"{r['name']} (not shipped)"
        lines.append(f"| {name} | {r['global_psnr']:.2f} | {m['global_psnr']:.2f} | "
                     f"{m['global_ssim']:.3f} | {fmt(m.get('global_delta_e'), 1)} | "
                     f"{m['area_a_psnr']:.2f} |")
    return [PROSE["mixed_light_title"], PROSE["mixed_light_intro"].format(**ml),
            "\n".join(lines), ""]


def kept(s: Record) -> str:
    """'kept/n' of one edit's real-photo summary."""
    return f"{s['kept']}/{s['n']}"


def real_table(summary: dict[str, Any]) -> str:
    """The real-photo measures, a row per method."""
    lines = ["| method | global kept | ellipse kept | subject kept | clip | fog | lift | hue ° "
             "| sat | grain | ellipse halo ≤ 8 |", "| --- | --- | --- | --- | --- | --- | --- "
             "| --- | --- | --- | --- |"]
    for method, edits in summary.items():
        g = edits["global"]
        e, sub = edits.get("ellipse"), edits.get("subject")
        lines.append(
            f"| {method} | {kept(g)} | {kept(e) if e else '–'} | {kept(sub) if sub else '–'} "
            f"| {g['clip']:.2f} | {g['fog']:.1f} | {g['lift']:.2f} | {g['hue']:.1f} | "
            f"{g['sat']:.2f} | {g['grain']:.2f} | "
            f"{(str(e['halo_ok']) + '/' + str(e['n'])) if e else '–'} |")
    return "\n".join(lines)


def real_section(real: Record | None, lol: Record | None) -> list[str]:
    """The real-photo section of results.md (``limelight_models.real_eval`` figures)."""
    if not real:
        return []
    parts = [PROSE["real_title"], PROSE["real_intro"].format(n=len(real["photos"])),
             real_table(real["summary"]), ""]
    if real.get("knob_summary"):
        from limelight_models.real_eval import knob_markdown

        parts += [knob_markdown(real["knob_summary"], real.get("knob_model", "")), ""]
    if real.get("sheets"):
        links = ", ".join(f"[{Path(p).name}](real_sheets/{Path(p).name})"
                          for p in real["sheets"])
        parts += [PROSE["real_sheets"].format(model=real.get("knob_model") or "the default",
                                              links=links)]
    parts += [PROSE["real_limits"]]
    if lol:
        parts += [PROSE["real_lol"].format(n=len(lol["photos"])), real_table(lol["summary"]), ""]
    return parts
