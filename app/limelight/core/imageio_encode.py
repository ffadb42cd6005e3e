"""Encoders and the atomic file writer behind ``limelight.core.imageio.write_image``.

JPEG through OpenCV's libjpeg-turbo (Pillow's bytes, EXIF and ICC segments included, without
its copy to 4 bytes per pixel); WebP and BMP through Pillow; PNG through OpenCV's default settings (faster than Pillow and than explicit zlib levels, 8
and 16 bit) with
iCCP/eXIf chunks inserted by ``imageio_meta``; TIFF through tifffile.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np

from limelight.core.atomic import NoTempFile, atomic_path
from limelight.core.errors import ImageWriteError
from limelight.core.imageio_decode import is_out_of_memory, memory_problem
from limelight.core.imageio_meta import EXIF_PREFIX, png_insert_metadata

log = logging.getLogger(__name__)

FORMATS = {
    "jpeg": "JPEG", "jpg": "JPEG", "png": "PNG", "tiff": "TIFF", "tif": "TIFF",
    "webp": "WEBP", "bmp": "BMP",
}
MAX_DEPTH = {"JPEG": 8, "WEBP": 8, "BMP": 8, "PNG": 16, "TIFF": 16}
HAS_ALPHA = {"PNG", "TIFF", "WEBP"}


def encode_pillow(
    fh: BinaryIO, fmt: str, pixels: np.ndarray, alpha: np.ndarray | None,
    icc: bytes | None, exif: bytes | None, quality: int,
) -> None:
    """WebP or BMP (8-bit) through Pillow."""
    from PIL import Image as PILImage

    data = pixels if alpha is None else np.dstack([pixels, alpha])
    im = PILImage.fromarray(data, "RGBA" if alpha is not None else "RGB")
    kwargs: dict[str, object] = {}
    if fmt == "WEBP":
        kwargs["quality"] = quality
        if icc:
            kwargs["icc_profile"] = icc
        if exif:
            kwargs["exif"] = EXIF_PREFIX + exif
    im.save(fh, fmt, **kwargs)


#: Bytes one JPEG marker segment holds after its marker (its length field included).
_MAX_SEGMENT = 65533
_ICC_HEADER = b"ICC_PROFILE\x00"


def encode_jpeg(fh: BinaryIO, pixels: np.ndarray, icc: bytes | None, exif: bytes | None,
                quality: int) -> None:
    """(H, W, 3) uint8 RGB as JPEG through OpenCV's libjpeg-turbo.

    The same bytes as Pillow's encoder with Limelight's settings (4:4:4 chroma at quality
    >= 90, what photographers expect, 4:2:0 below; standard Huffman tables; the JFIF
    header), with the EXIF (APP1) and ICC (APP2, in chunks) segments written where Pillow
    writes them, after the JFIF header; tests compare the two. OpenCV reads the array as it
    is, where Pillow first copies it to 4 bytes per pixel: 24 MP encodes about a third faster.
    """
    sampling = (cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444 if quality >= 90
                else cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality),
                            cv2.IMWRITE_JPEG_SAMPLING_FACTOR, sampling])
    if not ok:
        raise ValueError("OpenCV could not encode the JPEG")
    data = buf.reshape(-1).data  # (a memoryview: no copy)
    if bytes(data[:4]) != b"\xff\xd8\xff\xe0":
        raise ValueError("OpenCV's JPEG has no JFIF header")
    head = 4 + int.from_bytes(data[4:6], "big")  # SOI + APP0
    fh.write(data[:head])
    fh.write(jpeg_metadata_segments(icc, exif))
    fh.write(data[head:])


def jpeg_metadata_segments(icc: bytes | None, exif: bytes | None) -> bytes:
    """The APP1 (EXIF, ``Exif\\0\\0`` + the TIFF header) and APP2 (ICC profile, split into
    numbered chunks) segments of a JPEG, as Pillow writes them. ValueError when the EXIF
    does not fit in one segment (as Pillow)."""
    out = bytearray()
    if exif:
        data = EXIF_PREFIX + exif
        if len(data) > _MAX_SEGMENT:
            raise ValueError("EXIF data is too long")
        out += b"\xff\xe1" + (2 + len(data)).to_bytes(2, "big") + data
    if icc:
        room = _MAX_SEGMENT - len(_ICC_HEADER) - 2
        chunks = [icc[i:i + room] for i in range(0, len(icc), room)]
        for k, chunk in enumerate(chunks, 1):
            size = 2 + len(_ICC_HEADER) + 2 + len(chunk)
            out += (b"\xff\xe2" + size.to_bytes(2, "big") + _ICC_HEADER
                    + bytes((k, len(chunks))) + chunk)
    return bytes(out)


def encode_png(
    fh: BinaryIO, pixels: np.ndarray, alpha: np.ndarray | None, icc: bytes | None, exif: bytes | None
) -> None:
    """PNG, 8 or 16 bit, RGB or RGBA, through OpenCV; iCCP/eXIf inserted after IHDR."""
    if alpha is None:
        bgr = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    else:
        bgr = cv2.cvtColor(np.dstack([pixels, alpha]), cv2.COLOR_RGBA2BGRA)
    ok, buf = cv2.imencode(".png", bgr)  # OpenCV's default: the fastest setting measured
    if not ok:
        raise ValueError("OpenCV could not encode the PNG")
    fh.write(png_insert_metadata(buf.tobytes(), icc=icc, exif=exif))


def _identity(path: str | Path) -> tuple[str, tuple[int, int] | None]:
    """(the path with symlinks and ``..`` resolved, (device, inode) if it exists). Never
    raises: a symlink loop or an unreadable path resolves as far as it can."""
    try:
        real = os.path.normcase(os.path.realpath(path))
    except (OSError, ValueError):
        real = os.path.normcase(os.path.abspath(path))
    try:
        st = os.stat(path)
        inode: tuple[int, int] | None = (st.st_dev, st.st_ino)
    except (OSError, ValueError):
        inode = None
    return real, inode


@dataclass(frozen=True)
class Protected:
    """Paths that must never be written (a run's inputs): the one same-file test of the core.

    A destination is one of them when it names the same file after symlinks and ``..`` are
    resolved, or is the same file on disk under another name (a hard link, a case-insensitive
    file system). Built once per run, so checking thousands of outputs stays cheap.
    """

    paths: tuple[Path, ...]
    _reals: dict[str, Path] = field(init=False, repr=False, compare=False)
    _inodes: dict[tuple[int, int], Path] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        reals: dict[str, Path] = {}
        inodes: dict[tuple[int, int], Path] = {}
        for p in self.paths:
            real, inode = _identity(p)
            reals.setdefault(real, p)
            if inode is not None:
                inodes.setdefault(inode, p)
        object.__setattr__(self, "_reals", reals)
        object.__setattr__(self, "_inodes", inodes)

    @classmethod
    def of(cls, paths: Iterable[str | Path]) -> Protected:
        return cls(tuple(Path(p) for p in paths))

    def find(self, dest: str | Path) -> Path | None:
        """The protected path that writing ``dest`` would replace, or None."""
        real, inode = _identity(dest)
        hit = self._reals.get(real)
        if hit is None and inode is not None:
            hit = self._inodes.get(inode)
        return hit


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether writing ``b`` would replace ``a`` (see ``Protected``)."""
    return Protected.of([a]).find(b) is not None


def refuse_protected(dest: str | Path, protect: Protected | Iterable[str | Path],
                     what: str = "the output") -> None:
    """ImageWriteError naming ``dest`` when it is one of ``protect`` (the inputs)."""
    guard = protect if isinstance(protect, Protected) else Protected.of(protect)
    hit = guard.find(dest)
    if hit is not None:
        shown = "" if os.path.abspath(hit) == os.path.abspath(dest) else f" {hit}"
        raise ImageWriteError(f"{what} would overwrite the input file{shown}; an input is "
                              "never written, choose another path", dest)


def check_destination(dest: Path, protect: Protected | Iterable[str | Path]) -> None:
    """Refuse protected paths (the inputs), folders, and missing or non-folder parents."""
    refuse_protected(dest, protect)
    parent = Path(os.path.realpath(dest)).parent
    if not parent.exists():
        raise ImageWriteError(f"the output folder {parent} does not exist", dest)
    if not parent.is_dir():
        raise ImageWriteError(f"{parent} is not a folder", dest)
    if dest.is_dir():
        raise ImageWriteError("is a folder; give a file name for the output", dest)


def atomic_write(dest: Path, fmt: str, encode: Callable[[BinaryIO], None], *,
                 pixels: int | None = None) -> None:
    """Run ``encode`` into a temporary file beside ``dest``, then rename it over ``dest``
    (``atomic.atomic_path``): ``dest`` is either the old file or the complete new one.
    ``pixels`` (the image's count) sizes the message when memory runs out.

    Raises:
        ImageWriteError: naming ``dest`` and the reason.
    """
    try:
        with atomic_path(dest) as tmp, tmp.open("wb") as fh:
            try:
                encode(fh)
            except OSError:
                raise
            except Exception as exc:  # encoder failure  # noqa: BLE001
                if is_out_of_memory(exc):
                    raise ImageWriteError(memory_problem(pixels), dest) from exc
                why = str(exc) or type(exc).__name__
                raise ImageWriteError(f"could not encode the image as {fmt} ({why})",
                                      dest) from exc
    except NoTempFile as exc:
        raise ImageWriteError(f"cannot write in the folder {dest.parent} ({_reason(exc)})",
                              dest) from exc
    except OSError as exc:
        raise ImageWriteError(f"could not write the file ({_reason(exc)})", dest) from exc


def _reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    return exc.strerror or str(exc)
