"""A corpus of bad and odd input files (issue #17, item 12).

``python tests/bad_inputs.py DIR`` writes every kind into DIR and prints one line per file;
``tests/e2e/test_bad_inputs.py`` runs each through ``enhance``, ``batch`` and ``select``.
Each kind says what Limelight must do with it: ``ok`` (an odd but valid photo: it is
processed) or ``refused`` (exit 1 with one line naming the file). Everything is made here,
small, from numpy arrays, Pillow and tifffile: no data outside the repository.
"""

from __future__ import annotations

import io
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image as PILImage

Expect = Literal["ok", "refused"]


@dataclass(frozen=True)
class Kind:
    """One kind of input: its file name, what must happen, and how to make it."""

    name: str
    expect: Expect
    make: Callable[[Path], None]
    why: str


def _rgb(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.linspace(10, 70, w)[None, :, None] + np.linspace(0, 20, h)[:, None, None]
    return np.clip(base + rng.normal(0, 3, (h, w, 3)), 0, 255).astype(np.uint8)


def _encoded(fmt: str, arr: np.ndarray | None = None, mode: str | None = None,
             **kw: object) -> bytes:
    buf = io.BytesIO()
    PILImage.fromarray(_rgb() if arr is None else arr, mode).save(buf, fmt, **kw)
    return buf.getvalue()


def _write(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _exif_orientation(value: int) -> bytes:
    return b"Exif\x00\x00II*\x00" + struct.pack("<IHHHIHH", 8, 1, 0x0112, 3, 1, value, 0) \
        + b"\x00" * 4


def _oriented(value: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        PILImage.fromarray(_rgb(16, 40)).save(path, "JPEG", exif=_exif_orientation(value))
    return make


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I",
                                                                    zlib.crc32(kind + data))


def _png_header_bomb(path: Path) -> None:
    """A valid PNG signature and IHDR claiming 100000 x 100000 pixels, a few bytes of data."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
                     + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b""))


def _png_bad_crc(path: Path) -> None:
    data = bytearray(_encoded("PNG"))
    data[29] ^= 0xFF  # the IHDR chunk's CRC
    path.write_bytes(bytes(data))


def _tiff(arr: np.ndarray, **kw: object) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        import tifffile

        tifffile.imwrite(path, arr, **kw)
    return make


def _tiff_nan(path: Path) -> None:
    arr = np.random.default_rng(1).random((24, 32, 3)).astype(np.float32)
    arr[3:9, 4:12] = np.nan
    arr[0, 0] = np.inf
    _tiff(arr, photometric="rgb")(path)


def _animated_webp(path: Path) -> None:
    frames = [PILImage.fromarray(_rgb(seed=s)) for s in range(3)]
    frames[0].save(path, "WEBP", save_all=True, append_images=frames[1:], duration=100)


def _cmyk_jpeg(path: Path) -> None:
    PILImage.fromarray(_rgb()).convert("CMYK").save(path, "JPEG")


def _palette_png(path: Path) -> None:
    im = PILImage.fromarray(_rgb()).convert("P", palette=PILImage.Palette.ADAPTIVE, colors=16)
    im.save(path, transparency=0)


def _corrupt_icc(path: Path) -> None:
    PILImage.fromarray(_rgb()).save(path, "JPEG", icc_profile=b"not an ICC profile" * 20)


def _symlink_loop(path: Path) -> None:
    path.symlink_to(path.name)


def _dangling(path: Path) -> None:
    path.symlink_to("nowhere-" + path.name)


def _folder(path: Path) -> None:
    path.mkdir()


KINDS: tuple[Kind, ...] = (
    Kind("empty.jpg", "refused", _write(b""), "an empty file"),
    Kind("truncated.jpg", "refused", lambda p: p.write_bytes(_encoded("JPEG")[:300]),
         "a JPEG cut short"),
    Kind("truncated.png", "refused", lambda p: p.write_bytes(_encoded("PNG")[:200]),
         "a PNG cut short"),
    Kind("truncated.tif", "refused", lambda p: p.write_bytes(_encoded("TIFF")[:400]),
         "a TIFF cut short"),
    Kind("only_soi.jpg", "refused", _write(b"\xff\xd8"), "a JPEG start marker and nothing"),
    Kind("page.jpg", "refused", _write(b"<!doctype html><html><body>404</body></html>"),
         "HTML named .jpg"),
    Kind("notes.png", "refused", _write(b"just some text\n" * 10), "text named .png"),
    Kind("gif.jpg", "refused", lambda p: p.write_bytes(_encoded("GIF")), "a GIF named .jpg"),
    Kind("zip.tif", "refused", _write(b"PK\x03\x04" + b"\x00" * 60), "a zip named .tif"),
    Kind("fake.dng", "refused", _write(b"II*\x00\x08\x00\x00\x00" + b"\x00" * 40),
         "a fake camera RAW"),
    Kind("fake.nef", "refused", _write(bytes(range(256)) * 4), "random bytes named .nef"),
    Kind("bomb.png", "refused", _png_header_bomb, "a header claiming 10 gigapixels"),
    Kind("bad_crc.png", "refused", _png_bad_crc, "a PNG whose IHDR checksum is wrong"),
    Kind("flipped_header.jpg", "refused",
         lambda p: p.write_bytes(b"\xff\xd8\xff\xc0\x00\x11\x08\xff\xff\xff\xff"
                                 + _encoded("JPEG")[11:200]), "a JPEG with a garbled frame"),
    Kind("zero_width.bmp", "refused",
         lambda p: p.write_bytes(_encoded("BMP")[:18] + b"\x00\x00\x00\x00"
                                 + _encoded("BMP")[22:]), "a BMP of width 0"),
    Kind("loop.jpg", "refused", _symlink_loop, "a symlink to itself"),
    Kind("dangling.jpg", "refused", _dangling, "a symlink to nothing"),
    Kind("folder.jpg", "refused", _folder, "a folder named like a photo"),
    Kind("cmyk.jpg", "ok", _cmyk_jpeg, "a CMYK JPEG"),
    Kind("grey16.png", "ok", lambda p: PILImage.fromarray(
        np.arange(24 * 32, dtype=np.uint16).reshape(24, 32) * 80).save(p),
        "a 16-bit greyscale PNG"),
    Kind("grey.jpg", "ok", lambda p: PILImage.fromarray(_rgb()[..., 0], "L").save(p),
         "an 8-bit greyscale JPEG"),
    Kind("palette_alpha.png", "ok", _palette_png, "a palette PNG with transparency"),
    Kind("la.png", "ok", lambda p: PILImage.fromarray(_rgb()[..., :2], "LA").save(p),
         "grey with alpha"),
    Kind("rgba16.png", "ok", lambda p: _write_rgba16(p), "a 16-bit RGBA PNG"),
    Kind("one_pixel.png", "refused", lambda p: PILImage.fromarray(_rgb(1, 1)).save(p),
         "1 x 1: no photo (at least 3 x 3)"),
    Kind("strip.png", "refused", lambda p: PILImage.fromarray(_rgb(1, 100_000)).save(p),
         "1 x 100000"),
    Kind("small.png", "ok", lambda p: PILImage.fromarray(_rgb(3, 5)).save(p),
         "3 x 5, the smallest accepted"),
    *(Kind(f"orient{v}.jpg", "ok", _oriented(v), f"EXIF orientation {v}: 16 x 40 stored, "
           "40 x 16 shown") for v in (5, 6, 7, 8)),
    Kind("orient_cut.jpg", "ok", lambda p: PILImage.fromarray(_rgb()).save(
        p, "JPEG", exif=b"Exif\x00\x00II*\x00" + struct.pack("<IHHHI", 8, 1, 0x0112, 3, 1)),
        "a truncated EXIF orientation entry"),
    Kind("corrupt_icc.jpg", "ok", _corrupt_icc, "an ICC profile that is not one"),
    Kind("nan.tif", "ok", _tiff_nan, "a float TIFF with NaN and inf"),
    Kind("animated.webp", "ok", _animated_webp, "an animated WebP (its first frame)"),
    Kind("two_pages.tif", "ok", _tiff(np.stack([_rgb(), _rgb(seed=1)])),
         "a two-page TIFF (its first page)"),
    Kind("trailing.png", "ok", lambda p: p.write_bytes(_encoded("PNG") + b"garbage" * 10),
         "bytes after the PNG's end"),
)


def _write_rgba16(path: Path) -> None:
    import cv2

    arr = (np.random.default_rng(2).random((24, 32, 4)) * 65535).astype(np.uint16)
    cv2.imwrite(str(path), arr)


def make_corpus(folder: Path) -> list[tuple[Kind, Path]]:
    """Writes every kind into ``folder`` (created); returns (kind, path) in KINDS order."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for kind in KINDS:
        path = folder / kind.name
        kind.make(path)
        made.append((kind, path))
    return made


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python tests/bad_inputs.py DIR\n")
        return 2
    for kind, path in make_corpus(Path(argv[0])):
        sys.stdout.write(f"{kind.expect:<8} {path}  ({kind.why})\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
