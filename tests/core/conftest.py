"""Fixtures for the image core: small test images made in place (never /work/shared/data)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image as PILImage
from PIL import ImageCms


@pytest.fixture(scope="session")
def rgb8() -> np.ndarray:
    """(40, 60, 3) uint8 with distinct rows, columns and channels (orientation-sensitive)."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:40, 0:60]
    base = np.stack([xx * 4, yy * 6, (xx + yy) * 2], axis=-1)
    return np.clip(base + rng.integers(0, 16, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def rgb16(rgb8: np.ndarray) -> np.ndarray:
    """(40, 60, 3) uint16 using the full 16-bit range (low byte not a copy of the high one)."""
    rng = np.random.default_rng(8)
    return (rgb8.astype(np.uint16) * 256 + rng.integers(0, 256, rgb8.shape)).astype(np.uint16)


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """scikit-image's coffee photo, (400, 600, 3) uint8: a real photograph for JPEG tests."""
    from skimage import data

    return data.coffee()


@pytest.fixture(scope="session")
def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def exif_bytes(orientation: int | None = None, make: str | None = "LimelightCam") -> bytes:
    """An EXIF block ("Exif\\0\\0" + TIFF) with the given orientation and make, via Pillow."""
    exif = PILImage.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if make:
        exif[0x010F] = make
    exif.get_ifd(0x8769)[0x829A] = (1, 50)  # ExposureTime in the EXIF sub-IFD
    return exif.tobytes()


def save_pil(path: Path, arr: np.ndarray, mode: str | None = None, **kwargs) -> Path:  # noqa: ANN003
    """Save ``arr`` with Pillow (format from the suffix) and return the path."""
    im = PILImage.fromarray(arr, mode) if mode else PILImage.fromarray(arr)
    im.save(path, **kwargs)
    return path


def make_dng(path: Path, h: int = 32, w: int = 48, orientation: int = 1) -> Path:
    """A tiny valid DNG (RGGB Bayer, 12-bit) that LibRaw decodes: red rises left to right,
    blue rises top to bottom. Written with tifffile and the minimal DNG tags."""
    yy, xx = np.mgrid[0:h, 0:w]
    red, green, blue = 200 + 3000 * xx / w, np.full((h, w), 1500.0), 200 + 3000 * yy / h
    cfa = np.empty((h, w), np.uint16)
    cfa[0::2, 0::2] = red[0::2, 0::2]
    cfa[0::2, 1::2] = green[0::2, 1::2]
    cfa[1::2, 0::2] = green[1::2, 0::2]
    cfa[1::2, 1::2] = blue[1::2, 1::2]
    identity = (10000, 10000, 0, 10000, 0, 10000, 0, 10000, 10000, 10000, 0, 10000, 0, 10000, 0, 10000, 10000, 10000)
    extratags = [
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (50708, "s", 0, "Limelight Test", True),  # UniqueCameraModel
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern: RGGB
        (50710, "B", 3, (0, 1, 2), True),  # CFAPlaneColor
        (50711, "H", 1, 1, True),  # CFALayout
        (50714, "H", 1, 0, True),  # BlackLevel
        (50717, "H", 1, 4095, True),  # WhiteLevel
        (50721, "2i", 9, identity, True),  # ColorMatrix1
        (50778, "H", 1, 21, True),  # CalibrationIlluminant1: D65
        (50728, "2I", 3, (1, 2, 1, 1, 1, 2), True),  # AsShotNeutral
        (271, "s", 0, "LimelightCam", True),  # Make
        (274, "H", 1, orientation, True),  # Orientation
    ]
    tifffile.imwrite(path, cfa, photometric=32803, subfiletype=0, extratags=extratags, metadata=None)
    return path


def png_with_size(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (the pixel data is a 1x1 image's)."""
    buf = io.BytesIO()
    PILImage.new("RGB", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    import struct
    import zlib

    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


class ImageMakers:
    """The makers above, as a fixture (test modules cannot import conftest)."""

    exif_bytes = staticmethod(exif_bytes)
    save_pil = staticmethod(save_pil)
    make_dng = staticmethod(make_dng)
    png_with_size = staticmethod(png_with_size)


@pytest.fixture(scope="session")
def make() -> ImageMakers:
    """Helpers that make test files: ``make.save_pil``, ``make.exif_bytes``, ``make.make_dng``..."""
    return ImageMakers()
