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


def knob_response(engine: Any, name: str) -> dict[str, Any]:
    """Degree, gamma1/2/3 responses and the fusion maps' summary of one model."""
    from limelight.core.recompose import Knobs, Recomposer

    def rec(low: np.ndarray) -> tuple[Recomposer, dict[str, np.ndarray]]:
        img = low.astype(np.float32) / 255.0
        maps = engine.run(name, img, np.ones((2, *low.shape[:2]), np.float32))
        return Recomposer(maps.family, maps.img, maps.maps), maps.maps

    low = dark_photo()
    y = _luma(low)
    dark, bright = y <= np.percentile(y, 10), y >= np.percentile(y, 90)
    r, maps = rec(low)
    out: dict[str, Any] = {
        "degree_mean": [round(float(_luma(r(Knobs(degree=d))).mean() * 255), 2)
                        for d in (0.0, 0.5, 1.0, 1.5, 2.0)],
    }
    if "weights" not in maps:
        return out
    out["gamma1_dark"] = [round(float(_luma(r(Knobs(gamma1=g)))[dark].mean() * 255), 2)
                          for g in (0.0, 1.0)]
    out["gamma2_bright"] = [round(float(_luma(r(Knobs(gamma2=g)))[bright].mean() * 255), 2)
                            for g in (0.0, 1.0)]
    rp, _ = rec(noisy_patch())
    out["gamma3_std"] = [round(float(_luma(rp(Knobs(gamma3=g)))[8:-8, 8:-8].std() * 255), 3)
                         for g in (0.0, 1.0)]
    out["weights_mean"] = [round(float(v), 3) for v in maps["weights"].mean(axis=(0, 1))]
    out["illumination_mean"] = round(float(maps["illumination"].mean()), 3)
    out["illumination_inv_mean"] = round(float(maps["illumination_inv"].mean()), 3)
    out["noise_std"] = round(float(maps["noise"].std() * 255), 2)
    if "refine" in maps:
        out["refine_mean"] = round(float(maps["refine"].mean() * 255), 1)
    return out


def knob_table(doc: dict[str, Any]) -> str:
    """Markdown: the knob responses of the shipped fusion models."""
    lines = ["| model | w (I, I_U, I_O) | mean L / Li | γ1 0→1: darkest decile | "
             "γ2 0→1: brightest decile | γ3 0→1: patch noise std | N std | refine mean |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in doc["models"]:
        k = r.get("knobs") or {}
        if "gamma1_dark" not in k:
            continue
        g1, g2, g3 = k["gamma1_dark"], k["gamma2_bright"], k["gamma3_std"]
        lines.append(
            f"| {r['name']} | {', '.join(f'{v:.2f}' for v in k['weights_mean'])} | "
            f"{k['illumination_mean']:.2f} / {k['illumination_inv_mean']:.2f} | "
            f"{g1[0]:.1f} → {g1[1]:.1f} | {g2[0]:.1f} → {g2[1]:.1f} | "
            f"{g3[0]:.2f} → {g3[1]:.2f} | {k['noise_std']:.1f} | "
            f"{k.get('refine_mean', '–')} |")
    return "\n".join(lines)
