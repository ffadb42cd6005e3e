"""Planning a batch before any pixel is read: which photos, which output names, what to skip.

``find_inputs`` expands files and folders (optionally recursive) into photos;
``plan_outputs`` names each output from a template (``{name}``, ``{stem}``, ``{ext}``,
``{index}``), resolves collisions inside the batch and with existing files (skip, rename to
``_1``, ``_2``..., or overwrite an *output*), and refuses any output that resolves to an input;
``clean_stale_temps`` removes the temporary files that a killed writer left in an output
folder. Everything here is cheap (no decoding), so a usage error is reported before the first
photo is processed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import string
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from limelight.core.atomic import TEMP_PREFIX
from limelight.core.errors import LimelightError
from limelight.core.imageio_decode import RAW_SUFFIXES, stat_problem
from limelight.core.imageio_encode import Protected

log = logging.getLogger(__name__)

OnExists = Literal["skip", "rename", "overwrite"]
ON_EXISTS: tuple[OnExists, ...] = ("skip", "rename", "overwrite")
#: Output format names -> file suffix.
SUFFIXES = {"jpeg": ".jpg", "png": ".png", "tiff": ".tif", "webp": ".webp"}
#: Input suffix -> the output format kept when no format is asked for (RAW/BMP -> TIFF).
KEEP_FORMAT = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".tif": "tiff",
               ".tiff": "tiff", ".webp": "webp"}
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"}
                           | RAW_SUFFIXES)
TEMPLATE_FIELDS = ("name", "stem", "ext", "index")
#: The longest file name most file systems take (ext4, APFS, NTFS: 255 bytes or units).
MAX_NAME_BYTES = 255
#: A temporary file whose writer's pid is alive is still left alone unless it is this old.
STALE_AGE_S = 3600.0


class BatchError(LimelightError):
    """The batch cannot start: a bad template, an output equal to an input, no photos."""


@dataclass(frozen=True)
class Source:
    """One photo to process; ``subdir`` is its folder relative to the folder it was found in
    (kept under the output folder with ``recursive``), ``Path()`` for files given directly."""

    path: Path
    subdir: Path = Path()


@dataclass(frozen=True)
class PlannedFile:
    """One photo's place in the batch: 1-based ``index``, output path, and whether the
    output already exists and is to be left as is (``skip``)."""

    index: int
    input: Path
    output: Path
    skip: bool = False


def is_photo_name(path: Path) -> bool:
    """A visible file name with an image or camera-RAW suffix."""
    return not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and (path == folder or folder in path.parents)


def previous_outputs(report: Path) -> frozenset[Path]:
    """The outputs an earlier batch wrote, from its report (empty if there is none or it
    cannot be read): when the output folder is also an input folder, they are not inputs."""
    try:
        doc = json.loads(report.read_text(encoding="utf-8"))
        files = doc["files"] if isinstance(doc, dict) else []
        # every listed output, pending ones too: a killed run may have written one after
        # its report was last rewritten
        return frozenset(Path(f["output"]).resolve() for f in files
                         if isinstance(f, dict) and f.get("output") != f.get("input"))
    except (OSError, ValueError, KeyError, TypeError):
        return frozenset()


def missing_reason(path: Path) -> str:
    """Why an input cannot be taken, as one sentence naming it (no such file, a symlink
    loop, permission denied...)."""
    problem = stat_problem(path)
    if problem is not None:
        return problem
    if not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
        return f"{path}: cannot be read (permission denied)"
    return f"{path}: neither a file nor a folder"


#: The editor's export names a photo's output ``<stem>_lit<ext>`` beside it by default.
OWN_OUTPUT_SUFFIX = "_lit"


def _own_outputs(names: list[str]) -> set[str]:
    """The names among ``names`` (one folder's files) that look like Limelight's own exports
    of a photo beside them: ``IMG_1_lit.jpg`` next to ``IMG_1.*`` (also ``_lit_lit``...)."""
    stems = {Path(n).stem.lower() for n in names if is_photo_name(Path(n))}
    own = set()
    for n in names:
        stem = Path(n).stem.lower()
        if is_photo_name(Path(n)) and stem.endswith(OWN_OUTPUT_SUFFIX) \
                and stem[: -len(OWN_OUTPUT_SUFFIX)] in stems:
            own.add(n)
    return own


def _scan(folder: Path, recursive: bool, exclude: Path | None,
          previous: frozenset[Path], unreadable: list[Path]) -> list[Source]:
    found: list[Source] = []

    def failed(err: OSError) -> None:  # an unreadable folder is an input that failed
        unreadable.append(Path(err.filename) if err.filename else folder)

    for root, dirs, names in os.walk(folder, onerror=failed):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if recursive and not d.startswith(".")
                         and not _inside((here / d).resolve(), exclude))
        own = _own_outputs(names)  # an earlier export beside its photo is not a new photo
        for name in sorted(names, key=str.lower):
            p = here / name
            if name in own:
                continue
            if is_photo_name(p) and p.is_file() and (not previous
                                                      or p.resolve() not in previous):
                found.append(Source(p, here.relative_to(folder)))
    return found


def find_inputs(inputs: Iterable[Path], *, recursive: bool = False,
                exclude: Path | None = None, previous: frozenset[Path] = frozenset(),
                ) -> tuple[list[Source], list[Path]]:
    """Expands files and folders into photos, in the order given (folders sorted by name).

    Folders contribute files with an image suffix (JPEG, PNG, TIFF, WebP, BMP, camera RAW),
    hidden files, anything under ``exclude`` (the output folder), the ``previous``
    outputs of a batch (listed in its report) and Limelight's own exports beside their photo
    (``IMG_1_lit.jpg`` next to ``IMG_1.jpg``, ``_own_outputs``) left out; files named
    directly are taken whatever their suffix (a bad one fails with its reason). The same
    file reached twice counts once. Returns (photos, missing paths): inputs that do not
    exist, cannot be read (permissions, symlink loops) and folders that cannot be listed;
    ``missing_reason`` says why for each.
    """
    out_root = exclude.resolve() if exclude is not None else None
    seen: set[Path] = set()
    sources: list[Source] = []
    missing: list[Path] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir() and not os.access(path, os.R_OK | os.X_OK):
            missing.append(path)
            continue
        if path.is_dir():
            # an output folder inside the scanned one is skipped; when it *is* the scanned
            # one, only the outputs listed in its report are
            root = path.resolve()
            inner = out_root if out_root is not None and root in out_root.parents else None
            batch = _scan(path, recursive, inner, previous, missing)
        elif path.is_file() and os.access(path, os.R_OK):
            batch = [Source(path)]
        else:
            missing.append(path)
            continue
        for src in batch:
            key = src.path.resolve()
            if key not in seen:
                seen.add(key)
                sources.append(src)
    return sources, missing


def check_template(template: str) -> str:
    """Returns ``template`` if it names only known fields; BatchError names the problem."""
    if not template.strip():
        raise BatchError("the naming template is empty; try {name}_lit")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as err:
        raise BatchError(f"naming template {template!r}: {err} (a literal brace is "
                         "written {{ or }})") from None
    for _text, field, spec, conv in parts:
        if field is None:
            continue
        if field not in TEMPLATE_FIELDS:
            shown = "{" + field + "}" if field else "{}"
            raise BatchError(f"naming template {template!r}: unknown field {shown}; use "
                             + ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS))
        if conv:
            raise BatchError(f"naming template {template!r}: conversions such as !{conv} "
                             "are not supported")
        if spec and any(int(d) > MAX_NAME_BYTES for d in re.findall(r"\d+", spec)):
            raise BatchError(f"naming template {template!r}: a width in {{{field}:{spec}}} "
                             f"is larger than a file name may be ({MAX_NAME_BYTES} bytes)")
        if spec and field != "index":
            raise BatchError(f"naming template {template!r}: only {{index}} takes a format "
                             f"(e.g. {{index:04d}}), not {{{field}:{spec}}}")
    name = render_name(template, Path("photo.jpg"), 1, 1)
    if name in (".", "..") or any(c in name for c in "/\\\0"):
        raise BatchError(f"naming template {template!r}: a name cannot contain a folder "
                         "separator or be . or ..")
    return template


def render_name(template: str, src: Path, index: int, total: int) -> str:
    """The output name without suffix. ``{index}`` is 1-based, zero-padded to the digits of
    ``total`` unless a format is given (``{index:04d}``)."""
    width = len(str(max(1, total)))

    class _Index(int):
        def __format__(self, spec: str) -> str:
            return format(int(self), spec) if spec else str(int(self)).zfill(width)

    try:
        return template.format(name=src.stem, stem=src.stem, ext=src.suffix.lstrip("."),
                               index=_Index(index))
    except (ValueError, TypeError) as err:
        raise BatchError(f"naming template {template!r}: {err}") from None


def output_suffix(src: Path, fmt: str | None) -> str:
    """The output suffix for ``fmt``, or the input's own kind (TIFF for RAW/BMP)."""
    return SUFFIXES[fmt or KEEP_FORMAT.get(src.suffix.lower(), "tiff")]


def _key(path: Path) -> str:
    return os.path.normcase(str(path)).lower()  # case-insensitive file systems exist


def _renamed(path: Path, taken: set[str], inputs: Protected | None, on_disk: bool) -> Path:
    """``path`` or the first ``<stem>_<n><suffix>`` not taken (nor existing, if on_disk)."""
    n, cand = 0, path
    while (_key(cand) in taken or (inputs is not None and inputs.find(cand) is not None)
           or (on_disk and (cand.exists() or cand.is_symlink()))):
        n += 1
        cand = path.with_name(f"{path.stem}_{n}{path.suffix}")
    return cand


def plan_outputs(sources: Sequence[Source], out_dir: Path, template: str, fmt: str | None,
                 on_exists: OnExists, protect: Iterable[Path] = ()) -> list[PlannedFile]:
    """Names every output; refuses (BatchError) any output that is an input (a source, or
    one of ``protect``: the recipe and mask files) by the same-file test of ``Protected``.

    Two inputs that would get the same name are told apart with ``_1``, ``_2``... in input
    order (so a resumed batch names them the same way); an existing output is skipped,
    renamed the same way, or overwritten, per ``on_exists``.
    """
    check_template(template)
    if on_exists not in ON_EXISTS:
        raise BatchError(f"on_exists must be one of {', '.join(ON_EXISTS)}, got {on_exists!r}")
    inputs = Protected.of([*(s.path for s in sources), *protect])
    taken: set[str] = set()
    planned: list[PlannedFile] = []
    total = len(sources)
    for i, src in enumerate(sources, start=1):
        name = render_name(template, src.path, i, total) + output_suffix(src.path, fmt)
        if len(os.fsencode(name)) > MAX_NAME_BYTES - 16:  # room for _1, _2... and the temp
            raise BatchError(f"the output name {name[:40]!r}... for {src.path.name} is "
                             f"{len(os.fsencode(name))} bytes long, more than a file name "
                             f"may be ({MAX_NAME_BYTES - 16} here); use a shorter --name",
                             src.path)
        want = _renamed(out_dir / src.subdir / name, taken, None, on_disk=False)
        hit = inputs.find(want)
        if hit is not None:
            raise BatchError(f"the output would overwrite the input photo {hit}; "
                             "choose another output folder, naming template or format", want)
        skip = False
        if want.exists() or want.is_symlink():
            if on_exists == "skip":
                skip = want.is_file() and want.stat().st_size > 0
            elif on_exists == "rename":
                want = _renamed(want, taken, inputs, on_disk=True)
        taken.add(_key(want))
        planned.append(PlannedFile(i, src.path, want, skip))
    return planned


def clean_stale_temps(folders: Iterable[Path], now: float | None = None) -> list[Path]:
    """Removes ``atomic_write`` temporary files left by dead processes (or older than
    ``STALE_AGE_S``) in ``folders``; returns what was removed. Never touches other files."""
    now = time.time() if now is None else now
    removed: list[Path] = []
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if not (entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(".tmp")):
                continue
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and _stale(entry, now):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
                    log.info("removed a temporary file left by an interrupted run: %s",
                             entry.path)
    return removed


def _stale(entry: os.DirEntry[str], now: float) -> bool:
    pid_text = entry.name[len(TEMP_PREFIX):].split("-", 1)[0]
    if now - entry.stat(follow_symlinks=False).st_mtime > STALE_AGE_S:
        return True
    if not pid_text.isdigit():
        return True  # an older naming: nobody writes it any more
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # this process may be writing it right now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive but someone else's
        return False
    return False
