"""Errors that reach the user: each names the file (or field) and the problem."""

from __future__ import annotations

from pathlib import Path


class LimelightError(Exception):
    """Base class. ``str(err)`` is a complete sentence fit for a status bar or a CLI line."""

    def __init__(self, problem: str, path: str | Path | None = None) -> None:
        self.problem = problem
        self.path = Path(path) if path is not None else None
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)


class ImageReadError(LimelightError):
    """A file could not be read as an image (empty, truncated, unsupported, too large...)."""


class ImageWriteError(LimelightError):
    """An output could not be written (unwritable folder, same path as the input...)."""


class RecipeError(LimelightError):
    """A recipe is malformed; ``problem`` names the offending field."""


class MaskError(LimelightError):
    """A mask cannot be used (wrong size, unreadable raster mask...)."""


class ModelError(LimelightError):
    """A model is unknown, missing, corrupted (sha256) or failed to run."""
