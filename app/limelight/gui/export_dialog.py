"""Export of the open photo: the options dialog and the progress shown while it runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStatusBar,
    QWidget,
)

from limelight.gui.background import Task
from limelight.gui.settings import EditorSettings

#: format -> (suffix, bit depths offered, has quality)
FORMATS: dict[str, tuple[str, tuple[int, ...], bool]] = {
    "JPEG": (".jpg", (8,), True),
    "PNG": (".png", (8, 16), False),
    "TIFF": (".tif", (8, 16), False),
    "WEBP": (".webp", (8,), True),
}


class ExportDialog(QDialog):
    """Format, quality, bit depth and output file for one photo."""

    def __init__(self, parent: QWidget | None, source: Path, settings: EditorSettings,
                 meta: Any = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export photo")
        self.source, self.settings = source, settings
        form = QFormLayout(self)
        self.format = QComboBox()
        self.format.addItems(list(FORMATS))
        src_fmt = getattr(meta, "format", "JPEG")
        self.format.setCurrentText(src_fmt if src_fmt in FORMATS else "JPEG")
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(int(settings.get_float("export/quality", 95)))
        self.depth_combo = QComboBox()
        self._source_depth = int(getattr(meta, "bit_depth", 8))
        self.path = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path)
        row.addWidget(browse)
        form.addRow("Format", self.format)
        form.addRow("Quality", self.quality)
        form.addRow("Bit depth", self.depth_combo)
        form.addRow("File", row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.format.currentTextChanged.connect(self._on_format_changed)
        self._on_format_changed(self.format.currentText())

    def _default_path(self, fmt: str) -> Path:
        folder = self.settings.folder("export") if self.settings.q.contains("folders/export") \
            else self.source.parent
        return folder / f"{self.source.stem}_lit{FORMATS[fmt][0]}"

    def _on_format_changed(self, fmt: str) -> None:
        suffix, depths, has_quality = FORMATS[fmt]
        self.quality.setEnabled(has_quality)
        self.depth_combo.clear()
        for d in depths:
            self.depth_combo.addItem(f"{d} bit", d)
        want = self._source_depth if self._source_depth in depths else depths[0]
        self.depth_combo.setCurrentIndex(depths.index(want))
        current = Path(self.path.text()) if self.path.text() else self._default_path(fmt)
        self.path.setText(str(current.with_suffix(suffix)))

    def _browse(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text())
        if name:
            self.path.setText(name)

    def output_path(self) -> Path:
        return Path(self.path.text()).expanduser()

    def options(self) -> dict[str, Any]:
        """Keyword arguments for ``FileController.start_export``."""
        fmt = self.format.currentText()
        self.settings.set_value("export/quality", self.quality.value())
        return {"fmt": fmt, "quality": self.quality.value(), "bit_depth": self.depth_combo.currentData()}


class ExportProgress:
    """A progress bar in the status bar while an export task runs; then a message."""

    @staticmethod
    def attach(status: QStatusBar, show_error: Callable[[str], None], task: Task,
               output: Path) -> None:
        """Shows ``task``'s progress in ``status``; its failure goes to ``show_error``."""
        bar = QProgressBar()
        bar.setRange(0, 100)
        bar.setMaximumWidth(160)
        bar.setFormat("Export %p%")
        bar.setToolTip(f"Exporting to {output}")
        status.addPermanentWidget(bar)
        task.progressed.connect(lambda f: bar.setValue(int(round(f * 100))))
        task.succeeded.connect(lambda p: status.showMessage(f"Exported {p}", 15000))
        task.failed.connect(show_error)

        def done() -> None:
            status.removeWidget(bar)
            bar.deleteLater()

        task.finished.connect(done)
