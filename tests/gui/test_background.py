"""``Task`` runs a function off the GUI thread and reports back in it."""

from __future__ import annotations

import threading

import pytest

pytestmark = pytest.mark.gui


def test_a_finished_task_reports_in_the_gui_thread_and_is_not_kept(qtbot) -> None:  # noqa: ANN001
    """The result arrives in the GUI thread; once finished, the task leaves its parent (the
    editor makes one per 1:1 pan, and its parent used to keep them all), while ``running``
    and ``wait`` still answer."""
    from PySide6.QtCore import QObject

    from limelight.gui.background import Task

    parent = QObject()
    got: list[tuple[object, threading.Thread]] = []
    tasks = []
    for k in range(5):
        task = Task(lambda _progress, k=k: k * k, f"task {k}", parent)
        task.succeeded.connect(lambda value: got.append((value, threading.current_thread())))
        with qtbot.waitSignal(task.finished, timeout=5000):
            task.start()
        tasks.append(task)
    assert sorted(v for v, _ in got) == [0, 1, 4, 9, 16]
    assert all(t is threading.main_thread() for _, t in got)
    qtbot.waitUntil(lambda: not parent.findChildren(Task), timeout=2000)
    for task in tasks:
        assert not task.running
        task.wait(1.0)
