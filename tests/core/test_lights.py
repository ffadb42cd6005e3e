"""Lights (issue 18, item 1): several lights applied in list order, each composited over the
result before it; pixels outside every light bit-identical; one light = the one-light edit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skimage import data

from limelight.core import pipeline
from limelight.core.engine import Engine
from limelight.core.imageio import Image, ImageMeta
from limelight.core.lights import Light, compose, legacy_light, whole_photo_light
from limelight.core.masks import Ellipse, MaskSpec, Whole, rasterize_area_a
from limelight.core.recipe import Recipe
from limelight.core.recompose import Knobs

LEFT = MaskSpec(shapes=(Ellipse(0.35, 0.5, 0.2, 0.25),), transition=0.04)
RIGHT = MaskSpec(shapes=(Ellipse(0.6, 0.5, 0.2, 0.25),), transition=0.04)


def _image() -> Image:
    img = data.astronaut()[::4, ::3].astype(np.float64) / 255.0  # 128 x 171, not square
    pixels = np.round(0.35 * img**2.2 * 255).astype(np.uint8)
    return Image(np.ascontiguousarray(pixels), ImageMeta())


def _outside(h: int, w: int) -> np.ndarray:
    far = np.ones((h, w), bool)
    for spec in (LEFT, RIGHT):
        grown = MaskSpec(shapes=tuple(Ellipse(e.cx, e.cy, e.rx + 0.08, e.ry + 0.1)
                                      for e in spec.shapes))
        far &= rasterize_area_a(grown, h, w) == 0
    return far


def test_overlapping_lights_apply_in_list_order(tiny_zoo: Path) -> None:
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    image = _image()
    h, w = image.pixels.shape[:2]
    a = Light("A", LEFT, Knobs(degree=1.6))
    b = Light("B", RIGHT, Knobs(degree=0.6, gamma1=0.9))
    one_a = pipeline.enhance_image(image, Recipe(lights=(a,)), engine)
    one_b = pipeline.enhance_image(image, Recipe(lights=(b,)), engine)
    ab = pipeline.enhance_image(image, Recipe(lights=(a, b)), engine)
    ba = pipeline.enhance_image(image, Recipe(lights=(b, a)), engine)
    far = _outside(h, w)
    assert far.sum() > 0.2 * far.size
    for out in (ab, ba):  # outside every light: the photo's own bytes
        np.testing.assert_array_equal(out[far], image.pixels[far])
    # B composited over A: where B's weight is 1, A's light is gone; the order matters
    core_b = rasterize_area_a(MaskSpec(shapes=(Ellipse(0.6, 0.5, 0.1, 0.15),)), h, w) == 1
    overlap = core_b & (rasterize_area_a(LEFT, h, w) == 1)
    assert overlap.sum() > 50
    np.testing.assert_array_equal(ab[core_b], one_b[core_b])
    assert np.abs(ab[overlap].astype(int) - ba[overlap].astype(int)).mean() > 2
    # only-A pixels keep A's light under B (B's weight 0 there)
    only_a = (rasterize_area_a(LEFT, h, w) == 1) & (rasterize_area_a(
        MaskSpec(shapes=(Ellipse(0.6, 0.5, 0.29, 0.36),)), h, w) == 0)
    assert only_a.sum() > 50
    np.testing.assert_array_equal(ab[only_a], one_a[only_a])


def test_hidden_and_empty_lights_change_nothing(tiny_zoo: Path) -> None:
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    image = _image()
    a = Light("A", LEFT, Knobs(degree=1.4))
    alone = pipeline.enhance_image(image, Recipe(lights=(a,)), engine)
    hidden = Light("hidden", RIGHT, Knobs(degree=2.0), visible=False)
    empty = Light("empty")  # no shapes: covers nothing
    both = pipeline.enhance_image(image, Recipe(lights=(hidden, a, empty)), engine)
    np.testing.assert_array_equal(both, alone)
    none = pipeline.enhance_image(image, Recipe(lights=()), engine)
    np.testing.assert_array_equal(none, image.pixels)


def test_one_light_gives_the_one_light_edits_bytes(tiny_zoo: Path) -> None:
    """A schema 2 edit (one mask, one set of knobs; no shapes = the whole image) and its
    migration to one light give the same bytes."""
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    image = _image()
    for mask in (LEFT, MaskSpec()):
        old = pipeline.enhance_image(image, Recipe(mask=mask, knobs=Knobs(1.3)), engine)
        new = pipeline.enhance_image(image, Recipe(lights=(legacy_light(mask, Knobs(1.3)),)),
                                     engine)
        np.testing.assert_array_equal(old, new)
    whole = pipeline.enhance_image(image, Recipe(lights=(whole_photo_light(),)), engine)
    assert whole.astype(float).mean() > image.pixels.astype(float).mean() + 3
    assert whole_photo_light().mask.shapes == (Whole(),)


def test_compose_is_the_documented_rule() -> None:
    rng = np.random.default_rng(3)
    img, e1, e2 = rng.random((3, 4, 5, 3), dtype=np.float32)
    w1, w2 = rng.random((2, 4, 5), dtype=np.float32)
    w1[0], w2[0] = 0.0, 0.0
    out = compose(img, [e1, e2], [w1, w2])
    step = img + w1[..., None] * (e1 - img)
    np.testing.assert_allclose(out, step + w2[..., None] * (e2 - step), atol=1e-6)
    np.testing.assert_array_equal(out[0], img[0])


def test_rows_rendered_alone_equal_the_export(tiny_zoo: Path, tmp_path: Path) -> None:
    """Issue 18, item 4: any band of rows (the editor's 1:1 view) equals the export's."""
    from PIL import Image as PILImage

    from limelight.core.imageio import read_image

    engine = Engine(tiny_zoo, device="cpu", threads=1)
    pixels = np.ascontiguousarray(data.astronaut()[:300, :400])
    for suffix, lights in ((".jpg", (Light("A", LEFT, Knobs(1.5)),)),  # the reduced-decode path
                           (".png", (Light("A", LEFT, Knobs(1.5)), Light("B", RIGHT)))):
        src = tmp_path / f"photo{suffix}"
        PILImage.fromarray(np.round(pixels * 0.3).astype(np.uint8)).save(src)
        recipe = Recipe(model="tiny-fusion", lights=lights)
        out = pipeline.process_file(src, tmp_path / "out.png", recipe, engine)
        exported = read_image(out).pixels
        image = read_image(src)
        plans = pipeline.export_plans(src, image, recipe, engine)
        rows = pipeline.apply_plans_rows(image.pixels, plans, 110, 190)
        np.testing.assert_array_equal(rows, exported[110:190])
        assert (rows != image.pixels[110:190]).any()
