"""Atomic file replacement: every file Limelight writes (photos, recipes, masks, reports,
models) is written to a temporary file beside its destination and renamed over it, so the
destination is always either the old file or the complete new one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: Temporary files are named ``TEMP_PREFIX<pid>-<random>.<name>.tmp`` so that a batch can
#: recognise (and clean) the ones a killed process left behind (``batch_plan``).
TEMP_PREFIX = ".limelight-tmp-"
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class NoTempFile(OSError):
    """The destination's folder refused the temporary file (nothing was written)."""


@contextlib.contextmanager
def atomic_path(dest: str | Path, *, sync: bool = True) -> Iterator[Path]:
    """A temporary path beside ``dest`` for the block to write; when the block ends normally
    the file replaces ``dest``, else it is removed and ``dest`` is untouched.

    With ``sync`` the file and the folder are fsynced, so the rename survives a power cut.
    The result gets the replaced file's permissions, or 0666 minus the umask (not mkstemp's
    0600).

    Raises:
        NoTempFile: the folder refused the temporary file; OSError: from the rename.
    """
    dest = Path(dest)
    try:
        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-",
                                    suffix=f".{dest.name[-40:]}.tmp", dir=dest.parent)
    except OSError as exc:
        raise NoTempFile(exc.errno, exc.strerror, str(dest.parent)) from exc
    os.close(fd)  # reopened by name: writers such as tifffile and torch want a path
    tmp = Path(name)
    try:
        yield tmp
        if sync:
            with tmp.open("rb+") as fh:
                os.fsync(fh.fileno())
        mode = dest.stat().st_mode & 0o7777 if dest.exists() else 0o666 & ~_UMASK
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if sync:
        _fsync_dir(dest.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); best effort elsewhere."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
