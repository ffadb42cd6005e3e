"""How each shipped model answers the knobs (for docs/results.md; used by ship_zoo.py).

The same inputs and measures as ``tests/core/test_shipped_zoo.py``: a real photo (skimage's
coffee, 96 x 128) under light rising from 12 % to 100 % left to right with noise; its darkest
and brightest input deciles; and a flat grey patch (40/255) with Gaussian noise (sigma 6).
Figures are mean output luminance in code values (0-255) and the patch's std.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def dark_photo(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    from skimage import data

    base = cv2.resize(data.coffee(), (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    light = np.linspace(0.12, 1.0, w, dtype=np.float32)[None, :, None]
    noise = np.random.default_rng(seed).normal(0, 2.0, base.shape).astype(np.float32)
    return np.clip(np.rint(base * light + noise), 0, 255).astype(np.uint8)


def noisy_patch() -> np.ndarray:
    rng = np.random.default_rng(3)
    return np.clip(np.rint(40 + rng.normal(0, 6, (64, 64, 1)) * np.ones(3)), 0, 255).astype(
        np.uint8)


def _luma(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) @ LUMA


DEGREES = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)


def degree_response(engine: Any, name: str, low: np.ndarray) -> list[float]:
    """Mean luminance of area A (the test's ellipse, transition 0.08) through the full
    pipeline at each of ``DEGREES``."""
    from limelight.core.masks import Ellipse, MaskSpec, rasterize_area_a
    from limelight.core.pipeline import enhance_pixels
    from limelight.core.recompose import Knobs

    spot = MaskSpec(shapes=(Ellipse(0.45, 0.5, 0.28, 0.3),), transition=0.08)
    area_a = rasterize_area_a(spot, *low.shape[:2]) >= 1.0
    return [round(float(_luma(enhance_pixels(low, spot, Knobs(degree=d), engine,
                                             model=name))[area_a].mean()), 2)
            for d in DEGREES]


def knob_response(engine: Any, name: str) -> dict[str, Any]:
    """Degree and gamma1/2/3 responses through the light finish (``core.finish``: every
    family), and the fusion maps' summary for fusion models."""
    from limelight.core.finish import LightFinish
    from limelight.core.recompose import Knobs

    def rec(low: np.ndarray) -> tuple[LightFinish, dict[str, np.ndarray]]:
        img = low.astype(np.float32) / 255.0
        maps = engine.run(name, img, np.ones((2, *low.shape[:2]), np.float32))
        return LightFinish.of_maps(maps.family, maps.img, maps.maps), maps.maps

    low = dark_photo()
    y = _luma(low)
    dark, bright = y <= np.percentile(y, 10), y >= np.percentile(y, 90)
    r, maps = rec(low)
    out: dict[str, Any] = {"degree_mean": degree_response(engine, name, low)}
    out["gamma1_dark"] = [round(float(_luma(r(Knobs(gamma1=g)))[dark].mean() * 255), 3)
                          for g in (0.0, 1.0)]
    out["gamma2_bright"] = [round(float(_luma(r(Knobs(gamma2=g)))[bright].mean() * 255), 3)
                            for g in (0.0, 1.0)]
    rp, _ = rec(noisy_patch())
    out["gamma3_std"] = [round(float(_luma(rp(Knobs(gamma3=g)))[8:-8, 8:-8].std() * 255), 3)
                         for g in (0.0, 1.0)]
    if "weights" not in maps:
        return out
    out["weights_mean"] = [round(float(v), 3) for v in maps["weights"].mean(axis=(0, 1))]
    out["illumination_mean"] = round(float(maps["illumination"].mean()), 3)
    out["illumination_inv_mean"] = round(float(maps["illumination_inv"].mean()), 3)
    out["noise_std"] = round(float(maps["noise"].std() * 255), 2)
    if "refine" in maps:
        out["refine_mean"] = round(float(maps["refine"].mean() * 255), 1)
    return out


KNOB_KEYS = {"γ1": ("gamma1_dark", 1), "γ2": ("gamma2_bright", -1), "γ3": ("gamma3_std", -1)}


def knob_moves(k: dict[str, Any], knob: str) -> bool:
    """True when raising the knob from 0 to 1 moves its figure the right way (any amount, as
    the test asks; figures kept to 3 decimals)."""
    key, sign = KNOB_KEYS[knob]
    return sign * (k[key][1] - k[key][0]) > 0.0


def knob_table(doc: dict[str, Any]) -> str:
    """Markdown: the knob responses of the shipped models (and, for fusion models, their
    maps: the fusion weights, mean illuminations, noise map and refine residual)."""
    lines = ["| model | shadows 0→1: darkest decile | highlights 0→1: brightest decile | "
             "noise 0→1: patch noise std | w (I, I_U, I_O) | mean L / Li | N std | "
             "refine mean |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in doc["models"]:
        k = r.get("knobs") or {}
        if "gamma1_dark" not in k or not r.get("shipped"):
            continue
        g1, g2, g3 = k["gamma1_dark"], k["gamma2_bright"], k["gamma3_std"]
        fusion = "weights_mean" in k
        lines.append(
            f"| {r['name']} | {g1[0]:.2f} → {g1[1]:.2f} | {g2[0]:.2f} → {g2[1]:.2f} | "
            f"{g3[0]:.2f} → {g3[1]:.2f} | "
            + (f"{', '.join(f'{v:.2f}' for v in k['weights_mean'])} | "
               f"{k['illumination_mean']:.2f} / {k['illumination_inv_mean']:.2f} | "
               f"{k['noise_std']:.1f} | " if fusion else "– | – | – | ")
            + f"{k.get('refine_mean', '–')} |")
    return "\n".join(lines)


def knobs_section(doc: dict[str, Any]) -> str:
    """The knob responses (``ship_knobs``) and what they mean for the tests."""
    mono = [r["name"] for r in doc["models"] if r.get("knobs") and all(
        b > a for a, b in zip(r["knobs"]["degree_mean"], r["knobs"]["degree_mean"][1:], strict=False))]
    notes = []
    for r in doc["models"]:
        k = r.get("knobs") or {}
        if "gamma1_dark" not in k:
            continue
        inert = [g for g in ("γ1", "γ2", "γ3") if not knob_moves(k, g)]
        if inert:
            verb = "does" if len(inert) == 1 else "do"
            notes.append(f"* **{r['name']}**: {', '.join(inert)} {verb} not move the figure the "
                         "test checks.")
    return (
        "Measured by `scripts/ship_knobs.py` on the inputs of `tests/core/test_shipped_zoo.py` "
        "(a dark photo under light rising left to right; a noisy flat patch), mean luminance in "
        "code values. Brightness of area A (an ellipse, through the full pipeline) rises strictly "
        "with degree (0, 0.25, 0.5, 1, 1.5, 2) for "
        f"{len(mono)} of {sum(1 for r in doc['models'] if r.get('knobs'))} models evaluated"
        + "".join(f"; not for **{r['name']}** (A means {r['knobs']['degree_mean']})"
                  for r in doc["models"] if r.get("knobs") and r["name"] not in mono)
        + ".\n\n"
        + "Shadows, highlights and noise are the γ1, γ2, γ3 of recipes; since 2026-12-02 they "
        "act in the core's light finish on every model (docs/architecture.md), and the "
        "fusion models' own terms run at their model's setting.\n\n"
        + knob_table(doc) + "\n\n" + ("\n".join(notes) + "\n" if notes else
                                      "Every shipped model answers all three γ knobs.\n"))
