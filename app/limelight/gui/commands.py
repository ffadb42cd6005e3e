"""Undo commands: every edit swaps one frozen ``EditState`` for another.

``EditCommand`` covers strokes, shapes, invert, clear, the transition width, the model and the
knobs. Consecutive moves of the same slider merge into one command until the slider is
released (``close_merging``), so one drag is one undo step.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from limelight.gui.document import EditState

#: Command ids for merging (QUndoCommand.id); -1 never merges.
NO_MERGE = -1
_MERGE_IDS: dict[str, int] = {}


def merge_id(key: str) -> int:
    """A stable positive id per merge key (e.g. ``"knob:degree"``)."""
    return _MERGE_IDS.setdefault(key, len(_MERGE_IDS) + 1)


class EditCommand(QUndoCommand):
    """Applies ``new`` over ``old`` through ``apply(state, already_applied)``.

    Args:
        apply: called with the state to install; ``already_applied`` is True on the first
            redo when the window has already shown the change (a stroke painted live, a slider
            already moved), so it only records it.
        merge_key: commands with the same key merge while ``open``.
    """

    def __init__(
        self,
        text: str,
        old: EditState,
        new: EditState,
        apply: Callable[[EditState, bool], None],
        merge_key: str | None = None,
        already_applied: bool = True,
    ) -> None:
        super().__init__(text)
        self.old, self.new = old, new
        self._apply = apply
        self._first = already_applied
        self.merge_key = merge_key
        self.open = merge_key is not None

    def id(self) -> int:  # noqa: A003 - Qt API
        return merge_id(self.merge_key) if self.merge_key else NO_MERGE

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt API
        if not isinstance(other, EditCommand) or not self.open:
            return False
        if other.merge_key != self.merge_key:
            return False
        self.new = other.new
        self.open = other.open
        if self.new == self.old:
            self.setObsolete(True)
        return True

    def redo(self) -> None:
        self._apply(self.new, self._first)
        self._first = False

    def undo(self) -> None:
        self._apply(self.old, False)


def close_merging(stack_command: QUndoCommand | None) -> None:
    """Stops the last command from absorbing further slider moves (slider released)."""
    if isinstance(stack_command, EditCommand):
        stack_command.open = False
