"""Renders ``packaging/icons/limelight.svg`` to the PNG sizes a desktop needs.

Run with any Python that has PySide6 (Qt's QSvgRenderer, no extra dependency)::

    QT_QPA_PLATFORM=offscreen python packaging/make_icons.py

Writes ``packaging/icons/limelight-<N>.png`` for N in 256, 128, 64, 48, the Windows
``limelight.ico`` and macOS ``limelight.icns`` (Pillow, from larger renders), and copies the
SVG and the 256 px PNG to ``resources/icons/`` (the editor's window icon).
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

SIZES = (256, 128, 64, 48)
HERE = Path(__file__).resolve().parent
SVG = HERE / "icons" / "limelight.svg"
RESOURCES = HERE.parent / "resources" / "icons"

log = logging.getLogger("make_icons")


def render(svg: Path, size: int, out: Path) -> None:
    """Renders ``svg`` to a ``size`` x ``size`` ARGB PNG at ``out``."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG for Qt")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"{out}: could not write the PNG")
    log.info("wrote %s", out)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    for size in SIZES:
        render(SVG, size, HERE / "icons" / f"limelight-{size}.png")
    render(SVG, 1024, HERE / "icons" / "_1024.png")
    big = Image.open(HERE / "icons" / "_1024.png")
    big.load()
    (HERE / "icons" / "_1024.png").unlink()
    ico_sizes = [(n, n) for n in (256, 128, 64, 48, 32, 16)]
    big.resize((256, 256), Image.Resampling.LANCZOS).save(HERE / "icons" / "limelight.ico",
                                                          sizes=ico_sizes)
    big.save(HERE / "icons" / "limelight.icns")
    log.info("wrote limelight.ico and limelight.icns")
    RESOURCES.mkdir(parents=True, exist_ok=True)
    shutil.copy2(SVG, RESOURCES / "limelight.svg")
    shutil.copy2(HERE / "icons" / "limelight-256.png", RESOURCES / "limelight.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
