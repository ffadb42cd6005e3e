"""Random crops, flips and 90-degree rotations applied identically to aligned arrays."""

from __future__ import annotations

import numpy as np


def random_crop_box(
    rng: np.random.Generator, height: int, width: int, size: int
) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of a ``size`` square inside the image (smaller images: whole side)."""
    ch, cw = min(size, height), min(size, width)
    y0 = int(rng.integers(0, height - ch + 1))
    x0 = int(rng.integers(0, width - cw + 1))
    return y0, y0 + ch, x0, x0 + cw


def crop(arrays: list[np.ndarray], box: tuple[int, int, int, int]) -> list[np.ndarray]:
    """Crops HWC (or HW) arrays to ``box``; all must share H and W."""
    y0, y1, x0, x1 = box
    return [a[y0:y1, x0:x1] for a in arrays]


def flip_rotate(
    arrays: list[np.ndarray], rng: np.random.Generator
) -> list[np.ndarray]:
    """The same random horizontal flip, vertical flip and k x 90-degree rotation on each
    (H, W[, C]) array; returns contiguous copies."""
    hflip, vflip = rng.uniform() < 0.5, rng.uniform() < 0.5
    k = int(rng.integers(0, 4))
    out = []
    for a in arrays:
        if hflip:
            a = a[:, ::-1]
        if vflip:
            a = a[::-1]
        out.append(np.ascontiguousarray(np.rot90(a, k, axes=(0, 1))))
    return out
