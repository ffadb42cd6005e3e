"""Shared fixtures: a tiny model zoo built with onnx.helper, and a slow engine for GUI tests."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

# Tests share 2 CPU cores with other jobs: keep OpenCV and ONNX Runtime single-threaded.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
try:
    import cv2

    cv2.setNumThreads(1)
except ImportError:  # pragma: no cover - cv2 is a runtime dependency
    pass


@pytest.fixture
def tiny_zoo(tmp_path: Path) -> Path:
    """A zoo folder with one tiny synthetic ONNX model per family and a real manifest.

    Models: ``tiny-retinex`` (pad_multiple 4), ``tiny-curve``, ``tiny-fusion`` (default, pad 4,
    with a ``refine`` map), ``tiny-residual``; ``working_resolution`` 64. Their maps depend on
    the image and on mask channel 1 (see ``bench.tinyzoo``).
    """
    from bench.tinyzoo import build_tiny_zoo

    return build_tiny_zoo(tmp_path / "zoo")


class SlowEngine:
    """Wraps a real Engine; ``run`` blocks while ``gate`` is cleared, so a test decides when
    a run may finish instead of guessing how long it takes.

    ``calls`` records ``(model, shape)`` of every run, in order, for stale-drop tests;
    ``delay`` (seconds, 0 by default) adds a pause for the tests that still ask for one.
    """

    def __init__(self, engine: Any, delay: float = 0.0) -> None:
        self._engine = engine
        self.delay = delay
        self.gate = threading.Event()
        self.gate.set()
        self.calls: list[tuple[str | None, tuple[int, ...]]] = []
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def run(self, model: str | None, img: Any, mask: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.calls.append((model, tuple(img.shape)))
        self.gate.wait(timeout=10.0)  # a safety net for a broken test, not a measurement
        if self.delay:
            time.sleep(self.delay)
        return self._engine.run(model, img, mask, **kwargs)


@pytest.fixture
def slow_engine(tiny_zoo: Path) -> SlowEngine:
    """An Engine over ``tiny_zoo`` whose ``run`` waits while ``.gate`` is cleared (``.calls``
    lists the runs)."""
    from limelight.core.engine import Engine

    return SlowEngine(Engine(tiny_zoo, device="cpu", threads=1))
