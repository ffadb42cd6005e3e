"""Takes the editor screenshots in this folder from the real window.

    PYTHONPATH=. xvfb-run -s "-screen 0 1600x1000x24" python docs/screenshots/take_screenshots.py

The lights, range, auto-mask and 1:1 pictures use real night photos from
``../shared/data/real`` (a dark face in a car with street lamps behind; a 1632-px night
scene) when that folder is there, and the bundled sample otherwise.

Uses the shipped zoo's default model; when none is installed it builds the tiny synthetic
zoo (``bench.tinyzoo``, needs ``onnx`` and the repository root on ``PYTHONPATH``) and uses ``tiny-retinex`` — the model picker in
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


REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"


def lights_shots(win: MainWindow, tmp: Path) -> None:
    """lights.jpg, range.jpg, automask.jpg, one_to_one.jpg (see the module docstring)."""
    face = REAL / "aaqr_night" / "face05.jpg"
    photo = tmp / "night_face.jpg"
    photo.write_bytes((face if face.is_file() else sample_photo_path()).read_bytes())
    win.doc.mark_saved()
    win.open_path(photo, ask=False)
    idle(win)
    w, h = win.doc.full_size
    # a light on the face, and a gentle one over the car whose range keeps the lamps out
    win.add_light("whole")
    win.rename_light(0, "Car")
    win.adjust.sliders["degree"].setValue(0.8)
    win.set_range(0.0, 0.12, 0.05)
    win.add_light("ellipse")
    win.rename_light(1, "Face")
    win.add_shape(Ellipse(0.47, 0.42, 0.14, 0.24), "Draw ellipse")
    win.set_transition(0.08)
    idle(win)
    shoot(win, "lights.jpg")
    win.select_light(0)
    win.set_overlay(True)
    idle(win)
    shoot(win, "range.jpg")
    win.set_overlay(False)
    # the auto-mask brush along the shirt: it stops at the seat and the window
    win.add_light("brush")
    win.rename_light(2, "Shirt")
    win.mask_panel.auto_mask.setChecked(True)
    win.mask_panel.brush_size.setValue(0.12)
    win.mask_panel.brush_hardness.setValue(0.6)
    stroke(win, [(w * (0.25 + 0.02 * i), h * 0.88) for i in range(26)])
    idle(win)
    win.set_overlay(True)
    idle(win)
    shoot(win, "automask.jpg")
    win.set_overlay(False)
    # 1:1 on a larger night scene: the export's own pixels
    big = REAL / "zerodce_real" / "474_0_.png"  # a dark kitchen, 918 x 1632
    if big.is_file():
        scene = tmp / "night_scene.png"
        scene.write_bytes(big.read_bytes())
        win.doc.mark_saved()
        win.open_path(scene, ask=False)
        idle(win)
        win.add_light("ellipse")
        win.add_shape(Ellipse(0.5, 0.5, 0.45, 0.3), "Draw ellipse")
        win.adjust.sliders["degree"].setValue(0.8)
        idle(win)
    win.canvas.actual_pixels()
    idle(win)
    wait(win.detail_shown, 60000)
    shoot(win, "one_to_one.jpg")


def main() -> int:
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    apply_dark_palette(app)
    tmp = Path(tempfile.mkdtemp(prefix="limelight-shots-"))
    zoo = load_zoo()
    model = zoo.default
    if not zoo.models:
        from bench.tinyzoo import build_tiny_zoo

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
    win.acts.split.setChecked(False)
    win.canvas.set_split(None)
    lights_shots(win, tmp)
    win.worker.stop()
    win.doc.mark_saved()
    sys.stdout.flush()
    # PySide6 6.12.0 can abort while tearing down at exit (see gui/bridge.py): skip teardown.
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main())
