"""The optimised Recomposer against a plain NumPy transcription of the module's formulas."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from limelight.core.recompose import FLOOR, OWN, Knobs, Recomposer, dct_highpass, recompose


def reference(family: str, img: np.ndarray, maps: dict[str, np.ndarray],
              k: Knobs) -> np.ndarray:
    """The formulas of recompose.py's docstring, written as plainly as possible."""
    d = k.degree
    if d == 0:
        return img.copy()
    if family == "fusion" and d < 1:  # below 1: the blend toward the model's own output
        return (1 - d) * img + d * reference(family, img, maps, dataclasses.replace(k, degree=1))
    if family == "retinex":
        y = img / np.maximum(maps["illumination"], FLOOR) ** d
    elif family == "curve":
        y = img.copy()
        a = maps["curve"]
        for i in range(a.shape[2] // 3):
            y = np.clip(y + d * a[..., 3 * i : 3 * i + 3] * y * (1 - y), 0, 1)
    elif family == "fusion":
        w = maps["weights"]
        under = np.clip(img / np.maximum(maps["illumination"], FLOOR) ** (k.gamma1 * d), 0, 1)
        over = np.clip(
            1 - (1 - img) / np.maximum(maps["illumination_inv"], FLOOR) ** (k.gamma2 * d), 0, 1
        )
        y = w[..., 0:1] * img + w[..., 1:2] * under + w[..., 2:3] * over
        y = y + min(d, 1) * dct_highpass(maps["noise"], k.gamma3)
    else:
        y = img + d * maps["residual"]
    if "refine" in maps:
        y = y + min(d, 1) * maps["refine"]
    return np.clip(y, 0, 1)


def _maps(h: int, w: int, illum_ch: int, refine: bool, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    weights = rng.random((h, w, 3), dtype=np.float32) + 0.1
    maps = {
        "illumination": rng.uniform(0.0, 1.0, (h, w, illum_ch)).astype(np.float32),
        "illumination_inv": rng.uniform(0.0, 1.0, (h, w, 1)).astype(np.float32),
        "weights": weights / weights.sum(axis=2, keepdims=True),
        "noise": rng.normal(0, 0.02, (h, w, 3)).astype(np.float32),
        "curve": rng.uniform(-1, 1, (h, w, 24)).astype(np.float32),
        "residual": rng.normal(0, 0.2, (h, w, 3)).astype(np.float32),
    }
    if refine:
        maps["refine"] = rng.normal(0, 0.05, (h, w, 3)).astype(np.float32)
    return maps


KNOBS = [Knobs(), Knobs(degree=0.4), Knobs(degree=1.7, gamma1=0.3, gamma2=0.0, gamma3=0.5),
         Knobs(degree=2.0, gamma1=0.0, gamma2=1.0, gamma3=0.0)]


@pytest.mark.parametrize("family", ["retinex", "curve", "fusion", "residual"])
@pytest.mark.parametrize(("illum_ch", "refine"), [(1, False), (3, True)])
def test_matches_the_formulas(family: str, illum_ch: int, refine: bool) -> None:
    img = np.random.default_rng(5).random((21, 34, 3), dtype=np.float32)
    maps = _maps(21, 34, illum_ch, refine)
    r = Recomposer(family, img, maps)
    for k in KNOBS:
        out = r(k)
        assert out.shape == img.shape and out.dtype == np.float32
        np.testing.assert_allclose(out, reference(family, img, maps, k), atol=2e-6)


def test_results_are_independent_arrays() -> None:
    img = np.random.default_rng(1).random((8, 9, 3), dtype=np.float32)
    r = Recomposer("fusion", img, _maps(8, 9, 1, True))
    first = r(Knobs(degree=0.5))
    kept = first.copy()
    second = r(Knobs(degree=1.5))
    assert np.array_equal(first, kept) and not np.array_equal(first, second)


def test_degree_zero_is_exact_and_one_shot_helper_agrees() -> None:
    img = np.random.default_rng(2).random((8, 9, 3), dtype=np.float32)
    maps = _maps(8, 9, 1, True)
    assert np.array_equal(recompose("curve", img, maps, Knobs(degree=0.0)), img)
    np.testing.assert_array_equal(recompose("fusion", img, maps, Knobs(degree=0.7)),
                                  Recomposer("fusion", img, maps)(Knobs(degree=0.7)))


def test_missing_map_and_wrong_size_are_refused() -> None:
    img = np.zeros((8, 9, 3), np.float32)
    with pytest.raises(ValueError, match="illumination_inv"):
        Recomposer("fusion", img, {"illumination": np.ones((8, 9, 1), np.float32)})
    with pytest.raises(ValueError, match="residual"):
        Recomposer("residual", img, {"residual": np.ones((4, 9, 3), np.float32)})


def test_fusion_brightens_monotonically_where_i_o_clips_at_low_degree() -> None:
    """A Fusion-Net that weights I_O in the dark: on eq. 10's exponent path I_O falls to 0 as
    soon as the degree leaves 0 (a small Li), so the mean dipped below the input's before it
    rose; the blend below degree 1 rises from the input to the model's own output."""
    img = np.full((4, 4, 3), 0.2, np.float32)
    maps = _maps(4, 4, 1, False)
    maps["weights"] = np.broadcast_to(np.float32([0.0, 0.5, 0.5]), (4, 4, 3)).copy()
    maps["illumination"] = np.full((4, 4, 1), 0.2, np.float32)  # I_U(1) = 1
    maps["illumination_inv"] = np.full((4, 4, 1), 0.1, np.float32)  # I_O = 0 from d ~ 0.05
    maps["noise"] = np.zeros((4, 4, 3), np.float32)
    r = Recomposer("fusion", img, maps)
    means = [float(r(OWN.with_(degree=d)).mean()) for d in (0.0, 0.1, 0.25, 0.5, 1.0)]
    assert all(b > a for a, b in zip(means, means[1:], strict=False)), means
    assert means[0] == pytest.approx(0.2) and means[-1] == pytest.approx(0.5)
    assert float(r(OWN.with_(degree=1.5)).mean()) >= means[-1]  # (saturated: I_U clips at 1)
