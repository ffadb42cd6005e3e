"""Release smoke check of the BUILT bundle (never the source tree).

Usage: ``python3 packaging/smoke_check.py [ARCHIVE.tar.gz | BUNDLE_DIR] [--report FILE]``
(default: ``dist/limelight-<version>-linux-x86_64.tar.gz``, the version read from
pyproject.toml). Standard library only, so any Python 3.11+ runs it.

The archive is unpacked into a temporary folder and every program runs from another empty
temporary folder, with a minimal environment (``PYTHONPATH`` empty, ``PYTHONNOUSERSITE=1``,
``PYTHONHOME`` and ``VIRTUAL_ENV`` unset, ``HOME`` a fresh folder, ``PATH=/usr/bin:/bin``):

1. ``limelight --version`` prints the pyproject version;
2. the bundle ships a default model (a zoo manifest with a default whose ONNX file is there);
3. ``limelight enhance --sample -o OUT.jpg`` exits 0 and writes a JPEG of the sample's size
   that differs from the sample;
4. ``limelight-editor`` with ``QT_QPA_PLATFORM=offscreen`` and
   ``LIMELIGHT_SMOKE_QUIT_AFTER_MS=500`` reports its window shown, closes itself and exits 0,
   with no Python traceback on stderr;
5. where ``xvfb-run`` is installed (Debian: xvfb), the same on a virtual X server with the
   ``xcb`` platform plugin that a Linux desktop uses.

Times are wall-clock: the first run of each program after unpacking (files in the page cache,
so "first start" rather than a cold boot) and the median of three further runs. Exits 1 if any
check fails, naming it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MARKER = "limelight-smoke: window shown"
TIMEOUT_S = 90


@dataclass
class Result:
    name: str
    ok: bool
    detail: str
    times: list[float] = field(default_factory=list)

    def line(self) -> str:
        timing = ""
        if self.times:
            timing = f" [first {self.times[0]:.2f} s"
            if len(self.times) > 1:
                timing += f", then median {statistics.median(self.times[1:]):.2f} s"
            timing += "]"
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}{timing}"


def prog(bundle: Path, name: str) -> str:
    """Path of one of the bundle's programs (``.exe`` on Windows)."""
    return str(bundle / (name + (".exe" if os.name == "nt" else "")))


def pyproject_version() -> str:
    with open(REPO / "pyproject.toml", "rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment: nothing from a developer's Python can be picked up."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "PYTHONPATH": "", "PYTHONNOUSERSITE": "1", "XDG_RUNTIME_DIR": str(home / "run")}
    env.update(extra)
    return env


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    return proc, time.perf_counter() - t0


def jpeg_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a JPEG's SOF marker, or None if ``path`` is not a JPEG."""
    data = path.read_bytes()
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3):
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        i += 2 + length
    return None


def check_version(bundle: Path, work: Path, env: dict[str, str], version: str) -> Result:
    proc, dt = run([prog(bundle, "limelight"), "--version"], work, env)
    out = (proc.stdout + proc.stderr).strip()
    ok = proc.returncode == 0 and version in out.split()[-1:]
    return Result("limelight --version", ok, f"exit {proc.returncode}, printed {out!r} "
                  f"(pyproject: {version})", [dt])


def check_zoo(bundle: Path) -> Result:
    manifest = bundle / "_internal" / "limelight" / "resources" / "zoo" / "manifest.json"
    if not manifest.is_file():
        return Result("shipped default model", False,
                      "the bundle ships NO model (resources/zoo/manifest.json is absent): the "
                      "zoo is still empty, so enhance cannot work; train and export the zoo "
                      "(issue 3) and rebuild before releasing")
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    default = doc.get("default")
    entry = next((m for m in doc.get("models", []) if m.get("name") == default), None)
    if entry is None:
        return Result("shipped default model", False, f"manifest has no usable default ({default!r})")
    onnx = manifest.parent / entry["file"]
    if not onnx.is_file():
        return Result("shipped default model", False, f"default {default!r}: {onnx.name} not shipped")
    return Result("shipped default model", True,
                  f"{default} ({onnx.stat().st_size / 1024:.0f} KiB, {len(doc['models'])} model(s) shipped)")


def check_enhance(bundle: Path, work: Path, env: dict[str, str], repeats: int,
                  zoo: Path | None = None) -> Result:
    """``enhance --sample`` with the shipped default model (or the default of ``zoo``)."""
    name = "limelight enhance --sample" + (f" --zoo {zoo}" if zoo else "")
    extra = ["--zoo", str(zoo)] if zoo else []
    samples = sorted((bundle / "_internal" / "limelight" / "resources" / "samples").glob("*.jpg"))
    times, proc = [], None
    out = work / "out" / "sample_enhanced.jpg"
    for _ in range(1 + repeats):
        out.unlink(missing_ok=True)
        proc, dt = run([prog(bundle, "limelight"), "enhance", "--sample", *extra, "-o", str(out)],
                       work, env)
        times.append(dt)
        if proc.returncode != 0:
            break
    assert proc is not None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return Result(name, False,
                      f"exit {proc.returncode}: {' | '.join(tail)}", times)
    if not out.is_file():
        return Result(name, False, f"exit 0 but {out.name} was not written", times)
    size = jpeg_size(out)
    want = jpeg_size(samples[0]) if samples else None
    if size is None or size != want:
        return Result(name, False, f"output is {size}, sample is {want}", times)
    if samples and out.read_bytes() == samples[0].read_bytes():
        return Result(name, False, "output is a copy of the sample", times)
    return Result(name, True,
                  f"wrote a {size[0]}x{size[1]} JPEG ({out.stat().st_size // 1024} KiB) unlike the sample",
                  times)


def start_editor(bundle: Path, work: Path, env: dict[str, str],
                 prefix: tuple[str, ...] = ()) -> tuple[float | None, int, str]:
    """(seconds until the window was reported shown or None, exit code, stderr); the editor is
    killed if it has not exited after TIMEOUT_S."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([*prefix, prog(bundle, "limelight-editor")], cwd=work, env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    shown: list[float] = []
    lines: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if not shown and MARKER in line:
                shown.append(time.perf_counter() - t0)
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
        lines.append(f"(killed after {TIMEOUT_S} s)\n")
    reader.join(timeout=5)
    return (shown[0] if shown else None), code, "".join(lines)


def check_editor(bundle: Path, work: Path, env: dict[str, str], repeats: int,
                 name: str = "limelight-editor (offscreen)", prefix: tuple[str, ...] = ()) -> Result:
    times = []
    for _ in range(1 + repeats):
        shown, code, err = start_editor(bundle, work, env, prefix)
        problem = None
        if shown is None:
            tail = " | ".join(err.strip().splitlines()[-3:])
            problem = (f"never reported its window (exit {code}; the LIMELIGHT_SMOKE_QUIT_AFTER_MS "
                       f"hook of limelight.gui.app.run missing?); stderr: {tail}")
        elif code != 0:
            problem = f"exit {code} after showing its window"
        elif "Traceback (most recent call last)" in err:
            tb = [ln for ln in err.splitlines() if ln and not ln.startswith(" ")][-1:]
            problem = f"logged a Python traceback while starting: {' '.join(tb)}"
        if problem:
            return Result(name, False, problem, times)
        times.append(shown)
    return Result(name, True,
                  "window shown, closed itself, exit 0, no traceback (time = start to window shown)",
                  times)


def unpack(target: Path, into: Path) -> Path:
    if target.is_dir():
        return target
    with tarfile.open(target) as tar:
        tar.extractall(into, filter="tar")
    folders = [p for p in into.iterdir() if p.is_dir()]
    if len(folders) != 1:
        raise SystemExit(f"{target}: expected one top folder, found {[p.name for p in folders]}")
    return folders[0]


def main(argv: list[str] | None = None) -> int:
    version = pyproject_version()
    ap = argparse.ArgumentParser(description="Smoke check of the built Limelight bundle.")
    ap.add_argument("target", nargs="?", type=Path,
                    default=REPO / "dist" / f"limelight-{version}-linux-x86_64.tar.gz")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs after the first one")
    ap.add_argument("--report", type=Path, help="also write the report to this file")
    ap.add_argument("--extra-zoo", type=Path, metavar="DIR",
                    help="also run enhance with this external zoo (e.g. the synthetic tiny zoo) "
                         "to exercise the frozen ONNX Runtime path; not a release check")
    args = ap.parse_args(argv)
    if not args.target.exists():
        raise SystemExit(f"{args.target}: no such archive or folder; run packaging/build.sh first")
    with tempfile.TemporaryDirectory(prefix="limelight-smoke-") as tmp_str:
        tmp = Path(tmp_str)
        for sub in ("unpacked", "work/out", "home/run"):
            (tmp / sub).mkdir(parents=True)
        os.chmod(tmp / "home" / "run", 0o700)
        t0 = time.perf_counter()
        bundle = unpack(args.target, tmp / "unpacked")
        unpack_s = time.perf_counter() - t0
        env = clean_env(tmp / "home")
        informative: list[Result] = []
        results = [check_version(bundle, tmp / "work", env, version), check_zoo(bundle)]
        results.append(check_enhance(bundle, tmp / "work", env, args.repeats))
        if args.extra_zoo is not None:
            extra = check_enhance(bundle, tmp / "work", env, args.repeats, args.extra_zoo.resolve())
            extra.name += " (external zoo: informative, not counted)"
            informative.append(extra)
        gui_env = clean_env(tmp / "home", QT_QPA_PLATFORM="offscreen",
                            LIMELIGHT_SMOKE_QUIT_AFTER_MS="500")
        results.append(check_editor(bundle, tmp / "work", gui_env, args.repeats))
        xvfb = shutil.which("xvfb-run")
        if xvfb:  # the platform a Linux desktop uses, on a virtual X server
            x_env = clean_env(tmp / "home", QT_QPA_PLATFORM="xcb", LIMELIGHT_SMOKE_QUIT_AFTER_MS="500")
            results.append(check_editor(bundle, tmp / "work", x_env, 0, "limelight-editor (X11, Xvfb)",
                                        (xvfb, "-a", "-s", "-screen 0 1600x1000x24")))
        else:
            informative.append(Result("limelight-editor (X11)", True, "SKIPPED: no xvfb-run here"))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [f"Smoke check of {args.target.name} (unpacked in {unpack_s:.1f} s, "
             f"run from an empty folder with an empty PYTHONPATH; {os.cpu_count()} cores, "
             f"load average {load})"]
    lines += [r.line() for r in results]
    lines += ["info  " + r.line() for r in informative]
    failed = [r.name for r in results if not r.ok]
    lines.append(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.report:
        args.report.write_text(text, encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
