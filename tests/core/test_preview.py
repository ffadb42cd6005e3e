"""The editor's preview is the export's computation on the proxy (``core.preview``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skimage import data

from limelight.core import pipeline
from limelight.core.engine import Engine
from limelight.core.masks import protocol_mask
from limelight.core.preview import PreviewMaps
from limelight.core.recompose import Knobs


def _dark_proxy(h: int, w: int) -> np.ndarray:
    import cv2

    img = cv2.resize(data.coffee(), (w, h), interpolation=cv2.INTER_AREA)
    return np.round(0.35 * (img / 255.0) ** 2.2 * 255).astype(np.uint8)


@pytest.mark.parametrize("model", ["tiny-fusion", "tiny-curve", "tiny-residual"])
@pytest.mark.parametrize("size", [(48, 60), (200, 300)])  # full-size and guided paths
def test_preview_equals_the_export_of_the_proxy(tiny_zoo: Path, model: str,
                                                size: tuple[int, int]) -> None:
    """At the model's working resolution the preview is byte-identical to what the export
    gives for a photo of the proxy's size, for several knob settings from one network run.
    (Except gamma3 < 1 at full size: the preview's DCT runs over the weight's box, not the
    whole image, which may move a value by one code.)"""
    display = _dark_proxy(*size)
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    mask = protocol_mask(*size)
    edge = engine.model(model).working_resolution
    maps = PreviewMaps.compute(engine, model, display, mask, edge)
    assert maps.full == (max(size) <= edge)
    for knobs in (Knobs(), Knobs(degree=1.7, gamma1=0.5), Knobs(degree=0.4, gamma3=0.3)):
        expected = pipeline.enhance_pixels_with_mask(display, mask, knobs, engine, model=model)
        got = maps.render(knobs, display)
        if maps.full and knobs.gamma3 < 1 and model == "tiny-fusion":
            assert np.abs(got.astype(int) - expected).max() <= 1
        else:
            np.testing.assert_array_equal(got, expected)
    # the editor passes the float proxy: the same up to the 8-bit rounding of the resize
    floats = PreviewMaps.compute(engine, model, display / np.float32(255), mask, edge)
    diff = np.abs(floats.render(Knobs(), display).astype(int) - maps.render(Knobs(), display))
    # (the guided fit's small eps lets a rare flat dark pixel move by more, and the finish's
    # gain multiplies the rounding difference of the darkest pixels)
    assert np.percentile(diff, 99.9) <= 3 and diff.mean() < 0.1


def test_fast_pass_is_smaller_and_area_c_is_exact(tiny_zoo: Path) -> None:
    display = _dark_proxy(200, 300)
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    mask = protocol_mask(200, 300)
    maps = PreviewMaps.compute(engine, "tiny-fusion", display / np.float32(255), mask, 32)
    assert max(maps.size) == 32 and not maps.full
    y0, y1, x0, x1 = maps.box  # type: ignore[misc]
    assert mask[1][:y0].max() == 0 and mask[1][y1:].max() == 0
    assert mask[1][y0:y1, x0:x1].max() > 0
    out = maps.render(Knobs(), display)
    c = mask[1] == 0
    np.testing.assert_array_equal(out[c], display[c])
    a = mask[0] == 1
    assert out[a].mean() > 1.3 * display[a].mean()
    np.testing.assert_array_equal(maps.render(Knobs(degree=0.0), display), display)


def test_a_slider_draft_is_close_to_the_exact_frame_and_keeps_area_c(tiny_zoo: Path) -> None:
    """While a slider moves, ``draft_plan`` finishes the box at about ``DRAFT_PIXELS`` and
    carries each channel's ratio to the proxy's pixels: area C stays the photo's bytes, the
    light is the exact one's within a few codes, and a small box needs no draft."""
    import cv2

    from limelight.core.preview import DRAFT_PIXELS, DraftPlan

    display = _dark_proxy(600, 900)
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    mask = protocol_mask(600, 900)
    maps = PreviewMaps.compute(engine, "tiny-fusion", display, mask, 900)
    assert maps.full and maps.box is not None
    y0, y1, x0, x1 = maps.box
    assert (y1 - y0) * (x1 - x0) > 2 * DRAFT_PIXELS
    for knobs in (Knobs(), Knobs(degree=1.6, gamma1=0.8), Knobs(degree=0.5, gamma2=0.9)):
        draft = maps.draft_plan(knobs)
        assert isinstance(draft, DraftPlan)
        exact = maps.render(knobs, display)
        got = maps.apply(draft, display)
        c = mask[1] == 0
        np.testing.assert_array_equal(got[c], display[c])
        assert cv2.PSNR(got, exact) > 30
        assert abs(got.mean() - exact.mean()) < 1.0
    small = PreviewMaps.compute(engine, "tiny-fusion", display[:200, :300],
                                protocol_mask(200, 300), 300)
    assert not isinstance(small.draft_plan(Knobs()), DraftPlan)  # the exact plan is cheap


def test_compositing_a_kept_plan_gives_the_export_bytes(tiny_zoo: Path) -> None:
    """``apply`` keeps a full-size plan's rounded enhancement (the lights above a moving one
    are composited again at each move): the bytes are ``apply_plan``'s, over the photo or
    over the lights below."""
    display = _dark_proxy(240, 360)
    rng = np.random.default_rng(3)
    under = rng.integers(0, 256, display.shape, dtype=np.uint8)
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    maps = PreviewMaps.compute(engine, "tiny-fusion", display, protocol_mask(240, 360), 360)
    assert maps.full and maps.box is not None
    y0, y1, x0, x1 = maps.box
    for knobs in (Knobs(), Knobs(degree=1.8, gamma2=0.9)):
        plan = maps.plan(knobs)
        for below in (display, under):
            expected = below.copy()
            expected[y0:y1, x0:x1] = pipeline.apply_plan(
                display[y0:y1, x0:x1], plan, None,
                base=None if below is display else below[y0:y1, x0:x1])
            for _ in range(2):  # computed, then kept
                np.testing.assert_array_equal(maps.apply(plan, display, under=below), expected)


def test_in_place_compositing_gives_the_same_bytes_and_writes_only_when_asked(
        tiny_zoo: Path) -> None:
    """During a drag the lights above the moving one are blended into its frame
    (``in_place``): the same bytes as a copy, and the frame under is left alone otherwise."""
    from limelight.core.preview import DraftPlan

    display = _dark_proxy(600, 900)
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    maps = PreviewMaps.compute(engine, "tiny-fusion", display, protocol_mask(600, 900), 900)
    rng = np.random.default_rng(5)
    under = rng.integers(0, 256, display.shape, dtype=np.uint8)
    for plan in (maps.plan(Knobs(degree=1.4)), maps.draft_plan(Knobs(degree=1.7))):
        kept = under.copy()
        copied = maps.apply(plan, display, under=under)
        np.testing.assert_array_equal(under, kept)  # not written
        frame = under.copy()
        got = maps.apply(plan, display, under=frame, in_place=True)
        assert got is frame
        np.testing.assert_array_equal(got, copied)
    assert isinstance(plan, DraftPlan)


def test_lights_above_a_draft_fold_into_one_step_within_a_code_each(tiny_zoo: Path) -> None:
    """During a drag of the lowest of three overlapping lights, ``FoldedAbove`` composites
    the two above it in one blend: outside the moving light's box the frame is the
    step-by-step composite's bytes, inside it differs by its roundings only (at most one
    code per light above), and a light above that is not a full-size plan is refused."""
    import cv2

    from limelight.core.masks import Ellipse, MaskSpec, derive_mask, rasterize_area_a
    from limelight.core.preview import DraftPlan, FoldedAbove

    h, w = 600, 900
    display = _dark_proxy(h, w)
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    maps = []
    for cx in (0.35, 0.5, 0.65):
        area = rasterize_area_a(MaskSpec(shapes=(Ellipse(cx, 0.5, 0.25, 0.3),)), h, w)
        maps.append(PreviewMaps.compute(engine, "tiny-fusion", display,
                                        derive_mask(area, 40.0), w))
    plans = [m.plan(Knobs(degree=d)) for m, d in zip(maps[1:], (1.3, 0.8), strict=True)]
    folded = FoldedAbove.fold(maps[0], display, display, list(zip(maps[1:], plans, strict=True)))
    assert folded is not None
    y0, y1, x0, x1 = maps[0].box  # type: ignore[misc]
    outside = np.ones((h, w), bool)
    outside[y0:y1, x0:x1] = False
    for degree in (1.2, 1.7):
        draft = maps[0].draft_plan(Knobs(degree=degree))
        assert isinstance(draft, DraftPlan)
        steps = maps[0].apply(draft, display)
        for m, plan in zip(maps[1:], plans, strict=True):
            steps = m.apply(plan, display, under=steps)
        got = folded.apply(draft, display)
        np.testing.assert_array_equal(got[outside], steps[outside])
        diff = np.abs(got.astype(int) - steps)
        assert diff.max() <= 2 and diff.mean() < 0.05
        assert cv2.PSNR(got, display) < 40  # (the light is there)
    draft_above = maps[1].draft_plan(Knobs(degree=1.1))
    assert FoldedAbove.fold(maps[0], display, display, [(maps[1], draft_above)]) is None
