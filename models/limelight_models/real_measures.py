"""No-reference measures of light on real photos, and the classical baselines they are
compared with (the real-photo light issue, #16).

Every measure takes the input and the output as (H, W, 3) uint8 RGB and, for a local edit,
``region``: an (H, W) bool of the pixels the edit may touch (mask channel 1 > 0); None is the
whole photo. Luminance is Rec.601 ``Y = 0.299 R + 0.587 G + 0.114 B`` in 8-bit code values.

* ``clip``: % of the pixels with input Y < 235 that come out at Y >= 250.
* ``fog``: mean (out - in) Y over the darkest 1 % of the input's pixels (black-point lift).
* ``lift``: mean Y of the input's darkest half, output over input.
* ``hue``: input-chroma-weighted mean |hue shift| in degrees (CIELAB), input chroma > 8.
* ``sat``: mean HSV saturation over pixels with input Y in [16, 235], output over input.
* ``grain``: robust std of the RGB high-pass (image minus its Gaussian blur, sigma 1.5 px per
  400 px of short side) on the output's mid-tones (output Y in [30, 220]), output over input
  (input floored at 0.5), divided by the output-over-input ratio of the mean RGB there. A plain
  gain scores 1; a denoised result less.

A photo is *kept* (``kept``) when clip <= 1 %, fog <= 12, hue <= 8, sat >= 0.7, grain <= 1 and
lift >= 1.5 (>= 1.0 when the input's darkest half already averages 40 or more).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

#: The kept rule's thresholds.
CLIP_MAX = 1.0
FOG_MAX = 12.0
HUE_MAX = 8.0
SAT_MIN = 0.7
GRAIN_MAX = 1.0
LIFT_MIN = 1.5
LIFT_MIN_BRIGHT = 1.0
#: The darkest half's mean from which a photo needs only LIFT_MIN_BRIGHT.
BRIGHT_HALF = 40.0


def luma(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8/float RGB -> (H, W) float32 Rec.601 luminance, same scale."""
    x = rgb.astype(np.float32)
    return 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]


def _sel(x: np.ndarray, region: np.ndarray | None) -> np.ndarray:
    return x.reshape(-1, *x.shape[2:]) if region is None else x[region]


def _darkest(y_in: np.ndarray, fraction: float) -> np.ndarray:
    """Indices of the ``fraction`` darkest values of the flat ``y_in`` (at least one)."""
    k = max(1, int(round(fraction * y_in.size)))
    return np.argpartition(y_in, k - 1)[:k]


def clip_pct(inp: np.ndarray, out: np.ndarray, region: np.ndarray | None = None) -> float:
    """% of the pixels with input Y < 235 that come out at Y >= 250."""
    y_in, y_out = _sel(luma(inp), region), _sel(luma(out), region)
    ok = y_in < 235.0
    return float(100.0 * np.mean(y_out[ok] >= 250.0)) if ok.any() else 0.0


def fog(inp: np.ndarray, out: np.ndarray, region: np.ndarray | None = None) -> float:
    """Mean (out - in) Y over the darkest 1 % of the input's pixels, code values."""
    y_in, y_out = _sel(luma(inp), region), _sel(luma(out), region)
    idx = _darkest(y_in, 0.01)
    return float(np.mean(y_out[idx] - y_in[idx]))


def dark_half_mean(inp: np.ndarray, region: np.ndarray | None = None) -> float:
    """Mean Y of the input's darkest half."""
    y_in = _sel(luma(inp), region)
    return float(np.mean(y_in[_darkest(y_in, 0.5)]))


def lift(inp: np.ndarray, out: np.ndarray, region: np.ndarray | None = None) -> float:
    """Mean Y of the input's darkest half, output over input."""
    y_in, y_out = _sel(luma(inp), region), _sel(luma(out), region)
    idx = _darkest(y_in, 0.5)
    return float(np.mean(y_out[idx]) / max(float(np.mean(y_in[idx])), 1e-3))


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def hue_shift(inp: np.ndarray, out: np.ndarray, region: np.ndarray | None = None) -> float:
    """Input-chroma-weighted mean |hue shift| (degrees, CIELAB) over input chroma > 8."""
    lab_in, lab_out = _sel(_lab(inp), region), _sel(_lab(out), region)
    chroma = np.hypot(lab_in[:, 1], lab_in[:, 2])
    ok = chroma > 8.0
    if not ok.any():
        return 0.0
    h_in = np.arctan2(lab_in[ok, 2], lab_in[ok, 1])
    h_out = np.arctan2(lab_out[ok, 2], lab_out[ok, 1])
    d = np.abs(np.angle(np.exp(1j * (h_out - h_in))))
    return float(np.degrees(np.sum(d * chroma[ok]) / np.sum(chroma[ok])))


def _saturation(rgb: np.ndarray) -> np.ndarray:
    x = rgb.astype(np.float32)
    mx, mn = x.max(axis=-1), x.min(axis=-1)
    return np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-6), 0.0)


def sat_ratio(inp: np.ndarray, out: np.ndarray, region: np.ndarray | None = None) -> float:
    """Mean HSV saturation over input Y in [16, 235], output over input."""
    y_in = _sel(luma(inp), region)
    ok = (y_in >= 16.0) & (y_in <= 235.0)
    if not ok.any():
        return 1.0
    s_in = _sel(_saturation(inp), region)[ok]
    s_out = _sel(_saturation(out), region)[ok]
    return float(np.mean(s_out) / max(float(np.mean(s_in)), 1e-6))


def _highpass(rgb: np.ndarray) -> np.ndarray:
    x = rgb.astype(np.float32)
    sigma = 1.5 * min(x.shape[:2]) / 400.0
    return x - cv2.GaussianBlur(x, (0, 0), sigma)


def grain(inp: np.ndarray, out: np.ndarray, region: np.ndarray | None = None) -> float:
    """Noise lifted over light lifted on the output's mid-tones (1 = a plain gain)."""
    mid = (luma(out) >= 30.0) & (luma(out) <= 220.0)
    if region is not None:
        mid &= region
    if not mid.any():
        return 0.0
    hp_in, hp_out = _highpass(inp)[mid], _highpass(out)[mid]
    std_in = max(1.4826 * float(np.median(np.abs(hp_in))), 0.5)
    std_out = 1.4826 * float(np.median(np.abs(hp_out)))
    light = float(np.mean(out[mid].astype(np.float32))) / max(
        float(np.mean(inp[mid].astype(np.float32))), 1e-3)
    return (std_out / std_in) / max(light, 1e-6)


@dataclass(frozen=True)
class Measures:
    """The six measures of one output (module docstring) and whether it is kept."""

    clip: float
    fog: float
    lift: float
    hue: float
    sat: float
    grain: float
    dark_half: float

    @property
    def lift_min(self) -> float:
        """The lift this photo needs (1.5, or 1.0 when its darkest half is already bright)."""
        return LIFT_MIN_BRIGHT if self.dark_half >= BRIGHT_HALF else LIFT_MIN

    def failures(self) -> tuple[str, ...]:
        """Names of the measures that miss the kept rule."""
        rules = {"clip": self.clip <= CLIP_MAX, "fog": self.fog <= FOG_MAX,
                 "hue": self.hue <= HUE_MAX, "sat": self.sat >= SAT_MIN,
                 "grain": self.grain <= GRAIN_MAX, "lift": self.lift >= self.lift_min}
        return tuple(k for k, ok in rules.items() if not ok)

    @property
    def kept(self) -> bool:
        return not self.failures()

    def as_dict(self) -> dict[str, float | bool | list[str]]:
        d: dict[str, float | bool | list[str]] = {
            k: round(v, 4) for k, v in asdict(self).items()}
        d["kept"] = self.kept
        d["fails"] = list(self.failures())
        return d


def measure(inp: np.ndarray, out: np.ndarray, region: np.ndarray | None = None) -> Measures:
    """All six measures of ``out`` against ``inp``, (H, W, 3) uint8; ``region`` (H, W) bool."""
    if inp.shape != out.shape or inp.ndim != 3 or inp.shape[2] != 3:
        raise ValueError(f"input {inp.shape} and output {out.shape} must be the same (H, W, 3)")
    if region is not None and not region.any():
        raise ValueError("the edit region is empty")
    return Measures(clip=clip_pct(inp, out, region), fog=fog(inp, out, region),
                    lift=lift(inp, out, region), hue=hue_shift(inp, out, region),
                    sat=sat_ratio(inp, out, region), grain=grain(inp, out, region),
                    dark_half=dark_half_mean(inp, region))


# ---- classical baselines (the definitions) ----

def baseline_b(rgb: np.ndarray) -> np.ndarray:
    """Baseline B: NL-means denoise (3, 6, 5, 15), a luminance gamma g = clip(log 0.35 /
    log median(Y), 0.25, 1) carried to RGB by the ratio Y^g / Y, then a shoulder on the max
    channel above 0.8. (H, W, 3) uint8 in and out."""
    den = cv2.fastNlMeansDenoisingColored(
        np.ascontiguousarray(rgb[..., ::-1]), None, 3, 6, 5, 15)[..., ::-1]
    x = den.astype(np.float32) / 255.0
    y = np.clip(luma(x), 1e-4, 1.0)
    med = float(np.clip(np.median(y), 1e-4, 0.999))
    g = float(np.clip(np.log(0.35) / np.log(med), 0.25, 1.0))
    x = x * (y ** g / y)[..., None]
    m = x.max(axis=-1, keepdims=True)
    shoulder = np.where(m > 0.8, 0.8 + 0.2 * np.tanh((m - 0.8) / 0.2), m)
    x = x * shoulder / np.maximum(m, 1e-6)
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def clahe_l(rgb: np.ndarray) -> np.ndarray:
    """CLAHE on CIELAB L* (clip limit 2, 8x8 tiles). (H, W, 3) uint8 in and out."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(lab[..., 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def gamma_045(rgb: np.ndarray) -> np.ndarray:
    """A gamma 0.45 curve on every channel. (H, W, 3) uint8 in and out."""
    lut = np.clip(np.rint(255.0 * (np.arange(256) / 255.0) ** 0.45), 0, 255).astype(np.uint8)
    return cv2.LUT(rgb, lut)


BASELINES = {"baseline_b": baseline_b, "clahe_l": clahe_l, "gamma_045": gamma_045}
