"""Metadata helpers for ``limelight.core.imageio``: EXIF orientation, PNG chunks, TIFF EXIF.

EXIF blocks are handled as TIFF-structured bytes (they start with ``II*\\0`` or ``MM\\0*``);
the ``Exif\\0\\0`` prefix that JPEG's APP1 segment carries is stripped on read and added back
on write. Orientation is patched *in place* so that every other byte of the block (maker
notes use absolute offsets) survives a round trip unchanged.
"""

from __future__ import annotations

import hashlib
import io
import logging
import struct
import threading
import zlib
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

EXIF_PREFIX = b"Exif\x00\x00"
ORIENTATION_TAG = 0x0112
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# IFD0 tags worth carrying from a TIFF/RAW file's first directory into another file's EXIF.
_IFD0_KEEP = (
    0x010E,  # ImageDescription
    0x010F,  # Make
    0x0110,  # Model
    0x0112,  # Orientation
    0x0131,  # Software
    0x0132,  # DateTime
    0x013B,  # Artist
    0x8298,  # Copyright
)
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825


def normalise_exif(data: bytes | None) -> bytes | None:
    """Return the TIFF-structured EXIF block (no ``Exif\\0\\0`` prefix), or None if unusable."""
    if not data:
        return None
    if data.startswith(EXIF_PREFIX):
        data = data[len(EXIF_PREFIX):]
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        log.debug("ignoring an EXIF block without a TIFF header")
        return None
    return bytes(data)


def _orientation_entry(exif: bytes) -> tuple[int, str] | str | None:
    """(byte offset of IFD0's orientation value, byte order); None when there is none; a
    sentence saying what is damaged when IFD0 or the entry runs past the block's end."""
    order = "<" if exif[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack_from(order + "I", exif, 4)
        (count,) = struct.unpack_from(order + "H", exif, ifd)
        for i in range(count):
            pos = ifd + 2 + 12 * i
            tag, typ, n = struct.unpack_from(order + "HHI", exif, pos)
            if tag == ORIENTATION_TAG and typ == 3 and n == 1:  # SHORT, one value
                if pos + 10 > len(exif):
                    return "its orientation entry is cut short"
                return pos + 8, order
    except struct.error:
        return "its first directory runs past the end of the block"
    return None


_warned: set[tuple[str, bytes]] = set()
_warned_lock = threading.Lock()


def _warn_once(path: Path | str | None, exif: bytes, why: str) -> None:
    """One warning per damaged EXIF block and file, however often the file is decoded (a
    preview and then the full image, say)."""
    key = (str(path), hashlib.blake2b(exif, digest_size=8).digest())
    with _warned_lock:
        if key in _warned:
            return
        if len(_warned) > 4096:
            _warned.clear()
        _warned.add(key)
    where = f"{path}: " if path is not None else ""
    log.warning("%swarning: the EXIF orientation is damaged (%s); it is ignored and the "
                "photo is shown as stored", where, why)


def exif_orientation(exif: bytes | None, path: Path | str | None = None) -> int:
    """The EXIF orientation (1..8) of a normalised EXIF block; 1 when absent or invalid (a
    damaged or out-of-range entry is warned about once, naming ``path``)."""
    if not exif:
        return 1
    entry = _orientation_entry(exif)
    if entry is None:
        return 1
    if isinstance(entry, str):
        _warn_once(path, exif, entry)
        return 1
    (value,) = struct.unpack_from(entry[1] + "H", exif, entry[0])
    if not 1 <= value <= 8:
        _warn_once(path, exif, f"its value {value} is not 1 to 8")
        return 1
    return value


def exif_reset_orientation(exif: bytes | None) -> bytes | None:
    """A copy of a normalised EXIF block with orientation set to 1 (top-left), byte-exact
    (a damaged block is kept as it is: its orientation was ignored when reading)."""
    if not exif:
        return exif
    entry = _orientation_entry(exif)
    if not isinstance(entry, tuple):
        return exif
    out = bytearray(exif)
    struct.pack_into(entry[1] + "H", out, entry[0], 1)
    return bytes(out)


def apply_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an (H, W[, C]) array stored with EXIF ``orientation`` into display order.

    Returns a view for 1 and a C-contiguous copy otherwise (same as ``ImageOps.exif_transpose``).
    """
    if orientation == 1:
        return arr
    axes = (1, 0) + tuple(range(2, arr.ndim))
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(axes),
        6: lambda a: a.transpose(axes)[:, ::-1],
        7: lambda a: a.transpose(axes)[::-1, ::-1],
        8: lambda a: a.transpose(axes)[::-1],
    }
    return np.ascontiguousarray(ops[orientation](arr))


def exif_from_tiff_header(path: Path) -> tuple[bytes | None, int]:
    """EXIF (IFD0 descriptive tags + EXIF and GPS sub-IFDs) of a TIFF-structured file.

    Reads only the directories, never pixels. Returns (normalised EXIF or None, orientation).
    Layout tags (strip offsets, sizes...) are dropped: they describe the source file only.
    """
    from PIL import Image as PILImage

    try:
        with path.open("rb") as fh:  # directories only: works for DNG/NEF/CR2 too
            src = PILImage.Exif()
            src.load_from_fp(fh)
            out = PILImage.Exif()
            for tag in _IFD0_KEEP:
                if tag in src:
                    out[tag] = src[tag]
            for ifd in (_EXIF_IFD, _GPS_IFD):
                sub = src.get_ifd(ifd)
                if sub:
                    out[ifd] = dict(sub)
            orientation = int(src.get(ORIENTATION_TAG, 1) or 1)
            if not len(out):
                return None, orientation
            return normalise_exif(out.tobytes()), orientation if 1 <= orientation <= 8 else 1
    except Exception as exc:  # metadata is best effort: pixels matter more  # noqa: BLE001
        log.debug("no EXIF read from %s: %s", path, exc)
        return None, 1


# --------------------------------------------------------------------------- PNG chunks


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_metadata(fh: io.BufferedIOBase) -> tuple[bytes | None, bytes | None]:
    """(icc, exif) of a PNG stream positioned anywhere; reads chunk headers, skips IDAT data."""
    fh.seek(len(PNG_SIGNATURE))
    icc = exif = None
    while True:
        head = fh.read(8)
        if len(head) < 8:
            break
        length, kind = struct.unpack(">I4s", head)
        if kind == b"IEND":
            break
        if kind in (b"iCCP", b"eXIf"):
            data = fh.read(length)
            if kind == b"iCCP":
                try:
                    icc = zlib.decompress(data[data.index(b"\x00") + 2:])
                except (ValueError, zlib.error):
                    log.debug("ignoring a corrupt iCCP chunk")
            else:
                exif = normalise_exif(data)
            fh.seek(4, io.SEEK_CUR)
        else:
            fh.seek(length + 4, io.SEEK_CUR)
    return icc, exif


def png_insert_metadata(png: bytes, *, icc: bytes | None, exif: bytes | None) -> bytes:
    """Insert iCCP and eXIf chunks right after IHDR of an encoded PNG (which must have none)."""
    if not icc and not exif:
        return png
    if not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise ValueError("not a PNG stream starting with IHDR")
    ihdr_end = 8 + 8 + struct.unpack_from(">I", png, 8)[0] + 4
    extra = b""
    if icc:
        extra += _chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc))
    if exif:
        extra += _chunk(b"eXIf", exif)
    return png[:ihdr_end] + extra + png[ihdr_end:]
