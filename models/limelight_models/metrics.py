"""Evaluation metrics of the protocol in design.md (numpy; uint8 RGB, data range 255).

* ``psnr``, ``ssim``: whole image. SSIM is skimage's ``structural_similarity`` with gaussian
  weights (11x11, sigma 1.5), ``use_sample_covariance=False``, ``data_range=255``, averaged
  over the three channels: the standard (Wang et al. 2004) definition.
* ``area_psnr``, ``area_ssim``: area A only. The squared error and the SSIM map are averaged
  with the area weight w_A = mask channel 0 (the paper's masked PSNR normalised by coverage).
* ``delta_e``: mean CIEDE2000 colour difference (skimage, sRGB D65 -> CIELAB) over the whole
  image: the colour error PSNR mixes into one number with brightness and noise. About 2.3 is
  a just-noticeable difference.
* ``exposure_fit_psnr``: PSNR after the output is scaled by the one gain that fits the
  reference best (least squares, clipped to [0, 255]): a diagnostic, not a score. Its gap to
  ``psnr`` is the part of the error that is the photo's overall exposure (LOL's references
  differ in brightness from photo to photo) rather than local light, colour or noise;
  ``exposure_gain`` is that gain (above 1: the output is darker than the reference).
* ``area_c_max``: max |out - in| (code values) over area C (mask channel 1 == 0). Must be 0.
* ``b_roughness``: transition roughness inside B. With Y the Rec. 601 luminance in [0, 1]
  and r = log((Y_out + 1/255) / (Y_in + 1/255)) the log-gain the enhancement applied, the
  roughness is the mean of |LoG(r)| over B = {channel 1 > 0 and channel 0 < 0.5}, where LoG
  is the 4-neighbour Laplacian of r after a gaussian blur of sigma ROUGHNESS_SIGMA px. The
  blur keeps sensor noise that the model removed from counting as roughness while a seam or a
  ring in the gain still shows. Lower is smoother; a perfectly linear ramp of the gain is 0.
  No published metric exists for B (RANLEN §4.3): this is ours, defined once here.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import structural_similarity

ROUGHNESS_SIGMA = 2.0
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _check(out: np.ndarray, ref: np.ndarray) -> None:
    if out.shape != ref.shape or out.ndim != 3 or out.shape[2] != 3:
        raise ValueError(f"expected two (H, W, 3) images of one size, got {out.shape} and {ref.shape}")
    if out.dtype != np.uint8 or ref.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {out.dtype} and {ref.dtype}")


def _psnr_of(mse: float) -> float:
    """PSNR in dB of a mean squared error in code values (data range 255); inf for 0."""
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


def psnr(out: np.ndarray, ref: np.ndarray) -> float:
    """PSNR in dB of two (H, W, 3) uint8 images (data range 255); inf when equal."""
    _check(out, ref)
    return _psnr_of(float(np.mean((out.astype(np.float64) - ref.astype(np.float64)) ** 2)))


def ssim_map(out: np.ndarray, ref: np.ndarray) -> tuple[float, np.ndarray]:
    """(mean SSIM, (H, W) SSIM map averaged over channels) of two uint8 RGB images."""
    _check(out, ref)
    mean, full = structural_similarity(
        out, ref, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        channel_axis=-1, data_range=255, full=True,
    )
    return float(mean), full.mean(axis=2)


def ssim(out: np.ndarray, ref: np.ndarray) -> float:
    """Mean SSIM (skimage, gaussian 11x11, sigma 1.5) of two uint8 RGB images."""
    return ssim_map(out, ref)[0]


def delta_e(out: np.ndarray, ref: np.ndarray) -> float:
    """Mean CIEDE2000 difference of two (H, W, 3) uint8 sRGB images; 0 when equal."""
    _check(out, ref)
    return float(np.mean(deltaE_ciede2000(rgb2lab(out), rgb2lab(ref))))


def exposure_gain(out: np.ndarray, ref: np.ndarray) -> float:
    """The least-squares gain g minimising |g out - ref|^2 over two (H, W, 3) uint8 images
    (1.0 for an all-black ``out``); above 1 the output is too dark for the reference."""
    _check(out, ref)
    o, r = out.astype(np.float64), ref.astype(np.float64)
    energy = float(np.sum(o * o))
    return float(np.sum(o * r)) / energy if energy > 0 else 1.0


def exposure_fit_psnr(out: np.ndarray, ref: np.ndarray, gain: float | None = None) -> float:
    """PSNR in dB of ``out`` scaled by its least-squares gain onto ``ref`` (both (H, W, 3)
    uint8), clipped to [0, 255]; equal to ``psnr`` when the best gain is 1. ``gain``: that
    gain if the caller has it already (``exposure_gain``)."""
    if gain is None:
        gain = exposure_gain(out, ref)
    else:
        _check(out, ref)
    scaled = np.clip(out.astype(np.float64) * gain, 0.0, 255.0)
    return _psnr_of(float(np.mean((scaled - ref.astype(np.float64)) ** 2)))


def area_psnr(out: np.ndarray, ref: np.ndarray, weight: np.ndarray) -> float:
    """PSNR over the pixels weighted by ``weight`` (H, W) in [0, 1]; nan if it is empty."""
    _check(out, ref)
    total = float(weight.sum())
    if total <= 0:
        return float("nan")
    se = ((out.astype(np.float64) - ref.astype(np.float64)) ** 2).mean(axis=2)
    mse = float((se * weight).sum() / total)
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def area_ssim(out: np.ndarray, ref: np.ndarray, weight: np.ndarray) -> float:
    """The SSIM map averaged with ``weight``; nan if the area is empty."""
    total = float(weight.sum())
    if total <= 0:
        return float("nan")
    return float((ssim_map(out, ref)[1] * weight).sum() / total)


def area_c_max(out: np.ndarray, inp: np.ndarray, mask: np.ndarray) -> int:
    """Max |out - in| in code values over area C (mask channel 1 == 0); 0 if C is empty."""
    _check(out, inp)
    c = mask[1] == 0
    if not c.any():
        return 0
    return int(np.abs(out.astype(np.int32) - inp.astype(np.int32))[c].max())


def log_gain(out: np.ndarray, inp: np.ndarray) -> np.ndarray:
    """(H, W) float32 log((Y_out + 1/255) / (Y_in + 1/255)) of two uint8 RGB images."""
    y_out = out.astype(np.float32) @ _LUMA / 255.0
    y_in = inp.astype(np.float32) @ _LUMA / 255.0
    eps = np.float32(1.0 / 255.0)
    return np.log((y_out + eps) / (y_in + eps)).astype(np.float32)


def b_roughness(out: np.ndarray, inp: np.ndarray, mask: np.ndarray) -> float:
    """Mean |Laplacian of the blurred log-gain| inside B (see the module docstring); nan
    when B is empty."""
    _check(out, inp)
    b = (mask[1] > 0) & (mask[0] < 0.5)
    if not b.any():
        return float("nan")
    r = cv2.GaussianBlur(log_gain(out, inp), (0, 0), ROUGHNESS_SIGMA,
                         borderType=cv2.BORDER_REFLECT)
    lap = cv2.Laplacian(r, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT)
    return float(np.abs(lap)[b].mean())
