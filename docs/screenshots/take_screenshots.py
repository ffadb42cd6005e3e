"""Takes the editor screenshots in this folder from the real window.

    xvfb-run -s "-screen 0 1600x1000x24" python docs/screenshots/take_screenshots.py

Uses the shipped zoo's default model; when none is installed it builds the tiny synthetic
zoo (``limelight.tinyzoo``, needs ``onnx``) and uses ``tiny-retinex`` — the model picker in
the pictures then says "synthetic": retake them once trained models ship.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from limelight.core.engine import Engine
from limelight.core.masks import Ellipse
from limelight.core.pipeline import sample_photo_path
from limelight.core.zoo import load_zoo
from limelight.gui.app import apply_dark_palette
from limelight.gui.main_window import MainWindow
from limelight.gui.settings import EditorSettings

OUT = Path(__file__).resolve().parent


def wait(signal, timeout_ms: int = 60000) -> None:  # noqa: ANN001
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(loop.quit)


def settle(ms: int = 300) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def idle(win: MainWindow) -> None:
    while win.worker.busy:
        wait(win.worker.busy_changed, 30000)
    settle()


def stroke(win: MainWindow, points: list[tuple[float, float]]) -> None:
    vp = win.canvas.viewport()
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for i, (x, y) in enumerate(points):
        pos = QPointF(win.canvas.mapFromScene(QPointF(x, y)))
        kind = (QMouseEvent.Type.MouseButtonPress if i == 0 else QMouseEvent.Type.MouseMove)
        ev = QMouseEvent(kind, pos, QPointF(vp.mapToGlobal(pos.toPoint())), left if i == 0 else none,
                         left, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(vp, ev)
    ev = QMouseEvent(QMouseEvent.Type.MouseButtonRelease, pos, QPointF(vp.mapToGlobal(pos.toPoint())),
                     left, none, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, ev)


def shoot(win: MainWindow, name: str) -> None:
    settle()
    image = win.grab().toImage()
    if image.width() > 1400:
        image = image.scaledToWidth(1400, Qt.TransformationMode.SmoothTransformation)
    image.save(str(OUT / name), "JPG", 88)
    print(f"wrote {OUT / name} ({image.width()}x{image.height()})")  # noqa: T201


def main() -> int:
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    apply_dark_palette(app)
    tmp = Path(tempfile.mkdtemp(prefix="limelight-shots-"))
    zoo = load_zoo()
    model = zoo.default
    if not zoo.models:
        from limelight.tinyzoo import build_tiny_zoo

        zoo, model = load_zoo(build_tiny_zoo(tmp / "zoo")), "tiny-retinex"
    settings = EditorSettings(QSettings(str(tmp / "shots.ini"), QSettings.Format.IniFormat))
    win = MainWindow(engine=Engine(zoo), settings=settings)
    win.resize(1400, 880)
    win.show()
    photo = tmp / "coffee_dark.jpg"
    photo.write_bytes(sample_photo_path().read_bytes())
    win.open_path(photo, ask=False)
    idle(win)
    win.set_model(model)
    w, h = win.doc.full_size
    win.mask_panel.brush_size.setValue(0.09)
    win.mask_panel.brush_hardness.setValue(0.3)
    # a spotlight on the cup: an ellipse, and a brush stroke over the spoon
    win.add_shape(Ellipse(0.49, 0.45, 0.2, 0.3, -8.0), "Draw ellipse")
    idle(win)
    stroke(win, [(w * (0.62 + 0.004 * i), h * (0.72 + 0.004 * i)) for i in range(30)])
    win.set_transition(0.1)
    win.adjust.sliders["degree"].setValue(1.2)
    idle(win)
    shoot(win, "editor.jpg")
    win.set_tool("ellipse")
    win.set_overlay(True)
    idle(win)
    shoot(win, "overlay.jpg")
    win.set_overlay(False)
    win.set_tool("brush")
    win.acts.split.setChecked(True)
    win.canvas.set_split(w * 0.45)
    idle(win)
    shoot(win, "split.jpg")
    win.worker.stop()
    win.doc.mark_saved()
    sys.stdout.flush()
    # PySide6 6.12.0 can abort while tearing down at exit (see gui/bridge.py): skip teardown.
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main())
