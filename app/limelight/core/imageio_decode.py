"""Decoders behind ``limelight.core.imageio.read_image``: sniffing, header checks, pixels.

Every decoder checks the pixel count from the header before decoding a single pixel and
returns a :class:`Decoded` in stored orientation; ``imageio`` applies the orientation.
Backends, chosen by measurement (see the module docstring of ``imageio``): OpenCV's
libjpeg-turbo for ordinary JPEGs and for 16-bit PNGs (Pillow reduces those to 8 bits),
Pillow for everything else small or exotic (CMYK, palette, WebP, BMP), tifffile for TIFF
and rawpy (LibRaw) for camera RAW.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from limelight.core.errors import ImageReadError
from limelight.core.imageio_meta import (
    PNG_SIGNATURE,
    exif_from_tiff_header,
    exif_orientation,
    normalise_exif,
    png_metadata,
)

log = logging.getLogger(__name__)
# Pillow reads the DPI from EXIF as it opens a JPEG and warns on a damaged block, once per
# file and with no file name; the orientation reader says it once, naming the photo.
warnings.filterwarnings("ignore", message=r"(Possibly )?[Cc]orrupt EXIF", category=UserWarning)

RAW_SUFFIXES = frozenset({".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw"})
_UNSUPPORTED = {
    b"GIF8": "GIF",
    b"\x00\x00\x00\x0cjP": "JPEG 2000",
    b"8BPS": "Photoshop (PSD)",
    b"%PDF": "PDF",
}


@dataclass(frozen=True)
class Decoded:
    """Raw decoder output: pixels (H,W,3) and alpha (H,W) in *stored* orientation."""

    pixels: np.ndarray
    alpha: np.ndarray | None
    format: str
    bit_depth: int
    exif: bytes | None
    icc: bytes | None
    orientation: int = 1
    oriented: bool = False  # True when the backend already applied the orientation


def sniff(path: Path, head: bytes) -> str:
    """The format of a file from its first bytes (and suffix, for camera RAW)."""
    if path.suffix.lower() in RAW_SUFFIXES:
        return "RAW"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(PNG_SIGNATURE):
        return "PNG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:2] == b"BM":
        return "BMP"
    for magic, name in _UNSUPPORTED.items():
        if head.startswith(magic):
            raise ImageReadError(f"{name} files are not supported (use JPEG, PNG, TIFF, WebP, BMP or camera RAW)", path)
    if head[4:8] == b"ftyp":
        raise ImageReadError("HEIF/AVIF files are not supported (use JPEG, PNG, TIFF, WebP, BMP or camera RAW)", path)
    if _looks_like_text(head):
        raise ImageReadError("the file contains text, not image data", path)
    raise ImageReadError("not a supported image: the content is not JPEG, PNG, TIFF, WebP, BMP or camera RAW", path)


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\r\n\t" for c in text)


#: The fewest pixels on a side an image may have (a 1x1 image failed deep in OpenCV).
MIN_SIDE = 3


def check_size(path: Path, width: int, height: int, max_pixels: int) -> None:
    """Refuse images above ``max_pixels`` (decompression bombs), with no pixels, or under
    ``MIN_SIDE`` pixels on a side (no photo; the guided transfer and GrabCut fail on them)."""
    if width <= 0 or height <= 0:
        raise ImageReadError(f"the header gives an invalid size {width}x{height}", path)
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageReadError(f"the image is {width}x{height} pixels; Limelight needs at least "
                             f"{MIN_SIDE} on each side", path)
    if width * height > max_pixels:
        raise ImageReadError(
            f"the image is {width}x{height} = {width * height / 1e6:.0f} megapixels; "
            f"Limelight refuses images over {max_pixels / 1e6:.0f} megapixels",
            path,
        )


def split_channels(arr: np.ndarray, order: str = "RGB") -> tuple[np.ndarray, np.ndarray | None]:
    """(H,W), (H,W,1|2|3|4) gray/gray+alpha/colour(+alpha) in ``order`` -> RGB (H,W,3), alpha."""
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2RGB), None
    channels = arr.shape[2]
    if channels == 2:
        return cv2.cvtColor(np.ascontiguousarray(arr[..., 0]), cv2.COLOR_GRAY2RGB), arr[..., 1].copy()
    if channels not in (3, 4):
        raise ValueError(f"{channels} colour channels")
    alpha = arr[..., 3].copy() if channels == 4 else None
    if order == "BGR":
        code = cv2.COLOR_BGRA2RGB if channels == 4 else cv2.COLOR_BGR2RGB
        return cv2.cvtColor(arr, code), alpha
    rgb = arr[..., :3] if channels == 4 else arr
    return np.ascontiguousarray(rgb), alpha


def _decode_turbo(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a complete 8-bit JPEG (gray ones expanded) through
    libjpeg-turbo's TurboJPEG API (``simplejpeg``): the same pixels as OpenCV's decoder,
    in about 0.6x its time on 24 MP (issue 19, measured in one run); OpenCV's lenient
    decoder takes over when simplejpeg refuses the file (corrupt-data warnings)."""
    try:
        import simplejpeg

        data = path.read_bytes()
        arr = simplejpeg.decode_jpeg(data, colorspace="RGB")
        if arr.ndim == 3 and arr.shape[2] == 3 and arr.dtype == np.uint8:
            return arr
    except (ImportError, ValueError) as exc:
        log.debug("simplejpeg could not decode %s (%s); using OpenCV", path, exc)
    return _imdecode(path, cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION)


def _imdecode(path: Path, flags: int) -> np.ndarray:
    data = np.fromfile(path, dtype=np.uint8)
    arr = cv2.imdecode(data, flags)
    if arr is None:
        raise ValueError("the decoder could not read the pixel data")
    return arr


# --------------------------------------------------------------------------- Pillow


def _pil_class(fmt: str):  # noqa: ANN202 - a Pillow ImageFile subclass
    """The format's Pillow class; only its own plugin is imported (Pillow's PNG plugin
    alone costs a JPEG export ~10 ms of start-up)."""
    import importlib

    module, name = {
        "JPEG": ("JpegImagePlugin", "JpegImageFile"),
        "PNG": ("PngImagePlugin", "PngImageFile"),
        "WEBP": ("WebPImagePlugin", "WebPImageFile"),
        "BMP": ("BmpImagePlugin", "BmpImageFile"),
    }[fmt]
    return getattr(importlib.import_module(f"PIL.{module}"), name)


def pil_open(path: Path, fmt: str):  # noqa: ANN201 - PIL.ImageFile.ImageFile
    """Open a header with the format's Pillow plugin (no global decompression-bomb state)."""
    return _pil_class(fmt)(str(path))


def pil_to_array(im, path: Path) -> tuple[np.ndarray, np.ndarray | None, bytes | None]:  # noqa: ANN001
    """Decode a Pillow image of any mode to RGB (H,W,3) uint8/uint16, alpha, and ICC to keep."""
    icc = im.info.get("icc_profile") or None
    mode = im.mode
    if mode == "CMYK":
        rgb, out_icc = _cmyk_to_rgb(im, icc, path)
        return np.asarray(rgb), None, out_icc
    if mode == "P" or mode == "PA":
        im = im.convert("RGBA" if mode == "PA" or "transparency" in im.info else "RGB")
    elif mode == "1":
        im = im.convert("L")
    elif mode not in ("L", "LA", "RGB", "RGBA", "I;16", "I;16B", "I;16L", "I;16N"):
        im = im.convert("RGBA" if "A" in mode else "RGB")
    arr = np.asarray(im)
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 2:
        arr = arr.astype(np.uint16, copy=False)
    pixels, alpha = split_channels(arr)
    return pixels, alpha, icc


def _cmyk_to_rgb(im, icc: bytes | None, path: Path):  # noqa: ANN001, ANN202
    """CMYK -> sRGB through the embedded profile when it is usable, naively otherwise."""
    if icc:
        try:
            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
            rgb = ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
            if rgb is not None:
                return rgb, _srgb_icc()
        except Exception as exc:  # noqa: BLE001 - a broken profile must not lose the photo
            log.warning("%s: the embedded CMYK profile is unusable (%s); converting naively", path, exc)
    return im.convert("RGB"), None


@functools.cache
def _srgb_icc() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def decode_pillow(path: Path, fmt: str, max_pixels: int) -> Decoded:
    """JPEG (CMYK or with trailing data), 8-bit PNG, WebP and BMP through Pillow."""
    with pil_open(path, fmt) as im:
        check_size(path, im.size[0], im.size[1], max_pixels)
        exif = normalise_exif(im.info.get("exif"))
        im.load()
        if fmt == "PNG" and exif is None:  # eXIf after IDAT is read by load()
            exif = normalise_exif(im.info.get("exif"))
        pixels, alpha, icc = pil_to_array(im, path)
    return Decoded(pixels, alpha, fmt, 8 if pixels.dtype == np.uint8 else 16, exif, icc, exif_orientation(exif, path))


def decode_jpeg(path: Path, max_pixels: int) -> Decoded:
    """JPEG: libjpeg-turbo (``_decode_turbo``) when the file is complete, else Pillow
    (strict)."""
    with pil_open(path, "JPEG") as im:
        check_size(path, im.size[0], im.size[1], max_pixels)
        mode = im.mode
        exif = normalise_exif(im.info.get("exif"))
        icc = im.info.get("icc_profile") or None
    if mode in ("RGB", "L") and _ends_with_eoi(path):
        arr = _decode_turbo(path)
        return Decoded(arr, None, "JPEG", 8, exif, icc, exif_orientation(exif, path))
    return decode_pillow(path, "JPEG", max_pixels)


def _ends_with_eoi(path: Path) -> bool:
    """True if the JPEG ends with its EOI marker (so OpenCV's lenient decoder is safe)."""
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 64))
        tail = fh.read().rstrip(b"\x00")
    return tail.endswith(b"\xff\xd9")


def decode_png(path: Path, max_pixels: int) -> Decoded:
    """PNG: 16-bit files through OpenCV (Pillow drops them to 8 bits), others through Pillow."""
    with path.open("rb") as fh:
        head = fh.read(33)
        if len(head) < 33 or head[12:16] != b"IHDR":
            raise ImageReadError("the PNG header is missing or truncated", path)
        width, height, depth, _colour = struct.unpack(">IIBB", head[16:26])
        check_size(path, width, height, max_pixels)
        if depth != 16:
            return decode_pillow(path, "PNG", max_pixels)
        icc, exif = png_metadata(fh)
    arr = _imdecode(path, cv2.IMREAD_UNCHANGED)
    pixels, alpha = split_channels(arr, "BGR")
    return Decoded(pixels, alpha, "PNG", 16, exif, icc, exif_orientation(exif, path))


def decode_raw(path: Path, max_pixels: int, *, half_size: bool = False) -> Decoded:
    """Camera RAW through LibRaw: camera white balance, sRGB, 16-bit, orientation applied.

    No auto-brightening (a dark photo stays as dark as the camera exposed it) and the sRGB
    tone curve (gamma 2.4, slope 12.92), so the result matches the other formats' encoding.
    """
    import rawpy

    try:
        with rawpy.imread(str(path)) as raw:
            sizes = raw.sizes
            check_size(path, sizes.width, sizes.height, max_pixels)
            rgb = raw.postprocess(
                use_camera_wb=True,
                output_bps=16,
                no_auto_bright=True,
                gamma=(2.4, 12.92),
                output_color=rawpy.ColorSpace.sRGB,
                half_size=half_size,
            )
    except ImageReadError:
        raise
    except Exception as exc:  # rawpy.LibRawError and friends  # noqa: BLE001
        raise ImageReadError(f"LibRaw could not decode this camera RAW file ({_describe(exc)})", path) from exc
    exif, _ = exif_from_tiff_header(path)
    return Decoded(np.ascontiguousarray(rgb, dtype=np.uint16), None, "RAW", 16, exif, None, 1, oriented=True)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def describe(exc: BaseException) -> str:
    """A short human description of a decoder exception."""
    if isinstance(exc, EOFError) or "truncated" in str(exc).lower():
        return "the file is truncated or damaged"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if is_out_of_memory(exc):
        return "not enough memory for this photo"
    return _describe(exc)


#: Rough bytes per pixel that processing a photo takes at its peak (float32 working
#: copies of the RGB image beside the source integers): for "about N GB needed".
BYTES_PER_PIXEL = 24


def is_out_of_memory(exc: BaseException) -> bool:
    """A MemoryError, or a decoder's or encoder's own way of saying it (OpenCV's
    "Insufficient memory", "Failed to allocate")."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return "insufficient memory" in text or "failed to allocate" in text \
        or "out of memory" in text


def memory_problem(pixels: int | None) -> str:
    """The one sentence said when memory runs out, with the need when the size is known."""
    if not pixels:
        return "not enough memory for this photo; close other programs and try again"
    need = pixels * BYTES_PER_PIXEL / 1e9
    return (f"not enough memory for this photo (about {max(need, 0.1):.1f} GB needed); "
            "close other programs and try again")


def check_file(path: Path) -> bytes:
    """Fail early and clearly for missing, empty, folder or unreadable files; return 32 bytes."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ImageReadError("the file does not exist", path) from None
    except OSError as exc:
        raise ImageReadError(f"the file cannot be accessed ({describe(exc)})", path) from exc
    if path.is_dir():
        raise ImageReadError("this is a folder, not an image file", path)
    if st.st_size == 0:
        raise ImageReadError("the file is empty", path)
    try:
        with path.open("rb") as fh:
            return fh.read(32)
    except OSError as exc:
        raise ImageReadError(f"the file cannot be opened ({describe(exc)})", path) from exc


def stat_problem(path: Path) -> str | None:
    """Why ``path`` cannot even be looked at (no such file, a symlink loop, permission
    denied, an unusable name), as one sentence naming it, or None."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return f"{path}: no such file or folder"
    except OSError as err:
        return f"{path}: cannot be read ({err.strerror or err})"
    except ValueError as err:
        return f"{path}: not a usable file name ({err})"
    return None
