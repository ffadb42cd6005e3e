"""Entry point of the editor: ``run(path)`` opens the window (on the sample photo if None)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def run(path: Path | None = None, argv: list[str] | None = None) -> int:
    """Starts Qt, shows the editor on ``path`` (or the bundled sample dark photo) and returns
    the exit code of the event loop."""
    from PySide6.QtWidgets import QApplication

    from limelight.core.pipeline import sample_photo_path
    from limelight.gui.main_window import MainWindow

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(
        argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Limelight")
    app.setOrganizationName("Limelight")
    app.setStyle("Fusion")
    _set_desktop_identity(app)
    apply_dark_palette(app)
    window = MainWindow()
    window.show()
    target = Path(path) if path is not None else sample_photo_path()
    if not window.open_path(target, ask=False) and path is None:
        window.show_error(f"The sample photo is missing ({target}); open a photo with Ctrl+O.")
    if not window.zoo.models:
        window.statusBar().showMessage(
            "No models are installed: masks can be edited, but nothing is enhanced.", 0)
    _smoke_quit_timer(app, window)
    code = int(app.exec())
    # Delete the window while the interpreter is fully alive: PySide6 6.12 can abort when
    # Qt wrappers are garbage-collected during interpreter shutdown.
    import gc

    from PySide6.QtCore import QEvent

    window.worker.stop()
    window.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    return code


def _set_desktop_identity(app: object) -> None:
    """Window icon (resources/icons, drawn in packaging/icons) and the .desktop file name, so
    a desktop shows the Limelight icon and groups the window under its menu entry."""
    from importlib.resources import files

    from PySide6.QtGui import QIcon

    icon = Path(str(files("limelight.resources") / "icons" / "limelight.svg"))
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))  # type: ignore[attr-defined]
    app.setDesktopFileName("limelight")  # type: ignore[attr-defined]


def _smoke_quit_timer(app: object, window: object) -> None:
    """Release smoke check (packaging/smoke_check.py): with LIMELIGHT_SMOKE_QUIT_AFTER_MS=N the
    editor writes ``limelight-smoke: window shown`` to stderr once the event loop runs and
    closes itself N ms later, so a start-up can be timed and checked without a person."""
    import os

    from PySide6.QtCore import QTimer

    after_ms = os.environ.get("LIMELIGHT_SMOKE_QUIT_AFTER_MS")
    if not after_ms:
        return

    def shown() -> None:
        sys.stderr.write("limelight-smoke: window shown\n")
        sys.stderr.flush()

    QTimer.singleShot(0, shown)
    QTimer.singleShot(int(after_ms), window.close)  # type: ignore[attr-defined]
    QTimer.singleShot(int(after_ms), app.quit)  # type: ignore[attr-defined]


def apply_dark_palette(app: object) -> None:
    """A neutral dark palette, as photo editors use (colours are judged against grey)."""
    from PySide6.QtGui import QColor, QPalette

    p = QPalette()
    base, text = QColor(45, 45, 48), QColor(220, 220, 220)
    for role, color in (
        (QPalette.ColorRole.Window, base), (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, QColor(32, 32, 34)), (QPalette.ColorRole.AlternateBase, base),
        (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, QColor(58, 58, 62)),
        (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.ToolTipBase, QColor(60, 60, 64)),
        (QPalette.ColorRole.ToolTipText, text), (QPalette.ColorRole.Highlight, QColor(230, 150, 40)),
        (QPalette.ColorRole.HighlightedText, QColor(20, 20, 20)),
        (QPalette.ColorRole.Mid, QColor(140, 140, 140)),
    ):
        p.setColor(role, color)
    # placeholder text ("recipe.json"...) readable on the dark fields: 5.9:1 on Base
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor(150, 150, 150))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(110, 110, 110))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(110, 110, 110))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor(110, 110, 110))
    app.setPalette(p)  # type: ignore[attr-defined]
