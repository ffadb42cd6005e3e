"""Limelight: local low-light enhancement for photographers.

Subpackages: ``core`` (numpy/OpenCV/Pillow/ONNX Runtime; shared by GUI and CLI),
``gui`` (PySide6 editor), and the command line in ``cli``. Never imports torch.
"""

from __future__ import annotations

from functools import cache

__all__ = ["__version__"]


@cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("limelight")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+source"


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed metadata on first use (``importlib.metadata``
    costs ~30 ms of every command's start-up otherwise)."""
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'limelight' has no attribute {name!r}")
