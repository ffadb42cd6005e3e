"""The editor's structure: one uint→float conversion, a composed file controller behind a
Protocol, no import cycles under ``TYPE_CHECKING``, every GUI test marked and collectable
without torch."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox, QStatusBar, QWidget

import limelight.gui
from limelight.core.imageio import to_float
from limelight.gui.document import Document, EditState

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_document_converts_pixels_with_the_core(dtype: type) -> None:
    """The proxy's float image is the core's ``to_float`` (no GUI copy of it)."""
    top = np.iinfo(dtype).max
    proxy = np.array([[[0, 1, top], [top // 2, 3, 7]]], dtype)
    doc = Document(proxy, (2, 1))
    assert doc.img.dtype == np.float32
    np.testing.assert_array_equal(doc.img, to_float(proxy))


def test_document_refuses_pixels_the_core_refuses() -> None:
    with pytest.raises(ValueError, match="uint8 or uint16"):
        Document(np.zeros((2, 2, 3), np.int32), (2, 2))


GUI = Path(limelight.gui.__file__).parent
#: modules above the window (they open it) and the benchmark (leaving the package)
ABOVE_WINDOW = {"main_window.py", "app.py", "bench.py"}


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at run time or under ``TYPE_CHECKING``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_no_module_below_the_window_imports_it() -> None:
    """No cycle hidden under TYPE_CHECKING: the window's parts see it through Protocols."""
    offenders = [p.name for p in sorted(GUI.glob("*.py")) if p.name not in ABOVE_WINDOW
                 and "limelight.gui.main_window" in _imports(p)]
    assert offenders == []


def test_no_private_member_of_another_object_is_used() -> None:
    """``x._name`` only on ``self``/``cls``: other objects are used through public methods."""
    found = []
    for path in sorted(GUI.glob("*.py")):
        if path.name == "bench.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__") \
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert found == []


def test_the_window_composes_its_file_controller() -> None:
    from limelight.gui.file_ops import FileController
    from limelight.gui.main_window import MainWindow

    assert not any("Mixin" in c.__name__ for c in MainWindow.__mro__)
    assert not hasattr(MainWindow, "save_recipe") and not hasattr(MainWindow, "start_export")
    assert hasattr(FileController, "save_recipe") and hasattr(FileController, "start_export")


class _Host:
    """A ``FileHost`` that is not a window: what the controller may use, and nothing else."""

    def __init__(self) -> None:
        self.doc: Document | None = None
        self.status = QStatusBar()
        self.calls: list[str] = []
        self.errors: list[str] = []

    def prepare_document(self, doc: Document) -> None:
        self.calls.append("prepare")

    def set_document(self, doc: Document) -> None:
        self.calls.append("set")
        self.doc = doc

    def push_edit(self, text: str, new: EditState) -> None:
        self.calls.append(f"push {text}")
        assert self.doc is not None
        self.doc.set_state(new)

    def add_shape(self, shape: object, text: str) -> None:
        self.calls.append(f"shape {text}")

    def edit_saved(self) -> None:
        self.calls.append("saved")

    def brush_settings(self) -> tuple[float, float, str]:
        return 0.05, 0.5, "add"

    def show_error(self, message: str) -> None:
        self.errors.append(message)

    def show_error_dialog(self, title: str, text: str) -> None:
        self.errors.append(title)

    def ask_save_changes(self) -> QMessageBox.StandardButton:
        self.calls.append("asked")
        return QMessageBox.StandardButton.Save

    def statusBar(self) -> QStatusBar:  # noqa: N802
        return self.status


def test_the_file_controller_needs_only_its_protocol(qtbot, settings, engine, photo: Path,  # noqa: ANN001
                                                     tmp_path: Path) -> None:
    """Open, edit, save, ask on discard and fail to open, with a host that is no window."""
    from limelight.core.masks import Ellipse
    from limelight.core.recipe import load_recipe, sidecar_path
    from limelight.gui.file_ops import FileController

    host, widget = _Host(), QWidget()
    qtbot.addWidget(widget)
    files = FileController(host, widget, settings, engine, engine.zoo)
    with qtbot.waitSignal(files.opened) as opened:
        assert files.open_path(photo)
    assert opened.args == [photo] and host.calls == ["prepare", "set"]
    assert host.doc is not None and host.doc.path == photo and files.doc is host.doc
    assert settings.recent_files() == [photo]
    assert "Opened dark.png" in host.status.currentMessage()
    doc = host.doc
    doc.set_state(doc.state.with_spec(shapes=(Ellipse(0.5, 0.5, 0.2, 0.2),)))
    assert doc.dirty
    assert files.confirm_discard()  # asked, answered Save: saved
    assert host.calls[-2:] == ["asked", "saved"] and not doc.dirty
    assert load_recipe(sidecar_path(photo)).mask.shapes == (Ellipse(0.5, 0.5, 0.2, 0.2),)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a photo")
    assert not files.open_path(bad)
    assert host.errors == ["Cannot open bad.jpg"] and host.doc is doc


def test_every_gui_test_module_is_marked() -> None:
    unmarked = [p.name for p in sorted(Path(__file__).parent.glob("test_*.py"))
                if "pytestmark = pytest.mark.gui" not in p.read_text(encoding="utf-8")]
    assert unmarked == []


def test_gui_tests_collect_without_torch(tmp_path: Path) -> None:
    """``pytest -m gui tests/gui`` collects with torch and the training package unimportable."""
    script = tmp_path / "collect.py"
    script.write_text(
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "sys.modules['limelight_models'] = None\n"
        "import pytest\n"
        "sys.exit(pytest.main(['--collect-only', '-q', '-m', 'gui', '-p', 'no:cacheprovider',"
        f" {str(Path(__file__).parent)!r}]))\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=Path(__file__).parents[2], env=os.environ.copy(), check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert " collected" in done.stdout and "errors" not in done.stdout.splitlines()[-1]


def test_no_gui_test_sleeps() -> None:
    """GUI tests wait on signals or conditions (``qtbot.waitSignal``/``waitUntil``), or
    inject the pause (``refine_delay_s``); they never sleep."""
    found = []
    for path in sorted(Path(__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name == "sleep":
                    found.append(f"{path.name}:{node.lineno}")
    assert found == []
