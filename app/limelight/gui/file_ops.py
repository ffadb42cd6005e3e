"""File side of the window: open (dialog, drop, command line, recent), recipes, export,
selection jobs, the batch dialog, About, and the unsaved-edit question on close.

``FileController`` is owned by the editor window and talks to it only through ``FileHost``,
a small Protocol: this module never imports ``main_window``.

Signals:
    opened(Path): a photo was opened and is on screen.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from PIL import Image as PILImage
from PySide6.QtCore import QObject, QRectF, Signal
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QStatusBar, QWidget

from limelight.core.errors import LimelightError
from limelight.core.imageio import read_preview
from limelight.core.masks import RasterMask, Subject
from limelight.core.recipe import Recipe, load_recipe, save_recipe, sidecar_path
from limelight.gui.background import Task
from limelight.gui.document import PREVIEW_LONG_EDGE, Document, EditState

if TYPE_CHECKING:
    from limelight.core.masks import Shape
    from limelight.core.zoo import Zoo
    from limelight.gui.batch_dialog import BatchDialog
    from limelight.gui.settings import EditorSettings

log = logging.getLogger(__name__)

IMAGE_FILTER = ("Photos (*.jpg *.jpeg *.png *.tif *.tiff *.webp *.bmp *.dng *.cr2 *.cr3 *.nef "
                "*.arw *.raf *.orf *.rw2);;All files (*)")
RECIPE_FILTER = "Limelight recipes (*.limelight.json *.json);;All files (*)"


def full_size_of(path: Path, preview: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of the photo at full resolution in display orientation, read from the
    header; falls back to the preview's size when Pillow cannot tell (RAW files)."""
    pw, ph = preview
    try:
        with PILImage.open(path) as im:
            w, h = im.size
            orientation = im.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - any unreadable header: trust the preview
        return pw, ph
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    # A header that disagrees with the preview's aspect ratio is not trusted.
    if abs(w / h - pw / ph) > 0.02 * max(1.0, w / h):
        return pw, ph
    return w, h


def load_document(path: Path, long_edge: int = PREVIEW_LONG_EDGE) -> Document:
    """Reads the preview proxy of ``path`` and its sidecar recipe if there is one."""
    image = read_preview(path, long_edge)
    full = full_size_of(path, (image.width, image.height))
    state = None
    sidecar = sidecar_path(path)
    if sidecar.is_file():
        recipe = load_recipe(sidecar)
        state = EditState(recipe.layers, recipe.model, 0 if recipe.layers else -1)
    doc = Document(image.pixels, full, path=path, meta=image.meta, state=state)
    doc.recipe_path = sidecar if state is not None else None
    return doc


class FileHost(Protocol):
    """What the file controller needs of the editor window."""

    @property
    def doc(self) -> Document | None: ...

    def prepare_document(self, doc: Document) -> None: ...
    def set_document(self, doc: Document) -> None: ...
    def push_edit(self, text: str, new: EditState) -> None: ...
    def add_shape(self, shape: Shape, text: str) -> None: ...
    def edit_saved(self) -> None: ...
    def brush_settings(self) -> tuple[float, float, str]: ...
    def show_error(self, message: str) -> None: ...
    def show_error_dialog(self, title: str, text: str) -> None: ...
    def ask_save_changes(self) -> QMessageBox.StandardButton: ...
    def statusBar(self) -> QStatusBar: ...  # noqa: N802 - QMainWindow's name


class FileController(QObject):
    """The window's file commands; owned by the window, which it reaches only as ``host``.

    Args:
        host: the editor window, seen through ``FileHost``.
        widget: the parent of the dialogs and background tasks (the window itself).
        settings, engine, zoo: the window's settings, inference engine and model zoo.
    """

    opened = Signal(object)

    def __init__(self, host: FileHost, widget: QWidget, settings: EditorSettings, engine: Any,
                 zoo: Zoo) -> None:
        super().__init__(widget)
        self.host, self._widget = host, widget
        self.settings, self.engine, self.zoo = settings, engine, zoo
        self._tasks: list[Task] = []
        self._scratch = Path(tempfile.mkdtemp(prefix="limelight-masks-"))
        self._recent_menu: QMenu | None = None
        #: the window's batch dialog, made on first use (it outlives its closing)
        self.batch_dialog: BatchDialog | None = None

    @property
    def doc(self) -> Document | None:
        """The photo on screen (the host's)."""
        return self.host.doc

    def _status(self) -> QStatusBar:
        return self.host.statusBar()

    # -- opening -----------------------------------------------------------------------------
    def open_path(self, path: Path, *, ask: bool = True) -> bool:
        """Opens a photo (restoring its sidecar recipe).

        The photo is read and checked, and its recipe drawn, before anything in the window
        changes; a failure shows a dialog naming the file and the reason and leaves the photo
        on screen, its edit and its recipe untouched. Only then is the user asked whether to
        save the edit of the photo on screen."""
        path = Path(path)
        try:
            doc = load_document(path, self.proxy_long_edge())
            self.host.prepare_document(doc)
        except LimelightError as exc:
            return self._open_failed(path, exc.problem if exc.path == path else str(exc))
        except OSError as exc:
            return self._open_failed(path, f"cannot open ({exc.strerror or exc})")
        except MemoryError:
            return self._open_failed(path, "not enough memory for this photo")
        except Exception as exc:  # noqa: BLE001 - a dialog, never a traceback; the log has it
            log.exception("cannot open %s", path)
            return self._open_failed(path, f"unexpected error: {type(exc).__name__}: {exc}")
        if ask and not self.confirm_discard():
            return False
        self.host.set_document(doc)
        if path.parent != self._scratch:
            self.settings.add_recent(path)
            self.settings.set_folder("open", path.parent)
        self._refresh_recent_menu()
        restored = " — edit restored from its recipe" if doc.recipe_path else ""
        self._status().showMessage(f"Opened {path.name}{restored}", 6000)
        if doc.mask_error:
            self.host.show_error(f"{path.name}: the saved mask cannot be drawn: {doc.mask_error}")
        self.opened.emit(path)
        return True

    def proxy_long_edge(self) -> int:
        """The preview proxy's long edge: ``PREVIEW_LONG_EDGE`` device pixels, so at 2x
        display scaling the photo at Fit is drawn from twice the pixels (sharp)."""
        ratio = self._widget.devicePixelRatioF()
        return int(round(PREVIEW_LONG_EDGE * max(1.0, min(3.0, ratio))))

    def _open_failed(self, path: Path, reason: str) -> bool:
        """Reports a photo that cannot be opened (dialog + status bar); returns False."""
        message = f"{path}: {reason}"
        log.warning("%s", message)
        self._status().showMessage(f"Cannot open {path.name}: {reason}", 20000)
        self.host.show_error_dialog(f"Cannot open {path.name}",
                                    f"{path.name} cannot be opened: {reason}\n\n{path}")
        return False

    def open_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self._widget, "Open photo",
                                              str(self.settings.folder("open")), IMAGE_FILTER)
        if name:
            self.open_path(Path(name))

    def open_dropped(self, paths: list[Path]) -> None:
        """Files dropped on the window: the first photo opens, else the first recipe applies."""
        recipes = [p for p in paths if p.name.endswith(".json")]
        photos = [p for p in paths if p not in recipes]
        if photos:
            self.open_path(photos[0])
        elif recipes:
            self.apply_recipe_file(recipes[0])

    def set_recent_menu(self, menu: QMenu | None) -> None:
        """The "Open recent" menu this controller keeps filled."""
        self._recent_menu = menu
        self._refresh_recent_menu()

    def _refresh_recent_menu(self) -> None:
        menu = self._recent_menu
        if menu is None:
            return
        menu.clear()
        files = self.settings.recent_files()
        for p in files:
            act = menu.addAction(p.name)
            act.setToolTip(str(p))
            act.setStatusTip(str(p))
            act.triggered.connect(lambda _c=False, p=p: self.open_path(p))
        if files:
            menu.addSeparator()
            menu.addAction("Clear recent files").triggered.connect(self._clear_recent)
        menu.setEnabled(bool(files))

    def _clear_recent(self) -> None:
        self.settings.clear_recent()
        self._refresh_recent_menu()

    # -- recipes -----------------------------------------------------------------------------
    def current_recipe(self, base: Path | None = None) -> Recipe:
        """The edit as a recipe; raster masks made in this session are copied beside ``base``."""
        from dataclasses import replace

        doc = self.doc
        assert doc is not None
        lights, k = [], 0
        for light in doc.state.lights:
            shapes = []
            for s in light.mask.shapes:
                if isinstance(s, RasterMask) and base is not None and s.path.parent == self._scratch:
                    dest = base.with_name(f"{base.name.removesuffix('.json')}.mask{k}.png")
                    shutil.copyfile(s.path, dest)
                    s = RasterMask(dest, s.mode)
                    k += 1
                shapes.append(s)
            lights.append(replace(light, mask=replace(light.mask, shapes=tuple(shapes))))
        return Recipe(model=doc.state.model, lights=tuple(lights))

    def save_recipe(self, path: Path | None = None) -> bool:
        """Saves the edit (default: the photo's sidecar). Returns False on error."""
        doc = self.doc
        if doc is None:
            return False
        if path is None:
            if doc.path is None:
                return self.save_recipe_as()
            path = doc.recipe_path or sidecar_path(doc.path)
        try:
            photo = (doc.path,) if doc.path else ()
            save_recipe(self.current_recipe(path), path, protect=photo)
        except (LimelightError, OSError) as exc:
            self.host.show_error(str(exc))
            return False
        doc.recipe_path = path
        doc.mark_saved()
        self.host.edit_saved()
        self.settings.set_folder("recipe", path.parent)
        self._status().showMessage(f"Recipe saved to {path}", 6000)
        return True

    def save_recipe_as(self) -> bool:
        doc = self.doc
        if doc is None:
            return False
        start = sidecar_path(doc.path) if doc.path else self.settings.folder("recipe")
        name, _ = QFileDialog.getSaveFileName(self._widget, "Save recipe", str(start),
                                              RECIPE_FILTER)
        return self.save_recipe(Path(name)) if name else False

    def apply_recipe_file(self, path: Path | None = None) -> bool:
        """Applies a recipe file to the open photo (undoable)."""
        doc = self.doc
        if doc is None:
            return False
        if path is None:
            name, _ = QFileDialog.getOpenFileName(self._widget, "Apply recipe",
                                                  str(self.settings.folder("recipe")),
                                                  RECIPE_FILTER)
            if not name:
                return False
            path = Path(name)
        try:
            recipe = load_recipe(path)
        except LimelightError as exc:
            self.host.show_error(str(exc))
            return False
        model = recipe.model if recipe.model in self.zoo.names else doc.state.model
        if recipe.model and recipe.model not in self.zoo.names:
            self.host.show_error(f"{path}: model {recipe.model!r} is not installed; "
                                 f"keeping {model!r}")
        self.host.push_edit(f"Apply recipe {path.name}",
                            EditState(recipe.layers, model, 0 if recipe.layers else -1))
        self.settings.set_folder("recipe", path.parent)
        return True

    def confirm_discard(self) -> bool:
        """Asks to save unsaved edits; False means the user cancelled."""
        doc = self.doc
        if doc is None or not doc.dirty:
            return True
        answer = self.host.ask_save_changes()
        if answer == QMessageBox.StandardButton.Save:
            return self.save_recipe()
        return answer == QMessageBox.StandardButton.Discard

    # -- export and batch --------------------------------------------------------------------
    def export_dialog(self) -> None:
        doc = self.doc
        if doc is None or doc.path is None:
            self.host.show_error("Open a photo file to export it.")
            return
        if not self.zoo.models:
            self.host.show_error("No models installed: nothing to export.")
            return
        from limelight.gui.export_dialog import ExportDialog

        dialog = ExportDialog(self._widget, doc.path, self.settings, doc.meta)
        if dialog.exec():
            self.start_export(dialog.output_path(), **dialog.options())

    def start_export(self, output: Path, fmt: str | None = None, quality: int = 95,
                     bit_depth: int | None = None) -> Task:
        """Exports the open photo at full resolution in the background; returns the task."""
        from limelight.core.pipeline import process_file
        from limelight.gui.export_dialog import ExportProgress

        doc = self.doc
        assert doc is not None and doc.path is not None
        src, recipe, engine = doc.path, self.current_recipe(), self.engine
        subject_fn = doc.subject_fn

        def job(progress: Any) -> Path:
            return process_file(src, output, recipe, engine, fmt=fmt, quality=quality,
                                bit_depth=bit_depth, progress=progress, subject_fn=subject_fn)

        task = Task(job, "Export", self)
        ExportProgress.attach(self._status(), self.host.show_error, task, output)
        self.settings.set_folder("export", output.parent)
        self._keep(task)
        return task.start()

    def _keep(self, task: Task) -> None:
        """Holds ``task`` until it finishes."""
        self._tasks.append(task)
        task.finished.connect(lambda: self._tasks.remove(task) if task in self._tasks else None)

    def open_batch(self) -> BatchDialog:
        """Ctrl+Shift+B: shows the window's batch dialog, made on first use; it lives as long
        as the window, so a batch keeps running (and can be watched again) once closed."""
        from limelight.gui.batch_dialog import BatchDialog

        dialog = self.batch_dialog
        if dialog is None:
            dialog = self.batch_dialog = BatchDialog(self, parent=self._widget)
            doc = self.doc
            if doc is not None and doc.path is not None:
                dialog.add_paths([doc.path.parent])
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    # -- selection ---------------------------------------------------------------------------
    def run_selection(self, kind: str, rect: QRectF | None) -> Task | None:
        """Smart select in ``rect`` (photo pixels) or subject select (``kind`` "subject") in
        the background; the shape is added when done. Returns the task (None: not started)."""
        doc = self.doc
        if doc is None:
            return None
        mode = self.host.brush_settings()[2]
        if kind == "subject":
            from limelight.core import subject

            if not subject.is_installed():
                self.host.show_error(f"Subject select needs its model: {subject.install_hint()}")
                return None
            fn = doc.subject_fn
            h, w = doc.proxy_hw

            def job(_p: Any) -> Any:
                fn(h, w)  # computes and caches the subject at proxy size
                return Subject(mode)  # type: ignore[arg-type]
        else:
            from limelight.core.selection import smart_select

            assert rect is not None
            sx, sy = doc.proxy_hw[1] / doc.full_size[0], doc.proxy_hw[0] / doc.full_size[1]
            box = (int(rect.x() * sx), int(rect.y() * sy), int(rect.width() * sx),
                   int(rect.height() * sy))
            img, scratch, k = doc.img, self._scratch, len(self._tasks)
            subject_fn = doc.subject_fn  # the subject's saliency seeds GrabCut (issue 18)

            def job(_p: Any) -> Any:
                from limelight.core.subject import selection_prior

                m = smart_select(img, box, prior=selection_prior(subject_fn, *img.shape[:2]))
                path = scratch / f"smart-{id(m)}-{k}.png"
                PILImage.fromarray(np.clip(m * 65535.0 + 0.5, 0, 65535).astype(np.uint16)).save(path)
                return RasterMask(path, mode)  # type: ignore[arg-type]

        task = Task(job, "Smart select" if kind == "smart" else "Subject select", self)
        task.succeeded.connect(lambda shape: self.host.add_shape(shape, task.name))
        task.failed.connect(self.host.show_error)
        busy = f"{task.name}…"
        self._status().showMessage(busy)

        def done() -> None:  # the "working" message goes once the job is over
            if self._status().currentMessage() == busy:
                self._status().clearMessage()

        task.finished.connect(done)
        self._keep(task)
        return task.start()

    # -- about -------------------------------------------------------------------------------
    def about_text(self) -> str:
        import onnxruntime
        import PySide6
        from PySide6.QtCore import qVersion

        import limelight

        model = "none installed"
        if self.zoo.models:
            doc = self.doc
            info = self.zoo.get(doc.state.model if doc else None)
            model = f"{info.name} ({info.label}, {info.params:,} parameters)"
        return (f"<h3>Limelight {limelight.__version__}</h3>"
                "<p>Local low-light enhancement: paint where the light goes.</p>"
                f"<p>Model: {model}<br>ONNX Runtime {onnxruntime.__version__} "
                f"(device {self.engine.device})<br>Qt {qVersion()} · PySide6 {PySide6.__version__}</p>")

    def show_about(self) -> None:
        QMessageBox.about(self._widget, "About Limelight", self.about_text())
