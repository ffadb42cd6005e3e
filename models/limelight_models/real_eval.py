"""Real-photo evaluation: the six no-reference measures of ``real_measures`` for every shipped
model, on a folder of real low-light photos, beside the classical baselines.

    python -m limelight_models.real_eval --real ../shared/data/real \
        [--models NAME ...] [--json docs/real_photos.json] [--sheets docs/real_sheets] \
        [--sheet-model fusion_net-ranlen]

Each photo runs THROUGH THE APP'S PATH (``limelight.core.pipeline.enhance_pixels``: working
resolution, the light finish, guided transfer, compositing in the source integers) at the
default knobs, for three edits:

* ``global``: area A = the whole photo;
* ``ellipse``: a centred circle of radius 2/7 of the short side with the default transition
  band outside it (the editor's ellipse); measured over the pixels it may touch (A ∪ B);
* ``subject``: the automatic subject (the optional subject network) with the default band,
  measured over A ∪ B; skipped when the subject network is not installed or finds nothing.

The baselines (``real_measures.BASELINES``) are global. For a local edit ``halo`` is the fog
inside A ∪ B, which the light issue bounds by 8 code values. Contact sheets (PNG): one row a
photo, columns input | global | ellipse | subject | baseline B, for ``--sheet-model``.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from limelight.core.engine import Engine
from limelight.core.errors import LimelightError
from limelight.core.imageio import read_image
from limelight.core.masks import MaskSpec, Subject, circle_spec, derive_mask, rasterize_area_a
from limelight.core.pipeline import enhance_pixels
from limelight.core.recompose import Knobs
from limelight_models import real_measures as rm

log = logging.getLogger("limelight_models.real_eval")

EDITS = ("global", "ellipse", "subject")
SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp")
#: The bound on fog inside a local edit's A ∪ B (the light issue, item 5).
HALO_MAX = 8.0
#: Height of one contact-sheet row, px, and rows per sheet.
SHEET_ROW = 160
SHEET_ROWS = 12


@dataclass(frozen=True)
class Photo:
    """One real photo: its name and (H, W, 3) uint8 pixels."""

    name: str
    pixels: np.ndarray


def load_photos(folder: Path) -> list[Photo]:
    """Every image under ``folder`` (recursively, sorted), as 8-bit RGB; unreadable files are
    logged and skipped."""
    photos = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES):
        try:
            px = read_image(path).pixels
        except LimelightError as err:
            log.warning("%s", err)
            continue
        if px.dtype != np.uint8:
            px = (px >> 8).astype(np.uint8)
        photos.append(Photo(str(path.relative_to(folder)), np.ascontiguousarray(px)))
    return photos


def edit_spec(edit: str, height: int, width: int) -> MaskSpec:
    """The MaskSpec of one of ``EDITS`` for a photo of this size."""
    if edit == "global":
        return MaskSpec()
    if edit == "ellipse":
        return MaskSpec(shapes=circle_spec(height, width).shapes)
    if edit == "subject":
        return MaskSpec(shapes=(Subject(),))
    raise ValueError(f"unknown edit {edit!r}; known: {EDITS}")


def _subject_fn(pixels: np.ndarray) -> Any:
    """The photo's subject function (as the command line's ``--subject`` uses), or None when
    the network is missing or finds no subject (under 1 % of the photo)."""
    from limelight.core.subject import is_installed, subject_fn_for

    if not is_installed():
        return None
    fn = subject_fn_for(pixels)
    h, w = pixels.shape[:2]
    return fn if float((fn(h, w) >= 0.5).mean()) >= 0.01 else None


def region_of(spec: MaskSpec, pixels: np.ndarray, subject_fn: Any) -> np.ndarray | None:
    """(H, W) bool: the pixels an edit may touch (mask channel 1 > 0), None for global."""
    if not spec.shapes:
        return None
    h, w = pixels.shape[:2]
    area = rasterize_area_a(spec, h, w, subject_fn=subject_fn)
    return derive_mask(area, spec.transition_px(h, w), spec.effective_band)[1] > 0


def evaluate_photo(engine: Engine, models: list[str], photo: Photo, knobs: Knobs
                   ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, np.ndarray]]]:
    """Measures of every model and edit and of the baselines for one photo, and the outputs
    (method -> edit -> (H, W, 3) uint8)."""
    px = photo.pixels
    h, w = px.shape[:2]
    subject_fn = _subject_fn(px)
    rows: dict[str, dict[str, Any]] = {}
    outs: dict[str, dict[str, np.ndarray]] = {}
    for name in models:
        rows[name], outs[name] = {}, {}
        for edit in EDITS:
            if edit == "subject" and subject_fn is None:
                continue
            spec = edit_spec(edit, h, w)
            out = enhance_pixels(px, spec, knobs, engine, model=name, subject_fn=subject_fn)
            region = region_of(spec, px, subject_fn)
            m = rm.measure(px, out, region)
            rows[name][edit] = m.as_dict() | ({"halo": round(m.fog, 4)} if region is not None
                                              else {})
            outs[name][edit] = out
    for base, fn in rm.BASELINES.items():
        out = fn(px)
        rows[base] = {"global": rm.measure(px, out).as_dict()}
        outs[base] = {"global": out}
    return rows, outs


#: The knob settings the knob check compares (each knob alone, the others at the default).
KNOB_STEPS = {"degree": (0.5, 1.0, 1.5, 2.0), "gamma1": (0.0, 0.5, 1.0),
              "gamma2": (0.0, 0.5, 1.0), "gamma3": (0.0, 0.5, 1.0)}


def _deciles(px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = rm.luma(px).ravel()
    order = np.argsort(y)
    n = max(1, y.size // 10)
    return order[:n], order[-n:]


def knob_figures(engine: Engine, model: str, photo: Photo) -> dict[str, list[float]]:
    """What each knob moves on one photo (global edit), at ``KNOB_STEPS``: degree -> mean Y;
    gamma1 -> the darkest input decile's mean output Y; gamma2 -> the brightest decile's and
    the clip %; gamma3 -> grain (noise lifted over light, ``real_measures.grain``)."""
    px = photo.pixels
    dark, bright = _deciles(px)
    figures: dict[str, list[float]] = {}
    for knob, steps in KNOB_STEPS.items():
        outs = [enhance_pixels(px, MaskSpec(), Knobs().with_(**{knob: v}), engine, model=model)
                for v in steps]
        ys = [rm.luma(o).ravel() for o in outs]
        if knob == "degree":
            figures["degree_mean"] = [round(float(y.mean()), 3) for y in ys]
        elif knob == "gamma1":
            figures["gamma1_dark"] = [round(float(y[dark].mean()), 3) for y in ys]
        elif knob == "gamma2":
            figures["gamma2_bright"] = [round(float(y[bright].mean()), 3) for y in ys]
            figures["gamma2_clip"] = [round(rm.clip_pct(px, o), 4) for o in outs]
        else:
            figures["gamma3_grain"] = [round(rm.grain(px, o), 4) for o in outs]
    return figures


#: figure -> +1 (must rise with the knob) or -1 (must fall); clip may also stay equal.
KNOB_DIRECTIONS = {"degree_mean": 1, "gamma1_dark": 1, "gamma2_bright": -1,
                   "gamma2_clip": -1, "gamma3_grain": -1}


def knob_summary(per_photo: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, int]]:
    """figure -> {"both_ways": photos where it moves strictly the right way at every step
    (clip: never the wrong way), "n": photos}."""
    out: dict[str, dict[str, int]] = {}
    for key, sign in KNOB_DIRECTIONS.items():
        ok = 0
        for figs in per_photo.values():
            steps = np.diff(np.asarray(figs[key])) * sign
            ok += bool((steps >= 0).all() if key == "gamma2_clip" else (steps > 0).all())
        out[key] = {"both_ways": ok, "n": len(per_photo)}
    return out


def summarise(per_photo: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """method -> edit -> {n, kept, median of each measure, failures by measure, halo_ok}."""
    acc: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for rows in per_photo.values():
        for method, edits in rows.items():
            for edit, m in edits.items():
                acc.setdefault(method, {}).setdefault(edit, []).append(m)
    out: dict[str, dict[str, Any]] = {}
    for method, edits in acc.items():
        out[method] = {}
        for edit, ms in edits.items():
            s: dict[str, Any] = {"n": len(ms), "kept": sum(bool(m["kept"]) for m in ms)}
            for k in ("clip", "fog", "lift", "hue", "sat", "grain"):
                s[k] = round(statistics.median(float(m[k]) for m in ms), 3)
            s["fails"] = dict(Counter(f for m in ms for f in m["fails"]).most_common())
            if "halo" in ms[0]:
                s["halo_ok"] = sum(float(m["halo"]) <= HALO_MAX for m in ms)
            out[method][edit] = s
    return out


def markdown(summary: dict[str, dict[str, Any]], title: str) -> str:
    """The summary as a markdown table: one row per method and edit."""
    lines = [f"**{title}**", "",
             "| method | edit | kept | clip % | fog | lift | hue ° | sat | grain | halo ≤ 8 "
             "| misses (photos) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for method, edits in summary.items():
        for edit, s in edits.items():
            fails = ", ".join(f"{k} {v}" for k, v in s["fails"].items()) or "—"
            halo = f"{s['halo_ok']}/{s['n']}" if "halo_ok" in s else "—"
            lines.append(
                f"| {method} | {edit} | {s['kept']}/{s['n']} | {s['clip']:.2f} | "
                f"{s['fog']:.1f} | {s['lift']:.2f} | {s['hue']:.1f} | {s['sat']:.2f} | "
                f"{s['grain']:.2f} | {halo} | {fails} |")
    return "\n".join(lines) + "\n"


def _thumb(x: np.ndarray, height: int) -> np.ndarray:
    w = max(1, round(x.shape[1] * height / x.shape[0]))
    return cv2.resize(x, (w, height), interpolation=cv2.INTER_AREA)


def contact_sheets(rows: list[list[np.ndarray]], folder: Path, stem: str,
                   row_height: int = SHEET_ROW, per_sheet: int = SHEET_ROWS) -> list[Path]:
    """Writes PNG sheets of ``rows`` (each a list of (H, W, 3) uint8 panels, a missing panel
    None-free: pass a black one) to ``folder/stem-N.png``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    strips = [np.hstack([_thumb(p, row_height) for p in r]) for r in rows]
    paths = []
    for k in range(0, len(strips), per_sheet):
        chunk = strips[k:k + per_sheet]
        width = max(s.shape[1] for s in chunk)
        sheet = np.vstack([np.pad(s, ((0, 2), (0, width - s.shape[1]), (0, 0))) for s in chunk])
        path = folder / f"{stem}-{k // per_sheet + 1}.png"
        cv2.imwrite(str(path), np.ascontiguousarray(sheet[..., ::-1]))
        paths.append(path)
    return paths


def run(folder: Path, models: list[str] | None = None, *, engine: Engine | None = None,
        knobs: Knobs | None = None, sheets: Path | None = None,
        sheet_model: str | None = None, knob_check: bool = False,
        sheet_row: int = SHEET_ROW) -> dict[str, Any]:
    """Evaluates ``models`` (default: every shipped one) on the photos under ``folder``.

    Returns {"folder", "knobs", "photos": {name: rows}, "summary": summarise(...),
    "sheets": [paths]} and, with ``knob_check``, "knob_photos" and "knob_summary" for
    ``sheet_model`` (``knob_figures``, ``knob_summary``).
    """
    engine = engine or Engine()
    models = models or [m.name for m in engine.zoo.models]
    knobs = knobs or Knobs()
    sheet_model = sheet_model or engine.zoo.default
    photos = load_photos(folder)
    if not photos:
        raise SystemExit(f"{folder}: no photos found")
    per_photo: dict[str, dict[str, dict[str, Any]]] = {}
    knob_photos: dict[str, dict[str, list[float]]] = {}
    sheet_rows = []
    for k, photo in enumerate(photos, 1):
        rows, outs = evaluate_photo(engine, models, photo, knobs)
        per_photo[photo.name] = rows
        if knob_check:
            knob_photos[photo.name] = knob_figures(engine, sheet_model, photo)
        log.info("%d/%d %s: %s kept %s", k, len(photos), photo.name, sheet_model,
                 {e: r["kept"] for e, r in rows.get(sheet_model, {}).items()})
        if sheets is not None and sheet_model in outs:
            black = np.zeros_like(photo.pixels)
            mine = outs[sheet_model]
            sheet_rows.append([photo.pixels, mine["global"], mine["ellipse"],
                               mine.get("subject", black), outs["baseline_b"]["global"]])
    paths = (contact_sheets(sheet_rows, sheets, f"{folder.name}-{sheet_model}", sheet_row)
             if sheets is not None else [])
    result = {"folder": str(folder), "knobs": vars(knobs), "photos": per_photo,
              "summary": summarise(per_photo), "sheets": [str(p) for p in paths]}
    if knob_check:
        result |= {"knob_model": sheet_model, "knob_photos": knob_photos,
                   "knob_summary": knob_summary(knob_photos)}
    return result


def knob_markdown(summary: dict[str, dict[str, int]], model: str) -> str:
    """The knob check as a markdown table."""
    what = {"degree_mean": "Light 0.5 → 2: mean brightness rises",
            "gamma1_dark": "Shadows 0 → 1: darkest decile rises",
            "gamma2_bright": "Highlights 0 → 1: brightest decile falls",
            "gamma2_clip": "Highlights 0 → 1: clip % never rises",
            "gamma3_grain": "Noise 0 → 1: grain falls"}
    lines = [f"**Knobs on {model}** (global edit, each knob alone at each step, the others "
             "at the default)", "", "| knob and figure | photos where it moves the right way "
             "at every step |", "| --- | --- |"]
    lines += [f"| {what[k]} | {v['both_ways']}/{v['n']} |" for k, v in summary.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--real", type=Path, required=True, help="folder of real low-light photos")
    p.add_argument("--models", nargs="*", help="model names (default: every shipped model)")
    p.add_argument("--json", type=Path, help="write every figure here")
    p.add_argument("--markdown", type=Path, help="write the summary table here")
    p.add_argument("--sheets", type=Path, help="write contact sheets (PNG) into this folder")
    p.add_argument("--sheet-model", help="the model on the sheets and of the knob check "
                   "(default: the default)")
    p.add_argument("--sheet-row", type=int, default=SHEET_ROW,
                   help=f"height of a contact-sheet row in px (default {SHEET_ROW})")
    p.add_argument("--knobs", action="store_true",
                   help="also check that every knob acts both ways on every photo")
    p.add_argument("--zoo", type=Path, help="a zoo folder other than the shipped one (a model "
                   "exported by limelight_models.export, to measure before shipping it)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = run(args.real, args.models, engine=Engine(args.zoo) if args.zoo else None,
                 sheets=args.sheets, sheet_model=args.sheet_model,
                 knob_check=args.knobs, sheet_row=args.sheet_row)
    table = markdown(result["summary"], f"{args.real.name}: {len(result['photos'])} photos")
    if args.knobs:
        table += "\n" + knob_markdown(result["knob_summary"], result["knob_model"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    if args.markdown:
        args.markdown.write_text(table)
    log.info("\n%s", table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
