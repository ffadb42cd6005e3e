"""Persistent editor settings (QSettings): window state, recent files, last folders, brush."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 10


class EditorSettings:
    """Typed access to QSettings. Pass a ``QSettings`` (e.g. an INI file in tests)."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings if qsettings is not None else QSettings("Limelight", "Limelight Editor")

    # -- recent files and folders ------------------------------------------------------------
    def recent_files(self) -> list[Path]:
        value = self.q.value("recent/files", [])
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [Path(str(v)) for v in items if v]

    def add_recent(self, path: Path) -> list[Path]:
        path = Path(path).absolute()
        files = [path] + [p for p in self.recent_files() if p != path]
        files = files[:MAX_RECENT]
        self.q.setValue("recent/files", [str(p) for p in files])
        return files

    def clear_recent(self) -> None:
        self.q.setValue("recent/files", [])

    def folder(self, kind: str) -> Path:
        """Last folder used for ``kind`` ("open", "export", "recipe"); home if unknown."""
        value = self.q.value(f"folders/{kind}", "")
        path = Path(str(value)) if value else Path.home()
        return path if path.is_dir() else Path.home()

    def set_folder(self, kind: str, folder: Path) -> None:
        self.q.setValue(f"folders/{kind}", str(folder))

    # -- window ----------------------------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        value = self.q.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def window_state(self) -> QByteArray | None:
        value = self.q.value("window/state")
        return value if isinstance(value, QByteArray) else None

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)

    # -- tool settings ---------------------------------------------------------------------
    def get_float(self, key: str, default: float) -> float:
        try:
            return float(str(self.q.value(key, default)))
        except (TypeError, ValueError):
            return default

    def set_value(self, key: str, value: object) -> None:
        self.q.setValue(key, value)

    def sync(self) -> None:
        self.q.sync()
