"""``GuiBridge`` runs what other threads post in the GUI thread, woken at once."""

from __future__ import annotations

import os
import threading

import pytest
import shiboken6

pytestmark = pytest.mark.gui


def test_a_post_from_a_thread_runs_in_the_gui_thread_at_once(
        qtbot) -> None:  # noqa: ANN001
    """Nothing polls: a post from a worker thread runs at once, in the GUI thread, in the
    order posted (the frame's hand-off used to wait for a 3 ms poll)."""
    from limelight.gui.bridge import GuiBridge

    bridge = GuiBridge()
    ran: list[tuple[int, threading.Thread]] = []

    def worker() -> None:
        for k in range(3):
            bridge.post(lambda k=k: ran.append((k, threading.current_thread())))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: len(ran) == 3, timeout=2000)
    assert [k for k, _ in ran] == [0, 1, 2]
    assert all(t is threading.main_thread() for _, t in ran)


def test_many_posts_before_the_gui_thread_drains_are_all_run(qtbot) -> None:  # noqa: ANN001
    """More wake-up bytes than the socket pair holds: none of the posts is lost."""
    from limelight.gui.bridge import GuiBridge

    bridge = GuiBridge()
    ran: list[int] = []
    thread = threading.Thread(target=lambda: [bridge.post(ran.append, k) for k in range(200_000)])
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: len(ran) == 200_000, timeout=10000)
    assert ran == list(range(200_000))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc/self/fd")
def test_bridges_share_one_wake_up_and_a_deleted_ones_posts_are_dropped(qtbot) -> None:  # noqa: ANN001
    """The editor makes a bridge per background task (every 1:1 pan makes one): 300 of
    them open no file descriptor of their own, and a post to a bridge deleted since is
    dropped without an error while a live one's still runs."""
    from limelight.gui.bridge import GuiBridge

    first = GuiBridge()  # (the shared wake-up exists from here on)
    before = len(os.listdir("/proc/self/fd"))
    bridges = [GuiBridge() for _ in range(300)]
    assert len(os.listdir("/proc/self/fd")) == before
    ran: list[str] = []
    gone, live = bridges[0], bridges[1]
    gone.post(ran.append, "gone")
    live.post(ran.append, "live")
    shiboken6.delete(gone)
    qtbot.waitUntil(lambda: ran == ["live"], timeout=2000)
    first.post(ran.append, "first")
    qtbot.waitUntil(lambda: ran == ["live", "first"], timeout=2000)
