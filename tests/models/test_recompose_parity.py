"""The torch mirror of the knob formulas agrees with limelight.core.recompose."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from limelight.core.recompose import OWN, Knobs, Recomposer
from limelight_models.archs import build_model, list_models
from limelight_models.recompose import recompose_torch

torch.set_num_threads(1)
KNOBS = [  # the formulas' own knobs (OWN: the model's output; the app finishes from there)
    OWN,
    OWN.with_(degree=0.0),
    OWN.with_(degree=0.5),
    OWN.with_(degree=1.7),
    OWN.with_(degree=1.3, gamma1=0.4, gamma2=0.8),
    Knobs(degree=0.8, gamma1=0.0, gamma2=0.0, gamma3=0.0),
]


def _hwc(t: torch.Tensor) -> np.ndarray:
    return t[0].permute(1, 2, 0).numpy()


def _maps(backbone: str, conversion: str) -> tuple[str, torch.Tensor, dict[str, torch.Tensor]]:
    torch.manual_seed(3)
    model = build_model(backbone, conversion).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
        image = torch.rand(1, 3, 16, 24) ** 2  # dark-ish, with a few near-zero pixels
        mask = torch.ones(1, 2, 16, 24)
        out = model(image, mask)
    return model.family, image, {n: out[n] for n in model.map_names} | {"output": out["output"]}


@pytest.mark.parametrize(("backbone", "conversion"), [c for c in list_models() if c[1] != "concat"])
def test_torch_mirror_matches_numpy_core(backbone: str, conversion: str) -> None:
    family, image, maps = _maps(backbone, conversion)
    model_output = maps.pop("output")
    recomposer = Recomposer(family, _hwc(image), {n: _hwc(m) for n, m in maps.items()})
    np.testing.assert_allclose(_hwc(model_output), recomposer(OWN), atol=1e-5)
    for knobs in KNOBS:
        ref = recomposer(knobs)
        got = recompose_torch(
            family, image, maps, knobs.degree, knobs.gamma1, knobs.gamma2, knobs.gamma3
        )
        np.testing.assert_allclose(_hwc(got), ref, atol=1e-5, err_msg=str(knobs))


def test_degree_zero_is_identity_and_partial_gamma3_is_refused() -> None:
    family, image, maps = _maps("fusion_net", "ranlen")
    maps.pop("output")
    assert torch.equal(recompose_torch(family, image, maps, degree=0.0), image)
    with pytest.raises(NotImplementedError):
        recompose_torch(family, image, maps, gamma3=0.5)
    with pytest.raises(ValueError, match="illumination_inv"):
        recompose_torch(family, image, {"illumination": maps["illumination"]})


def test_retinex_brightness_rises_with_degree() -> None:
    image = torch.full((1, 3, 4, 4), 0.1)
    maps = {"illumination": torch.full((1, 3, 4, 4), 0.25)}
    means = [float(recompose_torch("retinex", image, maps, d).mean()) for d in (0.0, 0.5, 1, 2)]
    assert means == sorted(means) and means[0] == pytest.approx(0.1)
    assert means[2] == pytest.approx(0.4)


def test_straight_through_clip_keeps_values_and_passes_gradients_where_clipped() -> None:
    image = torch.full((1, 3, 4, 4), 0.1)
    residual = torch.linspace(-0.5, 1.2, 48).reshape(1, 3, 4, 4).requires_grad_(True)
    hard = recompose_torch("residual", image, {"residual": residual})
    soft = recompose_torch("residual", image, {"residual": residual}, straight_through=True)
    assert torch.equal(hard, soft)
    clipped = (image + residual < 0) | (image + residual > 1)
    assert clipped.any() and (~clipped).any()
    (grad_hard,) = torch.autograd.grad(hard.sum(), residual)
    (grad_soft,) = torch.autograd.grad(soft.sum(), residual)
    assert torch.all(grad_hard[clipped] == 0) and torch.all(grad_soft == 1)


def test_straight_through_clip_option_acts_in_training_only() -> None:
    torch.manual_seed(0)
    model = build_model("gladnet", "ranlen", straight_through_clip=True)
    with torch.no_grad():
        model.net.detail[-1].bias.fill_(-1.0)  # every output pixel below 0: clipped
    image, mask = torch.rand(2, 3, 24, 24) * 0.2, torch.ones(2, 2, 24, 24)
    model.train()
    model(image, mask)["output"].sum().backward()
    assert model.net.detail[-1].bias.grad.abs().sum() > 0  # the clip let the gradient through
    plain = build_model("gladnet", "ranlen")
    plain.load_state_dict(model.state_dict())
    plain.train()
    plain(image, mask)["output"].sum().backward()
    assert plain.net.detail[-1].bias.grad.abs().sum() == 0  # the hard clip: stuck
    model.eval(), plain.eval()
    with torch.no_grad():
        assert torch.equal(model(image, mask)["output"], plain(image, mask)["output"])
