"""Compositing, guided upsampling and the full-resolution pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skimage import data

from limelight.core import network, pipeline
from limelight.core.engine import Engine
from limelight.core.errors import ImageWriteError
from limelight.core.finish import fade_band_darkening
from limelight.core.imageio import read_image, write_image
from limelight.core.masks import Ellipse, MaskSpec
from limelight.core.recipe import Recipe
from limelight.core.recompose import FAMILIES, Knobs

SPOT = MaskSpec(shapes=(Ellipse(0.4, 0.5, 0.15, 0.2),), transition=0.05)


def _dark(bits: int = 8, size: tuple[int, int] | None = None) -> np.ndarray:
    """A dark photo (astronaut, gamma 2.2, x0.35), optionally resized, 8 or 16 bit."""
    img = data.astronaut().astype(np.float64) / 255.0
    if size is not None:
        import cv2

        img = cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    dark = 0.35 * img**2.2
    if bits == 8:
        return np.round(dark * 255).astype(np.uint8)
    rng = np.random.default_rng(1)
    return np.round(dark * 65535 + rng.integers(0, 200, dark.shape)).astype(np.uint16)


def _far_from_spot(h: int, w: int) -> np.ndarray:
    """Pixels clearly in area C of SPOT (outside the ellipse plus the band plus 3 px)."""
    yy, xx = np.mgrid[0:h, 0:w]
    band = 0.05 * min(h, w) + 3
    rx, ry = 0.15 * w + band, 0.2 * h + band
    return ((xx - 0.4 * w) / rx) ** 2 + ((yy - 0.5 * h) / ry) ** 2 > 1.0


def _lum(x: np.ndarray) -> float:
    return float(x.astype(np.float64).mean())


def test_composite_weight_zero_is_exact_and_one_is_enhanced() -> None:
    rng = np.random.default_rng(0)
    img, enh = rng.random((2, 5, 6, 3), dtype=np.float32)
    weight = np.zeros((5, 6), np.float32)
    weight[:, 3:] = 1.0
    weight[0, 0] = 0.5
    out = pipeline.composite(img, enh, weight)
    assert np.array_equal(out[1:, :3], img[1:, :3])
    np.testing.assert_allclose(out[:, 3:], enh[:, 3:], atol=1e-6)
    np.testing.assert_allclose(out[0, 0], (img[0, 0] + enh[0, 0]) / 2, atol=1e-6)


def test_guided_upsample_reproduces_a_global_affine_map() -> None:
    import cv2

    full = (_dark(8, (128, 192)).astype(np.float32) / 255) * 1.5

    low = cv2.resize(full, (48, 32), interpolation=cv2.INTER_AREA)
    target = 1.6 * low + 0.05
    out = pipeline.guided_upsample(low, target, full)
    expected = np.clip(1.6 * full + 0.05, 0, 1)
    assert np.abs(out - expected).mean() < 2e-3 and np.abs(out - expected).max() < 0.05


def test_upsample_rows_matches_cv2_resize_in_chunks() -> None:
    import cv2

    low = np.random.default_rng(0).random((7, 9, 3), dtype=np.float32)
    whole = cv2.resize(low, (41, 30), interpolation=cv2.INTER_LINEAR)
    parts = [pipeline._upsample_rows(low, 30, 41, y, min(30, y + 8)) for y in range(0, 30, 8)]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-5)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("bits", [8, 16])
def test_area_a_brighter_area_c_exact(tiny_zoo: Path, family: str, bits: int) -> None:
    pixels = _dark(bits, (300, 420))  # 420 px > working resolution 64: the guided path
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    out = pipeline.enhance_pixels(pixels, SPOT, Knobs(), engine, model=f"tiny-{family}")
    assert out.dtype == pixels.dtype and out.shape == pixels.shape
    c = _far_from_spot(300, 420)
    assert np.array_equal(out[c], pixels[c])
    inside = np.zeros((300, 420), bool)
    inside[130:170, 150:190] = True  # centre of the ellipse: area A
    assert _lum(out[inside]) > 1.3 * _lum(pixels[inside])


def test_small_image_runs_at_full_size(tiny_zoo: Path) -> None:
    """A photo within the working resolution: the network sees its pixels and the output is
    the finish of the model's own output (tiny-residual: I + 0.5 (1 - I)(mean(I) + 0.5))."""
    from limelight.core.finish import LightFinish

    pixels = _dark(8, (40, 50))
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    knobs = Knobs(degree=1.4, gamma1=0.8)
    out = pipeline.enhance_pixels(pixels, MaskSpec(), knobs, engine, model="tiny-residual")
    img = pixels.astype(np.float32) / 255
    lum = img.mean(axis=2, keepdims=True)
    own = np.clip(img + 0.5 * (1 - img) * (lum + 0.5), 0, 1)
    expected = LightFinish(img, own)(knobs)
    assert np.abs(out.astype(np.int16) - np.round(expected * 255)).max() <= 1


def test_degree_zero_returns_the_input(tiny_zoo: Path) -> None:
    from limelight.core.imageio import Image

    engine = Engine(tiny_zoo, device="cpu", threads=1)
    pixels = _dark(16, (90, 120))
    image = read_image(_write_tmp(tiny_zoo.parent / "d.png", pixels))
    recipe = Recipe(knobs=Knobs(degree=0.0), mask=SPOT)
    out = pipeline.enhance_image(image, recipe, engine)
    assert isinstance(image, Image) and np.array_equal(out, image.pixels)


def _write_tmp(path: Path, pixels: np.ndarray) -> Path:
    return write_image(path, pixels)


@pytest.mark.parametrize(("suffix", "bits"), [(".png", 8), (".png", 16), (".tif", 16)])
def test_area_c_bit_identical_through_files(
    tiny_zoo: Path, tmp_path: Path, suffix: str, bits: int
) -> None:
    pixels = _dark(bits, (240, 330))
    src = _write_tmp(tmp_path / f"in{suffix}", pixels)
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    dst = pipeline.process_file(src, tmp_path / f"out{suffix}", Recipe(mask=SPOT), engine)
    back = read_image(dst).pixels
    assert back.dtype == pixels.dtype
    c = _far_from_spot(240, 330)
    assert np.array_equal(back[c], pixels[c])
    assert not np.array_equal(back, pixels)
    assert _lum(back[~c]) > _lum(pixels[~c])


def test_process_file_refuses_to_overwrite_the_input(tiny_zoo: Path, tmp_path: Path) -> None:
    src = _write_tmp(tmp_path / "in.png", _dark(8, (32, 32)))
    before = src.read_bytes()
    engine = Engine(tiny_zoo, device="cpu")
    with pytest.raises(ImageWriteError, match="overwrite the input"):
        pipeline.process_file(src, tmp_path / "." / "in.png", Recipe(), engine)
    assert src.read_bytes() == before


def test_sample_photo_is_bundled() -> None:
    path = pipeline.sample_photo_path()
    assert path.is_file()
    image = read_image(path)
    assert image.meta.format == "JPEG" and image.pixels.mean() < 60  # a dark photo


@pytest.mark.parametrize("family", ["curve", "residual"])
@pytest.mark.parametrize("bits", [8, 16])
def test_guided_path_matches_running_at_full_size(tiny_zoo: Path, family: str, bits: int,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Every channel of the upsampled result follows the model run on the full image (these
    tiny models are pointwise, so the two should agree up to the guided filter's fit; the
    finish, whose filters and statistics depend on the resolution, is replaced by the
    model's own pointwise output here)."""
    from dataclasses import replace

    from limelight.core.finish import LightFinish
    from limelight.core.recompose import OWN, Recomposer
    from limelight.core.zoo import Zoo

    class _Own:
        def __init__(self, img: np.ndarray, own: np.ndarray) -> None:
            self.img, self.own = img, own

        @classmethod
        def of_maps(cls, family: str, img: np.ndarray, maps: dict,
                    weight: np.ndarray | None = None, photo: object = None) -> _Own:
            return cls(img, Recomposer(family, img, maps)(OWN))

        def __call__(self, knobs: Knobs) -> np.ndarray:
            return self.own

    monkeypatch.setattr(network, "LightFinish", _Own)
    assert LightFinish is not _Own

    pixels = _dark(bits, (256, 384))
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    zoo = engine.zoo
    full_zoo = Zoo(tuple(replace(m, working_resolution=4096) for m in zoo.models),
                   zoo.default, zoo.root)
    spec = MaskSpec()  # global: every pixel is A
    out = pipeline.enhance_pixels(pixels, spec, Knobs(), engine, model=f"tiny-{family}")
    ref = pipeline.enhance_pixels(pixels, spec, Knobs(), Engine(full_zoo, device="cpu"),
                                  model=f"tiny-{family}")
    maxv = np.iinfo(pixels.dtype).max
    diff = np.abs(out.astype(np.float64) - ref) / maxv
    assert diff.mean(axis=(0, 1)).max() < 0.01  # per channel, < 1 % of the range on average
    assert np.abs(out.astype(np.float64) - pixels).mean() / maxv > 0.05


@pytest.mark.parametrize("size", [(40, 50), (300, 420)])  # full-size and guided paths
def test_a_given_mask_is_the_mask_applied(tiny_zoo: Path, size: tuple[int, int]) -> None:
    from limelight.core.masks import protocol_mask

    pixels = _dark(8, size)
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    mask = protocol_mask(*size)
    out = pipeline.enhance_pixels_with_mask(pixels, mask, Knobs(), engine, model="tiny-fusion")
    c = mask[1] == 0
    assert c.any() and np.array_equal(out[c], pixels[c])
    a = mask[0] == 1
    assert _lum(out[a]) > 1.3 * _lum(pixels[a])
    with pytest.raises(ValueError, match="mask must be"):
        pipeline.enhance_pixels_with_mask(pixels, mask[:, :-1], Knobs(), engine)


@pytest.mark.parametrize("window", [(0, 41), (5, 23), (30, 41)])
def test_upsample_rows_in_column_windows(window: tuple[int, int]) -> None:
    import cv2

    low = np.random.default_rng(1).random((7, 9, 3), dtype=np.float32)
    whole = cv2.resize(low, (41, 30), interpolation=cv2.INTER_LINEAR)
    x0, x1 = window
    part = pipeline._upsample_rows(low, 30, 41, 3, 17, x0, x1)
    np.testing.assert_allclose(part, whole[3:17, x0:x1], atol=1e-5)
    single = pipeline._upsample_rows(low[..., 0], 30, 41, 3, 17, x0, x1)
    np.testing.assert_allclose(single, whole[3:17, x0:x1, 0], atol=1e-5)


def test_jpeg_export_overlaps_decode_and_network(tiny_zoo: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A JPEG larger than the working resolution is enhanced from a reduced decode that runs
    beside the full one: the result matches the sequential path closely (the working image
    differs by the decoders' rounding) and area C is still the input's decoded pixels."""
    pixels = _dark(8, (480, 660))
    src = tmp_path / "in.jpg"
    write_image(src, pixels, quality=95)
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    early: list[object] = []
    real = pipeline._early_work
    monkeypatch.setattr(pipeline, "_early_work", lambda *a: early.append(real(*a)) or early[-1])
    dst = pipeline.process_file(src, tmp_path / "out.png", Recipe(mask=SPOT), engine)
    assert len(early) == 1 and early[0] is not None  # the overlapped path ran
    out = read_image(dst).pixels
    decoded = read_image(src).pixels
    sequential = pipeline.enhance_image(read_image(src), Recipe(mask=SPOT), engine)
    c = _far_from_spot(480, 660)
    assert np.array_equal(out[c], decoded[c])
    diff = np.abs(out.astype(int) - sequential)
    assert diff.mean() < 0.5 and np.percentile(diff, 99) <= 3
    assert _lum(out[~c]) > 1.2 * _lum(decoded[~c])


def test_truncated_jpeg_fails_cleanly_on_the_overlapped_path(tiny_zoo: Path,
                                                             tmp_path: Path) -> None:
    from limelight.core.errors import ImageReadError

    src = tmp_path / "cut.jpg"
    write_image(src, _dark(8, (480, 660)), quality=95)
    src.write_bytes(src.read_bytes()[:4000])
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    with pytest.raises(ImageReadError, match="cut.jpg|truncated|decode"):
        pipeline.process_file(src, tmp_path / "out.jpg", Recipe(mask=SPOT), engine)
    assert not (tmp_path / "out.jpg").exists()


def test_band_darkening_fades_out_by_the_middle_of_the_band() -> None:
    """Darkening (enhanced < input) is kept in area A, halved at weight 0.75, gone at 0.5 and
    below; brightening is untouched everywhere; no band means no change."""
    img = np.full((1, 6, 3), 0.5, np.float32)
    enhanced = img.copy()
    enhanced[0, :3] = 0.3  # darker than the input
    enhanced[0, 3:] = 0.8  # brighter
    weight = np.array([[1.0, 0.75, 0.5, 1.0, 0.75, 0.2]], np.float32)
    out = fade_band_darkening(img, enhanced, weight)
    np.testing.assert_allclose(out[0, :, 0], [0.3, 0.4, 0.5, 0.8, 0.8, 0.8], atol=1e-6)
    assert enhanced[0, 1, 0] == np.float32(0.3)  # the input array is not modified
    whole = np.ones((1, 6), np.float32)
    assert fade_band_darkening(img, enhanced, whole) is enhanced


class _DarkeningEngine:
    """A stand-in Engine whose model (residual family) darkens every pixel by 0.2."""

    class _Info:
        name, working_resolution = "dark", 4096

    class _Maps:
        family = "residual"

        def __init__(self, img: np.ndarray) -> None:
            self.img, self.maps = img, {"residual": np.full_like(img, -0.2)}

    def model(self, name: str | None = None) -> _Info:
        return self._Info()

    def run(self, name: str | None, img: np.ndarray, mask: np.ndarray) -> _Maps:
        return self._Maps(img)


def test_the_band_never_darkens_its_outer_half_through_the_pipeline() -> None:
    """With highlights tamed in full (gamma2 = 1, which may pull bright pixels below the
    input; the model's own darkening is never applied: the finish's gain is >= 1), area A is
    darkened, band pixels with weight <= 0.5 are left no darker than the input where the network saw
    every pixel, and nearly so through the guided transfer (which smooths the fade: without
    it, 60 % of them were darker by more than 2 levels, 7 on average), and area C is the
    input."""
    from limelight.core.masks import derive_mask, rasterize_area_a
    from limelight.core.preview import PreviewMaps

    engine = _DarkeningEngine()
    px = np.ascontiguousarray(data.coffee())  # 400 x 600
    h, w = px.shape[:2]
    spec = MaskSpec(shapes=(Ellipse(0.5, 0.5, 0.25, 0.3),), transition=0.15)
    mask = derive_mask(rasterize_area_a(spec, h, w), spec.transition_px(h, w), spec.band)
    knobs = Knobs(degree=1.0, gamma2=1.0)
    outer = (mask[1] > 0) & (mask[1] <= 0.5)
    area_a, area_c = mask[1] >= 1.0, mask[1] == 0
    assert outer.any() and area_a.any()
    full = [pipeline.enhance_pixels_with_mask(px, mask, knobs, engine),  # type: ignore[arg-type]
            PreviewMaps.compute(engine, None, px, mask, max(h, w)).render(knobs, px)]
    transferred = PreviewMaps.compute(engine, None, px, mask, 200).render(knobs, px)
    for out in [*full, transferred]:
        assert out[area_a].mean() < px[area_a].mean() - 3
        assert (out[area_c] == px[area_c]).all()
    for out in full:
        assert (out[outer].astype(int) >= px[outer].astype(int)).all()
    diff = transferred[outer].astype(int) - px[outer].astype(int)
    assert diff.mean() > -0.5 and (diff < -2).mean() < 0.02
