"""Makes ``resources/samples/sample_dark.jpg``, the bundled dark photo.

Source: scikit-image's ``coffee`` photo (600x400), courtesy of Pikolo Espresso Bar, by Rachel
Michetti, released under CC0 (no copyright restrictions; see ``skimage.data.coffee``).
It is darkened with the DLN synthesis of design.md, X = beta * (alpha * Y) ** gamma per
channel (Y in linear [0, 1] as stored), plus mild signal-dependent noise, all from a fixed
seed, and saved as a JPEG with a small EXIF block that names the source and licence.

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


def darken(photo: np.ndarray, seed: int = SEED) -> np.ndarray:
    """DLN-style low-light synthesis of an (H, W, 3) uint8 photo; returns uint8."""
    rng = np.random.default_rng(seed)
    y = photo.astype(np.float64) / 255.0
    alpha = rng.uniform(0.9, 1.0, 3)
    beta = rng.uniform(0.5, 1.0)
    gamma = 2.6  # within the DLN range [1.5, 5]; fixed so that the sample stays recognisable
    x = beta * (alpha * y) ** gamma
    # shot noise (variance proportional to the signal) plus read noise
    x = x + rng.normal(0.0, 1.0, x.shape) * np.sqrt(0.0004 * x + 0.00002)
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
