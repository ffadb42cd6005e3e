"""The model cards: ``<name>.md`` beside each shipped ONNX file (the ``card*`` templates)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from report.common import DATA, PROSE, Record, count_pairs, synth_counts
from report.notes import mixed_note, real_line
from report.tables import HEADER, model_row

#: LOL's training pairs ($LIMELIGHT_DATA/lol/our485), counted for the cards; a card says
#: LOL's 243 when they are not at hand.
LOL_TRAIN = DATA / "lol" / "our485" if DATA else None
#: The extras of a run's loss that its card names, by the training record's flag.
LOSS_EXTRAS = ("refine_l1", "mse_a", "straight_through_clip", "noise_smoothing")


def train_commands(stages: list[Record], cfg_path: str) -> str:
    """The training command of every stage, in order."""
    paths = [f"models/configs/{st['name']}.toml" for st in stages] + [cfg_path]
    return ", then ".join(f"`python -m limelight_models.train --config {c}`" for c in paths)


def _stages(stages: list[Record], t: Record) -> str:
    """The card's paragraph on a model trained in several stages ('' for one stage)."""
    if not stages:
        return ""
    chain = "; ".join(PROSE["card_stage"].format(
        i=i, name=st["name"], step=st["step"], wall_min=st["wall_time_s"] / 60,
        synthetic=", ".join(st["synthetic"] or []), synth_pct=100 * (st["synth_fraction"] or 0))
        for i, st in enumerate(stages, 1))
    return PROSE["card_stages"].format(
        n=len(stages) + 1, chain=chain, synthetic=", ".join(t.get("synthetic") or []),
        synth_pct=100 * (t.get("synth_fraction") or 0),
        steps=sum(st["step"] for st in stages) + t["step"],
        minutes=(sum(st["wall_time_s"] for st in stages) + t["wall_time_s"]) / 60)


def card_text(r: Record, synth: dict[str, int], arch: str, real: Record | None = None,
              lol: Path | None = LOL_TRAIN) -> str:
    """A model card from a results record (the ``card*`` templates of the prose)."""
    t, e = r["training"], r.get("training_eval")
    frac = 100 * (t.get("synth_fraction") if t.get("synth_fraction") is not None else 0.3)
    stages = r.get("earlier_stages") or []
    line, mixed = real_line(r, real), r.get("mixed")
    fields: dict[str, Any] = dict(
        name=r["name"], backbone=r["backbone"], conversion=r["conversion"], params=r["params"],
        header=HEADER, row=model_row(r),
        real=PROSE["card_real"].format(line=line) if line else "",
        mixed=PROSE["card_mixed"].format(**mixed) if mixed else "",
        n_lol=count_pairs(lol) or 243, n_synth=sum(synth.values()),
        synth_parts=", ".join(f"{v} from {k}" for k, v in sorted(synth.items())),
        synth_recipe=PROSE["synth_recipe"], mixed_note=mixed_note(r), real_pct=100 - frac,
        synth_pct=frac, crop_min=t["crops"][0], crop_max=t["crops"][1],
        batch_size=t["batch_size"], step=t["step"], wall_min=t["wall_time_s"] / 60,
        threads=t["threads"], time_budget_min=t["time_budget_min"], stopped_by=t["stopped_by"],
        lb="on" if t["use_lb"] else "off",
        loss_extras="".join(PROSE[f"card_loss_{k}"].format(**t) for k in LOSS_EXTRAS
                            if t.get(k)),
        stages=_stages(stages, t),
        evaluation=PROSE["card_evaluation"].format(
            step=e["step"], minutes=e["elapsed_s"] / 60, global_psnr=e["global_psnr"],
            area_a_psnr=e["area_a_psnr"]) if e else "",
        commands=train_commands(stages, r["config"]),
        limits="\n".join(f"* {x}" for x in PROSE["limits"]), arch=arch)
    return PROSE["card"].format(**fields)


def write_cards(zoo: Path, records: list[Record], runs_synth: Path | None,
                real: Record | None = None, lol: Path | None = LOL_TRAIN) -> None:
    """Rewrites ``<name>.md`` beside each shipped ONNX file from the measured records
    (``runs_synth``: the synthetic pairs' cache; ``lol``: LOL's training pairs, counted);
    a card's '## Architecture' section is kept as it is."""
    counts = synth_counts(runs_synth)
    for r in records:
        if not r["shipped"]:
            continue
        path = zoo / f"{r['name']}.md"
        stub = path.read_text(encoding="utf-8") if path.is_file() else ""
        arch = stub.split("## Architecture", 1)[1].strip() if "## Architecture" in stub else ""
        path.write_text(card_text(r, counts, arch, real, lol), encoding="utf-8")
        path.chmod(0o644)
