"""Batch export dialog (Ctrl+Shift+B): one recipe applied to many photos, in the background.

The dialog is non-modal: the editor stays usable while a batch runs. It builds a
``core.batch.BatchJob`` and runs ``core.batch.run_batch`` (the engine behind
``limelight batch``, so both give the same bytes) in a Python thread. Worker threads never
touch Qt (PySide6 6.12 crashes on cross-thread emits, see ``bridge.py``): the runner's events
are posted through a ``GuiBridge`` and re-emitted as Qt signals in the GUI thread.

Signals:
    progressed(object): a ``BatchEvent`` (a photo started or finished).
    batch_finished(object): the ``BatchResult``.
    batch_failed(str): the batch could not start or crashed (one sentence).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from limelight.core.batch import (
    BatchError,
    BatchEvent,
    BatchJob,
    BatchResult,
    CancelToken,
    batch_engine,
    fit_jobs,
    missing_reason,
    plan_batch,
    run_batch,
)
from limelight.core.errors import LimelightError
from limelight.core.recipe import Recipe, load_recipe
from limelight.gui.batch_form import FORMATS, BatchFormMixin
from limelight.gui.bridge import GuiBridge

if TYPE_CHECKING:
    from limelight.core.engine import Engine
    from limelight.gui.document import Document
    from limelight.gui.settings import EditorSettings

log = logging.getLogger(__name__)

#: label -> (format name, bit depths offered, has quality)
STATUS_TEXT = {"pending": "Waiting", "running": "Working…", "done": "Done",
               "skipped": "Skipped", "failed": "Failed", "cancelled": "Cancelled"}
EngineFactory = Callable[[int], Any]


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


class BatchHost(Protocol):
    """What the dialog uses of the editor (its ``FileController``)."""

    @property
    def settings(self) -> EditorSettings: ...
    @property
    def engine(self) -> Any: ...
    @property
    def doc(self) -> Document | None: ...
    def current_recipe(self) -> Recipe: ...


class BatchDialog(BatchFormMixin, QDialog):
    """Inputs, recipe, placement, output, naming, format, policy and jobs; then progress."""

    progressed = Signal(object)
    batch_finished = Signal(object)
    batch_failed = Signal(str)

    def __init__(self, host: BatchHost | None = None, *,
                 engine_factory: EngineFactory | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Batch export")
        self.setModal(False)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.host = host
        self._engine_factory = engine_factory or self._default_engine
        self._inputs: list[Path] = []
        self._cancel: CancelToken | None = None
        self._thread: threading.Thread | None = None
        self._bridge = GuiBridge(self)
        self.last_result: BatchResult | None = None
        self._build()
        self._load_settings()
        app = QApplication.instance()
        if app is not None:  # quitting cancels: photos in progress are dropped, not half-written
            app.aboutToQuit.connect(self.cancel)

    # -- construction -----------------------------------------------------------------------
    def _build(self) -> None:
        top = QVBoxLayout(self)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Photo", "Status", "Output / reason"])
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setMinimumHeight(160)
        row = QHBoxLayout()
        self.add_files_btn = QPushButton("Add photos…")
        self.add_folder_btn = QPushButton("Add folder…")
        self.clear_btn = QPushButton("Clear")
        self.recursive = QCheckBox("Include subfolders")
        for w in (self.add_files_btn, self.add_folder_btn, self.clear_btn, self.recursive):
            row.addWidget(w)
        row.addStretch(1)
        self.add_files_btn.clicked.connect(self._on_add_files)
        self.add_folder_btn.clicked.connect(self._on_add_folder)
        self.clear_btn.clicked.connect(self.clear_inputs)
        top.addLayout(row)
        top.addWidget(self.table, 1)
        top.addLayout(self._build_form())
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.eta = QLabel("")
        top.addWidget(self.progress)
        top.addWidget(self.eta)
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setMaximumHeight(110)
        self.summary.setPlaceholderText("The summary appears here when the batch ends.")
        top.addWidget(self.summary)
        buttons = QHBoxLayout()
        self.start_btn = QPushButton("Start")
        self.cancel_btn = QPushButton("Cancel batch")
        self.close_btn = QPushButton("Close")
        self.cancel_btn.setEnabled(False)
        self.start_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self.cancel)
        self.close_btn.clicked.connect(self.hide)
        buttons.addStretch(1)
        for b in (self.start_btn, self.cancel_btn, self.close_btn):
            buttons.addWidget(b)
        top.addLayout(buttons)
        self.resize(720, 640)

    def _load_settings(self) -> None:
        if self.host is None:
            return
        settings = self.host.settings
        if settings.q.contains("folders/batch"):
            self.out_dir.setText(str(settings.folder("batch")))
        self.name.setText(str(settings.q.value("batch/name", "{name}_lit")))

    # -- inputs -----------------------------------------------------------------------------
    def add_paths(self, paths: Iterable[str | Path]) -> None:
        """Adds photos or folders to the batch (listed in the table until it starts)."""
        for p in paths:
            path = Path(p)
            if path not in self._inputs:
                self._inputs.append(path)
                self._set_row(self.table.rowCount(), path.name + ("/" if path.is_dir() else ""),
                              "Folder" if path.is_dir() else "", str(path))

    def clear_inputs(self) -> None:
        if self.running:
            return
        self._inputs.clear()
        self.table.setRowCount(0)

    def _set_row(self, row: int, *texts: str) -> None:
        if row >= self.table.rowCount():
            self.table.setRowCount(row + 1)
        for col, text in enumerate(texts):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            self.table.setItem(row, col, item)

    # -- the job ----------------------------------------------------------------------------
    def recipe(self) -> Recipe:
        """The recipe chosen; LimelightError/BatchError when it cannot be had."""
        if self.recipe_source.currentData() == "current":
            if self.host is None or self.host.doc is None:
                raise BatchError("no photo is open in the editor: choose a recipe file")
            return self.host.current_recipe()
        text = self.recipe_path.text().strip()
        if not text:
            raise BatchError("choose a recipe file, or use the current edit")
        return load_recipe(Path(text).expanduser())

    def job(self) -> BatchJob:
        """The BatchJob the dialog describes; BatchError/LimelightError on a problem."""
        if not self._inputs:
            raise BatchError("add photos or a folder first")
        out = self.out_dir.text().strip()
        if not out:
            raise BatchError("choose an output folder")
        return BatchJob(
            tuple(self._inputs), Path(out).expanduser(), self.recipe(),
            placement=self.placement.currentData(), recursive=self.recursive.isChecked(),
            name=self.name.text(), fmt=FORMATS[self.format.currentText()][0],
            quality=self.quality.value(), bit_depth=self.bit_depth.currentData(),
            on_exists=self.on_exists.currentData(), jobs=self.jobs.value(),
            cluster=self.cluster_address())

    def _default_engine(self, jobs: int) -> Engine:
        base = self.host.engine if self.host is not None else None
        zoo = getattr(base, "zoo", None)
        device = getattr(base, "requested_device", "auto")
        return batch_engine(zoo, device=device, jobs=jobs)

    # -- running ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Plans and starts the batch in the background; False (with the reason shown) when
        it cannot start."""
        if self.running:
            return False
        try:
            job = self.job()
            planned, missing = plan_batch(job)
            job = fit_jobs(job, planned)
            engine = self._engine_factory(job.jobs)
        except (LimelightError, ValueError) as err:
            self._show_problem(str(err))
            return False
        self.table.setRowCount(0)
        for p in planned:
            self._set_row(p.index - 1, p.input.name, STATUS_TEXT["skipped" if p.skip
                                                                 else "pending"], str(p.output))
        for k, path in enumerate(missing, start=len(planned)):
            self._set_row(k, path.name, STATUS_TEXT["failed"], missing_reason(path))
        total = len(planned) + len(missing)
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(0)
        self.eta.setText(f"0 of {total}")
        self.summary.clear()
        self._remember(job)
        self._set_running(True)
        self._cancel = CancelToken()
        cancel, post = self._cancel, self._bridge.post

        def work() -> None:
            try:
                result = run_batch(job, engine, cancel=cancel, planned=planned,
                                   missing=missing,
                                   on_event=lambda ev: post(self._on_event, ev))
            except Exception as err:  # noqa: BLE001 - shown to the user, logged in full
                log.exception("batch failed")
                post(self._on_failed, f"The batch stopped: {err}")
            else:
                post(self._on_finished, result)

        self._thread = threading.Thread(target=work, name="limelight-batch-dialog", daemon=True)
        self._thread.start()
        return True

    def cancel(self) -> None:
        """Stops the batch: photos in progress are abandoned before anything is written."""
        if self._cancel is not None and self.running:
            self._cancel.cancel()
            self.cancel_btn.setEnabled(False)
            self.eta.setText(self.eta.text() + " · cancelling…")

    def wait(self, timeout: float | None = None) -> None:
        """Joins the runner thread (tests); results still arrive through the event loop."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _remember(self, job: BatchJob) -> None:
        if self.host is not None:
            settings = self.host.settings
            settings.set_folder("batch", job.out_dir)
            settings.set_value("batch/name", job.name)

    def _set_running(self, running: bool) -> None:
        self.start_btn.setEnabled(not running)
        self.cancel_btn.setEnabled(running)
        for w in (self.add_files_btn, self.add_folder_btn, self.clear_btn):
            w.setEnabled(not running)

    def _show_problem(self, text: str) -> None:
        self.summary.setPlainText(text)

    def _on_event(self, ev: BatchEvent) -> None:
        f = ev.file
        detail = f.reason if f.status in ("failed", "cancelled") else str(f.output)
        self._set_row(f.index - 1, f.input.name, STATUS_TEXT[f.status], detail)
        self.progress.setValue(ev.finished)
        eta = f" · about {_duration(ev.eta_s)} left" if ev.eta_s else ""
        self.eta.setText(f"{ev.finished} of {ev.total}{eta}")
        self.progressed.emit(ev)

    def _on_finished(self, result: BatchResult) -> None:
        self.last_result = result
        self._end()
        c = result.counts
        head = (f"{c['done']} done, {c['skipped']} skipped, {c['failed']} failed"
                + (f", {c['cancelled']} cancelled" if c["cancelled"] else "")
                + f" in {_duration(result.seconds)}.")
        lines = [head] + [f"Failed: {f.input.name}: {f.reason}" for f in result.failures]
        if result.report is not None:
            lines.append(f"Report: {result.report}")
        self.summary.setPlainText("\n".join(lines))
        self.eta.setText("Cancelled" if result.cancelled else "Finished")
        self.batch_finished.emit(result)

    def _on_failed(self, message: str) -> None:
        self._end()
        self._show_problem(message)
        self.batch_failed.emit(message)

    def _end(self) -> None:
        self._set_running(False)

