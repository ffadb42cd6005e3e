"""Actions, menus and toolbars of the editor window; every shortcut shows in its tooltip.

The actions are put on a ``QMainWindow`` and call the slots of an ``ActionHost`` (the
window itself); this module never imports ``main_window``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QStyle, QToolBar, QWidget

from limelight.gui.icons import tool_icon

if TYPE_CHECKING:
    from PySide6.QtGui import QUndoStack

    from limelight.gui.canvas import Canvas
    from limelight.gui.file_ops import FileController
    from limelight.gui.panels import MaskPanel

SELECTION_PENDING = "coming with the selection tools"


@dataclass
class Actions:
    """The window's actions by purpose (tests trigger them directly)."""

    tools: dict[str, QAction] = field(default_factory=dict)
    by_name: dict[str, QAction] = field(default_factory=dict)
    overlay: Any = None
    before_after: Any = None
    split: Any = None
    recent_menu: QMenu | None = None


class ActionHost(Protocol):
    """The slots the actions call (the editor window)."""

    files: FileController
    undo_stack: QUndoStack
    canvas: Canvas
    mask_panel: MaskPanel

    def reset_light(self) -> None: ...
    def set_overlay(self, visible: bool) -> None: ...
    def set_all_lights_overlay(self, on: bool) -> None: ...
    def set_tool(self, name: str) -> None: ...
    def invert_mask(self) -> None: ...
    def clear_mask(self) -> None: ...
    def resize_brush(self, factor: float) -> None: ...


def make_dock(win: QMainWindow, title: str, widget: QWidget) -> QDockWidget:
    dock = QDockWidget(title, win)
    dock.setObjectName(title.replace(" ", "_"))
    dock.setWidget(widget)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
    win.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    return dock


def _act(win: QMainWindow, acts: Actions, name: str, text: str, slot: Any, shortcut: Any = None,
         tip: str = "", checkable: bool = False, icon: QStyle.StandardPixmap | None = None) -> QAction:
    act = QAction(text.replace("&&", "&"), win)
    act.setObjectName(name)
    if shortcut is not None:
        seq = QKeySequence(shortcut)
        act.setShortcut(seq)
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        label = seq.toString(QKeySequence.SequenceFormat.NativeText)
        act.setToolTip(f"{(tip or text).replace('&', '')} ({label})")
    elif tip:
        act.setToolTip(tip)
    act.setStatusTip(tip or text.replace("&", ""))
    if icon is not None:
        act.setIcon(win.style().standardIcon(icon))
    act.setCheckable(checkable)
    if checkable:
        act.toggled.connect(slot)
    else:
        act.triggered.connect(lambda _checked=False: slot())
    win.addAction(act)
    acts.by_name[name] = act
    return act


def _selection_available() -> bool:
    try:
        from limelight.core import selection, subject  # noqa: F401
    except ImportError:
        return False
    return hasattr(selection, "smart_select") and hasattr(subject, "subject_mask")


def build(win: QMainWindow, host: ActionHost) -> Actions:
    """Creates the actions, the menu bar and the toolbars of ``win``, calling ``host``."""
    acts = Actions()
    sp = QStyle.StandardPixmap
    a = lambda *args, **kw: _act(win, acts, *args, **kw)  # noqa: E731
    # File
    open_ = a("open", "&Open…", host.files.open_dialog, QKeySequence.StandardKey.Open,
              "Open a photo", icon=sp.SP_DialogOpenButton)
    save = a("save_recipe", "&Save recipe", host.files.save_recipe, QKeySequence.StandardKey.Save,
             "Save the edit as <photo>.limelight.json beside the photo", icon=sp.SP_DialogSaveButton)
    save_as = a("save_recipe_as", "Save recipe &as…", host.files.save_recipe_as, "Ctrl+Shift+S")
    apply_ = a("apply_recipe", "Apply &recipe…", host.files.apply_recipe_file, "Ctrl+Shift+O",
               "Apply a recipe file to this photo")
    export = a("export", "&Export…", host.files.export_dialog, "Ctrl+E",
               "Export the photo at full resolution", icon=sp.SP_DriveHDIcon)
    batch = a("batch", "&Batch export…", host.files.open_batch, "Ctrl+Shift+B",
              "Apply this edit to many photos", icon=sp.SP_FileDialogListView)
    quit_ = a("quit", "&Quit", win.close, QKeySequence.StandardKey.Quit)
    # Edit
    undo = host.undo_stack.createUndoAction(win, "&Undo")
    undo.setShortcut(QKeySequence.StandardKey.Undo)
    redo = host.undo_stack.createRedoAction(win, "&Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    for act in (undo, redo):
        win.addAction(act)
    reset = a("reset_light", "Reset &light", host.reset_light, None, "Degree and γ to defaults")
    # View
    fit = a("fit", "&Fit", host.canvas.fit, "Ctrl+0", "Fit the photo in the window")
    actual = a("actual", "&100 %", host.canvas.actual_pixels, "Ctrl+1", "One photo pixel per screen pixel")
    zoom_in = a("zoom_in", "Zoom &in", lambda: host.canvas.set_zoom(host.canvas.zoom * 1.25),
                QKeySequence.StandardKey.ZoomIn)
    zoom_out = a("zoom_out", "Zoom &out", lambda: host.canvas.set_zoom(host.canvas.zoom / 1.25),
                 QKeySequence.StandardKey.ZoomOut)
    acts.before_after = a("before_after", "&Before / after", host.canvas.set_show_before,
                          "\\", "Show the original photo", checkable=True)

    def split(on: bool) -> None:
        host.canvas.set_split(host.canvas.photo_rect.center().x() if on else None)

    acts.split = a("split", "&Split view", split, "Y", "Before on the left, after on the right; "
                   "drag the line", checkable=True)
    acts.overlay = a("overlay", "Mask &overlay", host.set_overlay, "O",
                     "Show the selected light's area A (green) and transition B (blue)",
                     checkable=True)
    all_lights = a("all_lights_overlay", "All lights overlay", host.set_all_lights_overlay,
                   "Shift+O", "Show every light in its own colour", checkable=True)
    # Mask tools
    group = QActionGroup(win)
    sel_ok = _selection_available()
    for name, text, key, tip in (
        ("brush", "&Brush", "B", "Paint area A"),
        ("ellipse", "&Ellipse", "E", "Drag to draw; handles move, resize and rotate"),
        ("smart", "&Smart select", "S", "Drag a rectangle around the subject"),
        ("subject", "Sub&ject select", "J", "One click selects the main subject"),
    ):
        act = a(f"tool_{name}", text, lambda on, n=name: host.set_tool(n) if on else None, key, tip,
                checkable=True)
        act.setIcon(tool_icon(name))
        group.addAction(act)
        acts.tools[name] = act
        if name in ("smart", "subject") and not sel_ok:
            act.setEnabled(False)
            act.setToolTip(f"{text.replace('&', '')} ({key}) — {SELECTION_PENDING}")
    invert = a("invert", "&Invert", host.invert_mask, "I",
               "Swap the selected light's area and the rest")
    clear = a("clear", "&Clear", host.clear_mask, QKeySequence.StandardKey.Delete,
              "Remove the selected light's shapes (it then lights nothing)")
    smaller = a("brush_smaller", "Brush smaller", lambda: host.resize_brush(1 / 1.2), "[")
    larger = a("brush_larger", "Brush larger", lambda: host.resize_brush(1.2), "]")
    toggle_mode = a("toggle_mode", "Add / erase", host.mask_panel.toggle_mode, "X",
                    "Switch the brush and shapes between adding and erasing")
    about = a("about", "&About Limelight", host.files.show_about, None)
    # Menus
    mb = win.menuBar()
    m = mb.addMenu("&File")
    m.addAction(open_)
    acts.recent_menu = m.addMenu("Open &recent")
    m.addSeparator()
    for act in (save, save_as, apply_):
        m.addAction(act)
    m.addSeparator()
    m.addAction(export)
    m.addAction(batch)
    m.addSeparator()
    m.addAction(quit_)
    m = mb.addMenu("&Edit")
    for act in (undo, redo):
        m.addAction(act)
    m.addSeparator()
    m.addAction(reset)
    m = mb.addMenu("&View")
    for act in (fit, actual, zoom_in, zoom_out):
        m.addAction(act)
    m.addSeparator()
    for act in (acts.before_after, acts.split, acts.overlay, all_lights):
        m.addAction(act)
    m = mb.addMenu("&Mask")
    for act in acts.tools.values():
        m.addAction(act)
    m.addSeparator()
    for act in (invert, clear, toggle_mode, smaller, larger):
        m.addAction(act)
    mb.addMenu("&Help").addAction(about)
    # Toolbars
    top = QToolBar("Main")
    top.setObjectName("main_toolbar")
    top.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for act in (open_, save, export, batch):
        top.addAction(act)
    top.addSeparator()
    for act in (acts.before_after, acts.split, acts.overlay):
        top.addAction(act)
    top.addSeparator()
    top.addAction(fit)
    top.addAction(actual)
    win.addToolBar(Qt.ToolBarArea.TopToolBarArea, top)
    left = QToolBar("Tools")
    left.setObjectName("tools_toolbar")
    left.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
    left.setIconSize(QSize(24, 24))
    for act in acts.tools.values():  # tools: icons, one is on at a time
        left.addAction(act)
    left.addSeparator()  # actions on the selected light: words, done at once
    for act in (invert, clear):
        left.addAction(act)
    win.addToolBar(Qt.ToolBarArea.LeftToolBarArea, left)
    return acts
