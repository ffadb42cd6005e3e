"""Tests for limelight.core.imageio: round trips, metadata, odd inputs, bad inputs, atomicity."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image as PILImage
from PIL import ImageOps

from limelight.core import atomic
from limelight.core.errors import ImageReadError, ImageWriteError
from limelight.core.imageio import (
    Image,
    ImageMeta,
    from_float,
    read_image,
    read_preview,
    to_float,
    write_image,
)
from limelight.core.imageio_meta import exif_orientation


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / mse)


def pil_exif(path: Path) -> PILImage.Exif:
    with PILImage.open(path) as im:
        return im.getexif()


# --------------------------------------------------------------------------- float <-> int


def test_float_round_trip_is_exact_for_every_8_and_16_bit_value() -> None:
    for dtype, depth in ((np.uint8, 8), (np.uint16, 16)):
        values = np.arange(np.iinfo(dtype).max + 1, dtype=dtype)
        f = to_float(values)
        assert f.dtype == np.float32 and f.min() == 0.0 and f.max() == 1.0
        np.testing.assert_array_equal(from_float(f, depth), values)


def test_from_float_clips_rounds_and_maps_nan_to_zero() -> None:
    img = np.array([-0.5, 0.0, 1.4 / 255, 1.6 / 255, 1.0, 2.0, np.nan], dtype=np.float32)
    np.testing.assert_array_equal(from_float(img, 8), [0, 0, 1, 2, 255, 255, 0])
    assert from_float(img, 16).dtype == np.uint16
    with pytest.raises(ValueError):
        from_float(img, 12)


def test_image_validates_pixels_and_exposes_float_view(rgb16: np.ndarray) -> None:
    image = Image(rgb16, ImageMeta(bit_depth=16))
    assert (image.height, image.width) == (40, 60)
    np.testing.assert_allclose(image.img, rgb16 / 65535.0, atol=1e-7)
    with pytest.raises(ValueError):
        Image(rgb16[..., 0], ImageMeta())


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("suffix", [".png", ".tif", ".tiff"])
@pytest.mark.parametrize("depth", [8, 16])
def test_lossless_round_trip_is_bit_exact(tmp_path: Path, rgb8, rgb16, suffix: str, depth: int) -> None:
    pixels = rgb8 if depth == 8 else rgb16
    out = write_image(tmp_path / f"out{suffix}", pixels)
    image = read_image(out)
    assert image.pixels.dtype == pixels.dtype and image.meta.bit_depth == depth
    assert image.meta.format == ("PNG" if suffix == ".png" else "TIFF")
    np.testing.assert_array_equal(image.pixels, pixels)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_float_pixels_are_quantised_to_the_requested_depth(tmp_path: Path, rgb16, suffix: str) -> None:
    out = write_image(tmp_path / f"f{suffix}", to_float(rgb16), bit_depth=16)
    np.testing.assert_array_equal(read_image(out).pixels, rgb16)
    meta8 = ImageMeta(bit_depth=8)
    assert read_image(write_image(tmp_path / f"g{suffix}", to_float(rgb16), meta=meta8)).pixels.dtype == np.uint8


def test_bmp_and_lossless_webp_round_trip(tmp_path: Path, rgb8) -> None:
    np.testing.assert_array_equal(read_image(write_image(tmp_path / "a.bmp", rgb8)).pixels, rgb8)
    webp = read_image(write_image(tmp_path / "a.webp", rgb8, quality=95))
    assert webp.meta.format == "WEBP" and psnr(webp.pixels, rgb8) > 30


def test_jpeg_quality_is_honoured(tmp_path: Path, photo: np.ndarray) -> None:
    hi = write_image(tmp_path / "hi.jpg", photo, quality=95)
    lo = write_image(tmp_path / "lo.jpg", photo, quality=30)
    assert hi.stat().st_size > 2 * lo.stat().st_size
    p_hi, p_lo = psnr(read_image(hi).pixels, photo), psnr(read_image(lo).pixels, photo)
    assert p_hi > 38 and p_hi > p_lo + 5


def test_16_bit_pixels_to_jpeg_are_rounded_to_8_bits(tmp_path: Path, photo: np.ndarray) -> None:
    deep = photo.astype(np.uint16) * 257
    image = read_image(write_image(tmp_path / "d.jpg", deep))
    assert image.meta.bit_depth == 8 and psnr(image.pixels, photo) > 38


def test_format_argument_overrides_the_suffix(tmp_path: Path, rgb8) -> None:
    out = write_image(tmp_path / "noext", rgb8, fmt="png")
    assert out.read_bytes().startswith(b"\x89PNG") and read_image(out).meta.format == "PNG"


# --------------------------------------------------------------------------- orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow(make, tmp_path: Path, rgb8, orientation: int) -> None:
    path = make.save_pil(tmp_path / "o.png", rgb8, exif=make.exif_bytes(orientation))
    with PILImage.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    image = read_image(path)
    np.testing.assert_array_equal(image.pixels, expected)
    assert exif_orientation(image.meta.exif) == 1


def test_jpeg_orientation_6_is_rotated_on_read_and_reset_on_write(make, tmp_path: Path, photo) -> None:
    src = make.save_pil(tmp_path / "six.jpg", photo, quality=95, exif=make.exif_bytes(6))
    image = read_image(src)
    assert image.pixels.shape == (600, 400, 3)  # stored 400x600, displayed rotated 90° clockwise
    assert psnr(image.pixels, np.rot90(photo, k=-1)) > 35
    out = write_image(tmp_path / "out.jpg", image.pixels, meta=image.meta)
    exif = pil_exif(out)
    assert exif[0x0112] == 1 and exif[0x010F] == "LimelightCam"
    assert exif.get_ifd(0x8769)[0x829A] == pil_exif(src).get_ifd(0x8769)[0x829A]
    assert read_image(out).pixels.shape == (600, 400, 3)  # not rotated a second time


def test_tiff_orientation_tag_is_applied(tmp_path: Path, rgb8) -> None:
    path = tmp_path / "o.tif"
    tifffile.imwrite(path, rgb8, photometric="rgb", extratags=[(274, "H", 1, 8, True)], metadata=None)
    image = read_image(path)
    np.testing.assert_array_equal(image.pixels, np.rot90(rgb8, k=1))


# --------------------------------------------------------------------------- ICC, EXIF, alpha


@pytest.mark.parametrize(("suffix", "pixels"), [(".jpg", "rgb8"), (".png", "rgb8"), (".png", "rgb16"),
                                                (".tif", "rgb16"), (".webp", "rgb8")])
def test_icc_and_exif_round_trip(make, tmp_path: Path, request, srgb_icc: bytes, suffix: str, pixels: str) -> None:
    arr = request.getfixturevalue(pixels)
    exif = make.exif_bytes(1)[6:]
    meta = ImageMeta(format="PNG", bit_depth=arr.dtype.itemsize * 8, exif=exif, icc=srgb_icc)
    image = read_image(write_image(tmp_path / f"m{suffix}", arr, meta=meta))
    assert image.meta.icc == srgb_icc
    assert image.meta.exif is not None
    back = PILImage.Exif()
    back.load(image.meta.exif)
    assert back[0x010F] == "LimelightCam"
    if suffix != ".tif":  # TIFF output carries IFD0 tags only (see imageio_tiff.encode_tiff)
        assert image.meta.exif == exif


@pytest.mark.parametrize(("suffix", "depth"), [(".png", 8), (".png", 16), (".tif", 8), (".tif", 16), (".webp", 8)])
def test_alpha_round_trip(tmp_path: Path, rgb8, rgb16, suffix: str, depth: int) -> None:
    pixels = rgb8 if depth == 8 else rgb16
    alpha = pixels[..., 1][::-1].copy()
    out = write_image(tmp_path / f"a{suffix}", pixels, meta=ImageMeta(bit_depth=depth, alpha=alpha))
    image = read_image(out)
    np.testing.assert_array_equal(image.meta.alpha, alpha)
    if suffix != ".webp":
        np.testing.assert_array_equal(image.pixels, pixels)


# --------------------------------------------------------------------------- odd inputs


def test_grayscale_inputs_become_rgb(make, tmp_path: Path, rgb8, rgb16) -> None:
    gray = rgb8[..., 0]
    image = read_image(make.save_pil(tmp_path / "g.png", gray))
    np.testing.assert_array_equal(image.pixels, np.repeat(gray[..., None], 3, axis=2))
    g16 = rgb16[..., 0]
    tifffile.imwrite(tmp_path / "g16.tif", g16, photometric="minisblack")
    np.testing.assert_array_equal(read_image(tmp_path / "g16.tif").pixels[..., 2], g16)

    cv2.imwrite(str(tmp_path / "g16.png"), g16)
    image16 = read_image(tmp_path / "g16.png")
    assert image16.meta.bit_depth == 16
    np.testing.assert_array_equal(image16.pixels[..., 1], g16)
    tifffile.imwrite(tmp_path / "w.tif", gray, photometric="miniswhite")
    np.testing.assert_array_equal(read_image(tmp_path / "w.tif").pixels[..., 0], 255 - gray)


def test_palette_and_one_bit_inputs(tmp_path: Path, rgb8) -> None:
    pal = PILImage.fromarray(rgb8).quantize(16)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "p.png", transparency=0)
    image = read_image(tmp_path / "p.png")
    expected = np.asarray(pal.convert("RGBA"))
    np.testing.assert_array_equal(image.pixels, expected[..., :3])
    np.testing.assert_array_equal(image.meta.alpha, expected[..., 3])
    indices = np.asarray(pal)
    cmap = np.zeros((3, 256), np.uint16)
    cmap[:, :16] = np.asarray(pal.getpalette()[:48]).reshape(16, 3).T.astype(np.uint16) * 257
    tifffile.imwrite(tmp_path / "p.tif", indices, photometric="palette", colormap=cmap)
    np.testing.assert_array_equal(read_image(tmp_path / "p.tif").pixels, expected[..., :3])
    bits = rgb8[..., 0] > 128
    PILImage.fromarray(bits).save(tmp_path / "b.bmp")
    np.testing.assert_array_equal(read_image(tmp_path / "b.bmp").pixels[..., 0], bits * 255)


def test_rgba_inputs_keep_alpha_aside(make, tmp_path: Path, rgb8) -> None:
    rgba = np.dstack([rgb8, rgb8[..., 0]])
    for name in ("a.png", "a.tif", "a.webp"):
        path = tmp_path / name
        if name.endswith(".tif"):
            tifffile.imwrite(path, rgba, photometric="rgb", extrasamples=["assocalpha"])
        else:
            make.save_pil(path, rgba, lossless=True, exact=True) if name.endswith(".webp") else make.save_pil(path, rgba)
        image = read_image(path)
        np.testing.assert_array_equal(image.pixels, rgb8)
        np.testing.assert_array_equal(image.meta.alpha, rgb8[..., 0])


def test_cmyk_inputs_are_converted_to_rgb(tmp_path: Path, rgb8, caplog) -> None:
    cmyk = PILImage.fromarray(rgb8).convert("CMYK")
    cmyk.save(tmp_path / "c.jpg", quality=98)
    with PILImage.open(tmp_path / "c.jpg") as im:
        expected = np.asarray(im.convert("RGB"))
    image = read_image(tmp_path / "c.jpg")
    np.testing.assert_array_equal(image.pixels, expected)
    assert psnr(image.pixels, rgb8) > 30
    cmyk.save(tmp_path / "bad_icc.jpg", quality=98, icc_profile=b"not a profile")
    np.testing.assert_array_equal(read_image(tmp_path / "bad_icc.jpg").pixels, expected)
    assert "profile is unusable" in caplog.text
    tifffile.imwrite(tmp_path / "c.tif", np.asarray(cmyk), photometric="separated")
    assert np.abs(read_image(tmp_path / "c.tif").pixels.astype(int) - rgb8).max() <= 2


def test_cmyk_with_a_profile_is_converted_through_it(tmp_path: Path, rgb8, monkeypatch) -> None:
    # No CMYK profile is available offline, so the colour engine is replaced by a recorder:
    # the embedded profile must be the source, sRGB the target, and its output the pixels.
    from PIL import ImageCms

    seen = {}
    marker = PILImage.fromarray(rgb8[::-1])

    def fake_transform(im, src, dst, outputMode):  # noqa: ANN001, ANN202, N803
        seen.update(mode=im.mode, src=src.tobytes(), dst=dst.profile.profile_description, out=outputMode)
        return marker

    monkeypatch.setattr(ImageCms, "profileToProfile", fake_transform)
    embedded = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    PILImage.fromarray(rgb8).convert("CMYK").save(tmp_path / "c.jpg", icc_profile=embedded)
    image = read_image(tmp_path / "c.jpg")
    assert seen["mode"] == "CMYK" and seen["src"] == embedded and seen["out"] == "RGB"
    assert "sRGB" in seen["dst"]
    np.testing.assert_array_equal(image.pixels, rgb8[::-1])
    described = ImageCms.ImageCmsProfile(io.BytesIO(image.meta.icc)).profile.profile_description
    assert "sRGB" in described  # the pixels are now sRGB, and the metadata says so


def test_float_and_planar_tiff(tmp_path: Path, rgb16) -> None:
    tifffile.imwrite(tmp_path / "f.tif", to_float(rgb16), photometric="rgb")
    image = read_image(tmp_path / "f.tif")
    assert image.meta.bit_depth == 16 and np.abs(image.pixels.astype(int) - rgb16).max() <= 1
    tifffile.imwrite(tmp_path / "pl.tif", np.moveaxis(rgb16, -1, 0), photometric="rgb", planarconfig="separate")
    np.testing.assert_array_equal(read_image(tmp_path / "pl.tif").pixels, rgb16)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif", ".webp", ".bmp"])
def test_smallest_images(tmp_path: Path, suffix: str) -> None:
    """3 x 3 loads; 1 x 1 (which then failed deep inside OpenCV) is refused in one sentence."""
    px = np.full((3, 3, 3), [10, 200, 30], dtype=np.uint8)
    image = read_image(write_image(tmp_path / f"three{suffix}", px, quality=100))
    assert image.pixels.shape == (3, 3, 3)
    assert np.abs(image.pixels.astype(int) - px).max() <= 8
    one = write_image(tmp_path / f"one{suffix}", px[:1, :1], quality=100)
    with pytest.raises(ImageReadError, match=r"1x1 pixels; Limelight needs at least 3"):
        read_image(one)


def test_jpeg_with_trailing_data_after_eoi(make, tmp_path: Path, photo) -> None:
    path = make.save_pil(tmp_path / "t.jpg", photo, quality=90)
    clean = read_image(path).pixels
    path.write_bytes(path.read_bytes() + b"trailer from a camera" * 10)
    np.testing.assert_array_equal(read_image(path).pixels, clean)


# --------------------------------------------------------------------------- RAW


def test_dng_is_decoded_with_rawpy(make, tmp_path: Path) -> None:
    image = read_image(make.make_dng(tmp_path / "t.dng"))
    assert image.meta.format == "RAW" and image.meta.bit_depth == 16
    assert image.pixels.shape == (32, 48, 3) and image.pixels.dtype == np.uint16
    red, blue = image.pixels[..., 0].astype(float), image.pixels[..., 2].astype(float)
    assert red[:, -8:].mean() > red[:, :8].mean() + 1000  # red rises left to right
    assert blue[-8:].mean() > blue[:8].mean() + 1000  # blue rises top to bottom
    back = PILImage.Exif()
    back.load(image.meta.exif)
    assert back[0x010F] == "LimelightCam"


def test_dng_orientation_is_applied(make, tmp_path: Path) -> None:
    image = read_image(make.make_dng(tmp_path / "r.dng", orientation=6))
    assert image.pixels.shape == (48, 32, 3)
    assert exif_orientation(image.meta.exif) == 1
    preview = read_preview(tmp_path / "r.dng", 16)
    assert max(preview.pixels.shape[:2]) == 16 and preview.pixels.shape[0] > preview.pixels.shape[1]


def test_corrupt_raw_is_a_read_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.nef"
    path.write_bytes(b"II*\x00" + bytes(range(256)) * 4)
    with pytest.raises(ImageReadError, match="bad.nef.*RAW"):
        read_image(path)


# --------------------------------------------------------------------------- preview


def test_jpeg_preview_is_small_and_close_to_the_full_read(make, tmp_path: Path, photo) -> None:

    path = make.save_pil(tmp_path / "p.jpg", photo, quality=95, exif=make.exif_bytes(6), icc_profile=b"")
    full = read_image(path)
    preview = read_preview(path, 150)
    assert preview.pixels.shape == (150, 100, 3)
    expected = cv2.resize(full.pixels, (100, 150), interpolation=cv2.INTER_AREA)
    assert psnr(preview.pixels, expected) > 30
    assert preview.meta.exif == full.meta.exif and preview.meta.source == path


def test_preview_never_upscales_and_resizes_alpha(tmp_path: Path, rgb8) -> None:
    path = write_image(tmp_path / "a.png", rgb8, meta=ImageMeta(alpha=rgb8[..., 0].copy()))
    assert read_preview(path, 1000).pixels.shape == rgb8.shape
    small = read_preview(path, 30)
    assert small.pixels.shape == (20, 30, 3) and small.meta.alpha.shape == (20, 30)


# --------------------------------------------------------------------------- bad inputs


def _patch_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    pos = data.index(b"\xff\xc0")
    return data[: pos + 5] + struct.pack(">HH", height, width) + data[pos + 9:]


def test_decompression_bombs_are_refused_from_the_header(make, tmp_path: Path, rgb8) -> None:
    (tmp_path / "bomb.png").write_bytes(make.png_with_size(20000, 12500))
    jpg = make.save_pil(tmp_path / "small.jpg", rgb8)
    (tmp_path / "bomb.jpg").write_bytes(_patch_jpeg_size(jpg.read_bytes(), 20000, 12500))
    tif = tmp_path / "bomb.tif"
    tifffile.imwrite(tif, rgb8, photometric="rgb")
    with tifffile.TiffFile(tif) as tf:
        offsets = [tf.pages.first.tags[n].valueoffset for n in ("ImageWidth", "ImageLength")]
    raw = bytearray(tif.read_bytes())
    for off, value in zip(offsets, (20000, 12500), strict=True):
        raw[off:off + 2] = struct.pack("<H", value)
    tif.write_bytes(bytes(raw))
    for name in ("bomb.png", "bomb.jpg", "bomb.tif"):
        with pytest.raises(ImageReadError, match=rf"{name}.*250 megapixels.*over 200 megapixels"):
            read_image(tmp_path / name)
    with pytest.raises(ImageReadError, match="bomb.jpg.*megapixels"):
        read_preview(tmp_path / "bomb.jpg", 100)


def test_max_pixels_is_a_parameter(tmp_path: Path, rgb8) -> None:
    path = write_image(tmp_path / "x.png", rgb8)
    with pytest.raises(ImageReadError, match="x.png"):
        read_image(path, max_pixels=1000)
    assert read_image(path, max_pixels=2400).width == 60


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.jpg", b"", "empty"),
        ("text.jpg", b"hello, this is not a photo\n", "text"),
        ("anim.gif", b"GIF89a" + bytes(40), "GIF"),
        ("junk.png", b"\x89PNG\r\n\x1a\n" + bytes(range(200)), "PNG"),
        ("junk.tif", b"II*\x00" + bytes(200), "TIFF"),
        ("junk.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(30), "WEBP"),
        ("junk.bin", bytes(range(1, 250)), "not a supported image"),
    ],
)
def test_bad_files_give_read_errors_naming_the_file(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match=reason) as info:
        read_image(path)
    assert name in str(info.value) and info.value.path == path


def test_truncated_jpeg_is_a_read_error(make, tmp_path: Path, photo) -> None:
    path = make.save_pil(tmp_path / "cut.jpg", photo, quality=90)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ImageReadError, match="cut.jpg.*truncated"):
        read_image(path)


def test_missing_folder_and_unreadable_files(make, tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(ImageReadError, match="does not exist"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path)
    locked = tmp_path / "locked.png"
    locked.write_bytes(make.png_with_size(2, 2))

    def deny(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", deny)
    with pytest.raises(ImageReadError, match="locked.png.*permission denied"):
        read_image(locked)


# --------------------------------------------------------------------------- bad outputs


def test_write_refuses_protected_paths_and_the_source(tmp_path: Path, rgb8) -> None:
    src = write_image(tmp_path / "in.png", rgb8)
    before = src.read_bytes()
    image = read_image(src)
    with pytest.raises(ImageWriteError, match="in.png.*input"):
        write_image(tmp_path / "in.png", rgb8[::-1], meta=image.meta)
    with pytest.raises(ImageWriteError, match="input"):
        write_image(tmp_path / "sub" / ".." / "in.png", rgb8, protect=[src])
    link = tmp_path / "link.png"
    link.symlink_to(src)
    with pytest.raises(ImageWriteError, match="input"):
        write_image(link, rgb8, protect=[src])
    assert src.read_bytes() == before


def test_write_errors_for_bad_destinations(tmp_path: Path, rgb8, monkeypatch) -> None:
    with pytest.raises(ImageWriteError, match="nowhere.*does not exist"):
        write_image(tmp_path / "nowhere" / "o.png", rgb8)
    with pytest.raises(ImageWriteError, match="suffix '.xyz'"):
        write_image(tmp_path / "o.xyz", rgb8)
    with pytest.raises(ImageWriteError, match="is a folder"):
        write_image(tmp_path, rgb8, fmt="png")
    with pytest.raises(ImageWriteError, match="shape"):
        write_image(tmp_path / "o.png", rgb8[..., 0])

    def deny(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", deny)
    with pytest.raises(ImageWriteError, match="o.png.*permission denied"):
        write_image(tmp_path / "o.png", rgb8)


def test_failed_write_leaves_no_temp_and_keeps_the_old_file(tmp_path: Path, rgb8, monkeypatch) -> None:
    out = write_image(tmp_path / "o.png", rgb8)
    before = out.read_bytes()

    def broken(fh, *args):  # noqa: ANN001, ANN002, ANN202
        fh.write(b"\x89PNG partial")
        raise RuntimeError("encoder exploded")

    monkeypatch.setattr("limelight.core.imageio.encode_png", broken)
    with pytest.raises(ImageWriteError, match="o.png.*encoder exploded"):
        write_image(out, rgb8[::-1])
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.png"]


def test_written_files_get_normal_permissions(tmp_path: Path, rgb8) -> None:
    out = write_image(tmp_path / "o.jpg", rgb8)
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def test_same_file_sees_symlinks_hard_links_dots_and_loops(tmp_path: Path) -> None:
    """The core's one same-file test: every path Limelight writes goes through it."""
    from limelight.core.imageio_encode import Protected, same_file

    a = tmp_path / "a.jpg"
    a.write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sym.jpg").symlink_to(a)
    os.link(a, tmp_path / "hard.jpg")
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)
    for other in ("a.jpg", "sub/../a.jpg", "sym.jpg", "hard.jpg"):
        assert same_file(a, tmp_path / other), other
    assert not same_file(a, tmp_path / "b.jpg")
    assert not same_file(a, loop) and same_file(loop, loop)  # no RuntimeError from a loop
    guard = Protected.of([tmp_path / "b.jpg", a])
    assert guard.find(tmp_path / "hard.jpg") == a and guard.find(tmp_path / "c.jpg") is None


@pytest.mark.parametrize("damage", ["value cut", "directory cut", "value 9"])
def test_damaged_exif_orientation_keeps_the_pixels_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    """A truncated orientation entry refused the whole photo with a raw struct.error (and
    read_preview raised it directly): now the pixels load as stored, with one warning."""
    import struct

    from limelight.core.imageio import read_preview

    head = b"II*\x00" + struct.pack("<I", 8)
    exif = {"value cut": head + struct.pack("<HHHI", 1, 0x0112, 3, 1),
            "directory cut": head + struct.pack("<H", 5) + b"\x00" * 6,
            "value 9": head + struct.pack("<HHHIHH", 1, 0x0112, 3, 1, 9, 0) + b"\0" * 4}[damage]
    arr = np.zeros((40, 60, 3), np.uint8)
    arr[:, :30] = 200  # left half bright: a rotation would show
    path = tmp_path / "bad.jpg"
    PILImage.fromarray(arr).save(path, exif=b"Exif\x00\x00" + exif, quality=95)
    with caplog.at_level("WARNING"):
        image = read_image(path)
        small = read_preview(path, 16)
        again = read_image(path)
    assert image.pixels.shape == again.pixels.shape == (40, 60, 3)
    assert image.pixels[:, :20].mean() > 150 > image.pixels[:, 40:].mean()
    assert small.pixels.shape[1] > small.pixels.shape[0]  # not turned either
    warned = [r for r in caplog.records if "EXIF orientation is damaged" in r.getMessage()]
    assert len(warned) == 1 and "bad.jpg" in warned[0].getMessage()
    out = tmp_path / "o.jpg"
    write_image(out, image.pixels, meta=image.meta)  # and it can be written back
    assert read_image(out).pixels.shape == (40, 60, 3)


def test_out_of_memory_says_so_with_the_need(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Low memory showed as "could not encode the image as JPEG ()" or the decoder's
    "Insufficient memory"; it is now one sentence with the rough need."""

    import limelight.core.imageio as imageio_mod

    px = np.zeros((100, 200, 3), np.uint8)
    src = write_image(tmp_path / "a.jpg", px)

    def no_memory(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(imageio_mod, "encode_jpeg", no_memory)
    with pytest.raises(ImageWriteError, match=r"not enough memory for this photo \(about "
                                              r"0\.\d GB needed\)"):
        write_image(tmp_path / "b.jpg", px)
    assert not list(tmp_path.glob(".limelight-tmp-*"))

    def cv_no_memory(*args: object, **kwargs: object) -> None:
        raise cv2.error("OpenCV(5.0.0) alloc.cpp:73: error: (-4:Insufficient memory) Failed "
                        "to allocate 60000000 bytes in function 'OutOfMemoryError'")

    monkeypatch.setattr(imageio_mod, "decode_jpeg", cv_no_memory)
    with pytest.raises(ImageReadError, match=r"a\.jpg: not enough memory for this photo"):
        read_image(src)


def test_tiff_output_keeps_software_without_a_tifffile_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The EXIF Software tag went to tifffile as an extra tag, which it refuses with
    "not writing extratag 305" naming the temporary file."""
    import struct

    import tifffile

    entry = b"MyCam 1.0\x00"
    exif = (b"II*\x00" + struct.pack("<IHHHII", 8, 1, 0x0131, 2, len(entry), 26)
            + b"\x00\x00\x00\x00" + entry)
    meta = ImageMeta(None, "JPEG", 8, exif, None, None)
    with caplog.at_level("WARNING"):
        out = write_image(tmp_path / "o.tif", np.zeros((4, 6, 3), np.uint8), meta=meta)
    assert not [r for r in caplog.records if "extratag" in r.getMessage()]
    with tifffile.TiffFile(out) as tif:
        assert tif.pages[0].tags[305].value == "MyCam 1.0"


def test_jpeg_decoder_gives_opencvs_pixels(make, tmp_path: Path, photo: np.ndarray) -> None:  # noqa: ANN001
    """The TurboJPEG decoder (simplejpeg) returns exactly what OpenCV's libjpeg-turbo does,
    colour and gray (expanded to RGB), at 4:4:4 and 4:2:0 chroma."""

    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    cases = [("c444.jpg", photo, {"subsampling": 0}), ("c420.jpg", photo, {"subsampling": 2}),
             ("gray.jpg", gray, {})]
    for name, arr, kw in cases:
        path = make.save_pil(tmp_path / name, arr, quality=90, **kw)
        want = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR_RGB)
        got = read_image(path).pixels
        assert got.shape == want.shape and np.array_equal(got, want), name


@pytest.mark.parametrize("quality", [40, 89, 90, 95])
@pytest.mark.parametrize("metadata", ["none", "exif+icc", "large icc"])
def test_jpeg_bytes_are_pillows(tmp_path: Path, quality: int, metadata: str) -> None:
    """JPEGs are encoded by OpenCV (no copy to 4 bytes per pixel) with Pillow's exact bytes:
    the same chroma subsampling, tables and JFIF header, a restart marker per row of MCUs,
    and the EXIF and ICC segments where Pillow puts them (an ICC profile over 64 kB in
    numbered chunks)."""
    import io

    from PIL import Image as PILImage

    from limelight.core.imageio import ImageMeta
    from limelight.core.imageio_meta import EXIF_PREFIX

    rng = np.random.default_rng(quality)
    pixels = rng.integers(0, 256, (97, 131, 3), dtype=np.uint8)
    exif = icc = None
    if metadata != "none":
        tags = PILImage.Exif()
        tags[0x010F] = "Limelight test camera"
        exif = tags.tobytes().removeprefix(EXIF_PREFIX)
        icc = bytes(rng.integers(0, 256, 150_000 if metadata == "large icc" else 3_000,
                                 dtype=np.uint8))
    meta = ImageMeta(format="JPEG", exif=exif, icc=icc)
    out = write_image(tmp_path / "o.jpg", pixels, meta=meta, quality=quality)
    kwargs: dict = {"quality": quality, "subsampling": 0 if quality >= 90 else 2}
    if icc:
        kwargs["icc_profile"] = icc
    if exif:
        kwargs["exif"] = EXIF_PREFIX + exif
    buf = io.BytesIO()
    PILImage.fromarray(pixels, "RGB").save(buf, "JPEG", restart_marker_rows=1, **kwargs)
    assert out.read_bytes() == buf.getvalue()


@pytest.mark.parametrize(("size", "long_edge"), [((1000, 700), 300), ((1003, 641), 120),
                                                 ((640, 480), 500), ((2048, 1536), 256)])
def test_reduced_jpeg_read_is_pillows_draft(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            size: tuple[int, int], long_edge: int) -> None:
    """``read_preview`` decodes an RGB JPEG at Pillow's draft scale straight into an array
    (libjpeg-turbo through simplejpeg): the same pixels and metadata as Pillow's draft mode."""
    import limelight.core.imageio as imageio_mod

    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    pixels = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy) % 256)], -1).astype(np.uint8)
    src = write_image(tmp_path / "a.jpg", pixels, quality=90)
    turbo, used = imageio_mod._reduced_turbo, []
    monkeypatch.setattr(imageio_mod, "_reduced_turbo",
                        lambda *a: used.append(turbo(*a)) or used[-1])
    fast = read_preview(src, long_edge)
    assert used and used[0] is not None  # the fast path ran
    monkeypatch.setattr(imageio_mod, "_reduced_turbo", lambda *a: None)
    slow = read_preview(src, long_edge)
    assert fast.pixels.shape == slow.pixels.shape
    np.testing.assert_array_equal(fast.pixels, slow.pixels)
    assert (fast.meta.exif, fast.meta.icc) == (slow.meta.exif, slow.meta.icc)


@pytest.mark.parametrize("quality", [80, 95])
@pytest.mark.parametrize("height", [1, 7, 512, 1033, 2056])
def test_jpeg_strips_join_into_pillows_bytes(tmp_path: Path, quality: int, height: int) -> None:
    """A JPEG encoded in 1 to 5 strips (one per thread) is one baseline stream: the bytes of
    Pillow's encoder with a restart marker per row of MCUs, whatever the number of strips,
    and it decodes to the pixels of Pillow's encode without restart markers. Heights: under
    one MCU row, not a whole number of MCU rows, and several strips of 64+ rows."""
    from limelight.core.imageio_encode import encode_jpeg

    rng = np.random.default_rng(height)
    pixels = cv2.GaussianBlur(rng.integers(0, 256, (height, 203, 3), dtype=np.uint8), (0, 0), 2)
    buf = io.BytesIO()
    PILImage.fromarray(pixels, "RGB").save(buf, "JPEG", quality=quality,
                                           subsampling=0 if quality >= 90 else 2,
                                           restart_marker_rows=1)
    for workers in (1, 2, 3, 5):
        out = io.BytesIO()
        encode_jpeg(out, pixels, None, None, quality, workers=workers)
        assert out.getvalue() == buf.getvalue(), workers
    plain = io.BytesIO()
    PILImage.fromarray(pixels, "RGB").save(plain, "JPEG", quality=quality,
                                           subsampling=0 if quality >= 90 else 2)
    decoded = [cv2.imdecode(np.frombuffer(b.getvalue(), np.uint8), cv2.IMREAD_COLOR_RGB)
               for b in (out, plain)]
    assert np.array_equal(*decoded)
