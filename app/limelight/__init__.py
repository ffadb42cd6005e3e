"""Limelight: local low-light enhancement for photographers.

Subpackages: ``core`` (numpy/OpenCV/Pillow/ONNX Runtime; shared by GUI and CLI),
``gui`` (PySide6 editor), and the command line in ``cli``. Never imports torch.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("limelight")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
