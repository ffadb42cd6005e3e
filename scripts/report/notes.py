"""The sentences of the report made of figures: targets, the default's reasons, the limits."""

from __future__ import annotations

from typing import Any

import ship_knobs

from limelight_models.archs import BACKBONES
from report.common import (
    PROSE,
    Record,
    by_name,
    count_pairs,
    default,
    first,
    in_group,
    shipped,
    totals,
)
from report.tables import kept

#: How far the default's training-time evaluations swing between checkpoints (dB): about
#: +-0.3 over the last ten of each stage (the runs' eval.jsonl).
EVAL_NOISE_DB = 0.3
KNOBS = ("γ1", "γ2", "γ3")


def targets(doc: Record) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) of issue 4; the targets' words are the prose's ``target_*``."""
    rows, ship, words = by_name(doc), shipped(doc), PROSE["targets"]
    out: list[tuple[str, str, bool | None]] = []
    if ship:
        best = max(ship, key=lambda r: r["global_psnr"])
        ssim = max(r["global_ssim"] for r in ship)
        out.append((words["best"], f"{best['name']}: {best['global_psnr']:.2f} dB / "
                    f"{best['global_ssim']:.3f} (best SSIM {ssim:.3f})",
                    best["global_psnr"] >= 21.0 and ssim >= 0.78))
    ranlen = [r for r in ship if r["conversion"] == "ranlen"]
    if ranlen:
        unshipped = [r for r in doc["models"] if r["conversion"] == "ranlen"
                     and not r["shipped"] and r["name"] == f"{r['backbone']}-ranlen"]
        out.append((words["ranlen"],
                    ", ".join(f"{r['backbone']} {r['global_psnr']:.2f}" for r in ranlen)
                    + "".join(f"; {r['backbone']} {r['global_psnr']:.2f} not shipped"
                              for r in unshipped),
                    all(r["global_psnr"] >= 17.0 for r in ranlen)))
    wins, pairs = [], 0
    for b in BACKBONES:  # every trained pair (the last stage), shipped or not
        rl, cc = rows.get(f"{b}-ranlen"), rows.get(f"{b}-concat")
        if rl and cc:
            pairs += 1
            if rl["area_a_psnr"] >= cc["area_a_psnr"]:
                wins.append(b)
    out.append((words["area_a"], f"{len(wins)} of {pairs} ({', '.join(wins) or 'none'})",
                len(wins) >= 4))
    cmax = max((r["area_c_max"] for r in doc["models"]), default=None)
    out.append((words["area_c"], f"max over all: {cmax}", cmax == 0))
    with_lb, no_lb = first(doc, "lb-reference"), first(doc, "lb-off")
    if with_lb and no_lb:
        out.append((words["lb"], f"{with_lb['b_roughness']:.4f} with vs "
                    f"{no_lb['b_roughness']:.4f} without",
                    with_lb["b_roughness"] < no_lb["b_roughness"]))
    fusion = [r for r in ship if "gamma1_dark" in r.get("knobs", {})]
    if fusion:
        works = {g: [r["name"] for r in fusion if ship_knobs.knob_moves(r["knobs"], g)]
                 for g in KNOBS}
        out.append((words["knobs"],
                    "; ".join(f"{g} works on {len(v)} of {len(fusion)}" for g, v in works.items()),
                    all(len(v) == len(fusion) for v in works.values())))
    d = rows.get(doc["default"])
    if d:
        out.append((words["preview"], PROSE["target_preview"].format(ms=d["ms_1mp"]),
                    d["ms_1mp"] < 100))
    return out


def ablation_note(doc: Record) -> str:
    """The ablation's paragraph, with L_B's share of the loss when its log was kept."""
    with_lb = first(doc, "lb-reference")
    share = with_lb.get("lb_share") if with_lb else None
    return PROSE["ablation_note"].format(share=PROSE["lb_share"].format(pct=100 * share)
                                         if share is not None else PROSE["lb_share_unknown"])


def default_reason(doc: Record) -> str:
    """Why the default is the default: its figures and ranks among the shipped models."""
    rows, d = shipped(doc), default(doc)
    if not d or not rows:
        return ""
    return PROSE["default_reason"].format(
        **d, rank=1 + sum(r["global_psnr"] > d["global_psnr"] for r in rows), n=len(rows),
        faster=sum(r["ms_1mp"] < d["ms_1mp"] for r in rows), mixed_rank=mixed_rank(doc),
        knob_note=knob_note(d, lead=": "))


def mixed_rank(doc: Record) -> str:
    """'; on non-uniform light X dB (the input itself: Y), rank k of n shipped' for the
    default model, when that set was measured ('' otherwise)."""
    d = default(doc) or {}
    if not d.get("mixed"):
        return ""
    mixed = [r for r in shipped(doc) if r.get("mixed")]
    inp = (doc.get("mixed_light") or {}).get("input_psnr")
    return PROSE["mixed_rank"].format(
        psnr=d["mixed"]["global_psnr"], n=len(mixed),
        rank=1 + sum(r["mixed"]["global_psnr"] > d["mixed"]["global_psnr"] for r in mixed),
        ref=f" (the input itself: {inp:.2f})" if inp is not None else "")


def knob_note(r: Record, lead: str = " (light, shadows, highlights, noise; ") -> str:
    """Which γ knobs the model's measured response shows inert (ship_knobs)."""
    k = r.get("knobs") or {}
    if "gamma1_dark" not in k:
        return ""
    inert = [g for g in KNOBS if not ship_knobs.knob_moves(k, g)]
    tail = (f"on this model {', '.join(inert)} measurably do{'es' if len(inert) == 1 else ''} "
            "nothing, see docs/results.md" if inert else "each measured to act")
    return f"{lead}{tail}" + (")" if lead.startswith(" (") else "")


def exposure_limit(doc: Record) -> str:
    """The 'Exposure' item of the limits: the default's PSNR against its exposure-fit PSNR,
    and what the runs tagged ``exposure`` tried (empty when the figure was not measured)."""
    r = default(doc) or {}
    if "exposure_fit_psnr" not in r:
        return ""
    gain = r.get("exposure_gain")
    gaps = [x["exposure_fit_psnr"] - x["global_psnr"] for x in shipped(doc)
            if "exposure_fit_psnr" in x]
    tried = [(x["name"], x) for x in in_group(doc, "exposure")]
    tried_text = "; ".join(PROSE["exposure_tried"].format(
        name=n, psnr=x["global_psnr"], fit=x["exposure_fit_psnr"])
        for n, x in tried if "exposure_fit_psnr" in x)
    return PROSE["exposure_limit"].format(
        fit=r["exposure_fit_psnr"], psnr=r["global_psnr"], gap_min=min(gaps), gap_max=max(gaps),
        gains=PROSE["exposure_gains"].format(mean=gain[0], low=gain[1], high=gain[2])
        if gain else "", tried=f": {tried_text}" if tried_text else "",
        lifted=lifted(r, tried), best_fit=best_fit_note(r, tried))


def best_fit_note(d: Record, tried: list[tuple[str, Record]]) -> str:
    """A sentence on a tried run whose exposure-fit PSNR beats the default's, if any."""
    fits = [(x["exposure_fit_psnr"], n, x) for n, x in tried if "exposure_fit_psnr" in x]
    if not fits or max(fits)[0] <= d["exposure_fit_psnr"]:
        return ""
    fit, name, x = max(fits)
    return PROSE["best_fit"].format(name=name, fit=fit, default_fit=d["exposure_fit_psnr"],
                                    psnr=x["global_psnr"])


def lifted(d: Record, tried: list[tuple[str, Record]]) -> str:
    """Whether any tried run beat the default by more than the checkpoint-to-checkpoint swing."""
    if not tried:
        return ""
    better = [n for n, x in tried if x["global_psnr"] > d["global_psnr"] + EVAL_NOISE_DB]
    if not better:
        return PROSE["lifted_none"].format(swing=EVAL_NOISE_DB)
    return PROSE["lifted_some"].format(swing=EVAL_NOISE_DB,
                                       names=", ".join(f"`{n}`" for n in better))


def stages_note(doc: Record) -> str:
    """The results.md note on the models trained in several stages (one paragraph)."""
    staged = [r for r in doc["models"] if r.get("earlier_stages")]
    if not staged:
        return ""
    items = []
    for r in staged:
        steps, wall = totals(r)
        items.append(PROSE["stages_item"].format(
            name=r["name"], n=len(r["earlier_stages"]) + 1, config=r["config"], steps=steps,
            minutes=wall / 60))
    return PROSE["stages_note"].format(items="; ".join(items))


def real_line(r: Record, real: Record | None) -> str:
    """One sentence of a model's real-photo figures ('' when not measured)."""
    s = (real or {}).get("summary", {}).get(r["name"])
    if not s or real is None:
        return ""
    base = real["summary"].get("baseline_b", {}).get("global")
    g = s["global"]
    text = (f"On {g['n']} real night photos (docs/results.md, Real photos) it is kept on "
            f"{kept(g)} globally")
    if "ellipse" in s:
        text += f", {kept(s['ellipse'])} with a centred ellipse"
    if "subject" in s:
        text += f", {kept(s['subject'])} with the subject"
    text += f"; median lift {g['lift']:.1f}, fog {g['fog']:.1f}, hue {g['hue']:.1f}°"
    if base:
        verdict = "more than" if g["kept"] > base["kept"] else "no more than"
        text += (f"; baseline B (denoise, gamma, shoulder) is kept on {kept(base)}, so this "
                 f"model is kept on {verdict} the baseline")
    return text + "."


def mixed_note(r: Record) -> str:
    """Card text for the mixed-exposure synthetic pairs, when a stage of ``r`` used them."""
    folders = [f for st in [*(r.get("earlier_stages") or []), r["training"]]
               for f in (st.get("synthetic") or [])]
    mixed = sorted({f for f in folders if "mixed" in f})
    if not mixed:
        return ""
    return PROSE["card_mixed_note"].format(n=sum(count_pairs(f) for f in mixed),
                                           folders=", ".join(mixed))


def limits(doc: Record) -> str:
    """The limits' list of results.md (CPU time, knobs)."""
    steps = [r["training"]["step"] for r in doc["models"]]
    short = [r["training"]["step"] for r in doc["models"]
             if r["training"]["time_budget_min"] == 5]
    fields: dict[str, Any] = dict(
        train_min=sum(r["training"]["wall_time_s"] for r in doc["models"]) / 60,
        runs=len(doc["models"]), steps_min=min(steps), steps_max=max(steps),
        short_min=min(short or [0]), short_max=max(short or [0]), knobs=PROSE["knob_limits"])
    return PROSE["limits_text"].format(**fields)
