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
  Models trained with ``noise_smoothing`` export N = alpha (box(rest) - rest), a weighted
  smoothing of the output without N (docs/architecture.md); the formula here is the same.
* ``residual`` (dln, gladnet): ``residual`` E (H,W,3). ``Y = I + degree * E``

Every family may also export ``refine`` (H,W,3), the residual of RANLEN's extra refinement
convolution: ``Y <- Y + min(degree, 1) * refine``. Finally ``Y`` is clipped to [0, 1].

``fusion`` below degree 1 (a deviation from eq. 10): ``Y(d) = (1 - d) I + d Y(1)``, the knobs
applied at degree 1. On eq. 10's exponent path I_O = 1 - (1 - I) / Li ** d falls to 0 in
dark areas as soon as d leaves 0 (Li is small there), so a Fusion-Net that weights I_O in
the dark (models trained with over-exposed pairs do) *dims* area A at low degree before it
brightens it. The blend is monotone in d wherever Y(1) >= I, returns the input at 0 and the
model's own output at 1; above 1 the exponent path continues from Y(1).

Knob semantics of the formulas here: ``degree`` in [0, 2]; 0 returns the input exactly, 1 is
the model's own output, larger is brighter; gamma1, gamma2 and gamma3 in [0, 1] act on
``fusion`` only, and 1 (``OWN``) is the model's own output. The app no longer shows these
formulas' knobs to the user: it recomposes at ``OWN`` and ``core.finish`` applies the user's
``Knobs`` (the same four names, gammas mid-range by default) to every family alike.
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
    family: ("degree", "gamma1", "gamma2", "gamma3") for family in FAMILIES
}
KNOB_RANGES: dict[str, tuple[float, float]] = {
    "degree": (0.0, 2.0),
    "gamma1": (0.0, 1.0),
    "gamma2": (0.0, 1.0),
    "gamma3": (0.0, 1.0),
}


@dataclass(frozen=True)
class Knobs:
    """The user's light settings. Validated on construction (ValueError names the knob).

    The defaults are what the editor and the command line start from: degree 1 and the
    gammas mid-range, so that each knob acts both ways (``core.finish``).
    """

    degree: float = 1.0
    gamma1: float = 0.5
    gamma2: float = 0.5
    gamma3: float = 0.5

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


#: The knobs at which a family's recomposition gives the model's own output (degree 1, the
#: fusion terms whole); ``core.finish`` reads that output as the gain map.
OWN = Knobs(1.0, 1.0, 1.0, 1.0)


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
        self._shape = noise.shape[:2]
        self._coeffs: list[np.ndarray] | None = None  # computed on the first gamma3 < 1
        self._radius: np.ndarray | None = None
        self._last: tuple[float, np.ndarray] | None = None

    def _transform(self) -> tuple[list[np.ndarray], np.ndarray]:
        if self._coeffs is None or self._radius is None:
            h, w = self._shape
            # cv2.dct needs even sizes: pad by edge replication, crop after the inverse.
            ph, pw = h + (h % 2), w + (w % 2)
            padded = cv2.copyMakeBorder(self.noise, 0, ph - h, 0, pw - w, cv2.BORDER_REPLICATE)
            if padded.ndim == 2:
                padded = padded[..., None]
            self._coeffs = [cv2.dct(np.ascontiguousarray(padded[..., c]))
                            for c in range(padded.shape[2])]
            fy = (np.arange(ph, dtype=np.float32) / ph)[:, None]
            fx = (np.arange(pw, dtype=np.float32) / pw)[None, :]
            self._radius = np.sqrt((fy * fy + fx * fx) / 2.0)
        return self._coeffs, self._radius

    def __call__(self, gamma3: float) -> np.ndarray:
        if gamma3 >= 1.0:
            return self.noise
        if gamma3 <= 0.0:
            return np.zeros_like(self.noise)
        if self._last is not None and self._last[0] == gamma3:
            return self._last[1]
        coeffs, radius = self._transform()
        keep = (radius >= (1.0 - gamma3)).astype(np.float32)
        h, w = self._shape
        out = np.stack([cv2.idct(c * keep)[:h, :w] for c in coeffs], axis=-1)
        out = out.reshape(self.noise.shape).astype(np.float32, copy=False)
        self._last = (gamma3, out)
        return out


def _flat(x: np.ndarray) -> np.ndarray:
    """(H, W, C) -> a contiguous single-channel (H, W*C) view for OpenCV arithmetic.

    Depending on the version, OpenCV applies a Python scalar to the first channel only of a
    multi-channel array. (``type: ignore[call-overload]`` below: cv2's stubs omit scalars.)
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    return x.reshape(x.shape[0], -1)


def _expand(x: np.ndarray) -> np.ndarray:
    """(H, W, 1|3) -> (H, W*3); a single channel is repeated for R, G and B."""
    x = x if x.ndim == 3 else x[..., None]
    return _flat(cv2.merge([x[..., 0]] * 3) if x.shape[2] == 1 else x)


class Recomposer:
    """Applies knobs to one image's maps; knob-independent work is done once.

    Everything that does not depend on the knobs (logarithms of the illuminations repeated
    per channel, ``w1 * I``, ``w2 * (1 - I)``, ``w0 * I``, the per-iteration curve planes, the
    noise DCT) is computed at construction; a call makes a few OpenCV passes over flat
    single-channel views (several times faster than NumPy broadcasting here). ``python -m
    bench`` measures it per family at 1 MP.

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
        self.img = np.ascontiguousarray(img, dtype=np.float32)
        self.maps = dict(maps)
        self._img = _flat(self.img)
        self._c: dict[str, np.ndarray] = {}  # knob-independent terms, flat (H, W*3)
        c = self._c
        if family in ("retinex", "fusion"):
            c["log_l"] = _expand(np.log(np.maximum(maps["illumination"], FLOOR)))
        if family == "curve":
            curve = maps["curve"]
            self._planes = [_flat(curve[..., 3 * i : 3 * i + 3])
                            for i in range(curve.shape[2] // 3)]
        if family == "residual":
            c["residual"] = _flat(maps["residual"])
        if family == "fusion":
            c["log_li"] = _expand(
                np.log(np.maximum(maps["illumination_inv"], FLOOR)))
            w = maps["weights"]
            w0, w1, w2 = (_expand(w[..., k : k + 1]) for k in range(3))
            c["w0_img"] = cv2.multiply(w0, self._img)
            c["w1"], c["w1_img"] = w1, cv2.multiply(w1, self._img)
            c["w2"], c["w2_inv"] = w2, cv2.multiply(w2, cv2.subtract(1.0, self._img))  # type: ignore[call-overload]
            self._noise = _NoiseFilter(maps["noise"])
        if "refine" in maps:
            c["refine"] = _flat(maps["refine"])

    def __call__(self, knobs: Knobs) -> np.ndarray:
        """Returns the enhanced image, (H, W, 3) float32 in [0, 1] (a new array)."""
        d = knobs.degree
        if d == 0.0:
            return self.img.copy()
        if self.family == "fusion" and d < 1.0:  # (1 - d) I + d Y(1): see the module doc
            return cv2.addWeighted(self(replace(knobs, degree=1.0)), d, self.img, 1.0 - d, 0.0)
        out = np.empty_like(self._img)
        tmp = np.empty_like(self._img)
        c = self._c
        if self.family == "retinex":  # I / L^d
            cv2.exp(cv2.multiply(c["log_l"], -d, dst=tmp), dst=tmp)  # type: ignore[call-overload]
            cv2.multiply(self._img, tmp, dst=out)
        elif self.family == "curve":
            np.copyto(out, self._img)
            for a in self._planes:  # x <- clip(x + d * a * x * (1 - x), 0, 1)
                cv2.subtract(1.0, out, dst=tmp)  # type: ignore[call-overload]
                cv2.multiply(tmp, out, dst=tmp)
                cv2.multiply(tmp, a, dst=tmp)
                cv2.scaleAdd(tmp, d, out, dst=out)
                _clip01(out)
        elif self.family == "fusion":
            self._fusion(knobs, out, tmp)
        else:  # residual: I + d E
            cv2.scaleAdd(c["residual"], d, self._img, dst=out)
        if "refine" in c:
            cv2.scaleAdd(c["refine"], min(d, 1.0), out, dst=out)
        _clip01(out)
        return out.reshape(self.img.shape)

    def _fusion(self, knobs: Knobs, out: np.ndarray, tmp: np.ndarray) -> None:
        """out = w0 I + w1 I_U + w2 I_O + min(d, 1) Phi(N, gamma3) (module docstring), with
        w1 clip(I e1, 0, 1) = min(w1 I e1, w1) and w2 clip(1 - (1-I) e2, 0, 1) =
        max(w2 - w2 (1-I) e2, 0), as the weights and exponentials are non-negative."""
        c, d = self._c, knobs.degree
        cv2.exp(cv2.multiply(c["log_l"], -knobs.gamma1 * d, dst=tmp), dst=tmp)  # type: ignore[call-overload]
        cv2.multiply(c["w1_img"], tmp, dst=tmp)
        cv2.min(tmp, c["w1"], dst=tmp)
        cv2.add(c["w0_img"], tmp, dst=out)
        cv2.exp(cv2.multiply(c["log_li"], -knobs.gamma2 * d, dst=tmp), dst=tmp)  # type: ignore[call-overload]
        cv2.multiply(c["w2_inv"], tmp, dst=tmp)
        cv2.subtract(c["w2"], tmp, dst=tmp)
        cv2.max(tmp, 0.0, dst=tmp)  # type: ignore[call-overload]
        cv2.add(out, tmp, dst=out)
        if knobs.gamma3 > 0.0:
            cv2.scaleAdd(_flat(self._noise(knobs.gamma3)), min(d, 1.0), out, dst=out)


def _clip01(x: np.ndarray) -> None:
    cv2.min(x, 1.0, dst=x)  # type: ignore[call-overload]
    cv2.max(x, 0.0, dst=x)  # type: ignore[call-overload]


def recompose(
    family: str, img: np.ndarray, maps: Mapping[str, np.ndarray], knobs: Knobs
) -> np.ndarray:
    """One-shot ``Recomposer(family, img, maps)(knobs)``; shapes as there."""
    return Recomposer(family, img, maps)(knobs)
