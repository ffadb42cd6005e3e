"""Paired low/normal-light folders (as LOL: ``low/`` and ``high/`` with the same file names).

The pairs are small (LOL's 243 training pairs at 600x400 are ~350 MB as uint8), so they are
decoded once and kept in memory as (H, W, 3) uint8 RGB arrays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from limelight.core.errors import ImageReadError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def read_rgb8(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an 8-bit image file; ImageReadError names the file."""
    try:
        with PILImage.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except (OSError, ValueError) as exc:
        raise ImageReadError(f"cannot read the image ({exc})", path) from exc


def _image_names(folder: Path) -> set[str]:
    if not folder.is_dir():
        raise ImageReadError("the pair folder is missing (expected low/ and high/)", folder)
    return {p.name for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}


@dataclass(frozen=True)
class Pair:
    """One training pair: ``low`` and ``high`` (H, W, 3) uint8 RGB of the same size."""

    name: str
    low: np.ndarray
    high: np.ndarray


class PairedFolder:
    """All pairs of ``root/low`` and ``root/high``, decoded into memory, sorted by name.

    Raises:
        ImageReadError: a folder is missing or empty, a name is in one folder only (the
            message lists up to five), or a pair's images differ in size.
    """

    def __init__(self, root: str | Path, limit: int | None = None) -> None:
        self.root = Path(root)
        low_names = _image_names(self.root / "low")
        high_names = _image_names(self.root / "high")
        if low_names != high_names:
            only_low = sorted(low_names - high_names)[:5]
            only_high = sorted(high_names - low_names)[:5]
            raise ImageReadError(
                f"low/ and high/ do not hold the same file names (only in low/: {only_low}, "
                f"only in high/: {only_high})",
                self.root,
            )
        names = sorted(low_names)
        if not names:
            raise ImageReadError("no images in low/ and high/", self.root)
        if limit is not None:
            names = names[:limit]
        self.pairs: list[Pair] = []
        for name in names:
            low = read_rgb8(self.root / "low" / name)
            high = read_rgb8(self.root / "high" / name)
            if low.shape != high.shape:
                raise ImageReadError(
                    f"low {low.shape[:2]} and high {high.shape[:2]} differ in size",
                    self.root / "low" / name,
                )
            self.pairs.append(Pair(name, low, high))
        log.info("loaded %d pairs from %s", len(self.pairs), self.root)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> Pair:
        return self.pairs[index]
