"""Image files in and out: :class:`Image`, :func:`read_image`, :func:`read_preview`,
:func:`write_image`, :func:`to_float`, :func:`from_float` (docs/architecture.md, "Images").

Reading keeps the source integers (``Image.pixels``, (H, W, 3) uint8 or uint16 RGB, EXIF
orientation applied) so that area C can be written back bit-identically; ``Image.img`` is the
float32 [0, 1] view the core computes on. Metadata (EXIF with orientation reset to 1, ICC,
alpha, source bit depth) travels in :class:`ImageMeta` and is written back by
:func:`write_image`. Every failure reaching the user is an ``ImageReadError`` or
``ImageWriteError`` naming the file.

Backends were chosen by measurement on this project's 2-core machine (24-megapixel JPEG,
best of 3): decode OpenCV 0.27 s (``IMREAD_COLOR_RGB``) vs Pillow 0.39 s; encode at quality
95 with 4:4:4 chroma Pillow 0.35 s vs OpenCV 0.31 s + EXIF/ICC by hand, 4:2:0 both 0.22 s;
PNG (6 MP crop) OpenCV's default 0.38 s (8 bit) / 1.2 s (16 bit) vs zlib level 1 0.60 / 3.0 s
and Pillow level 1 about 1.5x OpenCV's level 1. So JPEG decodes through OpenCV (Pillow for CMYK and
for files that do not end with EOI, where Pillow's strict decoder reports truncation), JPEG
encodes through Pillow, PNG through OpenCV. Issue 19 measured libjpeg-turbo's own API
(``simplejpeg``) in one run on 24 MP: decode 0.27-0.32 s vs OpenCV 0.42-0.54 s, same pixels,
so complete JPEGs now decode through it (OpenCV when it refuses a file); its encoder at 4:4:4
was 0.78-0.89x Pillow's but writes other bytes and no EXIF/ICC, so encoding stays Pillow's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from limelight.core.errors import ImageReadError, ImageWriteError
from limelight.core.imageio_decode import (
    Decoded,
    check_file,
    check_size,
    decode_jpeg,
    decode_pillow,
    decode_png,
    decode_raw,
    describe,
    is_out_of_memory,
    memory_problem,
    pil_open,
    pil_to_array,
    sniff,
)
from limelight.core.imageio_encode import (
    FORMATS,
    HAS_ALPHA,
    MAX_DEPTH,
    atomic_write,
    check_destination,
    encode_jpeg,
    encode_pillow,
    encode_png,
)
from limelight.core.imageio_meta import (
    apply_orientation,
    exif_orientation,
    exif_reset_orientation,
    normalise_exif,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = 200_000_000
_CHUNK_ROWS = 256


@dataclass(frozen=True, eq=False)
class ImageMeta:
    """What a file says about its pixels besides the pixels.

    ``exif`` is the TIFF-structured EXIF block (starts with ``II*\\0``/``MM\\0*``, no
    ``Exif\\0\\0`` prefix) with orientation already reset to 1; ``alpha`` is (H, W) in the
    pixels' dtype and display orientation, or None.
    """

    source: Path | None = None
    format: str = "PNG"
    bit_depth: int = 8
    exif: bytes | None = None
    icc: bytes | None = None
    alpha: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Image:
    """Decoded pixels (H, W, 3) uint8/uint16 RGB in display orientation, plus metadata."""

    pixels: np.ndarray
    meta: ImageMeta

    def __post_init__(self) -> None:
        p = self.pixels
        if p.ndim != 3 or p.shape[2] != 3 or p.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"Image.pixels must be (H, W, 3) uint8 or uint16, got {p.shape} {p.dtype}")

    @property
    def img(self) -> np.ndarray:
        """(H, W, 3) float32 in [0, 1]; a new array on every access (cache it if reused)."""
        return to_float(self.pixels)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])


# --------------------------------------------------------------------------- float <-> int


def to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8/uint16 array -> float32 in [0, 1] (divided by 255 or 65535), same shape."""
    if pixels.dtype == np.uint8:
        return np.multiply(pixels, np.float32(1.0 / 255.0), dtype=np.float32)
    if pixels.dtype == np.uint16:
        return np.multiply(pixels, np.float32(1.0 / 65535.0), dtype=np.float32)
    raise ValueError(f"to_float expects uint8 or uint16 pixels, got {pixels.dtype}")


def from_float(img: np.ndarray, bit_depth: int) -> np.ndarray:
    """float [0, 1] -> uint8 (bit_depth 8) or uint16 (16), same shape.

    Values are clipped to [0, 1] (NaN becomes 0), scaled by 255 or 65535 and rounded half to
    even (``np.rint``). ``from_float(to_float(x), d) == x`` for every d-bit value. Works in
    row chunks so a 50-megapixel image needs no full-size float64 temporary.
    """
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    maxv = np.float32(255.0 if bit_depth == 8 else 65535.0)
    img = np.asarray(img)
    out = np.empty(img.shape, dtype=dtype)
    if img.ndim == 0:
        return _quantise(img.astype(np.float32), maxv).astype(dtype)
    for r0 in range(0, max(img.shape[0], 1), _CHUNK_ROWS):
        chunk = img[r0:r0 + _CHUNK_ROWS]
        out[r0:r0 + _CHUNK_ROWS] = _quantise(chunk.astype(np.float32), maxv)
    return out


def _quantise(x: np.ndarray, maxv: np.float32) -> np.ndarray:
    x = np.multiply(x, maxv, dtype=np.float32)
    np.fmax(x, 0.0, out=x)  # fmax/fmin, unlike clip, turn NaN into the bound
    np.fmin(x, maxv, out=x)
    return np.rint(x, out=x)


def _convert_depth(arr: np.ndarray, bit_depth: int) -> np.ndarray:
    """uint8 <-> uint16 with exact rounding (x * 257 up; round(x / 257) down)."""
    if bit_depth == 8 and arr.dtype == np.uint16:
        return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if bit_depth == 16 and arr.dtype == np.uint8:
        return arr.astype(np.uint16) * np.uint16(257)
    return arr


# --------------------------------------------------------------------------- reading


def read_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    """Read JPEG, PNG, TIFF, WebP, BMP (8/16 bit) or camera RAW into an :class:`Image`.

    The size is checked from the header before any pixel is decoded; images over
    ``max_pixels`` are refused. Raises ImageReadError naming the file and the cause.
    """
    path = Path(path)
    head = check_file(path)
    fmt = sniff(path, head)
    decoded = _decode(path, fmt, max_pixels)
    return _finish(path, decoded)


def _decode(path: Path, fmt: str, max_pixels: int, *, raw_half: bool = False) -> Decoded:
    try:
        if fmt == "JPEG":
            return decode_jpeg(path, max_pixels)
        if fmt == "PNG":
            return decode_png(path, max_pixels)
        if fmt == "TIFF":
            from limelight.core.imageio_tiff import decode_tiff  # (tifffile: 27 ms to import)

            return decode_tiff(path, max_pixels)
        if fmt == "RAW":
            return decode_raw(path, max_pixels, half_size=raw_half)
        return decode_pillow(path, fmt, max_pixels)
    except ImageReadError:
        raise
    except Exception as exc:  # Pillow/OpenCV/tifffile errors never reach the user raw  # noqa: BLE001
        if is_out_of_memory(exc):
            raise ImageReadError(memory_problem(_header_pixels(path)), path) from exc
        raise ImageReadError(f"cannot decode this {fmt} file: {describe(exc)}", path) from exc


def _header_pixels(path: Path) -> int | None:
    """The pixel count a header announces (no decoding), or None when it cannot be read."""
    try:
        from PIL import Image as PILImage

        with PILImage.open(path) as im:
            return int(im.size[0]) * int(im.size[1])
    except Exception:  # noqa: BLE001 - only for the size in a message
        return None


def _finish(path: Path, d: Decoded) -> Image:
    """Apply the orientation, reset it in the EXIF, and wrap pixels and metadata."""
    orientation = 1 if d.oriented else d.orientation
    pixels = apply_orientation(d.pixels, orientation)
    alpha = apply_orientation(d.alpha, orientation) if d.alpha is not None else None
    if alpha is not None and alpha.dtype != pixels.dtype:
        alpha = _convert_depth(alpha, 8 if pixels.dtype == np.uint8 else 16)
    meta = ImageMeta(
        source=path,
        format=d.format,
        bit_depth=8 if pixels.dtype == np.uint8 else 16,
        exif=exif_reset_orientation(d.exif),
        icc=d.icc,
        alpha=alpha,
    )
    return Image(np.ascontiguousarray(pixels), meta)


def read_preview(path: str | Path, long_edge: int, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    """A fast read downscaled so that its long edge is at most ``long_edge`` (never upscaled).

    JPEGs decode at 1/2, 1/4 or 1/8 scale in libjpeg (Pillow's draft mode), RAW files at half
    size; the rest is read whole. The remainder is an ``INTER_AREA`` resize. Same metadata
    as :func:`read_image` (alpha resized along).
    """
    if long_edge < 1:
        raise ValueError(f"long_edge must be positive, got {long_edge}")
    path = Path(path)
    head = check_file(path)
    fmt = sniff(path, head)
    decoded = _decode_preview(path, fmt, long_edge, max_pixels)
    image = _finish(path, decoded)
    return _shrink(image, long_edge)


def _decode_preview(path: Path, fmt: str, long_edge: int, max_pixels: int) -> Decoded:
    if fmt == "RAW":
        return _decode(path, fmt, max_pixels, raw_half=True)  # refined below if too small
    if fmt != "JPEG":
        return _decode(path, fmt, max_pixels)
    try:
        with pil_open(path, "JPEG") as im:
            w, h = im.size
            check_size(path, w, h, max_pixels)
            scale = max(w, h) / long_edge
            exif = normalise_exif(im.info.get("exif"))
            turbo = _reduced_turbo(path, im, scale) if im.mode == "RGB" else None
            if turbo is not None:
                pixels, alpha, icc = turbo, None, im.info.get("icc_profile") or None
            else:
                if scale >= 2:
                    im.draft(im.mode, (max(1, int(w / scale)), max(1, int(h / scale))))
                im.load()
                pixels, alpha, icc = pil_to_array(im, path)
    except ImageReadError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise ImageReadError(f"cannot decode this JPEG file: {describe(exc)}", path) from exc
    return Decoded(pixels, alpha, "JPEG", 8, exif, icc, exif_orientation(exif, path))


def _reduced_turbo(path: Path, im: Any, scale: float) -> np.ndarray | None:
    """The RGB JPEG ``im`` (opened, not decoded) decoded at the DCT scale Pillow's draft
    mode picks for ``scale`` (1/2, 1/4 or 1/8: the same pixels, tested) by libjpeg-turbo
    straight into an array (``simplejpeg``; Pillow's path copies through 4 bytes per pixel),
    or None when simplejpeg refuses the file (Pillow then decodes it)."""
    w, h = im.size
    factor = next((a for a in (8, 4, 2) if scale >= 2 and min(w // max(1, int(w / scale)),
                                                              h // max(1, int(h / scale))) >= a),
                  1)
    try:
        import simplejpeg

        arr = simplejpeg.decode_jpeg(path.read_bytes(), colorspace="RGB",
                                     min_width=-(-w // factor), min_height=-(-h // factor))
    except (ImportError, ValueError) as exc:
        log.debug("simplejpeg could not decode %s (%s); using Pillow", path, exc)
        return None
    return arr if arr.shape[:2] == (-(-h // factor), -(-w // factor)) else None


def _shrink(image: Image, long_edge: int) -> Image:
    h, w = image.height, image.width
    if max(h, w) <= long_edge:
        return image
    s = long_edge / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    pixels = cv2.resize(image.pixels, size, interpolation=cv2.INTER_AREA)
    alpha = image.meta.alpha
    if alpha is not None:
        alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    meta = ImageMeta(image.meta.source, image.meta.format, image.meta.bit_depth,
                     image.meta.exif, image.meta.icc, alpha)
    return Image(pixels, meta)


# --------------------------------------------------------------------------- writing


def write_image(
    path: str | Path,
    pixels: np.ndarray,
    *,
    meta: ImageMeta | None = None,
    fmt: str | None = None,
    quality: int = 95,
    bit_depth: int | None = None,
    protect: Iterable[str | Path] = (),
) -> Path:
    """Write (H, W, 3) RGB pixels atomically; return the path written.

    ``pixels`` integer (uint8/uint16, written as is unless ``bit_depth`` asks otherwise) or
    float in [0, 1] (quantised to ``bit_depth``, else ``meta.bit_depth``, else 8). The format
    comes from ``fmt`` (jpeg/png/tiff/webp/bmp) or the suffix; JPEG, WebP and BMP hold 8 bits,
    so deeper data is rounded to 8. EXIF (orientation 1) and ICC come from ``meta``; its alpha
    is restored in PNG, TIFF and WebP when its size matches. Refuses (ImageWriteError) any
    path in ``protect`` or ``meta.source``.
    """
    dest = Path(path)
    if dest.is_dir():  # said first: a folder has no suffix, and that is not the problem
        raise ImageWriteError("is a folder; give a file name for the output", dest)
    kind = _resolve_format(dest, fmt)
    guarded = [Path(p) for p in protect]
    if meta is not None and meta.source is not None:
        guarded.append(Path(meta.source))
    check_destination(dest, guarded)
    if not 1 <= quality <= 100:
        raise ImageWriteError(f"quality must be between 1 and 100, got {quality}", dest)
    data = _prepare_pixels(dest, pixels, meta, bit_depth, MAX_DEPTH[kind])
    alpha = _prepare_alpha(dest, data, meta) if kind in HAS_ALPHA else None
    icc = meta.icc if meta is not None else None
    exif = exif_reset_orientation(meta.exif) if meta is not None else None

    def encode(fh) -> None:  # noqa: ANN001 - a binary file object
        if kind == "PNG":
            encode_png(fh, data, alpha, icc, exif)
        elif kind == "TIFF":
            from limelight.core.imageio_tiff import encode_tiff

            encode_tiff(fh, data, alpha, icc, exif)
        elif kind == "JPEG":
            encode_jpeg(fh, data, icc, exif, quality)
        else:
            encode_pillow(fh, kind, data, alpha, icc, exif, quality)

    atomic_write(dest, kind, encode, pixels=data.shape[0] * data.shape[1])
    return dest


def _resolve_format(dest: Path, fmt: str | None) -> str:
    key = (fmt or dest.suffix.lstrip(".")).lower()
    if key not in FORMATS:
        what = f"format {fmt!r}" if fmt else f"suffix {dest.suffix!r}" if dest.suffix else "no suffix"
        raise ImageWriteError(f"cannot write {what}; use .jpg, .png, .tif, .webp or .bmp", dest)
    return FORMATS[key]


def _prepare_pixels(
    dest: Path, pixels: np.ndarray, meta: ImageMeta | None, bit_depth: int | None, max_depth: int
) -> np.ndarray:
    arr = np.asarray(pixels)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ImageWriteError(f"pixels must be (H, W, 3) RGB, got shape {arr.shape}", dest)
    if bit_depth not in (None, 8, 16):
        raise ImageWriteError(f"bit_depth must be 8 or 16, got {bit_depth}", dest)
    if arr.dtype.kind == "f":
        depth = bit_depth or (meta.bit_depth if meta is not None else 8)
        return from_float(arr, min(depth, max_depth))
    if arr.dtype not in (np.uint8, np.uint16):
        raise ImageWriteError(f"pixels must be uint8, uint16 or float, got {arr.dtype}", dest)
    depth = min(bit_depth or arr.dtype.itemsize * 8, max_depth)
    return np.ascontiguousarray(_convert_depth(arr, depth))


def _prepare_alpha(dest: Path, data: np.ndarray, meta: ImageMeta | None) -> np.ndarray | None:
    if meta is None or meta.alpha is None:
        return None
    alpha = np.asarray(meta.alpha)
    if alpha.shape != data.shape[:2]:
        log.warning("%s: alpha %s does not match the pixels %s; written without alpha",
                    dest, alpha.shape, data.shape[:2])
        return None
    if alpha.dtype.kind == "f":
        return from_float(alpha, 8 if data.dtype == np.uint8 else 16)
    return np.ascontiguousarray(_convert_depth(alpha, 8 if data.dtype == np.uint8 else 16))


__all__ = [
    "DEFAULT_MAX_PIXELS", "Image", "ImageMeta", "ImageReadError", "ImageWriteError",
    "from_float", "read_image", "read_preview", "to_float", "write_image",
]
