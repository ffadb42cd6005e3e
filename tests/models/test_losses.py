"""Losses against hand-computed values (RANLEN eq. 2-5, paper 002 terms, SSIM)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from limelight.core.masks import area_weights as core_area_weights
from limelight_models.losses import backbone_loss_map, gradient_smooth_map, region_loss, ssim
from limelight_models.losses.gradient_smooth import EPS, S, lb_target, second_derivatives
from limelight_models.losses.huber import huber_map
from limelight_models.losses.region import RegionWeights, area_mean, area_weights
from limelight_models.losses.tv import structure_aware_tv_map, tv_map

torch.set_num_threads(1)
H = W = 16


def _grid() -> tuple[torch.Tensor, torch.Tensor]:
    yy, xx = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32),
                            indexing="ij")
    return yy[None, None], xx[None, None]


def _image(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.05 + 0.9 * torch.rand(1, 3, H, W, generator=g)


def test_lb_is_zero_when_log_illumination_is_linear() -> None:
    yy, xx = _grid()
    illumination = torch.exp(-2.0 + 0.05 * xx + 0.03 * yy)  # log is linear, within (0, 1]
    target = lb_target("retinex", illumination)
    assert torch.allclose(gradient_smooth_map(target, _image()), torch.zeros(1, 1, H, W), atol=1e-6)


def test_lb_on_a_quadratic_matches_hand_computation() -> None:
    yy, xx = _grid()
    t = 0.01 * xx**2  # d_xx = 0.02 inside, d_yy = d_xy = 0
    image = torch.full((1, 3, H, W), 0.5)  # flat input: log I is constant, w = 1 / eps
    got = gradient_smooth_map(t, image)
    expected = (1.0 / EPS) * 0.02**2
    assert torch.allclose(got[..., 1:-1], torch.full_like(got[..., 1:-1], expected), rtol=1e-4)
    assert torch.all(got[..., 0] == 0) and torch.all(got[..., -1] == 0)  # stencil leaves image


def test_lb_weights_follow_the_input_curvature() -> None:
    yy, xx = _grid()
    t = 0.01 * xx**2
    flat = gradient_smooth_map(t, torch.full((1, 3, H, W), 0.5))
    curved_in = torch.exp(-3.0 + 0.02 * xx**2).clamp(max=1.0).expand(1, 3, H, W)
    curved = gradient_smooth_map(t, curved_in)
    # |d_xx log I| = 0.04 there, so w = 1 / (0.04^1.2 + eps)
    assert torch.all(curved[..., 2:-2] < flat[..., 2:-2])
    assert curved[0, 0, 5, 5].item() == pytest.approx(0.02**2 / ((0.04) ** S + EPS), rel=1e-3)


def test_second_derivatives_of_xy_term() -> None:
    yy, xx = _grid()
    dxx, dyy, dxy = second_derivatives(0.5 * xx * yy)
    assert torch.allclose(dxy[..., :-1, :-1], torch.full((1, 1, H - 1, W - 1), 0.5))
    assert torch.allclose(dxx, torch.zeros_like(dxx)) and torch.allclose(dyy, torch.zeros_like(dyy))


def _mask(a_cols: int, b_cols: int) -> torch.Tensor:
    m = torch.zeros(1, 2, H, W)
    m[:, 0, :, :a_cols] = 1.0
    m[:, 1, :, : a_cols + b_cols] = 1.0
    return m


def test_changing_area_c_changes_only_lc() -> None:
    image, target = _image(1), _image(2)
    mask = _mask(6, 4)  # A: cols 0-5, B: 6-9, C: 10-15
    out = _image(3)
    maps = {"output": out}
    base = region_loss(backbone_loss_map("gladnet", maps, target, image), out, out, image, mask)
    out2 = out.clone()
    out2[..., 13:] = 0.99  # C only, away from B's stencil (cols 9-10 are read by B)
    maps2 = {"output": out2}
    new = region_loss(backbone_loss_map("gladnet", maps2, target, image), out2, out2, image, mask)
    assert new.loss_a == pytest.approx(base.loss_a, abs=1e-7)
    assert new.loss_b == pytest.approx(base.loss_b, abs=1e-7)
    assert new.loss_c != pytest.approx(base.loss_c, abs=1e-4)


def test_lc_is_l2_to_input_over_c_and_coverage_normalised() -> None:
    image = torch.full((1, 3, H, W), 0.2)
    out = image.clone()
    out[..., 8:] = 0.5  # C = cols 8-15, all 0.3 away
    mask = _mask(8, 0)
    res = region_loss(torch.zeros(1, 1, H, W), out, out, image, mask,
                      RegionWeights(alpha=1, beta=0, gamma=1))
    assert res.loss_c == pytest.approx(0.09, rel=1e-5)  # mean over C, not over the image
    assert res.loss_a == 0.0
    assert float(res.total) == pytest.approx(0.09, rel=1e-5)


def test_zero_coverage_is_guarded() -> None:
    weight = torch.zeros(2, 1, H, W)
    assert torch.equal(area_mean(torch.ones(2, 1, H, W), weight), torch.zeros(2))


def test_area_weights_match_the_core() -> None:
    rng = np.random.default_rng(0)
    a = rng.uniform(size=(H, W)).astype(np.float32) * 0.5
    mask = np.stack([a, np.clip(a + rng.uniform(size=(H, W)).astype(np.float32), 0, 1)])
    ours = area_weights(torch.from_numpy(mask)[None])
    for t, c in zip(ours, core_area_weights(mask), strict=True):
        np.testing.assert_allclose(t[0, 0].numpy(), c, atol=1e-7)


def test_without_lb_the_complement_of_a_gets_the_reconstruction_loss() -> None:
    image = torch.full((1, 3, H, W), 0.2)
    out = image + 0.1
    mask = _mask(4, 6)
    res = region_loss(torch.zeros(1, 1, H, W), out, out, image, mask, RegionWeights(use_lb=False))
    assert res.loss_b == 0.0 and res.loss_c == pytest.approx(0.01, rel=1e-5)


def test_ssim_of_identical_images_is_one_and_drops_with_noise() -> None:
    x = _image(4)
    assert float(ssim(x, x)) == pytest.approx(1.0, abs=1e-6)
    assert float(ssim(x, (x + 0.1 * torch.randn_like(x)).clamp(0, 1))) < 0.95


def test_torch_ssim_matches_skimage_away_from_borders() -> None:
    from skimage.metrics import structural_similarity

    from limelight_models.losses.ssim import ssim_map

    rng = np.random.default_rng(1)
    a = rng.uniform(size=(32, 32, 3)).astype(np.float64)
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1)
    _, ref = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, channel_axis=-1,
                                   use_sample_covariance=False, data_range=1.0, full=True)
    to_t = lambda x: torch.from_numpy(x.transpose(2, 0, 1)[None].astype(np.float32))  # noqa: E731
    ours = ssim_map(to_t(a), to_t(b))[0, 0].numpy()
    np.testing.assert_allclose(ours[6:-6, 6:-6], ref.mean(axis=2)[6:-6, 6:-6], atol=1e-4)


def test_huber_branches() -> None:
    pred = torch.tensor([0.0, 0.2, 0.9]).view(1, 1, 1, 3)
    got = huber_map(pred, torch.zeros_like(pred), delta=0.5).flatten().tolist()
    assert got == pytest.approx([0.0, 0.02, 0.5 * (0.9 - 0.25)], rel=1e-6)


def test_tv_and_structure_aware_tv() -> None:
    yy, xx = _grid()
    ramp = 0.01 * xx
    assert torch.allclose(tv_map(torch.ones(1, 3, H, W)), torch.zeros(1, 1, H, W))
    assert tv_map(ramp)[0, 0, 3, 3].item() == pytest.approx(0.01, rel=1e-5)
    flat_guide = torch.full((1, 3, H, W), 0.5)
    edge_guide = (xx > 7).float().expand(1, 3, H, W)
    flat = structure_aware_tv_map(ramp, flat_guide)
    edged = structure_aware_tv_map(ramp, edge_guide)
    assert edged[0, 0, 3, 7].item() == pytest.approx(0.01 * np.exp(-10.0), rel=1e-4)
    assert flat[0, 0, 3, 7].item() == pytest.approx(0.01, rel=1e-5)


@pytest.mark.parametrize("backbone", ["fusion_net", "dln", "gladnet", "deepupe", "star_dce"])
def test_backbone_losses_are_zero_at_the_target_and_differentiable(backbone: str) -> None:
    image = _image(5) * 0.3
    target = _image(6)
    out = target.clone().requires_grad_(True)
    maps = {"output": out, "illumination": torch.full((1, 1, H, W), 0.5),
            "illumination_inv": torch.full((1, 1, H, W), 0.5)}
    at_target = backbone_loss_map(backbone, maps, target, image)
    assert at_target.shape == (1, 1, H, W)
    off = backbone_loss_map(backbone, {**maps, "output": (out * 0.7)}, target, image)
    assert off.mean() > at_target.mean() + 1e-3
    off.mean().backward()
    assert out.grad is not None and torch.isfinite(out.grad).all()


def test_gladnet_channel_weights() -> None:
    target = torch.zeros(1, 3, 1, 1)
    out = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    assert backbone_loss_map("gladnet", {"output": out}, target, target).item() == pytest.approx(0.29891)


def test_unknown_backbone_is_named() -> None:
    with pytest.raises(ValueError, match="nope"):
        backbone_loss_map("nope", {}, torch.zeros(1), torch.zeros(1))


def test_lb_term_is_the_sum_of_eq2_over_a_reference_crop() -> None:
    from limelight_models.losses.region import LB_REFERENCE_PIXELS

    yy, xx = _grid()
    t = 0.01 * xx**2
    image = torch.full((1, 3, H, W), 0.5)
    mask = _mask(2, 12)  # B = cols 2-13, all inside the stencil's reach
    res = region_loss(torch.zeros(1, 1, H, W), image, t, image, mask, RegionWeights(beta=1e-4))
    per_pixel = (1.0 / EPS) * 0.02**2
    assert res.loss_b == pytest.approx(per_pixel * LB_REFERENCE_PIXELS, rel=1e-4)
    assert float(res.total) == pytest.approx(1e-4 * res.loss_b, rel=1e-4)
