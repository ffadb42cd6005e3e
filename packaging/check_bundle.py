"""Checks a built bundle folder: what must be in it is there, what must stay out is absent.

Usage: ``python packaging/check_bundle.py BUNDLE_DIR [--pyz-toc WORK/PYZ-00.toc] [--cuda 0|1]``

Prints a content summary (largest parts, Qt plugins, shipped models) and exits 1 with the
list of problems if any check fails. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

#: Never in the bundle, as files (path components) or as modules in the PYZ archive.
FORBIDDEN_DIRS = ("torch", "torchvision", "limelight_models", "tests", "_pytest", "pytest",
                  "onnx", "tensorboard", "PyQt5", "tkinter")
FORBIDDEN_MODULES = re.compile(
    r"^(torch|torchvision|limelight_models|tests|_pytest|pytest|pytestqt|onnx|sympy|"
    r"tkinter|matplotlib|bench)(\.|$)"
)
REQUIRED_QT_PLUGINS = ("platforms/libqxcb.so", "platforms/libqoffscreen.so",
                       "imageformats/libqjpeg.so", "imageformats/libqsvg.so")
PROGRAMS = ("limelight", "limelight-editor")
UNWANTED_QT_LIBS = re.compile(r"libQt6(Qml|Quick|WebEngine|3D|Pdf|Charts|Multimedia)\w*\.so")


def _internal(bundle: Path) -> Path:
    return bundle / "_internal"


def check_files(bundle: Path, cuda: bool) -> list[str]:
    """Problems with the files of the folder."""
    problems = []
    files = [p.relative_to(bundle) for p in bundle.rglob("*") if p.is_file()]
    for rel in files:
        bad = set(rel.parts[:-1]) & set(FORBIDDEN_DIRS)
        if bad:
            problems.append(f"forbidden folder {sorted(bad)} in {rel}")
        if UNWANTED_QT_LIBS.search(rel.name):
            problems.append(f"unused Qt library shipped: {rel}")
        if not cuda and re.search(r"providers_(cuda|tensorrt)", rel.name):
            problems.append(f"CUDA provider shipped in a CPU build: {rel}")
    for exe in PROGRAMS:
        if not (bundle / exe).is_file():
            problems.append(f"program {exe} is missing")
    qt_plugins = _internal(bundle) / "PySide6" / "Qt" / "plugins"
    for plugin in REQUIRED_QT_PLUGINS:
        if not (qt_plugins / plugin).is_file():
            problems.append(f"Qt plugin {plugin} is missing")
    if not list(_internal(bundle).glob("limelight-*.dist-info/METADATA")):
        problems.append("limelight's dist-info (read by --version) is missing")
    return problems


def check_resources(bundle: Path) -> tuple[list[str], list[str]]:
    """(problems, notes) about the shipped models and the sample photo."""
    problems: list[str] = []
    notes: list[str] = []
    res = _internal(bundle) / "limelight" / "resources"
    samples = [p for p in (res / "samples").glob("*") if p.is_file() and p.suffix != ".md"]
    if not samples:
        problems.append("no sample photo in limelight/resources/samples")
    notes.extend(f"sample: {p.name} ({p.stat().st_size // 1024} KiB)" for p in samples)
    manifest = res / "zoo" / "manifest.json"
    if not manifest.is_file():
        notes.append("ZOO EMPTY: no limelight/resources/zoo/manifest.json (no model shipped)")
        return problems, notes
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    for entry in doc.get("models", []):
        onnx = manifest.parent / entry["file"]
        if not onnx.is_file():
            problems.append(f"model {entry['name']}: {entry['file']} listed but not shipped")
        else:
            notes.append(f"model: {entry['name']} ({onnx.stat().st_size // 1024} KiB)")
    notes.append(f"default model: {doc.get('default')}")
    return problems, notes


def check_pyz(toc: Path) -> list[str]:
    """Problems with the Python modules frozen into the PYZ archive."""
    text = toc.read_text(encoding="utf-8", errors="replace")
    names = re.findall(r"\('([\w.]+)',", text)
    bad = sorted({n for n in names if FORBIDDEN_MODULES.match(n)})
    return [f"forbidden module frozen: {n}" for n in bad]


def required_glibc(bundle: Path) -> str | None:
    """The newest GLIBC_x.y symbol version any ELF file of the bundle needs (objdump -T), i.e.
    the oldest glibc the bundle runs on; None without objdump. It is set by the build host."""
    objdump = shutil.which("objdump")
    if objdump is None:
        return None
    found: set[tuple[int, ...]] = set()
    for p in bundle.rglob("*"):
        if p.is_file() and not p.is_symlink() and p.read_bytes()[:4] == b"\x7fELF":
            out = subprocess.run([objdump, "-T", str(p)], capture_output=True, text=True).stdout
            found |= {tuple(map(int, v.split("."))) for v in re.findall(r"GLIBC_(\d+\.\d+)", out)}
    return ".".join(map(str, max(found))) if found else None


def summary(bundle: Path) -> list[str]:
    """The ten largest top-level parts of _internal and the Qt plugins shipped."""
    sizes = {}
    for p in _internal(bundle).iterdir():
        files = [p] if p.is_file() else [q for q in p.rglob("*") if q.is_file()]
        sizes[p.name] = sum(q.stat().st_size for q in files)
    top = sorted(sizes.items(), key=lambda kv: -kv[1])[:10]
    lines = ["largest parts of _internal/:"]
    lines += [f"  {size / 2**20:7.1f} MiB  {name}" for name, size in top]
    plugins = _internal(bundle) / "PySide6" / "Qt" / "plugins"
    if plugins.is_dir():
        shipped = sorted(str(p.relative_to(plugins)) for p in plugins.rglob("*.so"))
        lines.append("Qt plugins: " + ", ".join(shipped))
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path)
    ap.add_argument("--pyz-toc", type=Path)
    ap.add_argument("--cuda", default="0")
    args = ap.parse_args(argv)
    problems = check_files(args.bundle, args.cuda == "1")
    res_problems, notes = check_resources(args.bundle)
    problems += res_problems
    if args.pyz_toc is not None:
        problems += check_pyz(args.pyz_toc)
    out = sys.stdout
    out.write("\n".join(summary(args.bundle) + notes) + "\n")
    glibc = required_glibc(args.bundle)
    out.write(f"requires glibc >= {glibc or 'unknown (no objdump)'}\n")
    out.write("excluded and verified absent: " + ", ".join(FORBIDDEN_DIRS) + "\n")
    if problems:
        out.write("CONTENT CHECK FAILED:\n" + "\n".join(f"  - {p}" for p in problems) + "\n")
        return 1
    out.write("content check: ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
