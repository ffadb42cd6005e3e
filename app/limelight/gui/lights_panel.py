"""The Lights panel: the photo's lights as a list (the Masks panel photographers know).

Each row: a visibility check box and the name (double-click to rename), then what the light
is made of and its strength. The selected row is the light the sliders and tools edit.
"+ Light" adds one (brush, ellipse, subject, smart select or the whole photo); right-click
or the buttons duplicate, delete and move a light (later in the list = on top).

Signals:
    add_requested(str): a kind from ``LIGHT_KINDS``.
    selected(int): the user selected light ``index`` (-1: none).
    visibility_toggled(int, bool), renamed(int, str), duplicate_requested(int),
    delete_requested(int), move_requested(int, int): index (and delta).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QMenu,
    QPushButton,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from limelight.core.lights import Light
from limelight.core.masks import Ellipse, RasterMask, Stroke, Subject, Whole

#: "+ Light" menu: kind -> the new light's name.
LIGHT_KINDS = {"brush": "Brush", "ellipse": "Ellipse", "subject": "Subject",
               "smart": "Smart select", "whole": "Whole photo"}

_SHAPE_WORDS = ((Stroke, "Brush"), (Ellipse, "Ellipse"), (RasterMask, "Smart"),
                (Subject, "Subject"), (Whole, "Whole photo"))


def _show_row(item: QTreeWidgetItem, light: Light) -> None:
    """Shows ``light`` in its row: name, description, visibility tick and tip (only what
    differs is set: a slider drag changes the description alone)."""
    for column, text in enumerate((light.name, describe(light))):
        if item.text(column) != text:
            item.setText(column, text)
    check = Qt.CheckState.Checked if light.visible else Qt.CheckState.Unchecked
    if item.data(0, Qt.ItemDataRole.CheckStateRole) is None or item.checkState(0) != check:
        item.setCheckState(0, check)
    tip = f"{light.name}: tick to show, double-click to rename"
    if item.toolTip(0) != tip:
        item.setToolTip(0, tip)


def describe(light: Light) -> str:
    """What a light is made of and its strength: "Brush + Subject − Ellipse · 1.20"."""
    words: list[str] = []
    seen: set[tuple[str, str]] = set()
    for shape in light.mask.shapes:
        word = next(w for t, w in _SHAPE_WORDS if isinstance(shape, t))
        if (word, shape.mode) in seen:
            continue
        seen.add((word, shape.mode))
        sign = "−" if shape.mode == "erase" else "+"
        words.append(word if not words and sign == "+" else f"{sign} {word}")
    made = " ".join(words) if words else "empty"
    if light.mask.invert:
        made = f"inverse of {made}"
    return f"{made} · {light.knobs.degree:.2f}"


class _LightsTree(QTreeWidget):
    """The list itself: Delete (and Backspace) remove the current light while the list has
    focus, before the window's Delete (clear the light's shapes) can take the key."""

    delete_pressed = Signal()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) \
                and self.state() != QAbstractItemView.State.EditingState:
            event.accept()  # a key press for this widget, not the window's shortcut
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_pressed.emit()
            return
        super().keyPressEvent(event)


class LightsPanel(QWidget):
    """The list of lights; see the module docstring."""

    add_requested = Signal(str)
    selected = Signal(int)
    visibility_toggled = Signal(int, bool)
    renamed = Signal(int, str)
    duplicate_requested = Signal(int)
    delete_requested = Signal(int)
    move_requested = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box = QGroupBox("Lights")
        v = QVBoxLayout(box)
        self.add_button = QToolButton()
        self.add_button.setText("+ Light")
        self.add_button.setToolTip("Add a light: brush, ellipse, subject, smart select or the "
                                   "whole photo")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.add_button)
        for kind, name in LIGHT_KINDS.items():
            act = menu.addAction(name)
            act.triggered.connect(lambda _c=False, k=kind: self.add_requested.emit(k))
        self.add_button.setMenu(menu)
        self.tree = _LightsTree()
        self.tree.delete_pressed.connect(lambda: self.delete_requested.emit(self.current))
        self.tree.setColumnCount(2)
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setMinimumHeight(96)
        self.tree.setMaximumHeight(150)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setToolTip("Tick to show a light, double-click its name to rename it; "
                             "right-click for more. Lights apply in list order: a later "
                             "light shows over an earlier one where they overlap.")
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._on_tree_menu)
        self.tree.currentItemChanged.connect(self._on_tree_current)
        self.tree.itemChanged.connect(self._on_tree_item_changed)
        self.empty_hint = "No light yet: paint, or use + Light"
        self.duplicate_button = QPushButton("Duplicate")
        self.duplicate_button.setToolTip("Duplicate the selected light (Ctrl+D)")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected light")
        self.up_button = QPushButton("▲")
        self.up_button.setToolTip("Move the light up the list (under the others)")
        self.down_button = QPushButton("▼")
        self.down_button.setToolTip("Move the light down the list (over the others)")
        self.duplicate_button.clicked.connect(lambda: self.duplicate_requested.emit(self.current))
        self.delete_button.clicked.connect(lambda: self.delete_requested.emit(self.current))
        self.up_button.clicked.connect(lambda: self.move_requested.emit(self.current, -1))
        self.down_button.clicked.connect(lambda: self.move_requested.emit(self.current, 1))
        dup = QAction(self.tree)
        dup.setShortcut(QKeySequence("Ctrl+D"))
        dup.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        dup.triggered.connect(lambda: self.duplicate_requested.emit(self.current))
        self.tree.addAction(dup)
        top = QHBoxLayout()
        top.addWidget(self.add_button)
        top.addStretch(1)
        for b in (self.duplicate_button, self.delete_button, self.up_button, self.down_button):
            top.addWidget(b)
        for b in (self.up_button, self.down_button):
            b.setMaximumWidth(32)
        v.addLayout(top)
        v.addWidget(self.tree)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(box)
        self._updating = False
        self._count = 0
        self.set_lights((), -1)

    @property
    def current(self) -> int:
        item = self.tree.currentItem()
        return self.tree.indexOfTopLevelItem(item) if item is not None else -1

    def set_lights(self, lights: tuple[Light, ...], selected: int) -> None:
        """Shows ``lights`` with row ``selected`` current (no signals). The same number of
        lights (a slider drag, a rename) updates the rows in place."""
        self._updating = True
        try:
            if 0 <= selected < len(lights) == self._count == self.tree.topLevelItemCount():
                self._update_rows(lights, selected)
            else:
                self._fill(lights, selected)
        finally:
            self._updating = False
        has = 0 <= selected < len(lights)
        for b in (self.duplicate_button, self.delete_button):
            b.setEnabled(has)
        self.up_button.setEnabled(has and selected > 0)
        self.down_button.setEnabled(has and selected < len(lights) - 1)

    def _update_rows(self, lights: tuple[Light, ...], selected: int) -> None:
        for k, light in enumerate(lights):
            _show_row(self.tree.topLevelItem(k), light)
        current = self.tree.topLevelItem(selected)
        if self.tree.currentItem() is not current:
            self.tree.setCurrentItem(current)

    def _fill(self, lights: tuple[Light, ...], selected: int) -> None:
        self.tree.clear()
        for light in lights:
            item = QTreeWidgetItem()
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable
                          | Qt.ItemFlag.ItemIsUserCheckable)
            _show_row(item, light)
            self.tree.addTopLevelItem(item)
        if 0 <= selected < len(lights):
            self.tree.setCurrentItem(self.tree.topLevelItem(selected))
        if not lights:
            hint = QTreeWidgetItem([self.empty_hint])
            hint.setFlags(Qt.ItemFlag.NoItemFlags)
            self.tree.addTopLevelItem(hint)
            hint.setFirstColumnSpanned(True)
        self._count = len(lights)

    def _on_tree_current(self, item: QTreeWidgetItem | None, _prev: object) -> None:
        if not self._updating and item is not None:
            index = self.tree.indexOfTopLevelItem(item)
            if index < self._count:
                self.selected.emit(index)

    def _on_tree_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._updating or column != 0:
            return
        index = self.tree.indexOfTopLevelItem(item)
        if not 0 <= index < self._count:
            return
        visible, name = item.checkState(0) == Qt.CheckState.Checked, item.text(0)
        # after this slot: the window rebuilds the rows, deleting ``item``
        def emit() -> None:
            self.visibility_toggled.emit(index, visible)
            self.renamed.emit(index, name)

        QTimer.singleShot(0, emit)

    def _on_tree_menu(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        index = self.tree.indexOfTopLevelItem(item) if item is not None else -1
        if not 0 <= index < self._count:
            return
        menu = QMenu(self)
        menu.addAction("Duplicate", lambda: self.duplicate_requested.emit(index))
        menu.addAction("Delete", lambda: self.delete_requested.emit(index))
        menu.addAction("Move up", lambda: self.move_requested.emit(index, -1))
        menu.addAction("Move down", lambda: self.move_requested.emit(index, 1))
        menu.exec(self.tree.viewport().mapToGlobal(pos))
