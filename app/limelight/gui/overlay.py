"""The mask overlay: area A and the transition band B as two translucent colours."""

from __future__ import annotations

import numpy as np

#: Overlay colours (RGBA): area A green, area B blue (both stand out on warm night tones).
COLOR_A = (40, 230, 120, 120)
COLOR_B = (70, 110, 255, 110)


def paint_overlay(rgba: np.ndarray, area_a: np.ndarray, weight: np.ndarray | None,
                  bbox: tuple[int, int, int, int]) -> None:
    """Colours ``rgba`` ((H, W, 4) uint8) in place inside ``bbox`` (y0, y1, x0, x1).

    Args:
        area_a: (y1-y0, x1-x0) float32 [0, 1], A inside the bbox.
        weight: the same region of mask channel 1 (A ∪ B), or None when not known yet.
    """
    y0, y1, x0, x1 = bbox
    a = area_a
    b = np.zeros_like(a) if weight is None else np.clip(weight - a, 0.0, 1.0)
    ca, cb = np.array(COLOR_A, np.float32), np.array(COLOR_B, np.float32)
    alpha = a * (ca[3] / 255.0) + b * (cb[3] / 255.0)
    share_a = np.divide(a * ca[3], a * ca[3] + b * cb[3] + 1e-6)[..., None]
    region = rgba[y0:y1, x0:x1]
    region[..., :3] = (share_a * ca[:3] + (1.0 - share_a) * cb[:3]).astype(np.uint8)
    region[..., 3] = np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)
