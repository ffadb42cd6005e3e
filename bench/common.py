"""What the benchmark's cases share: the recipe, the generated photos and the zoo."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from limelight.core.masks import Ellipse, MaskSpec
from limelight.core.recipe import Recipe

REPO = Path(__file__).resolve().parents[1]
RECIPE = Recipe(mask=MaskSpec(shapes=(Ellipse(0.5, 0.45, 0.3, 0.35),), transition=0.06))
TINY_NOTE = ("no models installed: using the synthetic tiny-* models (closed-form maps, "
             "not trained; a real network adds its inference time)")


def recipe_for(model: str | None) -> Recipe:
    """The benchmark's recipe with ``model``."""
    return Recipe(model=model, knobs=RECIPE.knobs, mask=RECIPE.mask)


def make_photo(path: Path, height: int, width: int, seed: int = 0) -> Path:
    """Writes a dark photo-like JPEG (quality 92, no restart markers, by Pillow) of height x
    width; returns its path."""
    from skimage import data  # a dev dependency; the bench is a developer tool

    base = cv2.resize(data.coffee(), (width, height), interpolation=cv2.INTER_CUBIC)
    grain = np.empty(base.shape, np.int16)
    cv2.setRNGSeed(seed)
    cv2.randn(grain, 0, 6)
    dark = cv2.add(cv2.multiply(base, 0.35, dtype=cv2.CV_16S), grain, dtype=cv2.CV_16S)
    pixels = np.clip(dark, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, "JPEG", quality=92, subsampling=0)
    return path


def make_preview_image() -> np.ndarray:
    """A dark 1224 x 816 (1 MP) float32 photo, (H, W, 3) in [0, 1]."""
    from skimage import data

    return cv2.resize(data.coffee(), (1224, 816)).astype(np.float32) * np.float32(0.35 / 255)


def zoo_or_tiny(zoo: Path | None, tmp: Path, working_resolution: int = 1024) -> tuple[Path, str]:
    """(zoo folder, note): the given/installed zoo, or the tiny synthetic zoo built in
    ``tmp`` when it holds no model (the note then says so)."""
    from limelight.core.zoo import load_zoo

    found = load_zoo(zoo)
    if found.models:
        return found.root, ""
    try:
        from bench.tinyzoo import build_tiny_zoo
    except ImportError:  # pragma: no cover - onnx missing
        raise SystemExit("no models installed and the 'onnx' package is missing: install "
                         "the dev extras to benchmark with the synthetic models") from None
    return build_tiny_zoo(tmp / "zoo", working_resolution=working_resolution), TINY_NOTE


def own_peak_mb() -> float:
    """This process's own peak resident memory, MB: ``VmHWM`` of /proc/self/status on Linux,
    the high-water mark of this process's address space alone. ``ru_maxrss`` also counts the
    resident memory of the parent at the fork: a child of the benchmark, which holds 24 and
    50 MP photos, read as the benchmark's size however little it used itself. Elsewhere
    ``ru_maxrss`` (bytes on macOS, kB otherwise)."""
    import resource
    import sys

    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024
