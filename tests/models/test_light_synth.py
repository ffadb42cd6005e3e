"""The spatially varying light generators (data.light) and their use in a config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from skimage import data

from limelight_models.config import ConfigError, config_from_dict
from limelight_models.data import light

H, W = 96, 144


def _field(name: str, seed: int = 0) -> np.ndarray:
    f = light.GENERATORS[name](H, W, np.random.default_rng(seed))
    assert f.shape == (H, W, 1) and f.dtype == np.float32 and np.isfinite(f).all()
    return f[..., 0]


@pytest.mark.parametrize("name", sorted(light.GENERATORS))
def test_every_field_is_deterministic_and_spans_dark_to_exposed(name: str) -> None:
    f = _field(name)
    np.testing.assert_array_equal(f, _field(name))
    assert not np.array_equal(f, _field(name, seed=1))
    assert f.min() >= 0.019 and f.max() <= 1.3
    assert f.min() < 0.35 and f.max() > 0.6  # some of it dark, some of it exposed


def test_smooth_field_is_smooth() -> None:
    f = _field("smooth")
    assert np.abs(np.diff(f, axis=1)).max() < 0.1


def test_spotlight_is_bright_in_pools_on_a_dark_ground() -> None:
    f = _field("spotlight")
    assert (f > 0.9).mean() > 0.01 and (f < 0.25).mean() > 0.3


def test_vignette_is_brightest_near_the_centre() -> None:
    f = _field("vignette")
    assert f[H // 3: 2 * H // 3, W // 3: 2 * W // 3].mean() > f[:10, :10].mean() + 0.2


def test_backlight_darkens_a_subject_before_an_exposed_background() -> None:
    f = _field("backlight")
    assert f.max() >= 0.7 and (f >= 0.69).mean() > 0.4 and f.min() < 0.25


def test_flash_lights_a_foreground_and_falls_off() -> None:
    f = _field("flash")
    peak = np.unravel_index(np.argmax(f), f.shape)
    assert f[peak] >= 0.85 and f[0, 0] < 0.5 * f[peak] and f[-1, -1] < 0.5 * f[peak]


def test_relight_keeps_exposed_content_and_darkens_the_rest() -> None:
    from limelight_models.data.synth import SynthParams

    high = data.coffee()[::4, ::4].copy()
    h, w = high.shape[:2]
    exposure = np.ones((h, w, 1), np.float32)
    exposure[:, : w // 2] = 0.05
    quiet = SynthParams(shot=(1e-8, 1e-8), read=(1e-9, 1e-9), jpeg_probability=0.0)
    low = light.relight(high, exposure, np.random.default_rng(0), quiet)
    right = (slice(None), slice(w // 2, None))
    assert np.abs(low[right].astype(int) - high[right]).max() <= 1  # identity where exposed
    left = (slice(None), slice(0, w // 2))
    assert low[left].mean() < 0.4 * high[left].mean()


def test_light_pairs_follow_the_mix(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for k in range(3):
        PILImage.fromarray(data.astronaut()[k * 50: k * 50 + 300, :400]).save(folder / f"{k}.jpg")
    pairs = light.light_pairs([folder], {"flash": 1.0, "smooth": 0.0}, 2, seed=0, long_edge=200)
    assert len(pairs) == 6 and all("_flash_" in p.name for p in pairs)
    assert all(max(p.high.shape[:2]) == 192 and p.low.shape == p.high.shape for p in pairs)
    assert all(p.high.shape[0] % 16 == 0 and p.high.shape[1] % 16 == 0 for p in pairs)
    again = light.light_pairs([folder], {"flash": 1.0}, 2, seed=0, long_edge=200)
    assert all(np.array_equal(a.low, b.low) for a, b in zip(pairs, again, strict=True))


def test_the_mix_is_set_and_checked_in_the_config() -> None:
    base = {"name": "t", "backbone": "fusion_net", "conversion": "ranlen"}
    cfg = config_from_dict(base | {"data": {"light_sources": ["x"],
                                            "light_mix": {"flash": 1, "spotlight": 2}}})
    assert cfg.data.light_mix == {"flash": 1, "spotlight": 2}
    with pytest.raises(ConfigError, match="unknown light generators"):
        config_from_dict(base | {"data": {"light_sources": ["x"], "light_mix": {"laser": 1}}})
    with pytest.raises(ConfigError, match="go together"):
        config_from_dict(base | {"data": {"light_mix": {"flash": 1}}})
