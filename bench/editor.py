"""Editor benchmarks: knob change -> updated preview, and brush frames per second.

``python -m bench.editor`` prints both (``run_all()`` returns them as a dict).
Runs offscreen (``QT_QPA_PLATFORM=offscreen``) unless a display is set up. Uses the shipped
zoo's default model, or the tiny synthetic zoo when no model is installed (reported).

* ``knob_latency``: a ~1-megapixel preview; the time from a degree slider move to the
  recomposed preview being painted (no network re-run), median over repeats.
* ``brush_fps``: a 24-megapixel JPEG opened in the editor; a stroke of mouse moves, each
  painted synchronously (stamp into the preview mask, overlay update, viewport repaint).
"""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def _app() -> Any:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _engine(tmp: Path) -> tuple[Any, str]:
    from limelight.core.engine import Engine
    from limelight.core.zoo import load_zoo

    zoo = load_zoo()
    if zoo.models:
        return Engine(zoo), f"{zoo.default} (shipped)"
    from bench.tinyzoo import build_tiny_zoo  # needs onnx (dev extra)

    return Engine(build_tiny_zoo(tmp / "zoo")), "tiny-fusion (synthetic; no model installed)"


def _wait(signal: Any, timeout_ms: int = 60000) -> list[Any]:
    """Runs a QEventLoop until ``signal`` fires (never spins processEvents: see bridge.py)."""
    from PySide6.QtCore import QEventLoop, QTimer

    got: list[Any] = []
    loop = QEventLoop()

    def on(*args: Any) -> None:
        got.append(args)
        loop.quit()

    signal.connect(on)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(on)
    if not got:
        raise TimeoutError("no preview within the time limit")
    return got[0]


def _window(engine: Any, tmp: Path) -> Any:
    from PySide6.QtCore import QSettings

    from limelight.gui.main_window import MainWindow
    from limelight.gui.settings import EditorSettings

    settings = EditorSettings(QSettings(str(tmp / "bench.ini"), QSettings.Format.IniFormat))
    win = MainWindow(engine=engine, settings=settings)
    win.resize(1500, 940)
    win.show()
    return win


def _photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 12 + 40 * xx / width + 20 * np.sin(yy / 37.0) ** 2
    img = np.stack([base, base * 0.9, base * 0.7], -1) + rng.normal(0, 3, (height, width, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def knob_latency(megapixels: float = 1.0, repeats: int = 15, lights: int = 1,
                 bottom: bool = False) -> dict[str, Any]:
    """Median ms from a degree change to the painted preview, on a ~``megapixels`` proxy,
    with ``lights`` overlapping ellipse lights (the last one's degree changes, or the first
    one's when ``bottom``: every light above it is composited again). A drag shows draft
    frames (``PreviewMaps.draft_plan``); the full-detail frame after the slider is let go is
    timed too."""
    from limelight.core.masks import Ellipse
    from limelight.gui.document import Document

    app = _app()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        engine, model = _engine(tmp)
        win = _window(engine, tmp)
        w = int(round((megapixels * 1e6 * 1.5) ** 0.5))
        h = int(round(w / 1.5))
        pixels = _photo(w, h)
        doc = Document(pixels, (w, h))
        win.prepare_document(doc)
        win.set_document(doc)
        _wait(win.preview_applied)
        for k in range(lights):
            win.add_light("ellipse")
            win.add_shape(Ellipse(0.35 + 0.3 * k / max(1, lights - 1), 0.5, 0.3, 0.35), "bench")
        first = _wait(win.preview_applied)[0]  # the fast pass
        refined = first
        while not refined.refined:  # then the pass at the model's working resolution
            refined = _wait(win.preview_applied)[0]
        if bottom and lights > 1:
            win.select_light(0)
            while not _wait(win.preview_applied)[0].refined:
                pass
        times, computes = [], []
        painted = _PaintCounter(win.canvas.viewport())
        for i in range(repeats):
            value = 1.2 + 0.5 * (i % 2)
            t0 = time.perf_counter()
            win.adjust.sliders["degree"].setValue(value)
            result = _wait(win.preview_applied)[0]
            _wait(painted.painted)  # the damaged part of the canvas is on screen
            times.append((time.perf_counter() - t0) * 1000.0)
            computes.append(result.compute_ms)
            assert result.inference_ms is None  # recomposed, no network re-run
        drafts = computes[:]
        # a slider let go: the full-detail frame replaces the drag's draft straight away
        settled, computes = [], []
        for i in range(max(3, repeats // 3)):
            slider = win.adjust.sliders["degree"]
            t0 = time.perf_counter()
            slider.setValue(1.1 + 0.4 * (i % 2))
            slider.released.emit()
            result = _wait(win.preview_applied)[0]
            while not result.refined:
                result = _wait(win.preview_applied)[0]
            _wait(painted.painted)
            settled.append((time.perf_counter() - t0) * 1000.0)
            computes.append(result.compute_ms)
        _dispose(app, win)
    return {"model": model, "preview": f"{w}x{h}", "megapixels": round(w * h / 1e6, 2),
            "lights": lights, "changed_light": 1 if bottom else lights,
            "knob_to_preview_ms_median": round(statistics.median(times), 1),
            "knob_to_preview_ms_max": round(max(times), 1),
            "worker_ms_median": round(statistics.median(drafts), 1),
            "release_to_full_detail_ms_median": round(statistics.median(settled), 1),
            "full_detail_worker_ms_median": round(statistics.median(computes), 1),
            "network_ms_fast_pass": round(first.inference_ms or 0.0, 1),
            "network_ms_refined_pass": round(refined.inference_ms or 0.0, 1),
            "device": first.device}


def brush_fps(megapixels: float = 24.0, moves: int = 150, overlay: bool = True) -> dict[str, Any]:
    """Frames per second while painting on a ``megapixels`` JPEG (each move painted). With
    ``overlay`` False the live preview runs beside the stroke (one request in flight)."""
    from PIL import Image as PILImage
    from PySide6.QtCore import QEventLoop, QPointF, Qt, QTimer
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    app = _app()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        engine, model = _engine(tmp)
        w = int(round((megapixels * 1e6 * 1.5) ** 0.5))
        h = int(round(w / 1.5))
        path = tmp / "big.jpg"
        PILImage.fromarray(_photo(w, h)).save(path, quality=90)
        win = _window(engine, tmp)
        t_open = time.perf_counter()
        win.open_path(path, ask=False)
        open_ms = (time.perf_counter() - t_open) * 1000.0
        _wait(win.preview_applied)
        win.set_overlay(overlay)
        vp = win.canvas.viewport()
        left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton

        def send(kind: Any, x: float, y: float, button: Any, buttons: Any) -> None:
            pos = QPointF(win.canvas.mapFromScene(QPointF(x, y)))
            ev = QMouseEvent(kind, pos, QPointF(vp.mapToGlobal(pos.toPoint())), button, buttons,
                             Qt.KeyboardModifier.NoModifier)
            QApplication.sendEvent(vp, ev)

        pts = [(w * (0.2 + 0.6 * i / moves), h * (0.5 + 0.2 * np.sin(i / 12.0)))
               for i in range(moves + 1)]
        first_id = win.worker.latest_id
        send(QMouseEvent.Type.MouseButtonPress, *pts[0], left, left)
        paints = _PaintCounter(vp)
        # One move per event-loop turn, as a real mouse does: Qt paints the damaged region
        # between moves (counted), the preview worker keeps running beside it.
        loop, timer, it = QEventLoop(), QTimer(), iter(pts[1:])

        def step() -> None:
            p = next(it, None)
            if p is None:
                loop.quit()
                return
            send(QMouseEvent.Type.MouseMove, p[0], p[1], none, left)

        timer.setInterval(0)
        timer.timeout.connect(step)
        t0 = time.perf_counter()
        timer.start()
        loop.exec()
        timer.stop()
        elapsed = time.perf_counter() - t0
        frames = paints.count
        live = win.worker.latest_id - first_id
        send(QMouseEvent.Type.MouseButtonRelease, *pts[-1], left, none)
        _wait(win.preview_applied)
        proxy = win.doc.proxy_hw
        _dispose(app, win)
    return {"model": model, "photo": f"{w}x{h}", "proxy": f"{proxy[1]}x{proxy[0]}",
            "overlay": overlay, "live_previews": live,
            "open_ms": round(open_ms), "moves": moves, "frames_painted": frames,
            "brush_fps": round(min(frames, moves) / elapsed, 1),
            "ms_per_move": round(1000.0 * elapsed / moves, 2)}


def _PaintCounter(widget: Any) -> Any:  # noqa: N802 - builds a QObject subclass lazily
    """An event filter counting ``widget``'s paint events; ``painted`` fires after each."""
    from PySide6.QtCore import QEvent, QObject, QTimer, Signal

    class Counter(QObject):
        painted = Signal()

        def __init__(self) -> None:
            super().__init__()
            self.count = 0

        def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802
            if event.type() == QEvent.Type.Paint:
                self.count += 1
                QTimer.singleShot(0, self.painted.emit)  # after the paint has finished
            return False

    counter = Counter()
    widget.installEventFilter(counter)
    return counter


def _dispose(app: Any, win: Any) -> None:
    """Closes and deletes the window now, while the interpreter is fully alive (PySide6 6.12
    can abort when Qt wrappers are garbage-collected during interpreter shutdown)."""
    import gc

    from PySide6.QtCore import QEvent

    win.worker.stop()
    if win.doc is not None:
        win.doc.mark_saved()
    win.close()
    win.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def run_all() -> dict[str, dict[str, Any]]:
    """Both benchmarks; a dict the main benchmark can print."""
    return {"knob_latency": knob_latency(), "knob_latency_4_lights": knob_latency(lights=4),
            "knob_latency_4_lights_bottom": knob_latency(lights=4, bottom=True),
            "brush_overlay": brush_fps(overlay=True),
            "brush_live_preview": brush_fps(overlay=False)}


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    for name, result in run_all().items():
        print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in result.items()))  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
