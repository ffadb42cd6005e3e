"""Makes ``resources/samples/sample_dark.jpg``, the bundled dark photo.

Source: scikit-image's ``coffee`` photo (600x400), courtesy of Pikolo Espresso Bar, by Rachel
Michetti, released under CC0 (no copyright restrictions; see ``skimage.data.coffee``).
It is under-exposed as a camera would be: the photo's linear light (sRGB decoded) times
``EXPOSURE`` (about 4 stops down), with shot and read noise added in linear light, then
encoded back to sRGB, all from a fixed seed, and saved as a JPEG with a small EXIF block that
names the source and licence. (The DLN synthesis used for training, X = beta * (alpha * Y) **
gamma on the encoded values, also multiplies every colour ratio by a power of itself, which
no camera does; the sample used it until 2026-12-02 and came out over-saturated once the
light finish started carrying the photo's own colour ratios.)

Run: ``python scripts/make_sample.py`` (needs scikit-image, a dev dependency).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

SEED = 2
OUT = Path(__file__).resolve().parent.parent / "resources" / "samples" / "sample_dark.jpg"


#: The fraction of the light kept: 1/16, four stops under.
EXPOSURE = 1.0 / 16.0


def darken(photo: np.ndarray, seed: int = SEED) -> np.ndarray:
    """An (H, W, 3) uint8 photo under-exposed in linear light, with noise; returns uint8."""
    rng = np.random.default_rng(seed)
    y = photo.astype(np.float64) / 255.0
    lin = np.where(y <= 0.04045, y / 12.92, ((y + 0.055) / 1.055) ** 2.4) * EXPOSURE
    # shot noise (variance proportional to the signal) plus read noise, in linear light
    lin = np.clip(lin + rng.normal(0.0, 1.0, lin.shape) * np.sqrt(2e-5 * lin + 2e-8), 0.0, 1.0)
    x = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)


def exif_block() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010E] = "Coffee cup (scikit-image sample), darkened for the Limelight demo"
    exif[0x013B] = "Rachel Michetti (Pikolo Espresso Bar)"  # Artist
    exif[0x8298] = "CC0 1.0: no copyright restrictions"  # Copyright
    exif[0x0131] = "Limelight scripts/make_sample.py"  # Software
    exif[0x0112] = 1  # Orientation
    return exif


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    args = parser.parse_args(argv)
    dark = darken(data.coffee())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(dark).save(args.output, "JPEG", quality=92, exif=exif_block())
    print(f"wrote {args.output} ({dark.shape[1]}x{dark.shape[0]}, mean {dark.mean():.1f}/255)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
