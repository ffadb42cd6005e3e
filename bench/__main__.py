"""``python -m bench [--quick] [--model NAME] [--zoo DIR]``: every speed and memory target of
Limelight printed in one run (the export and preview cases, the batch cases, then the editor's
knob latency and brush frames, ``bench.editor``, in a Qt process of its own).

Run it from the repository root (``bench`` is not part of the installed package).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import batch, export


def main(argv: list[str] | None = None) -> int:
    """Parses the options and runs the cases of ``bench.export`` then ``bench.batch``."""
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 MP / 8 MP instead of 24 / 50")
    parser.add_argument("--model", help="model name (default: the zoo's default)")
    parser.add_argument("--zoo", type=Path, help="zoo folder (default: the installed one)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--repeat", type=int, default=5, help="best of N timings")
    parser.add_argument("--no-peak", action="store_true", help="skip the 50 MP memory case")
    parser.add_argument("--no-batch", action="store_true",
                        help="skip the batch cases (bench.batch)")
    parser.add_argument("--no-editor", action="store_true",
                        help="skip the editor's cases (bench.editor: needs PySide6)")
    parser.add_argument("--peak-child", nargs=2, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peak_child:
        return export.peak_child(args)
    # the editor's cases run first, on a quiet machine, and are printed last: run after the
    # batch cases they measured about twice as long (38.8 against 16.8 ms, one light)
    editor = None if args.no_editor else editor_cases()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp_name:
        tmp = Path(tmp_name)
        engine, model = export.run(args, tmp)
        if not args.no_batch:
            batch.run_cases(engine.zoo.root, model, tmp, quick=args.quick,
                            peak=not args.no_peak, device=args.device)
    if editor is not None:
        print("\n".join(editor))
    return 0


def editor_cases() -> list[str]:
    """Runs ``python -m bench.editor`` offscreen (the shipped zoo's default model); its
    figures as lines to print. Qt lives in that process only."""
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    proc = subprocess.run([sys.executable, "-m", "bench.editor"], capture_output=True,
                          text=True, env=env, check=False)
    lines = ["the editor at 1 MP (python -m bench.editor; median ms from a slider move to the "
             "painted frame, the worker's share, and the full-detail frame after release):"]
    if proc.returncode != 0:
        return [*lines, f"  not run: {(proc.stderr.strip().splitlines() or ['no output'])[-1]}"]
    return lines + [f"  {line}" for line in proc.stdout.splitlines()]


if __name__ == "__main__":
    raise SystemExit(main())
