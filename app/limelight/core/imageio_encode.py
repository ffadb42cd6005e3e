"""Encoders and the atomic file writer behind ``limelight.core.imageio.write_image``.

JPEG through OpenCV's libjpeg-turbo in strips on several cores (Pillow's bytes with a restart
marker per row of MCUs, EXIF and ICC segments included, without its copy to 4 bytes per
pixel); WebP and BMP through Pillow; PNG through OpenCV's default settings (faster than Pillow
and than explicit zlib levels, 8 and 16 bit) with iCCP/eXIf chunks inserted by
``imageio_meta``; TIFF through tifffile.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
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


#: Rows of MCUs a JPEG strip holds at least (below that a strip's call and header cost more
#: than the second core gains).
_STRIP_MCU_ROWS = 64


def encode_jpeg(fh: BinaryIO, pixels: np.ndarray, icc: bytes | None, exif: bytes | None,
                quality: int, *, workers: int | None = None) -> None:
    """(H, W, 3) uint8 RGB as JPEG through OpenCV's libjpeg-turbo, in strips on
    ``workers`` threads (default: OpenCV's thread count).

    The same bytes as Pillow's encoder with Limelight's settings (4:4:4 chroma at quality
    >= 90, what photographers expect, 4:2:0 below; standard Huffman tables; the JFIF
    header; a restart marker after every row of MCUs, Pillow's ``restart_marker_rows=1``),
    with the EXIF (APP1) and ICC (APP2, in chunks) segments written where Pillow writes
    them, after the JFIF header; tests compare the two. The restart markers make the rows
    of MCUs independent: horizontal strips are encoded at once on several cores and joined
    into one stream, the same bytes whatever the number of strips (a baseline JPEG every
    decoder reads; about 2 bytes more per 8 or 16 rows). OpenCV also reads the array as it
    is, where Pillow first copies it to 4 bytes per pixel.
    """
    height, width = pixels.shape[:2]
    mcu = 8 if quality >= 90 else 16
    sampling = (cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444 if quality >= 90
                else cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality), cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
              sampling, cv2.IMWRITE_JPEG_RST_INTERVAL, -(-width // mcu)]
    rows = -(-height // mcu)  # rows of MCUs, one restart interval each
    count = max(1, min(workers or cv2.getNumThreads(), rows // _STRIP_MCU_ROWS))
    # a multiple of 8 rows per strip: the restart markers cycle through 8 numbers, so each
    # strip continues the sequence with its own markers unchanged
    per_strip = -(-rows // count)
    step = -(-per_strip // 8) * 8
    spans = [(r * mcu, min(height, (r + step) * mcu)) for r in range(0, rows, step)]

    def encode(span: tuple[int, int]) -> memoryview:
        bgr = cv2.cvtColor(pixels[span[0]:span[1]], cv2.COLOR_RGB2BGR)
        ok, buf = cv2.imencode(".jpg", bgr, params)
        if not ok:
            raise ValueError("OpenCV could not encode the JPEG")
        return buf.reshape(-1).data  # (a memoryview: no copy)

    if len(spans) == 1:
        parts = [encode(spans[0])]
    else:
        with ThreadPoolExecutor(len(spans), thread_name_prefix="limelight-jpeg") as pool:
            parts = list(pool.map(encode, spans))
    strips = [_strip(part, height) for part in parts]
    head, tables, _ = strips[0]
    fh.write(head)  # SOI + APP0 (JFIF)
    fh.write(jpeg_metadata_segments(icc, exif))
    fh.write(tables)
    for k, ((_, own_tables, scan), (y0, _y1)) in enumerate(zip(strips, spans, strict=True)):
        if k:
            if own_tables != tables:
                raise ValueError("OpenCV's JPEG strips have different tables")
            fh.write(bytes((0xFF, 0xD0 + (y0 // mcu - 1) % 8)))  # RSTn between intervals
        fh.write(scan)
    fh.write(b"\xff\xd9")  # EOI


def _strip(data: memoryview, height: int) -> tuple[memoryview, bytes, memoryview]:
    """A strip's (SOI + JFIF header, the segments up to its entropy-coded data with the
    frame's number of lines set to ``height``, that data without the end marker)."""
    head, scan, frame = _jpeg_layout(data)
    if bytes(data[-2:]) != b"\xff\xd9":
        raise ValueError("OpenCV's JPEG has no end marker")
    tables = bytearray(data[head:scan])
    tables[frame - head + 5:frame - head + 7] = height.to_bytes(2, "big")  # SOF's lines
    return data[:head], bytes(tables), data[scan:-2]


def _jpeg_layout(data: memoryview) -> tuple[int, int, int]:
    """(end of the JFIF header, start of the scan's entropy-coded data, offset of the SOF0
    segment) of a baseline JPEG as OpenCV writes it (SOI, APP0, tables, SOF0, DRI, SOS)."""
    if bytes(data[:4]) != b"\xff\xd8\xff\xe0":
        raise ValueError("OpenCV's JPEG has no JFIF header")
    at, head, frame = 2, 0, -1
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker, size = data[at + 1], int.from_bytes(data[at + 2:at + 4], "big")
        if marker == 0xE0:
            head = at + 2 + size
        elif marker == 0xC0:
            frame = at
        elif marker == 0xDA:
            if not head or frame < 0:
                break
            return head, at + 2 + size, frame
        at += 2 + size
    raise ValueError("OpenCV's JPEG has an unexpected layout")


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
