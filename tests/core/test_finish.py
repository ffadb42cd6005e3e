"""The light finish (core.finish): what holds whatever the network did, and the knobs."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from limelight.core.finish import LightFinish, luminance
from limelight.core.recompose import Knobs


def _dark_photo(scale: float = 0.08, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """skimage's coffee (400 x 600), linearly darkened, optional Gaussian noise; [0, 1]."""
    img = data.coffee().astype(np.float32) / 255.0 * scale
    if noise:
        img = img + np.random.default_rng(seed).normal(0.0, noise, img.shape).astype(np.float32)
    return np.clip(np.round(img * 255) / 255, 0, 1).astype(np.float32)


def _gain_model(img: np.ndarray, gain: float) -> np.ndarray:
    """A network that lifts everything by ``gain`` and clips (what a LOL model learns)."""
    return np.clip(img * gain + 0.1, 0.0, 1.0).astype(np.float32)


def _y(img: np.ndarray) -> np.ndarray:
    return luminance(img) * 255.0


def test_black_stays_black_and_the_darkest_pixels_are_not_fogged() -> None:
    img = _dark_photo()
    img[:20, :20] = 0.0
    out = LightFinish(img, _gain_model(img, 12.0))(Knobs())
    assert (out[:14, :14] < 0.5 / 255).all()  # 0 in 8 bits (the base may blur its edge)
    y_in, y_out = _y(img).ravel(), _y(out).ravel()
    darkest = np.argsort(y_in)[: y_in.size // 100]
    # the real-photo measures' fog bound (a global edit); a per-pixel curve held these 8x
    # lower but speckled: the base lifts a lone dark pixel with its neighbourhood
    assert (y_out[darkest] - y_in[darkest]).mean() <= 12.0
    assert y_out.mean() > 3 * y_in.mean()  # and it does lift the photo


def test_a_lifted_dark_area_shows_no_black_speckle() -> None:
    """A flat dark area at 2 codes with 5 % of its pixels at 0 (a night JPEG's shadows) lifted
    ~20x: the lone black pixels rise with their neighbourhood instead of staying black among
    lifted neighbours (the speckle a per-pixel toe made)."""
    rng = np.random.default_rng(3)
    y = np.where(rng.random((240, 320)) < 0.05, 0.0, 2.0 / 255.0).astype(np.float32)
    img = np.repeat(y[..., None], 3, axis=2)
    img[:, :20] = 0.3  # something exposed, so the black level is not the patch's own
    out = LightFinish(img, _gain_model(img, 20.0))(Knobs())
    y_out = _y(out)[20:-20, 40:-20]
    assert y_out.mean() > 15.0
    assert (y_out < 0.25 * y_out.mean()).mean() < 0.005


def test_highlights_are_never_newly_clipped() -> None:
    img = _dark_photo(scale=0.6)
    out = LightFinish(img, _gain_model(img, 20.0))(Knobs(degree=2.0))
    unclipped = _y(img) < 235
    assert not (_y(out)[unclipped] >= 250).any()


def test_colour_is_carried_by_ratio() -> None:
    img = _dark_photo(scale=0.15)
    out = LightFinish(img, _gain_model(img, 5.0))(Knobs(gamma3=0.0))  # no chroma smoothing
    keep = (img.max(axis=2) > 8 / 255) & (out.max(axis=2) < 0.7)
    ratio_in = img[keep] / img[keep].sum(axis=1, keepdims=True)
    ratio_out = out[keep] / out[keep].sum(axis=1, keepdims=True)
    assert np.abs(ratio_out - ratio_in).max() < 0.02


def test_the_gain_falls_to_one_where_the_photo_is_already_exposed() -> None:
    """A bright photo with one dark corner, under a network that lifts everything 4x: the
    neighbourhoods already at the default cap keep their light, the corner is lifted."""
    import cv2

    from limelight.core.finish import cap

    img = (0.45 + 0.5 * data.coffee().astype(np.float32) / 255.0).astype(np.float32)
    img[:100, :150] *= 0.1
    img[-50:, -60:] = 0.0  # black, as night photos have (otherwise the toe holds the corner)
    out = LightFinish(img, _gain_model(img, 4.0))(Knobs())
    exposed = cv2.blur(luminance(img), (15, 15)) > cap(0.5) + 0.02
    assert exposed.mean() > 0.1
    assert np.abs(out - img)[exposed].mean() < 0.01
    corner = (slice(10, 90), slice(10, 140))
    assert _y(out)[corner].mean() > 2.5 * _y(img)[corner].mean()


def test_noise_is_removed_as_the_gain_lifts_it() -> None:
    img = _dark_photo(scale=0.1, noise=2.0 / 255)
    finish = LightFinish(img, _gain_model(img, 6.0))
    patch = (slice(20, 60), slice(500, 580))  # a flat wall of the coffee photo

    def rel_noise(out: np.ndarray) -> float:
        y = luminance(out)[patch]
        return float(y.std() / y.mean())

    levels = [rel_noise(finish(Knobs(gamma3=g))) for g in (0.0, 0.5, 1.0)]
    assert levels[0] > levels[1] > levels[2]
    assert levels[1] < 0.8 * rel_noise(img)


def test_each_knob_acts_both_ways_around_its_default() -> None:
    img = _dark_photo(scale=0.25, noise=1.0 / 255)
    finish = LightFinish(img, _gain_model(img, 5.0))

    def decile(out: np.ndarray, q: float) -> float:
        y_in, y_out = _y(img).ravel(), _y(out).ravel()
        order = np.argsort(y_in)
        n = y_in.size // 10
        return float(y_out[order[:n]].mean() if q < 0.5 else y_out[order[-n:]].mean())

    base = finish(Knobs())
    lo, hi = finish(Knobs(gamma1=0.0)), finish(Knobs(gamma1=1.0))
    assert decile(lo, 0.1) < decile(base, 0.1) < decile(hi, 0.1)
    lo, hi = finish(Knobs(gamma2=0.0)), finish(Knobs(gamma2=1.0))
    assert decile(lo, 0.9) > decile(base, 0.9) > decile(hi, 0.9)
    lo, hi = finish(Knobs(degree=0.5)), finish(Knobs(degree=2.0))
    assert _y(lo).mean() < _y(base).mean() < _y(hi).mean()
    assert np.array_equal(finish(Knobs(degree=0.0)), img)


def test_a_crop_keeps_the_values_of_the_whole() -> None:
    img = _dark_photo(scale=0.1, noise=1.0 / 255)
    finish = LightFinish(img, _gain_model(img, 6.0))
    ys, xs = slice(100, 220), slice(150, 400)
    knobs = Knobs(degree=1.3, gamma1=0.7, gamma2=0.2, gamma3=0.8)
    np.testing.assert_array_equal(finish.crop(ys, xs)(knobs), finish(knobs)[ys, xs])


def test_shapes_must_match() -> None:
    with pytest.raises(ValueError, match="must be"):
        LightFinish(np.zeros((4, 4, 3), np.float32), np.zeros((4, 5, 3), np.float32))


def test_a_local_edit_holds_the_blacks_of_the_area_it_lights() -> None:
    """The toe's black level comes from the edited area: a dim area inside a photo with black
    corners is not taken for shadow detail and fogged."""
    img = _dark_photo(scale=0.25)
    img[:60, :60] = 0.0  # black elsewhere in the photo
    weight = np.zeros(img.shape[:2], np.float32)
    weight[150:350, 200:450] = 1.0
    own = _gain_model(img, 10.0)
    y_in = _y(img)[weight > 0]
    darkest = np.argsort(y_in)[: y_in.size // 100]

    def fog(finish: LightFinish) -> float:
        return float((_y(finish(Knobs()))[weight > 0][darkest] - y_in[darkest]).mean())

    assert fog(LightFinish(img, own, weight)) < fog(LightFinish(img, own))
    assert fog(LightFinish(img, own, weight)) <= 12.0


@pytest.mark.parametrize("n", [1, 2, 3, 10, 11, 4096, 4097])
def test_the_noise_median_is_numpys(n: int) -> None:
    """``finish._median`` (no numpy.ma import) gives ``np.median``'s value and dtype."""
    from limelight.core.finish import _median

    x = (np.random.default_rng(n).random(n, dtype=np.float32) ** 3).astype(np.float32)
    got, want = _median(x), np.median(x)
    assert got == want and got.dtype == want.dtype


@pytest.mark.parametrize("n", [1, 2, 3, 100, 101, 102, 4096, 4097, 250_001])
def test_the_toe_percentile_is_numpys(n: int) -> None:
    """``finish._percentile`` (no numpy.ma import) gives ``np.percentile``'s value, for
    the toe's 1st percentile and at other points (both halves of numpy's lerp)."""
    from limelight.core.finish import _percentile

    rng = np.random.default_rng(n)
    x = (rng.random(n, dtype=np.float32) ** 3).astype(np.float32)
    x[rng.random(n) < 0.3] = 0.25  # ties
    for q in (0.0, 1.0, 1.3, 37.5, 50.0, 99.0, 100.0):
        assert _percentile(x, q) == float(np.percentile(x, q)), q


def test_the_finish_is_the_same_in_threads_and_in_turn() -> None:
    """The finish's parts run in two threads, or in turn when OpenCV may use one thread (a
    batch of one job per core): every array is the same either way."""
    import cv2

    from limelight.core.finish import LightFinish

    rng = np.random.default_rng(7)
    img = (rng.random((90, 130, 3), dtype=np.float32) ** 3 * 0.3).astype(np.float32)
    own = np.clip(img * 3.0, 0.0, 1.0).astype(np.float32)
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(2)
        threaded = LightFinish(img, own)
        cv2.setNumThreads(1)
        in_turn = LightFinish(img, own)
    finally:
        cv2.setNumThreads(before)
    def arrays(finish: LightFinish) -> dict[str, np.ndarray]:
        out = {name: value for name, value in vars(finish).items() if name != "photo"}
        for name, value in vars(finish.photo).items():
            for k, v in enumerate(value if isinstance(value, tuple) else (value,)):
                out[f"{name}{k}"] = v
        return out

    want = arrays(in_turn)
    assert len(want) == 16  # 11 photo maps, 2 denoising steps, 3 of the gain
    for name, value in arrays(threaded).items():
        np.testing.assert_array_equal(value, want[name], err_msg=name)


def test_the_photos_part_made_alongside_gives_the_same_finish() -> None:
    """The network pass makes the finish's photo part in a second thread while the network
    runs (``photo_alongside``): the finish built on it is the one made in one go, and a
    mismatched photo part is refused."""
    import cv2

    from limelight.core.finish import FinishPhoto, photo_alongside

    img = _dark_photo(noise=0.01)[:120, :160]
    own = _gain_model(img, 6.0)
    weight = np.zeros(img.shape[:2], np.float32)
    weight[20:90, 30:120] = 1.0
    before = cv2.getNumThreads()
    try:
        for threads in (2, 1):
            cv2.setNumThreads(threads)
            photo, result = photo_alongside(img, weight, lambda: "ran")
            assert result == "ran"
            together = LightFinish(img, own, weight, photo)
            alone = LightFinish(img, own, weight)
            for knobs in (Knobs(), Knobs(degree=1.6, gamma1=0.9, gamma2=0.2, gamma3=0.9)):
                np.testing.assert_array_equal(together(knobs), alone(knobs))
    finally:
        cv2.setNumThreads(before)
    with pytest.raises(ValueError, match="photo's part"):
        LightFinish(img, own, weight, FinishPhoto.of(img[:60]))


def test_a_failed_network_is_reported_without_waiting_for_the_photos_part(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """When the network fails or is cancelled (the editor drops a pass the user has moved
    past), its error comes at once: the photo part still running is not waited for."""
    import threading

    import cv2

    from limelight.core import finish

    released = threading.Event()
    seen: list[bool] = []

    def slow_photo(img: np.ndarray, weight: np.ndarray | None) -> None:
        seen.append(released.wait(5.0))  # True only if the test released it

    monkeypatch.setattr(finish.FinishPhoto, "of", slow_photo)

    def network() -> None:
        raise RuntimeError("cancelled")

    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        with pytest.raises(RuntimeError, match="cancelled"):
            finish.photo_alongside(np.zeros((4, 4, 3), np.float32), None, network)
    finally:
        cv2.setNumThreads(before)
        released.set()
    for _ in range(100):
        if seen:
            break
        threading.Event().wait(0.05)
    assert seen == [True]


def test_a_crushed_black_stays_black_beside_a_dim_subject() -> None:
    """A network that lifts everything 30x: a neighbourhood within a code or two of 0 (40 %
    exact zeros, a dark JPEG's crushed blacks) stays near black without blotches, while a
    subject at 3-5 codes beside it is lit in full (a car's ceiling beside a face)."""
    rng = np.random.default_rng(0)
    codes = np.zeros((120, 160), np.float32)
    codes[:, :80] = rng.choice([0, 0, 1, 1, 2], size=(120, 80))
    codes[:, 80:] = rng.choice([3, 4, 5], size=(120, 80))
    img = np.repeat(codes[..., None], 3, axis=2) / np.float32(255.0)
    own = np.clip(img * 30 + 0.02, 0, 1).astype(np.float32)
    y = _y(LightFinish(img, own)(Knobs()))
    black, dim = y[:, 10:70], y[:, 90:150]
    assert black.mean() <= 6.0  # (a toe floor of 0.5 code: 19.5)
    assert np.percentile(black, 95) - np.percentile(black, 5) <= 10.0  # (24)
    assert dim.mean() >= 90.0  # 4 codes lifted ~30x (at either floor)
