"""Masks: shapes, rasterisation at any resolution, brush stamping, derived 2-channel masks."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage

from limelight.core.errors import MaskError
from limelight.core.masks import (
    Ellipse,
    MaskSpec,
    RasterMask,
    Stroke,
    StrokePainter,
    Subject,
    area_weights,
    circle_spec,
    derive_mask,
    protocol_mask,
    rasterize_area_a,
    stamp_stroke_segment,
)

cv2.setNumThreads(1)


def _radius_grid(h: int, w: int, cx: float, cy: float) -> np.ndarray:
    """Distance of every pixel centre from (cx, cy) in pixels."""
    yy, xx = np.mgrid[:h, :w].astype(np.float32) + 0.5
    return np.hypot(xx - cx, yy - cy)


# ------------------------------------------------------------------ shapes and rasterising


def test_no_shapes_is_the_whole_image_and_invert_applies_last():
    assert np.array_equal(rasterize_area_a(MaskSpec(), 5, 7), np.ones((5, 7), np.float32))
    inv = rasterize_area_a(MaskSpec(invert=True), 5, 7)
    assert inv.dtype == np.float32 and not inv.any()
    spec = MaskSpec(shapes=(Ellipse(0.5, 0.5, 0.2, 0.2),), invert=True)
    a = rasterize_area_a(spec, 100, 100)
    assert a[50, 50] == 0.0 and a[2, 2] == 1.0


def test_ellipse_area_centre_and_antialiased_edge():
    h, w = 300, 400
    a = rasterize_area_a(MaskSpec(shapes=(Ellipse(0.5, 0.5, 0.25, 0.3),)), h, w)
    assert a.shape == (h, w) and a.dtype == np.float32
    assert a.min() >= 0.0 and a.max() <= 1.0
    expected = math.pi * (0.25 * w) * (0.3 * h)
    assert a.sum() == pytest.approx(expected, rel=0.003)
    assert a[h // 2, w // 2] == 1.0 and a[0, 0] == 0.0
    # Partial values only on a thin edge: a circle's AA band is about one pixel wide.
    c = rasterize_area_a(MaskSpec(shapes=(Ellipse(0.5, 0.5, 0.3, 0.3),)), 300, 300)
    r = _radius_grid(300, 300, 150, 150)
    partial = (c > 0) & (c < 1)
    assert partial.any() and np.all(np.abs(r[partial] - 90) < 1.0)


def test_ellipse_angle_is_clockwise_on_screen():
    spec = MaskSpec(shapes=(Ellipse(0.5, 0.5, 0.4, 0.05, angle=45.0),))
    a = rasterize_area_a(spec, 200, 200)
    # Turning the x axis clockwise on screen (y down) points it down-right.
    assert a[100 + 50, 100 + 50] == 1.0
    assert a[100 - 50, 100 + 50] == 0.0
    vertical = rasterize_area_a(MaskSpec(shapes=(Ellipse(0.5, 0.5, 0.4, 0.05, angle=90),)),
                                200, 200)
    assert vertical[100 + 70, 100] == 1.0 and vertical[100, 100 + 70] == 0.0


def test_add_is_max_and_erase_multiplies():
    big = Ellipse(0.5, 0.5, 0.4, 0.4)
    small_erase = Ellipse(0.5, 0.5, 0.1, 0.1, mode="erase")
    a = rasterize_area_a(MaskSpec(shapes=(big, small_erase)), 100, 100)
    assert a[50, 50] == 0.0 and a[50, 20] == 1.0
    # Order matters: erasing before adding erases nothing.
    b = rasterize_area_a(MaskSpec(shapes=(small_erase, big)), 100, 100)
    assert b[50, 50] == 1.0
    erase_stroke = Stroke(((0.0, 0.5), (1.0, 0.5)), 0.05, mode="erase")
    c = rasterize_area_a(MaskSpec(shapes=(big, erase_stroke)), 100, 100)
    assert np.all(c[50, :] == 0.0) and c[30, 50] == 1.0


def test_fast_stroke_has_no_gaps_and_rounded_ends():
    # Two points far apart (a fast mouse move): the whole segment is painted.
    spec = MaskSpec(shapes=(Stroke(((0.1, 0.2), (0.9, 0.8)), radius=0.02),))
    h, w = 300, 500
    a = rasterize_area_a(spec, h, w)
    for t in np.linspace(0, 1, 200):
        x, y = (0.1 + 0.8 * t) * w, (0.2 + 0.6 * t) * h
        assert a[int(y), int(x)] > 0.99
    # A single point is a dot of the brush radius (radius is a fraction of the short side).
    dot = rasterize_area_a(MaskSpec(shapes=(Stroke(((0.5, 0.5),), radius=0.1),)), 200, 400)
    assert dot.sum() == pytest.approx(math.pi * 20**2, rel=0.02)


def test_stroke_hardness_sets_the_edge_softness():
    r = _radius_grid(201, 201, 100.5, 100.5)
    hard = rasterize_area_a(MaskSpec(shapes=(Stroke(((0.5, 0.5),), 0.2),)), 201, 201)
    partial = (hard > 0) & (hard < 1)
    assert np.all(np.abs(r[partial] - 40.2) < 1.0)
    soft = rasterize_area_a(MaskSpec(shapes=(Stroke(((0.5, 0.5),), 0.2, hardness=0.0),)),
                            201, 201)
    assert soft[100, 100] == 1.0
    half = soft[(r > 19) & (r < 21)]
    assert np.all((half > 0.3) & (half < 0.7))
    assert not soft[r > 41].any()
    # Softer brushes fall off monotonically from the centre line.
    profile = soft[100, 100:150]
    assert np.all(np.diff(profile) <= 1e-6)


@pytest.mark.parametrize("invert", [False, True])
def test_same_mask_at_two_resolutions(invert):
    spec = MaskSpec(
        shapes=(
            Ellipse(0.45, 0.55, 0.3, 0.2, angle=30.0),
            Stroke(((0.1, 0.1), (0.5, 0.3), (0.9, 0.2)), radius=0.03, hardness=0.5),
            Stroke(((0.05, 0.9), (0.95, 0.85)), radius=0.01, hardness=1.0),
            Stroke(((0.45, 0.3), (0.45, 0.8)), radius=0.04, hardness=0.7, mode="erase"),
        ),
        invert=invert,
    )
    small = rasterize_area_a(spec, 400, 600)
    large = rasterize_area_a(spec, 800, 1200)
    down = cv2.resize(large, (600, 400), interpolation=cv2.INTER_AREA)
    assert np.abs(small - down).mean() < 0.01
    assert 0.1 < small.mean() < 0.9


# ------------------------------------------------------------------ the editor's brush


def _stroke_by_segments(area, points, radius_px, hardness, mode):
    painter = StrokePainter(area, radius_px, hardness, mode)
    for p0, p1 in zip(points[:-1], points[1:], strict=True):
        painter.segment(p0, p1)


@pytest.mark.parametrize("mode", ["add", "erase"])
@pytest.mark.parametrize("hardness", [1.0, 0.3])
def test_painting_segment_by_segment_equals_the_rasteriser(mode, hardness):
    h, w = 240, 360
    rel = ((0.1, 0.2), (0.12, 0.22), (0.4, 0.5), (0.41, 0.52), (0.8, 0.3), (0.8, 0.3))
    base = Ellipse(0.5, 0.5, 0.3, 0.3, mode="add")
    stroke = Stroke(rel, radius=0.05, hardness=hardness, mode=mode)
    expected = rasterize_area_a(MaskSpec(shapes=(base, stroke)), h, w)
    area = rasterize_area_a(MaskSpec(shapes=(base,)), h, w)
    pts = [(x * w, y * h) for x, y in rel]
    _stroke_by_segments(area, pts, 0.05 * min(h, w), hardness, mode)
    np.testing.assert_array_equal(area, expected)


def test_stamp_segment_add_equals_rasteriser_and_touches_only_its_bbox():
    h, w = 200, 300
    rel = ((0.2, 0.2), (0.5, 0.6), (0.9, 0.1))
    expected = rasterize_area_a(MaskSpec(shapes=(Stroke(rel, 0.04, 0.6),)), h, w)
    area = np.zeros((h, w), np.float32)
    pts = [(x * w, y * h) for x, y in rel]
    for p0, p1 in zip(pts[:-1], pts[1:], strict=True):
        before = area.copy()
        y0, y1, x0, x1 = stamp_stroke_segment(area, p0, p1, 0.04 * h, 0.6, "add")
        outside = np.ones_like(area, bool)
        outside[y0:y1, x0:x1] = False
        assert np.array_equal(area[outside], before[outside])
        assert not np.array_equal(area, before)
    np.testing.assert_array_equal(area, expected)
    # Erase on a binary area equals the rasteriser's multiply; off-image stamps touch nothing.
    full = np.ones((h, w), np.float32)
    for p0, p1 in zip(pts[:-1], pts[1:], strict=True):
        stamp_stroke_segment(full, p0, p1, 0.04 * h, 0.6, "erase")
    np.testing.assert_allclose(full, 1.0 - expected, atol=1e-6)
    assert stamp_stroke_segment(full, (-500, -500), (-400, -450), 10, 1.0, "add") is None


def test_a_stamp_works_on_its_own_box_not_on_the_whole_preview():
    """Live painting keeps up on a 2 MP preview because a segment's work follows the brush,
    not the image: each stamp's box holds just the segment and the brush, and what it
    allocates is a few arrays of that box (its speed is timed by the benchmark)."""
    import tracemalloc

    area = np.zeros((1200, 1800), np.float32)
    rng = np.random.default_rng(0)
    pts = np.cumsum(rng.normal(0, 6, (201, 2)), axis=0) + (900, 600)
    radius = 40.0
    tracemalloc.start()
    try:
        for p0, p1 in zip(pts[:-1], pts[1:], strict=True):
            tracemalloc.reset_peak()
            held = tracemalloc.get_traced_memory()[0]
            y0, y1, x0, x1 = stamp_stroke_segment(area, tuple(p0), tuple(p1), radius, 0.7, "add")
            allocated = tracemalloc.get_traced_memory()[1] - held
            (dx, dy) = np.abs(p1 - p0)
            # (the brush reaches radius px around the segment; a pixel more for rounding a side)
            assert x1 - x0 <= dx + 2 * radius + 4 and y1 - y0 <= dy + 2 * radius + 4
            # about 6 float32 arrays of the box; one array of the whole preview is 8.6 MB
            assert allocated <= 16 * (y1 - y0) * (x1 - x0) * 4, (allocated, (y0, y1, x0, x1))
    finally:
        tracemalloc.stop()
    assert area.max() == 1.0


# ------------------------------------------------------------------ raster masks, subject


def test_raster_mask_8_and_16_bit_resized_and_relative(tmp_path: Path):
    yy, xx = np.mgrid[:100, :150]
    gradient = (xx / 149.0).astype(np.float32)
    PILImage.fromarray(np.round(gradient * 255).astype(np.uint8)).save(tmp_path / "m8.png")
    PILImage.fromarray(np.round(gradient * 65535).astype(np.uint16)).save(tmp_path / "m16.png")
    for name in ("m8.png", "m16.png"):
        a = rasterize_area_a(MaskSpec(shapes=(RasterMask(Path(name)),)), 200, 300,
                             base_dir=tmp_path)
        assert a.shape == (200, 300)
        assert a[:, 0].max() < 0.01 and a[:, -1].min() > 0.99
        assert a[100, 150] == pytest.approx(0.5, abs=0.01)
    erased = rasterize_area_a(
        MaskSpec(shapes=(Ellipse(0.5, 0.5, 2, 2), RasterMask(tmp_path / "m8.png", "erase"))),
        100, 150)
    np.testing.assert_allclose(erased, 1.0 - np.round(gradient * 255) / 255, atol=1e-6)


def test_raster_mask_errors_name_the_file(tmp_path: Path):
    with pytest.raises(MaskError, match="missing.png"):
        rasterize_area_a(MaskSpec(shapes=(RasterMask(tmp_path / "missing.png"),)), 10, 10)
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(MaskError, match="text.png"):
        rasterize_area_a(MaskSpec(shapes=(RasterMask(tmp_path / "text.png"),)), 10, 10)
    PILImage.new("L", (100, 100)).save(tmp_path / "square.png")
    with pytest.raises(MaskError, match=r"square.png.*100x100.*300x100"):
        rasterize_area_a(MaskSpec(shapes=(RasterMask(tmp_path / "square.png"),)), 100, 300)


def test_subject_uses_the_given_function_or_fails_clearly():
    def subject_fn(h, w):
        m = np.zeros((h, w), np.float32)
        m[: h // 2] = 1.0
        return m

    spec = MaskSpec(shapes=(Subject(),))
    a = rasterize_area_a(spec, 40, 60, subject_fn=subject_fn)
    assert a[:20].min() == 1.0 and a[20:].max() == 0.0
    with pytest.raises(MaskError, match=r"shapes\[0\].*subject"):
        rasterize_area_a(spec, 40, 60)
    with pytest.raises(MaskError, match="subject detector returned"):
        rasterize_area_a(spec, 40, 60, subject_fn=lambda h, w: np.zeros((h, w + 1)))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Stroke(((0.1, 0.1),), radius=-3), r"radius must be in \(0, 1\], got -3"),
        (lambda: Stroke(((0.1, 0.1),), radius=0.1, hardness=2), "hardness must be in"),
        (lambda: Stroke((), radius=0.1), "points must be a non-empty"),
        (lambda: Stroke(((0.1, 0.1, 3),), radius=0.1), r"points\[0\] must be an \[x, y\]"),
        (lambda: Stroke(((0.1, float("nan")),), radius=0.1), r"points\[0\]\[1\] must be finite"),
        (lambda: Ellipse(0.5, 0.5, 0.0, 0.1), "rx must be in"),
        (lambda: Ellipse(0.5, "a", 0.1, 0.1), "cy must be a number"),
        (lambda: Ellipse(0.5, 0.5, 0.1, 0.1, mode="paint"), "mode must be 'add' or 'erase'"),
        (lambda: MaskSpec(transition=-0.1), "transition must be in"),
        (lambda: MaskSpec(band="middle"), "band must be"),
        (lambda: MaskSpec(invert=1), "invert must be true or false"),
        (lambda: MaskSpec(shapes=("circle",)), r"shapes\[0\] must be"),
    ],
)
def test_shape_validation_names_the_field(make, message):
    with pytest.raises(MaskError, match=message):
        make()


# ------------------------------------------------------------------ derived masks


def _disk(h, w, radius):
    spec = MaskSpec(shapes=(Ellipse(0.5, 0.5, radius / w, radius / h),))
    return rasterize_area_a(spec, h, w), _radius_grid(h, w, w / 2, h / 2)


@pytest.mark.parametrize("precise", [False, True])
def test_outside_band_falls_smoothly_to_exactly_zero(precise):
    a, r = _disk(300, 400, 60.0)
    t = 30.0
    m = derive_mask(a, t, precise=precise)
    assert m.shape == (2, 300, 400) and m.dtype == np.float32
    np.testing.assert_array_equal(m[0], a)
    assert np.all(m[1] >= m[0])
    assert np.all(m[1][r < 59.5] == 1.0)
    slack = 1.0 + (0.0 if precise else 0.02 * t)
    assert np.all(m[1][r > 60 + t + slack] == 0.0)  # area C: exactly zero
    assert np.all(m[1][r < 60 + t - slack] > 0.0)
    # Smooth: no step larger than the smoothstep's steepest slope (1.5 / t per pixel).
    row = m[1, 150, 200:]
    assert np.all(np.diff(row) <= 1e-6)
    assert np.abs(np.diff(row)).max() < 1.6 / t
    # The falloff is half way at half the width.
    mid = m[1][np.abs(r - (60 + t / 2)) < 0.5]
    assert np.all(np.abs(mid - 0.5) < 0.1)


def test_inside_band_erodes_a_and_ends_at_its_edge():
    a, r = _disk(300, 300, 100.0)
    t = 20.0
    m = derive_mask(a, t, band="inside", precise=True)
    assert np.all(m[1] >= m[0])
    assert np.all(m[0][r < 100 - t - 1.5] == 1.0)
    assert np.all(m[0][r > 100 - t + 1.5] == 0.0)
    assert np.all(m[1][r > 100] == 0.0)
    assert np.all(m[1][r < 100 - t - 1.0] == 1.0)
    band = m[1][(r > 100 - t + 2) & (r < 98)]
    assert np.all((band > 0) & (band < 1))


def test_derive_mask_edge_cases():
    a, _ = _disk(50, 50, 10.0)
    m0 = derive_mask(a, 0.0)
    np.testing.assert_array_equal(m0[0], a)
    np.testing.assert_array_equal(m0[1], a)
    for band in ("outside", "inside"):
        empty = derive_mask(np.zeros((20, 30), np.float32), 5.0, band)
        assert not empty.any()
        # The image border is not an edge of A: the global setting stays whole.
        full = derive_mask(np.ones((20, 30), np.float32), 5.0, band)
        assert np.all(full == 1.0)
    with pytest.raises(MaskError, match="transition width"):
        derive_mask(a, -1.0)
    with pytest.raises(MaskError, match=r"\(H, W\)"):
        derive_mask(np.zeros((2, 5, 5)), 1.0)


def test_soft_area_a_keeps_channel1_above_channel0():
    spec = MaskSpec(shapes=(Stroke(((0.3, 0.5), (0.7, 0.5)), 0.15, hardness=0.0),))
    a = rasterize_area_a(spec, 200, 200)
    assert ((a > 0) & (a < 0.5)).sum() > 500  # a genuinely soft edge
    for t in (3.0, 25.0):
        m = derive_mask(a, t)
        assert np.all(m[1] >= m[0])
        np.testing.assert_array_equal(m[0], a)
        assert m[1][0, 0] == 0.0
    wa, wb, wc = area_weights(derive_mask(a, 25.0))
    assert min(wa.min(), wb.min(), wc.min()) >= 0.0
    np.testing.assert_allclose(wa + wb + wc, 1.0, atol=1e-6)


def test_protocol_mask_matches_the_ranlen_circle():
    h, w = 420, 600
    m = protocol_mask(h, w)
    r1 = 2 * min(h, w) / 7
    r2 = 1.225 * r1
    r = _radius_grid(h, w, w / 2, h / 2)
    assert m[0].sum() == pytest.approx(math.pi * r1 * r1, rel=0.005)
    support = r[m[1] > 0]
    assert r2 - 1.0 < support.max() < r2 + 1.0
    assert np.all(m[1][r < r1 - 0.5] == 1.0)
    spec = circle_spec(h, w)
    assert spec.transition == pytest.approx(0.225 * 2 / 7)
    (e,) = spec.shapes
    assert (e.rx * w, e.ry * h) == (pytest.approx(r1), pytest.approx(r1))
    wa, wb, wc = area_weights(m)
    assert wc[0, 0] == 1.0 and wa[h // 2, w // 2] == 1.0 and wb.max() > 0.9


@pytest.mark.parametrize("band", ["outside", "inside"])
def test_derive_mask_measures_distances_only_near_the_edge(monkeypatch, band):
    """derive_mask stays cheap at a megapixel because it runs one distance transform, the
    5x5 chamfer unless ``precise``, over the box within reach of A's edge, not over the
    whole image (its speed is timed by the benchmark)."""
    from limelight.core import masks

    calls: list[tuple[tuple[int, ...], int]] = []
    real = masks._distance

    def spy(binary: np.ndarray, mask_size: int) -> np.ndarray:
        calls.append((binary.shape, mask_size))
        return real(binary, mask_size)

    monkeypatch.setattr(masks, "_distance", spy)
    radius, t = 60.0, 20.0
    a, _ = _disk(1000, 1000, radius)
    expected = derive_mask(a, t, band)  # (the spy returns the real transform)
    ((shape, size),) = calls
    assert size == cv2.DIST_MASK_5
    reach = 2 * (radius + math.ceil(t) + 2) + 3  # the disk's box grown by the band's reach
    assert shape[0] <= reach and shape[1] <= reach, shape
    calls.clear()
    monkeypatch.setattr(masks, "_distance", real)
    np.testing.assert_array_equal(expected, derive_mask(a, t, band))
    monkeypatch.setattr(masks, "_distance", spy)
    derive_mask(a, t, band, precise=True)
    assert [size for _, size in calls] == [cv2.DIST_MASK_PRECISE]


@pytest.mark.parametrize("precise", [False, True])
def test_bands_around_a_hole_in_a(precise):
    """A = everything but a disk of radius 40: B reaches into the hole, not past its centre."""
    disk, r = _disk(240, 320, 40.0)
    a = 1.0 - disk
    t = 25.0
    slack = 1.0 + (0.0 if precise else 0.02 * t)
    m = derive_mask(a, t, precise=precise)
    assert np.all(m[1] >= m[0]) and np.all(m[1][r > 40.5] == 1.0)
    assert np.all(m[1][r < 40 - t - slack] == 0.0)
    assert np.all(m[1][r > 40 - t + slack] > 0.0)
    inside = derive_mask(a, t, "inside", precise=precise)
    assert np.all(inside[1][r < 40] == 0.0)
    assert np.all(inside[0][r > 40 + t + slack] == 1.0)  # the image border is not an edge
    assert np.all(inside[0][(r > 41) & (r < 40 + t - slack)] == 0.0)
    assert np.all(inside[1] >= inside[0])


def test_segments_get_the_band_inside_by_default_and_drawn_shapes_outside() -> None:
    """The RANLEN portrait scheme for segment masks (subject, smart selection): A is the
    eroded segment and B the rest of it, so nothing is lit outside the person."""
    from limelight.core.masks import RasterMask, Subject

    assert MaskSpec(shapes=(Subject(),)).effective_band == "inside"
    assert MaskSpec(shapes=(RasterMask("sel.png"), Subject("erase"))).effective_band == "inside"
    assert MaskSpec(shapes=(Subject(), Ellipse(0.5, 0.5, 0.2, 0.2))).effective_band == "outside"
    assert MaskSpec().effective_band == "outside"
    assert MaskSpec(shapes=(Subject(),), band="outside").effective_band == "outside"
    assert MaskSpec(shapes=(Subject(),), invert=True).effective_band == "outside"
    h, w = 60, 80
    seg = np.zeros((h, w), np.float32)
    seg[15:45, 20:60] = 1.0

    def subject_fn(hh: int, ww: int) -> np.ndarray:
        return seg

    spec = MaskSpec(shapes=(Subject(),), transition=0.1)
    from limelight.core.pipeline import _weight

    weight = _weight(spec, h, w, None, subject_fn)
    assert (weight[1][seg == 0] == 0).all()  # the band never leaves the segment
    assert weight[0].sum() < seg.sum()


def test_an_edge_aware_band_follows_the_photo_and_leaves_c_and_a_alone() -> None:
    """A circle whose band crosses a vertical edge (dark left, bright right): following the
    edges, the weight steps where the photo does; area C and area A are unchanged."""
    from limelight.core.masks import follow_edges

    h, w = 120, 160
    photo = np.zeros((h, w, 3), np.uint8)
    photo[:, 110:] = 40  # a dark photo: the edge still counts (normalised luminance)
    area = np.zeros((h, w), np.float32)
    cv2.circle(area, (70, 60), 30, 1.0, -1)
    mask = derive_mask(area, 20.0)
    edged = follow_edges(mask, photo, 20.0)
    assert np.array_equal(edged[0], mask[0])
    assert (edged[1][mask[1] == 0] == 0).all()  # area C stays area C
    assert (edged[1] >= edged[0]).all() and edged.max() <= 1.0
    row = 60  # through the centre: A ends at x = 100, the band at 120, the photo's edge is 110
    jump = np.abs(np.diff(edged[1, row, 95:125]))
    plain = np.abs(np.diff(mask[1, row, 95:125]))
    assert jump.max() > 2 * plain.max()  # a sharper step, where the photo steps
    assert int(np.argmax(jump)) + 95 in (108, 109, 110)
    assert edged[1, row, 111:119].mean() < 0.7 * mask[1, row, 111:119].mean()  # less spill
    with pytest.raises(MaskError, match="guide"):
        follow_edges(mask, photo[:10], 20.0)


def test_an_edge_aware_recipe_runs_through_the_pipeline(tiny_zoo: Path) -> None:
    from skimage import data

    from limelight.core.engine import Engine
    from limelight.core.pipeline import enhance_pixels
    from limelight.core.recompose import Knobs

    px = np.ascontiguousarray((data.astronaut()[::2, ::2] // 4).astype(np.uint8))
    spec = MaskSpec(shapes=(Ellipse(0.5, 0.5, 0.2, 0.2),), transition=0.1)
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    plain = enhance_pixels(px, spec, Knobs(), engine, model="tiny-fusion")
    edged = enhance_pixels(px, MaskSpec(shapes=spec.shapes, transition=0.1, edge_aware=True),
                           Knobs(), engine, model="tiny-fusion")
    assert not np.array_equal(plain, edged)
    far = np.zeros(px.shape[:2], bool)
    far[:20] = True  # well outside the ellipse and its band
    assert np.array_equal(edged[far], px[far])


def test_an_auto_mask_stroke_stops_at_an_edge_the_brush_crossed() -> None:
    """Issue 18, item 2: the auto-mask brush snaps to edges of the photo (guided filter)."""
    from limelight.core.masks import MaskSpec, Stroke, rasterize_area_a

    h, w = 80, 120
    photo = np.full((h, w, 3), 30, np.uint8)
    photo[:, 60:] = 120  # a sharp edge at x = 60
    points = tuple((0.4, y) for y in np.linspace(0.2, 0.8, 7))  # centre at x = 48
    plain = Stroke(points, radius=0.2, hardness=1.0)  # 16 px: spills 4 px past the edge
    auto = Stroke(points, radius=0.2, hardness=1.0, auto=True)
    drawn = rasterize_area_a(MaskSpec(shapes=(plain,)), h, w, guide=photo)
    snapped = rasterize_area_a(MaskSpec(shapes=(auto,)), h, w, guide=photo)
    rows = slice(30, 50)
    assert drawn[rows, 61:64].mean() > 0.9  # the plain brush crosses the edge
    assert snapped[rows, 61:64].mean() < 0.2  # the auto brush stops at it
    assert snapped[rows, 40:56].mean() > 0.9  # and keeps what it painted on its side
    # without the photo (no guide) an auto stroke is drawn as painted
    np.testing.assert_array_equal(rasterize_area_a(MaskSpec(shapes=(auto,)), h, w), drawn)
