"""Smart select (GrabCut + guided filter) on synthetic, seeded textured scenes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from limelight.core.errors import MaskError
from limelight.core.selection import (
    grabcut,
    guided_filter,
    parse_rect,
    refine_to,
    smart_select,
)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def textured_scene(seed: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A wobbly blob with a noisy orange checker texture on noisy teal stripes; both textures
    share some colours (brown patches in the background, teal specks on the object)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    s = min(height, width) / 160.0
    bg = np.stack([0.2 + 0.1 * np.sin((xx + yy) / (4 * s)),
                   0.5 + 0.15 * np.sin((xx - yy) / (5 * s)),
                   0.45 + 0.0 * xx], axis=-1)
    patches = cv2.GaussianBlur(rng.random((height, width)).astype(np.float32), (0, 0), 6 * s)
    brown = patches > np.quantile(patches, 0.85)
    bg[brown] = (0.55, 0.35, 0.2)
    cy, cx = 0.52 * height, 0.48 * width
    ang = np.arctan2(yy - cy, xx - cx)
    r = np.hypot((yy - cy) / (0.3 * height), (xx - cx) / (0.3 * width))
    true = r < 1 + 0.15 * np.sin(3 * ang + 1.0) + 0.08 * np.sin(5 * ang)
    chk = ((xx // (6 * s) + yy // (6 * s)) % 2).astype(np.float32)
    obj = np.stack([0.75 + 0.1 * chk, 0.4 + 0.15 * chk, 0.15 + 0.0 * chk], axis=-1)
    specks = rng.random((height, width)) < 0.03
    obj[specks] = (0.2, 0.5, 0.45)
    img = np.where(true[..., None], obj, bg) + rng.normal(0, 0.06, (height, width, 3))
    img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 0.7)
    return np.clip(img, 0, 1).astype(np.float32), true


def bounding_rect(mask: np.ndarray, margin: int) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return (int(xs.min()) - margin, int(ys.min()) - margin,
            int(xs.max() - xs.min()) + 2 * margin, int(ys.max() - ys.min()) + 2 * margin)


@pytest.mark.parametrize("seed", [0, 1])
def test_smart_select_reaches_iou_090_on_textured_scene(seed: int) -> None:
    img, true = textured_scene(seed, 160, 200)
    rect = bounding_rect(true, 8)
    x, y, w, h = rect
    assert true.sum() / (w * h) < 0.6  # the rectangle alone is far from the answer
    mask = smart_select(img, rect)
    assert mask.shape == true.shape and mask.dtype == np.float32
    assert mask.min() >= 0.0 and mask.max() <= 1.0
    assert iou(mask > 0.5, true) >= 0.9


def test_strokes_are_obeyed() -> None:
    img, true = textured_scene(2, 120, 150)
    rect = bounding_rect(true, 6)
    include = np.zeros_like(true)
    include[2:8, 2:30] = True  # background the user insists on
    exclude = np.zeros_like(true)
    cy, cx = np.argwhere(true).mean(axis=0).astype(int)
    exclude[cy - 4:cy + 4, cx - 4:cx + 4] = True  # a hole in the object
    mask = smart_select(img, rect, include, exclude)
    assert (mask[include] == 1.0).all()
    assert (mask[exclude] == 0.0).all()
    assert iou(mask > 0.5, true & ~exclude | include) >= 0.85


def test_large_input_runs_on_a_proxy_and_follows_full_res_edges() -> None:
    img, true = textured_scene(3, 480, 600)
    mask = smart_select(img, bounding_rect(true, 20), max_side=160)
    assert mask.shape == true.shape
    assert iou(mask > 0.5, true) >= 0.95


def test_refine_to_beats_bilinear_upsampling_at_edges() -> None:
    img, true = textured_scene(1, 480, 600)
    small_img = cv2.resize(img, (150, 120), interpolation=cv2.INTER_AREA)
    small_true = cv2.resize(true.astype(np.uint8), (150, 120),
                            interpolation=cv2.INTER_NEAREST).astype(bool)
    hard = grabcut(small_img, bounding_rect(small_true, 4)).astype(np.float32)
    bilinear = cv2.resize(hard, (600, 480), interpolation=cv2.INTER_LINEAR)
    refined = refine_to(hard, img)
    assert refined.shape == true.shape
    edge = cv2.morphologyEx(true.astype(np.uint8), cv2.MORPH_GRADIENT,
                            np.ones((9, 9), np.uint8)) > 0
    err_bilinear = np.abs(bilinear - true)[edge].mean()
    err_refined = np.abs(refined - true)[edge].mean()
    assert err_refined < 0.7 * err_bilinear
    assert iou(refined > 0.5, true) > iou(bilinear > 0.5, true)


def test_guided_filter_keeps_constants_and_edges() -> None:
    rng = np.random.default_rng(0)
    guide = np.zeros((40, 40, 3), np.float32)
    guide[:, 20:] = 1.0
    guide += rng.normal(0, 0.01, guide.shape).astype(np.float32)
    ones = guided_filter(guide, np.ones((40, 40), np.float32), 4)
    np.testing.assert_allclose(ones, 1.0, atol=1e-4)
    step = np.zeros((40, 40), np.float32)
    step[:, 18:] = 1.0  # misplaced by 2 px: the output's edge moves to the guide's
    jumps = np.diff(guided_filter(guide, step, 4, 1e-4).mean(axis=0))
    assert int(np.argmax(jumps)) == 19  # between columns 19 and 20, the guide's edge
    assert jumps[19] > 3 * jumps[17]


def test_bad_inputs_raise_mask_errors() -> None:
    img = np.zeros((20, 30, 3), np.float32)
    with pytest.raises(MaskError, match="2x2"):
        smart_select(img, (40, 40, 10, 10))
    with pytest.raises(MaskError, match="shape"):
        smart_select(img, (0, 0, 10, 10), include=np.zeros((5, 5), bool))
    with pytest.raises(MaskError, match=r"\(H, W, 3\)"):
        smart_select(np.zeros((20, 30), np.float32), (0, 0, 10, 10))
    with pytest.raises(MaskError, match="exclude"):
        smart_select(img, (0, 0, 10, 10), exclude=np.ones((20, 30), bool))


def test_rect_covering_the_whole_image_still_works() -> None:
    img, true = textured_scene(4, 100, 120)
    mask = smart_select(img, (0, 0, 120, 100))
    assert mask.shape == (100, 120)  # the border served as background samples


def test_parse_rect_pixels_and_fractions() -> None:
    assert parse_rect("10,20,30,40", 100, 200) == (10, 20, 30, 40)
    assert parse_rect("0.1, 0.2, 0.5, 0.5", 100, 200) == (20, 20, 100, 50)
    for bad in ("1,2,3", "a,b,c,d", "-1,0,5,5"):
        with pytest.raises(MaskError, match="--rect"):
            parse_rect(bad, 100, 200)


def test_segment_areas_default_and_portrait() -> None:
    from limelight.core.masks import RasterMask, Subject
    from limelight.core.selection import segment_areas, segment_spec

    seg = np.zeros((100, 120), np.float32)
    seg[30:70, 40:80] = 1.0
    outside = segment_areas(seg, 0.1)  # 10 px band
    portrait = segment_areas(seg, 0.1, portrait=True)
    assert outside.shape == portrait.shape == (2, 100, 120)
    # Default: A is the segment, B grows outside it.
    np.testing.assert_array_equal(outside[0], seg)
    assert outside[1, 50, 35] > 0 and outside[1, 50, 25] == 0
    # Portrait (RANLEN §5.2): A shrinks, B ends at the segment's edge, nothing outside.
    assert portrait[0].sum() < 0.6 * seg.sum() and portrait[0, 50, 60] == 1.0
    assert (portrait[1][seg == 0] == 0).all()
    assert 0 < portrait[1, 50, 43] < 1 and portrait[0, 50, 43] == 0
    spec = segment_spec(portrait=True, transition=0.05)
    assert spec.band == "inside" and spec.shapes == (Subject(),)
    assert segment_spec("m.png").shapes == (RasterMask(Path("m.png")),)


def test_cli_select_rect_in_pixels_and_fractions(tmp_path: Path) -> None:
    from PIL import Image

    from limelight.cli import main

    img, true = textured_scene(5, 160, 200)
    photo = tmp_path / "scene.png"
    Image.fromarray((img * 255 + 0.5).astype(np.uint8)).save(photo)
    x, y, w, h = bounding_rect(true, 8)
    for rect in (f"{x},{y},{w},{h}", f"{x / 200},{y / 160},{w / 200},{h / 160}"):
        out = tmp_path / "mask.png"
        assert main(["select", str(photo), "--rect", rect, "-o", str(out)]) == 0
        with Image.open(out) as im:
            assert im.mode == "L" and im.size == (200, 160)
            assert iou(np.asarray(im) > 127, true) >= 0.9
    assert main(["select", str(photo), "--rect", "1,2,3", "-o", str(out)]) == 2
    assert main(["select", str(photo), "--rect", rect, "-o", str(photo)]) == 2


def test_write_mask_png_is_atomic_and_protects_inputs(tmp_path: Path) -> None:
    from limelight.core.errors import ImageWriteError
    from limelight.core.selection import write_mask_png

    src = tmp_path / "in.png"
    src.write_bytes(b"photo")
    with pytest.raises(ImageWriteError):
        write_mask_png(src, np.zeros((4, 4)), protect=(src,))
    assert src.read_bytes() == b"photo"
    out = write_mask_png(tmp_path / "m.png", np.linspace(0, 1, 16).reshape(4, 4))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "m.png"]
    from PIL import Image

    assert np.asarray(Image.open(out))[3, 3] == 255
