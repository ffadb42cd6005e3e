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


#: Colours of the lights in the all-lights overlay (Shift+O), in list order, repeating.
LIGHT_COLORS = ((255, 170, 40), (60, 200, 255), (240, 80, 200), (120, 230, 80),
                (255, 240, 90), (150, 120, 255))


def paint_lights_overlay(rgba: np.ndarray, weights: list[np.ndarray]) -> None:
    """Colours ``rgba`` ((H, W, 4) uint8) in place with every light's weight ((H, W) float32
    [0, 1] each, list order) in its own colour (``LIGHT_COLORS``): where lights overlap the
    later one's colour shows over the earlier one's, as the lights apply."""
    h, w = rgba.shape[:2]
    rgb = np.zeros((h, w, 3), np.float32)
    alpha = np.zeros((h, w), np.float32)
    for k, weight in enumerate(weights):
        if weight.shape != (h, w):
            continue
        color = np.array(LIGHT_COLORS[k % len(LIGHT_COLORS)], np.float32)
        rgb += weight[..., None] * (color - rgb)
        alpha = np.maximum(alpha, weight)
    rgba[..., :3] = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    rgba[..., 3] = np.clip(alpha * 130.0 + 0.5, 0, 255).astype(np.uint8)
