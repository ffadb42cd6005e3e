"""TIFF reading and writing for ``limelight.core.imageio`` (tifffile; OpenCV's libtiff as fallback).

Reading handles 1/8/16/32-bit integer and float samples, gray (min-is-black or min-is-white),
RGB, palette, CMYK (naive; tifffile gives ink values) and extra alpha samples, planar or
interleaved. Compressions tifffile cannot decode without ``imagecodecs`` (JPEG-in-TIFF...)
fall back to OpenCV's libtiff.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
import tifffile

from limelight.core.errors import ImageReadError
from limelight.core.imageio_decode import Decoded, check_size, describe, split_channels
from limelight.core.imageio_meta import exif_from_tiff_header

log = logging.getLogger(__name__)

_ICC_TAG = 34675
# IFD0 string tags copied from the source EXIF into a written TIFF.
_SOFTWARE_TAG = 0x0131
_ASCII_TAGS = {0x010E: "ImageDescription", 0x010F: "Make", 0x0110: "Model", 0x0131: "Software",
               0x0132: "DateTime", 0x013B: "Artist", 0x8298: "Copyright"}


def decode_tiff(path: Path, max_pixels: int) -> Decoded:
    """First page of a TIFF as RGB uint8/uint16 plus alpha, ICC, EXIF and orientation."""
    try:
        with tifffile.TiffFile(path) as tf:
            page = tf.pages.first
            check_size(path, int(page.imagewidth), int(page.imagelength), max_pixels)
            tag = page.tags.get(_ICC_TAG)
            icc = bytes(tag.value) if tag is not None and tag.value else None
            try:
                arr = page.asarray()
                pixels, alpha = _to_rgb(page, arr)
            except (ValueError, NotImplementedError, KeyError) as exc:
                log.debug("%s: tifffile cannot decode (%s); trying libtiff", path, exc)
                pixels, alpha = _decode_with_opencv(path, exc)
    except ImageReadError:
        raise
    except Exception as exc:  # tifffile.TiffFileError, struct errors...  # noqa: BLE001
        raise ImageReadError(f"not a readable TIFF ({describe(exc)})", path) from exc
    exif, orientation = exif_from_tiff_header(path)
    depth = 8 if pixels.dtype == np.uint8 else 16
    return Decoded(pixels, alpha, "TIFF", depth, exif, icc, orientation)


def _decode_with_opencv(path: Path, cause: Exception) -> tuple[np.ndarray, np.ndarray | None]:
    arr = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ImageReadError(f"this TIFF cannot be decoded ({describe(cause)})", path)
    return split_channels(_to_integer(arr), "BGR")


def _to_integer(arr: np.ndarray) -> np.ndarray:
    """Samples of any TIFF type as uint8 or uint16 (floats are taken as [0, 1])."""
    if arr.dtype == np.uint8 or arr.dtype == np.uint16:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * np.uint8(255)
    if arr.dtype.kind == "f":
        return np.rint(np.clip(np.nan_to_num(arr), 0.0, 1.0) * 65535.0).astype(np.uint16)
    if arr.dtype.kind == "u":  # uint32/64: keep the top 16 bits
        return (arr >> (8 * arr.dtype.itemsize - 16)).astype(np.uint16)
    if arr.dtype == np.int8:
        return (arr.astype(np.int16) + 128).astype(np.uint8)
    if arr.dtype.kind == "i":
        return np.clip(arr, 0, 65535).astype(np.uint16)
    raise ValueError(f"unsupported sample type {arr.dtype}")


def _to_rgb(page: tifffile.TiffPage, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Page samples in YXS order and RGB, whatever the photometric interpretation."""
    axes = page.axes
    if "S" in axes and axes.index("S") < axes.index("Y"):  # planar: SYX -> YXS
        arr = np.moveaxis(arr, axes.index("S"), -1)
    while arr.ndim > 3:  # leading singleton axes (depth, ...)
        arr = arr[0]
    photometric = tifffile.PHOTOMETRIC
    kind = page.photometric
    if kind == photometric.PALETTE:
        cmap = page.colormap  # (3, 2**bits) uint16
        if cmap is None:
            raise ValueError("a palette TIFF without a colour map")
        rgb = np.moveaxis(cmap, 0, -1)[arr if arr.ndim == 2 else arr[..., 0]]
        if int(cmap.max()) < 256:  # some writers store 8-bit values
            return rgb.astype(np.uint8), None
        return ((rgb.astype(np.uint32) + 128) // 257).astype(np.uint8), None
    arr = _to_integer(arr)
    if kind == photometric.MINISWHITE:
        arr = np.iinfo(arr.dtype).max - arr
    if kind == photometric.SEPARATED:
        return _cmyk_naive(arr), (arr[..., 4].copy() if arr.shape[-1] > 4 else None)
    if kind not in (photometric.MINISBLACK, photometric.MINISWHITE, photometric.RGB):
        if kind == photometric.YCBCR and arr.ndim == 3:  # tifffile already converted JPEG YCbCr
            return split_channels(arr)
        raise ValueError(f"photometric interpretation {getattr(kind, 'name', kind)} is not supported")
    if arr.ndim == 3 and arr.shape[-1] > 4:  # extra non-alpha samples
        arr = arr[..., :4]
    return split_channels(arr)


def _cmyk_naive(arr: np.ndarray) -> np.ndarray:
    """Ink CMYK (0 = no ink) to RGB without a profile: R = (1 - C)(1 - K)."""
    maxv = np.iinfo(arr.dtype).max
    inv = maxv - arr[..., :4].astype(np.float32)
    rgb = inv[..., :3] * (inv[..., 3:4] / maxv)
    return np.rint(rgb).astype(arr.dtype)


def encode_tiff(
    fh: BinaryIO, pixels: np.ndarray, alpha: np.ndarray | None, icc: bytes | None, exif: bytes | None
) -> None:
    """Write RGB(A) uint8/uint16 pixels as an uncompressed, interleaved TIFF with ICC and IFD0 tags.

    Only the descriptive IFD0 tags of the EXIF block (make, model, date, artist...) are written;
    tifffile cannot write an EXIF sub-directory.
    """
    data = pixels if alpha is None else np.dstack([pixels, alpha])
    extratags: list[tuple[int, int, int, bytes | str, bool]] = []
    if icc:
        extratags.append((_ICC_TAG, 7, len(icc), icc, True))
    tags = _ascii_tags(exif)
    # tifffile writes Software (305) itself and refuses it as an extra tag, with a warning
    # naming the temporary file: the photo's own Software goes through its parameter.
    software: str | bool = next((t[3] for t in tags if t[0] == _SOFTWARE_TAG), False)
    extratags += [t for t in tags if t[0] != _SOFTWARE_TAG]
    tifffile.imwrite(
        fh,
        data,
        software=software,
        photometric="rgb",
        planarconfig="contig",
        extrasamples=["unassalpha"] if alpha is not None else None,
        extratags=extratags,
        metadata=None,
    )


def _ascii_tags(exif: bytes | None) -> list[tuple[int, int, int, str, bool]]:
    if not exif:
        return []
    from PIL import Image as PILImage

    try:
        src = PILImage.Exif()
        src.load(exif)
    except Exception as exc:  # noqa: BLE001 - metadata is best effort
        log.debug("EXIF not parsed for TIFF tags: %s", exc)
        return []
    tags = []
    for tag in _ASCII_TAGS:
        value = src.get(tag)
        if isinstance(value, str) and value and value.isascii():
            tags.append((tag, 2, 0, value, True))
    return tags
