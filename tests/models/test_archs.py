"""Backbones x conversions: shapes, parameter counts, mask (in)dependence, registry errors."""

from __future__ import annotations

import pytest
import torch

from limelight.core.recompose import FAMILIES
from limelight_models.archs import BACKBONES, CONVERSIONS, FAMILY_OF, build_model, list_models
from limelight_models.layers import area_resize, count_params, upsample_to

torch.set_num_threads(1)

#: Parameter counts at default options (the backbones' docstrings quote them).
PARAMS = {
    ("deepupe", "global"): 55_097,
    ("deepupe", "concat"): 55_257,
    ("deepupe", "ranlen"): 81_876,
    ("star_dce", "global"): 35_036,
    ("star_dce", "concat"): 35_324,
    ("star_dce", "ranlen"): 40_167,
    ("fusion_net", "global"): 8_667,
    ("fusion_net", "concat"): 9_531,
    ("fusion_net", "ranlen"): 14_102,
    ("dln", "global"): 32_244,
    ("dln", "concat"): 32_874,
    ("dln", "ranlen"): 42_287,
    ("gladnet", "global"): 25_127,
    ("gladnet", "concat"): 25_559,
    ("gladnet", "ranlen"): 40_082,
}
CHANNELS = {
    "illumination": None,
    "illumination_inv": 1,
    "weights": 3,
    "noise": 3,
    "curve": 12,
    "residual": 3,
    "refine": 3,
}
H, W = 32, 48  # odd aspect, divisible by every pad multiple


def _inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(1, 3, H, W, generator=gen)
    mask = torch.zeros(1, 2, H, W)
    mask[:, 1, 4:28, 8:40] = 1.0
    mask[:, 0, 8:24, 12:36] = 1.0
    return image, mask


def test_registry_lists_every_combination() -> None:
    assert list_models() == [(b, c) for b in BACKBONES for c in CONVERSIONS]
    # the order of every table (results, zoo, report), fixed by the registration order
    assert BACKBONES == ("deepupe", "star_dce", "fusion_net", "dln", "gladnet")
    assert len(list_models()) == 15


def test_the_registry_is_the_one_place_a_backbone_is_named() -> None:
    """``@register_backbone`` is the only table: the class carries no family of its own, a
    name cannot be registered twice, and a family must be one the app recomposes."""
    from torch import nn

    from limelight_models.archs import backbone_entry, register_backbone

    entry = backbone_entry("dln")
    assert entry.family == FAMILY_OF["dln"] == "residual" and entry.cls.__name__ == "DLN"
    assert all(not hasattr(backbone_entry(b).cls, "family") for b in BACKBONES)
    assert build_model("fusion_net", "global").family == "fusion"
    with pytest.raises(ValueError, match="registered twice"):
        register_backbone("dln", family="residual")(type("Other", (nn.Module,), {}))
    with pytest.raises(ValueError, match="family must be one of"):
        register_backbone("new", family="magic")
    with pytest.raises(ValueError, match="backbone must be one of"):
        backbone_entry("resnet")


@pytest.mark.parametrize(("backbone", "conversion"), list_models())
def test_shapes_params_and_family(backbone: str, conversion: str) -> None:
    torch.manual_seed(0)
    model = build_model(backbone, conversion).eval()
    assert (model.backbone, model.conversion, model.family) == (
        backbone,
        conversion,
        FAMILY_OF[backbone],
    )
    assert count_params(model) == PARAMS[(backbone, conversion)]
    expected_maps = FAMILIES[model.family] + (("refine",) if conversion == "ranlen" else ())
    assert model.map_names == expected_maps
    image, mask = _inputs()
    with torch.no_grad():
        out = model(image, mask)
    assert set(out) == set(model.map_names) | {"output", "smooth_target"}
    for name in model.map_names:
        t = out[name]
        assert t.shape[0] == 1 and t.shape[2:] == (H, W), name
        assert torch.isfinite(t).all(), name
        want = CHANNELS[name]
        if want is not None:
            assert t.shape[1] == want, name
    if model.family == "retinex":
        assert out["illumination"].shape[1] == 3
    if model.family == "fusion":
        assert out["illumination"].shape[1] == 1
        torch.testing.assert_close(out["weights"].sum(1), torch.ones(1, H, W))
    assert out["output"].shape == (1, 3, H, W)
    assert float(out["output"].min()) >= 0.0 and float(out["output"].max()) <= 1.0
    target = out["illumination"] if model.family in ("retinex", "fusion") else out["output"]
    assert out["smooth_target"] is target


def _perturb(model: torch.nn.Module) -> None:
    """Zero-initialised layers would hide mask effects: give every weight random values."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))


@pytest.mark.parametrize(("backbone", "conversion"), list_models())
def test_mask_dependence(backbone: str, conversion: str) -> None:
    torch.manual_seed(1)
    model = build_model(backbone, conversion).eval()
    _perturb(model)
    image, mask = _inputs()
    other = torch.flip(mask, dims=[3]) * 0.5
    with torch.no_grad():
        a = model(image, mask)
        b = model(image, other)
    diff = max(float((a[n] - b[n]).abs().max()) for n in (*model.map_names, "output"))
    if conversion == "global":
        assert diff == 0.0
    else:
        assert diff > 1e-4


def test_batch_and_gradients_flow() -> None:
    model = build_model("fusion_net", "ranlen")
    _perturb(model)
    image = torch.rand(2, 3, H, W)
    mask = torch.rand(2, 2, H, W)
    out = model(image, mask)
    out["output"].mean().backward()
    assert all(p.grad is not None for p in model.net.illum.parameters())


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="backbone"):
        build_model("unet", "global")
    with pytest.raises(ValueError, match="conversion"):
        build_model("dln", "spade")
    with pytest.raises(TypeError):
        build_model("dln", "global", no_such_option=3)
    model = build_model("gladnet", "global")
    with pytest.raises(ValueError, match="mask"):
        model(torch.rand(1, 3, 8, 8), torch.rand(1, 1, 8, 8))


def test_refine_option_for_global_and_concat() -> None:
    model = build_model("gladnet", "concat", refine=True, refine_width=4)
    assert model.map_names == ("residual", "refine")
    assert model.options == {"refine": True, "refine_width": 4}
    assert build_model("gladnet", "ranlen", refine=False).map_names == ("residual",)


def test_area_resize_is_a_box_average() -> None:
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    got = area_resize(x, (2, 2))
    torch.testing.assert_close(got, torch.tensor([[[[2.5, 4.5], [10.5, 12.5]]]]))
    const = torch.full((1, 2, 37, 53), 0.25)
    torch.testing.assert_close(area_resize(const, (16, 16)), torch.full((1, 2, 16, 16), 0.25))


@pytest.mark.parametrize("src, dst", [((4, 4), (8, 8)), ((171, 256), (342, 512)),
                                      ((37, 53), (75, 106)), ((16, 16), (684, 1024)),
                                      ((9, 7), (9, 7)), ((40, 30), (13, 11))])
def test_upsample_to_is_bilinear_interpolation(src: tuple[int, int], dst: tuple[int, int]
                                               ) -> None:
    x = torch.rand(2, 3, *src, generator=torch.Generator().manual_seed(0))
    ref = torch.zeros(1, 1, *dst)
    want = torch.nn.functional.interpolate(x, size=dst, mode="bilinear", align_corners=False)
    torch.testing.assert_close(upsample_to(x, ref), want, atol=1e-5, rtol=0)


def test_noise_smoothing_makes_n_a_weighted_smoothing_of_the_output() -> None:
    import torch.nn.functional as F

    from limelight_models.archs import NOISE_ALPHA_OFFSET
    from limelight_models.recompose import recompose_torch

    torch.manual_seed(0)
    model = build_model("fusion_net", "ranlen", noise_smoothing=2).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    g = torch.Generator().manual_seed(1)
    image = (0.15 + 0.03 * torch.randn(1, 3, 32, 40, generator=g)).clamp(0, 1)  # flat, noisy
    mask = torch.ones(1, 2, 32, 40)
    with torch.no_grad():
        out = model(image, mask)
        raw = model.net(image, mask)["noise"]
        rest = recompose_torch("fusion", image, {**out, "noise": torch.zeros_like(raw)})
    alpha = torch.sigmoid(raw - NOISE_ALPHA_OFFSET)
    blurred = F.avg_pool2d(F.pad(rest, (2,) * 4, mode="replicate"), 5, stride=1)
    assert torch.allclose(out["noise"], alpha * (blurred - rest), atol=1e-6)
    inside = (out["output"] > 0) & (out["output"] < 1)
    assert torch.allclose(out["output"][inside], (rest + out["noise"])[inside], atol=1e-5)
    assert out["output"].std() < rest.std()  # adding N removes noise, whatever the weights
    with pytest.raises(ValueError, match="fusion"):
        build_model("dln", "ranlen", noise_smoothing=2)


@pytest.mark.parametrize("first", ["limelight_models.ranlen", "limelight_models.layers",
                                   "limelight_models.config", "limelight_models.checkpoint",
                                   "limelight_models.archs.dln"])
def test_any_module_can_be_imported_first(first: str) -> None:
    """ranlen imported first failed (ranlen -> archs.common -> archs/__init__ -> ranlen, half
    made); the shared layers now sit outside the archs package."""
    import subprocess
    import sys

    code = f"import {first}; from limelight_models.archs import BACKBONES; print(len(BACKBONES))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "5", done.stderr[-400:]
