"""Metrics of the evaluation protocol and the evaluation of torch and ONNX (app path) models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from limelight.core.masks import protocol_mask
from limelight_models import metrics
from limelight_models.data.paired import PairedFolder
from limelight_models.evaluate import (
    EngineRunner,
    TorchRunner,
    evaluate_runner,
    main,
    markdown_table,
)


def _img(seed: int, h: int = 40, w: int = 48) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_psnr_hand_value_and_identity() -> None:
    a = np.full((4, 4, 3), 100, np.uint8)
    b = a.copy()
    b[0, 0, 0] = 110  # mse = 100 / 48
    assert metrics.psnr(a, b) == pytest.approx(10 * np.log10(255**2 * 48 / 100))
    assert metrics.psnr(a, a) == float("inf")


def test_ssim_matches_skimage_and_identity() -> None:
    from skimage.metrics import structural_similarity

    a, b = _img(0), _img(1)
    assert metrics.ssim(a, a) == pytest.approx(1.0)
    ref = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                channel_axis=-1, data_range=255)
    assert metrics.ssim(a, b) == pytest.approx(ref)


def test_delta_e_is_zero_for_equal_images_and_sees_a_colour_cast_more_than_noise() -> None:
    grey = np.full((16, 16, 3), 128, np.uint8)
    assert metrics.delta_e(grey, grey) == 0.0
    red = grey.copy()
    red[..., 0] = 160  # a red cast of 32 code values
    shade = np.random.default_rng(0).normal(0, 22, (16, 16, 1))  # grey noise: lightness only
    noisy = np.clip(grey + shade, 0, 255).astype(np.uint8)
    assert metrics.psnr(red, grey) > metrics.psnr(noisy, grey)  # PSNR calls the cast better
    assert metrics.delta_e(red, grey) > metrics.delta_e(noisy, grey)
    with pytest.raises(ValueError):
        metrics.delta_e(grey, grey[:8])


def test_exposure_fit_psnr_removes_an_overall_exposure_error_but_not_noise() -> None:
    rng = np.random.default_rng(0)
    ref = rng.integers(40, 200, (32, 48, 3), dtype=np.uint8)
    dark = np.round(ref * 0.6).astype(np.uint8)  # the right photo, under-exposed
    noisy = np.clip(ref + rng.normal(0, 12, ref.shape), 0, 255).astype(np.uint8)
    assert metrics.psnr(dark, ref) < 15.0
    assert metrics.exposure_fit_psnr(dark, ref) > 40.0  # only rounding is left
    assert metrics.exposure_gain(dark, ref) == pytest.approx(1 / 0.6, rel=0.01)
    assert metrics.exposure_gain(ref, ref) == 1.0
    fit = metrics.exposure_fit_psnr(noisy, ref)
    assert fit >= metrics.psnr(noisy, ref) - 1e-9 and fit < 30.0


def test_area_metrics_see_only_area_a() -> None:
    ref = _img(2, 64, 64)
    out = ref.copy()
    out[:, 32:] = 0  # wrong outside A only
    weight = np.zeros((64, 64), np.float32)
    weight[:, :20] = 1
    assert metrics.area_psnr(out, ref, weight) == float("inf")
    assert metrics.area_ssim(out, ref, weight) > 0.99
    assert np.isnan(metrics.area_psnr(out, ref, np.zeros_like(weight)))


def test_area_c_max() -> None:
    inp = _img(3)
    mask = np.zeros((2, 40, 48), np.float32)
    mask[:, :, :10] = 1
    out = inp.copy()
    out[:, :10] = 255 - out[:, :10]
    assert metrics.area_c_max(out, inp, mask) == 0
    out[5, 30, 1] = inp[5, 30, 1] ^ 4
    assert metrics.area_c_max(out, inp, mask) == 4


def test_b_roughness_low_for_a_smooth_gain_high_for_a_seam() -> None:
    h = w = 64
    inp = np.full((h, w, 3), 40, np.uint8)
    mask = np.zeros((2, h, w), np.float32)
    mask[0, :, :16] = 1
    mask[1, :, :48] = 1
    xx = np.arange(w, dtype=np.float32)
    ramp_gain = np.clip(1 + 2 * (48 - xx) / 32, 1, 3)  # linear from x=16 (x3) to x=48 (x1)
    smooth = np.clip(np.rint(inp * ramp_gain[None, :, None]), 0, 255).astype(np.uint8)
    seam_gain = np.where(xx < 30, 3.0, 1.0)
    seam = np.clip(np.rint(inp * seam_gain[None, :, None]), 0, 255).astype(np.uint8)
    assert metrics.b_roughness(smooth, inp, mask) < 0.25 * metrics.b_roughness(seam, inp, mask)
    assert metrics.b_roughness(inp, inp, mask) == 0.0


def _pairs(root: Path, n: int = 2) -> PairedFolder:
    for sub in ("low", "high"):
        (root / sub).mkdir(parents=True)
    for k in range(n):
        high = _img(10 + k, 48, 64)
        PILImage.fromarray(high).save(root / "high" / f"{k}.png")
        PILImage.fromarray(high // 4).save(root / "low" / f"{k}.png")
    return PairedFolder(root)


def test_torch_runner_protocol(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    from limelight_models.archs import build_model

    torch.manual_seed(0)
    model = build_model("fusion_net", "ranlen").eval()
    res = evaluate_runner(TorchRunner(model), _pairs(tmp_path), timing=False)
    assert res["area_c_max"] == 0 and res["pairs"] == 2 and res["params"] > 1000
    for key in ("global_psnr", "global_ssim", "global_delta_e", "exposure_fit_psnr", "area_a_psnr", "area_a_ssim",
                "b_roughness"):
        assert np.isfinite(res[key])
    assert "| fusion_net-ranlen |" in markdown_table([res])


def test_onnx_models_run_through_the_app_pipeline(tmp_path: Path, tiny_zoo: Path) -> None:
    pairs = _pairs(tmp_path / "pairs")
    runner = EngineRunner(tiny_zoo / "tiny-fusion.onnx", threads=1)
    low = pairs[0].low
    out = runner.enhance(low, local=True)
    mask = protocol_mask(*low.shape[:2])
    assert out.dtype == np.uint8 and metrics.area_c_max(out, low, mask) == 0
    assert out[mask[0] == 1].mean() != low[mask[0] == 1].mean()  # A changed
    out_json, out_md = tmp_path / "r.json", tmp_path / "r.md"
    assert main(["--model", str(tiny_zoo / "tiny-fusion.onnx"), "--pairs", str(tmp_path / "pairs"),
                 "--json", str(out_json), "--markdown", str(out_md), "--no-timing"]) == 0
    doc = json.loads(out_json.read_text())
    assert doc[0]["name"] == "tiny-fusion" and doc[0]["area_c_max"] == 0
    assert "tiny-fusion" in out_md.read_text()


def test_onnx_timing_is_the_cores_preview_without_the_app_benchmark(tiny_zoo: Path) -> None:
    """The 1 MP timing runs the core's preview (issue #20: the training code imported the app's
    benchmark script, now the bench package, for it)."""
    import subprocess
    import sys

    probe = ("import sys, limelight_models.evaluate as e; "
             "r = e.EngineRunner(sys.argv[1], threads=1); t = r.time_1mp(); "
             "print(t > 0, any(m.split('.')[0] == 'bench' for m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe, str(tiny_zoo / "tiny-fusion.onnx")],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True False", done.stdout + done.stderr


def test_local_setting_composites_with_the_protocol_mask_itself(tiny_zoo: Path) -> None:
    """Above the working resolution (guided path) too, C is exactly where the protocol mask's
    channel 1 is 0, and the output there is the input bit for bit."""
    runner = EngineRunner(tiny_zoo / "tiny-fusion.onnx", threads=1)
    low = (_img(7, 96, 160) // 3).astype(np.uint8)  # working resolution 64: downscaled
    mask = protocol_mask(96, 160)
    out = runner.enhance(low, local=True)
    assert metrics.area_c_max(out, low, mask) == 0
    changed = np.any(out != low, axis=2)
    assert changed[mask[0] == 1].mean() > 0.5 and not changed[mask[1] == 0].any()
