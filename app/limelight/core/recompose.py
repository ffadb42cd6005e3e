"""Knobs and the recomposition of a model's exported maps into an enhanced image.

This is the single definition of what the knobs mean (design.md, "ONNX model contract").
A model runs once per image and mask and exports per-pixel *maps*; turning a knob only
re-runs the cheap formulas below. ``limelight_models`` mirrors these formulas in torch and
its tests check that both agree at the default knobs (the model's own output).

Families and their maps (all HWC float32 at the working resolution):

* ``retinex`` (deepupe): ``illumination`` L (H,W,1|3) in (0, 1].
  ``Y = I / max(L, FLOOR) ** degree``
* ``curve`` (star_dce): ``curve`` a (H,W,3n) in [-1, 1], n iterations of Zero-DCE's
  ``x <- clip(x + degree * a_i * x * (1 - x), 0, 1)``.
* ``fusion`` (fusion_net, eq. 10 of the non-uniform-illumination paper): ``illumination`` L
  and ``illumination_inv`` Li (H,W,1), fusion ``weights`` (H,W,3) for (I, I_U, I_O) summing to
  1, negative ``noise`` map N (H,W,3)::

      I_U = clip(I / max(L, FLOOR) ** (gamma1 * degree), 0, 1)
      I_O = clip(1 - (1 - I) / max(Li, FLOOR) ** (gamma2 * degree), 0, 1)
      Y   = w0 * I + w1 * I_U + w2 * I_O + min(degree, 1) * Phi(N, gamma3)

  ``Phi`` keeps the DCT coefficients of N whose normalised frequency radius is at least
  ``1 - gamma3`` (gamma3 = 1 keeps N whole: the model's own output; 0 removes no noise).
* ``residual`` (dln, gladnet): ``residual`` E (H,W,3). ``Y = I + degree * E``

Every family may also export ``refine`` (H,W,3), the residual of RANLEN's extra refinement
convolution: ``Y <- Y + min(degree, 1) * refine``. Finally ``Y`` is clipped to [0, 1].

Knob semantics: ``degree`` in [0, 2]; 0 returns the input exactly, 1 is the model's own
output, larger is brighter. gamma1 (lift shadows), gamma2 (tame highlights) and gamma3
(denoise) are in [0, 1], default 1 (the model's own output), and act on ``fusion`` only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

import cv2
import numpy as np

#: Lowest illumination a division may use: caps the gain of I / L at 50x.
FLOOR = 0.02

FAMILIES: dict[str, tuple[str, ...]] = {
    "retinex": ("illumination",),
    "curve": ("curve",),
    "fusion": ("illumination", "illumination_inv", "weights", "noise"),
    "residual": ("residual",),
}
#: Which knobs each family responds to (the GUI enables sliders from this).
FAMILY_KNOBS: dict[str, tuple[str, ...]] = {
    "retinex": ("degree",),
    "curve": ("degree",),
    "fusion": ("degree", "gamma1", "gamma2", "gamma3"),
    "residual": ("degree",),
}
KNOB_RANGES: dict[str, tuple[float, float]] = {
    "degree": (0.0, 2.0),
    "gamma1": (0.0, 1.0),
    "gamma2": (0.0, 1.0),
    "gamma3": (0.0, 1.0),
}


@dataclass(frozen=True)
class Knobs:
    """The user's light settings. Validated on construction (ValueError names the knob)."""

    degree: float = 1.0
    gamma1: float = 1.0
    gamma2: float = 1.0
    gamma3: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            lo, hi = KNOB_RANGES[f.name]
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(f"{f.name} must be a number, got {value!r}")
            if not math.isfinite(value) or not lo <= value <= hi:
                raise ValueError(f"{f.name} must be in [{lo}, {hi}], got {value!r}")
            object.__setattr__(self, f.name, float(value))

    def with_(self, **changes: float) -> Knobs:
        """A copy with some knobs changed."""
        return replace(self, **changes)


def dct_highpass(noise: np.ndarray, gamma3: float) -> np.ndarray:
    """Phi of eq. 10: keep DCT coefficients of ``noise`` at normalised radius >= 1 - gamma3.

    Args:
        noise: (H, W, C) float32.
        gamma3: in [0, 1]; 1 returns ``noise`` unchanged, 0 returns zeros.
    Returns:
        (H, W, C) float32.
    """
    return _NoiseFilter(noise)(gamma3)


class _NoiseFilter:
    """Caches the forward DCT of a noise map so that each gamma3 costs only the inverse."""

    def __init__(self, noise: np.ndarray) -> None:
        self.noise = noise
        h, w = noise.shape[:2]
        self._shape = (h, w)
        # cv2.dct needs even sizes: pad by edge replication, crop after the inverse.
        ph, pw = h + (h % 2), w + (w % 2)
        padded = cv2.copyMakeBorder(noise, 0, ph - h, 0, pw - w, cv2.BORDER_REPLICATE)
        if padded.ndim == 2:
            padded = padded[..., None]
        self._coeffs: list[np.ndarray] | None = None
        self._padded = padded
        fy = (np.arange(ph, dtype=np.float32) / ph)[:, None]
        fx = (np.arange(pw, dtype=np.float32) / pw)[None, :]
        self._radius = np.sqrt((fy * fy + fx * fx) / 2.0)
        self._last: tuple[float, np.ndarray] | None = None

    def __call__(self, gamma3: float) -> np.ndarray:
        if gamma3 >= 1.0:
            return self.noise
        if gamma3 <= 0.0:
            return np.zeros_like(self.noise)
        if self._last is not None and self._last[0] == gamma3:
            return self._last[1]
        if self._coeffs is None:
            self._coeffs = [
                cv2.dct(np.ascontiguousarray(self._padded[..., c]))
                for c in range(self._padded.shape[2])
            ]
        keep = (self._radius >= (1.0 - gamma3)).astype(np.float32)
        h, w = self._shape
        out = np.stack([cv2.idct(c * keep)[:h, :w] for c in self._coeffs], axis=-1)
        out = out.reshape(self.noise.shape).astype(np.float32, copy=False)
        self._last = (gamma3, out)
        return out


class Recomposer:
    """Applies knobs to one image's maps; knob-independent work is done once.

    Args:
        family: one of ``FAMILIES``.
        img: (H, W, 3) float32 in [0, 1], the image the maps were computed from.
        maps: name -> (H, W, C) float32, as exported (see the module docstring).
    Raises:
        ValueError: unknown family, or a required map missing or of the wrong size.
    """

    def __init__(self, family: str, img: np.ndarray, maps: Mapping[str, np.ndarray]) -> None:
        if family not in FAMILIES:
            raise ValueError(f"unknown model family {family!r}; known: {sorted(FAMILIES)}")
        for name in FAMILIES[family]:
            if name not in maps:
                raise ValueError(f"family {family!r} needs the map {name!r}")
        for name, m in maps.items():
            if m.shape[:2] != img.shape[:2]:
                raise ValueError(
                    f"map {name!r} is {m.shape[:2]}, the image is {img.shape[:2]}"
                )
        self.family = family
        self.img = img.astype(np.float32, copy=False)
        self.maps = dict(maps)
        self._log_l = self._log_li = None
        if family in ("retinex", "fusion"):
            self._log_l = np.log(np.maximum(self.maps["illumination"], FLOOR))
        if family == "fusion":
            self._log_li = np.log(np.maximum(self.maps["illumination_inv"], FLOOR))
            self._noise = _NoiseFilter(self.maps["noise"])

    def __call__(self, knobs: Knobs) -> np.ndarray:
        """Returns the enhanced image, (H, W, 3) float32 in [0, 1]."""
        img, d = self.img, knobs.degree
        if d == 0.0:
            return img.copy()
        if self.family == "retinex":
            out = img * np.exp(-d * self._log_l)
        elif self.family == "curve":
            curve = self.maps["curve"]
            out = img.copy()
            for i in range(curve.shape[2] // 3):
                a = curve[..., 3 * i : 3 * i + 3]
                out = np.clip(out + d * a * out * (1.0 - out), 0.0, 1.0)
        elif self.family == "fusion":
            w = self.maps["weights"]
            under = np.clip(img * np.exp(-knobs.gamma1 * d * self._log_l), 0.0, 1.0)
            over = np.clip(
                1.0 - (1.0 - img) * np.exp(-knobs.gamma2 * d * self._log_li), 0.0, 1.0
            )
            out = w[..., 0:1] * img + w[..., 1:2] * under + w[..., 2:3] * over
            out = out + min(d, 1.0) * self._noise(knobs.gamma3)
        else:  # residual
            out = img + d * self.maps["residual"]
        if "refine" in self.maps:
            out = out + min(d, 1.0) * self.maps["refine"]
        return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)


def recompose(
    family: str, img: np.ndarray, maps: Mapping[str, np.ndarray], knobs: Knobs
) -> np.ndarray:
    """One-shot ``Recomposer(family, img, maps)(knobs)``; shapes as there."""
    return Recomposer(family, img, maps)(knobs)
