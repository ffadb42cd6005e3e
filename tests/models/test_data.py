"""Paired folders, synthesis, the mask sampler, augmentation and batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from limelight.core.errors import ImageReadError
from limelight.core.masks import derive_mask, rasterize_area_a
from limelight_models.data.augment import crop, flip_rotate, random_crop_box
from limelight_models.data.batches import BatchStream
from limelight_models.data.masks import MASK_KINDS, MaskSampler, circle_spec, mask_from_spec
from limelight_models.data.paired import PairedFolder
from limelight_models.data.synth import darken, pregenerate, source_images, synthesize


def _write_pairs(root: Path, names: list[str], size: tuple[int, int] = (40, 48), seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for sub in ("low", "high"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for n in names:
        high = rng.integers(60, 255, size=(*size, 3), dtype=np.uint8)
        PILImage.fromarray(high).save(root / "high" / n)
        PILImage.fromarray((high // 4).astype(np.uint8)).save(root / "low" / n)


def test_paired_folder_loads_sorted_pairs(tmp_path: Path) -> None:
    _write_pairs(tmp_path, ["b.png", "a.png"])
    pf = PairedFolder(tmp_path)
    assert [p.name for p in pf.pairs] == ["a.png", "b.png"]
    assert pf[0].low.shape == (40, 48, 3) and pf[0].low.dtype == np.uint8
    assert np.array_equal(pf[0].low, pf[0].high // 4)


def test_paired_folder_names_mismatched_files(tmp_path: Path) -> None:
    _write_pairs(tmp_path, ["a.png", "b.png"])
    (tmp_path / "high" / "b.png").rename(tmp_path / "high" / "c.png")
    with pytest.raises(ImageReadError, match=r"only in low/: \['b.png'\].*only in high/: \['c.png'\]"):
        PairedFolder(tmp_path)


def test_paired_folder_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="missing"):
        PairedFolder(tmp_path)


def test_darken_ranges_and_determinism() -> None:
    y = np.full((8, 8, 3), 0.8, np.float32)
    x = darken(y, np.random.default_rng(0))
    # beta (alpha y)^gamma with the DLN ranges: between 0.5*(0.72)^5 and 0.8^1.5
    assert np.all(x >= 0.5 * 0.72**5 - 1e-6) and np.all(x <= 0.8**1.5 + 1e-6)
    assert np.array_equal(x, darken(y, np.random.default_rng(0)))
    high = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    a, b = synthesize(high, np.random.default_rng(3)), synthesize(high, np.random.default_rng(3))
    assert a.dtype == np.uint8 and a.shape == high.shape and np.array_equal(a, b)
    assert a.astype(float).mean() < high.astype(float).mean()


def test_pregenerate_writes_a_paired_folder(tmp_path: Path) -> None:
    src = tmp_path / "photos"
    src.mkdir()
    for k in range(2):
        PILImage.fromarray(np.full((24, 32, 3), 120 + k, np.uint8)).save(src / f"p{k}.png")
    n = pregenerate(source_images([src]), tmp_path / "out", per_image=2, seed=0)
    assert n == 4
    pf = PairedFolder(tmp_path / "out")
    assert len(pf) == 4 and pf[0].low.mean() < pf[0].high.mean()


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_mask_sampler_kinds(kind: str) -> None:
    rng = np.random.default_rng(7)
    sampler = MaskSampler({kind: 1.0})
    spec = sampler.spec(rng, 64, 96)
    mask = mask_from_spec(spec, 64, 96)
    assert mask.shape == (2, 64, 96) and mask.dtype == np.float32
    assert np.all(mask[1] >= mask[0] - 1e-6) and mask.min() >= 0 and mask.max() <= 1
    # B derived exactly as the app derives it
    area = rasterize_area_a(spec, 64, 96)
    np.testing.assert_array_equal(mask, derive_mask(area, spec.transition_px(64, 96)))
    if kind == "global":
        assert np.all(mask == 1)
    else:
        assert 0 < mask[0].mean() < 1 and (mask[1] > mask[0] + 1e-3).any()


def test_circle_follows_the_paper() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        spec = circle_spec(rng, 70, 140)
        e = spec.shapes[0]
        assert e.rx * 140 == pytest.approx(20.0) and e.ry * 70 == pytest.approx(20.0)  # 2m/7
        assert 0.2 * 20 - 1e-9 <= spec.transition_px(70, 140) <= 0.25 * 20 + 1e-9


def test_mask_sampler_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="square"):
        MaskSampler({"square": 1.0})


def test_augment_keeps_low_high_mask_aligned() -> None:
    rng = np.random.default_rng(0)
    base = rng.uniform(size=(30, 40, 3)).astype(np.float32)
    mask = base[..., :2].copy()
    for seed in range(8):
        r = np.random.default_rng(seed)
        box = random_crop_box(r, 30, 40, 20)
        low, high, m = flip_rotate(crop([base * 0.25, base, mask], box), r)
        assert low.shape == high.shape == (20, 20, 3) and m.shape == (20, 20, 2)
        np.testing.assert_allclose(low * 4, high, rtol=1e-6)
        np.testing.assert_array_equal(m, high[..., :2])


def test_batch_stream_shapes_and_ranges(tmp_path: Path) -> None:
    _write_pairs(tmp_path / "real", ["a.png", "b.png"], size=(80, 96))
    _write_pairs(tmp_path / "syn", ["c.png"], size=(80, 96), seed=1)
    stream = BatchStream(PairedFolder(tmp_path / "real").pairs, PairedFolder(tmp_path / "syn").pairs,
                         0.5, MaskSampler({"circle": 1, "global": 1}), batch_size=3,
                         crop_min=32, crop_max=64)
    rng = np.random.default_rng(0)
    for _ in range(4):
        b = stream.next(rng)
        n, c, h, w = b.low.shape
        assert (n, c) == (3, 3) and h == w and 32 <= h <= 64 and h % 16 == 0
        assert b.high.shape == b.low.shape and b.mask.shape == (3, 2, h, w)
        assert float(b.low.min()) >= 0 and float(b.high.max()) <= 1
        # low is high // 4 in these files: alignment survives crops/flips/rotations
        assert np.allclose((b.high * 255).round().numpy() // 4, (b.low * 255).round().numpy())


def test_mixed_exposure_pairs_have_dark_and_bright_sides() -> None:
    """With mixed exposure the synthetic input is darker than the photo somewhere and
    brighter elsewhere (the over-exposed part), so I_O has something to correct."""
    from limelight_models.data.synth import SynthParams, exposure_field

    rng = np.random.default_rng(0)
    field = exposure_field(60, 90, rng)
    assert field.shape == (60, 90, 1) and field.min() >= 0 and field.max() <= 1
    assert field.max() - field.min() > 0.5
    high = np.full((60, 90, 3), 128, np.uint8)
    params = SynthParams(mixed_probability=1.0, jpeg_probability=0.0)
    low = synthesize(high, np.random.default_rng(5), params).astype(float)
    assert (low < 100).mean() > 0.1 and (low > 150).mean() > 0.05
    plain = synthesize(high, np.random.default_rng(5), SynthParams(jpeg_probability=0.0))
    assert (plain > 150).mean() == 0
