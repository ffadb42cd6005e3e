"""Fuzz tests (issue #17, item 11): the recipe parser, the mask rasteriser and the image
loader, fed random and mutated input by Hypothesis. Anything raised that is not a
LimelightError fails. The budget is fixed (``max_examples``, derandomised so CI sees the same
cases every run; about 60 s in all on 2 cores); cases found are kept as ``@example``s.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

# Hypothesis keeps a folder of its own (.hypothesis) where it runs: not in the checkout.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY",
                      os.path.join(tempfile.gettempdir(), "limelight-hypothesis"))
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from limelight.core.errors import LimelightError  # noqa: E402
from limelight.core.imageio import read_image, read_preview  # noqa: E402
from limelight.core.masks import Ellipse, MaskSpec, Stroke, rasterize_area_a  # noqa: E402
from limelight.core.recipe import load_recipe, recipe_from_dict  # noqa: E402

FUZZ = settings(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ----------------------------------------------------------------------------- recipes

_scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**400),
                                                                     max_value=10**400)
            | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8))
_json = st.recursive(_scalars, lambda kids: st.lists(kids, max_size=4)
                     | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=20)
_keys = st.sampled_from(["limelight_recipe", "model", "knobs", "mask", "shapes", "type",
                         "ellipse", "stroke", "raster", "subject", "cx", "cy", "rx", "ry",
                         "angle", "mode", "points", "radius", "hardness", "path", "degree",
                         "gamma1", "transition", "invert", "band"])
#: Recipe-shaped documents: the known keys with values of any type, so the fuzzer reaches
#: the field validators rather than stopping at "unknown key".
_shape = st.fixed_dictionaries(
    {"type": st.sampled_from(["ellipse", "stroke", "raster", "subject"]) | _scalars},
    optional={k: _json for k in ("cx", "cy", "rx", "ry", "angle", "mode", "points", "radius",
                                 "hardness", "path")})
_recipe_doc = st.fixed_dictionaries(
    {"limelight_recipe": st.just(1) | _scalars},
    optional={"model": _scalars,
              "knobs": st.dictionaries(st.sampled_from(["degree", "gamma1", "gamma2",
                                                        "gamma3"]), _scalars) | _json,
              "mask": st.fixed_dictionaries({}, optional={
                  "shapes": st.lists(_shape, max_size=3) | _json,
                  "transition": _scalars, "invert": _scalars, "band": _scalars}) | _json})


def _parses_or_refuses(doc: object) -> None:
    try:
        recipe_from_dict(doc)
    except LimelightError as err:
        assert str(err) and "\n" not in str(err)


@settings(FUZZ, max_examples=2500)
@given(_recipe_doc | _json | st.dictionaries(_keys, _json, max_size=5))
@example({"limelight_recipe": 1, "knobs": {"degree": 10**400}})  # issue #17: OverflowError
@example({"limelight_recipe": 1, "mask": {"shapes": [
    {"type": "ellipse", "cx": 1e308, "cy": 0.5, "rx": 0.2, "ry": 0.2}]}})
@example({"limelight_recipe": 1, "mask": {"shapes": [
    {"type": "stroke", "points": [[10**400, 0]], "radius": 0.1}]}})
def test_recipe_documents_parse_or_name_the_field(doc: object) -> None:
    _parses_or_refuses(doc)


_valid = json.dumps({"limelight_recipe": 1, "model": "m", "knobs": {"degree": 0.5},
                     "mask": {"transition": 0.1, "shapes": [
                         {"type": "ellipse", "cx": 0.5, "cy": 0.5, "rx": 0.2, "ry": 0.3},
                         {"type": "stroke", "points": [[0.1, 0.2], [0.3, 0.4]],
                          "radius": 0.05}]}}).encode()


@settings(FUZZ, max_examples=1500)
@given(st.binary(max_size=300) | st.builds(
    lambda cut, pos, byte: _valid[:cut] if byte is None else
    _valid[:pos] + bytes([byte]) + _valid[pos + 1:],
    st.integers(0, len(_valid)), st.integers(0, len(_valid) - 1),
    st.none() | st.integers(0, 255)))
@example(b'{"limelight_recipe": ' + b"1" * 4301 + b"}")  # issue #17: int digits limit
@example(b"[" * 3000 + b"]" * 3000)  # issue #17: RecursionError
def test_recipe_files_load_or_refuse(tmp_path_factory: pytest.TempPathFactory,
                                     data: bytes) -> None:
    path = tmp_path_factory.mktemp("r") / "r.json"
    path.write_bytes(data)
    try:
        load_recipe(path)
    except LimelightError as err:
        assert "r.json" in str(err) and "\n" not in str(err)


# ----------------------------------------------------------------------------- masks

_pos = st.floats(-100, 100, allow_nan=False)
_ellipses = st.builds(Ellipse, _pos, _pos, st.floats(1e-6, 10), st.floats(1e-6, 10),
                      st.floats(-36000, 36000), st.sampled_from(["add", "erase"]))
_strokes = st.builds(Stroke, st.lists(st.tuples(_pos, _pos), min_size=1, max_size=12),
                     st.floats(1e-6, 1), st.floats(0, 1), st.sampled_from(["add", "erase"]))


@settings(FUZZ, max_examples=2500)
@given(st.lists(_ellipses | _strokes, max_size=4), st.booleans(), st.integers(1, 48),
       st.integers(1, 48))
@example([Ellipse(100.0, -100.0, 10.0, 10.0, 1e4)], False, 1, 1)
def test_rasterised_masks_are_finite_and_in_range(shapes: list, invert: bool,  # noqa: ANN001
                                                  height: int, width: int) -> None:
    area = rasterize_area_a(MaskSpec(shapes=tuple(shapes), invert=invert), height, width)
    assert area.shape == (height, width) and area.dtype == np.float32
    assert np.isfinite(area).all() and float(area.min()) >= 0.0 and float(area.max()) <= 1.0


@settings(FUZZ, max_examples=1500)
@given(st.lists(_json, min_size=1, max_size=6))
@example([1e308, 0.5, 0.2, 0.2])
@example([10**400, 0.5, 0.2, 0.2])
@example([[[0.5, math.inf]], 0.1])
def test_shape_constructors_refuse_with_mask_errors(args: list) -> None:  # noqa: ANN001
    for cls in (Ellipse, Stroke):
        try:
            cls(*args[:6] if cls is Ellipse else args[:4])
        except LimelightError as err:
            assert str(err)
        except TypeError:
            pass  # a wrong number of positional arguments: a programming error, not input


# ----------------------------------------------------------------------------- images


def _seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (12, 16, 3), np.uint8)
    out: dict[str, bytes] = {}
    for fmt, kw in (("JPEG", {"quality": 80}), ("PNG", {}), ("TIFF", {}), ("WEBP", {}),
                    ("BMP", {})):
        buf = io.BytesIO()
        PILImage.fromarray(rgb).save(buf, fmt, **kw)
        out[fmt] = buf.getvalue()
    return out


def _damaged_exif_jpeg() -> bytes:
    """Issue #17: an orientation entry cut short refused the whole photo (struct.error)."""
    import struct

    exif = b"II*\x00" + struct.pack("<IHHHI", 8, 1, 0x0112, 3, 1)
    buf = io.BytesIO()
    PILImage.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buf, "JPEG",
                                                           exif=b"Exif\x00\x00" + exif)
    return buf.getvalue()


SEEDS = _seeds()
SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif", "WEBP": ".webp", "BMP": ".bmp"}


@st.composite
def _mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    fmt = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[fmt])
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "zero"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif data:
            data[pos:pos + 4] = b"\xff\xff\xff\x7f"  # a huge size field, often
    return fmt, bytes(data)


def _loads_or_refuses(path: Path) -> None:
    for read in (read_image, lambda p: read_preview(p, 8)):
        try:
            image = read(path)
        except LimelightError as err:
            assert path.name in str(err) and "\n" not in str(err)
        else:
            assert image.pixels.ndim == 3 and image.pixels.shape[2] == 3
            assert image.pixels.dtype in (np.uint8, np.uint16)


@settings(FUZZ, max_examples=15000)
@given(_mutated())
@example(("JPEG", _damaged_exif_jpeg()))
def test_mutated_images_load_or_are_refused(tmp_path_factory: pytest.TempPathFactory,
                                            case: tuple[str, bytes]) -> None:
    fmt, data = case
    path = tmp_path_factory.mktemp("i") / f"photo{SUFFIX[fmt]}"
    path.write_bytes(data)
    _loads_or_refuses(path)


@settings(FUZZ, max_examples=1000)
@given(st.sampled_from(sorted(SUFFIX.values())), st.binary(max_size=200))
def test_random_bytes_are_refused(tmp_path_factory: pytest.TempPathFactory, suffix: str,
                                  data: bytes) -> None:
    path = tmp_path_factory.mktemp("b") / f"photo{suffix}"
    path.write_bytes(data)
    _loads_or_refuses(path)
