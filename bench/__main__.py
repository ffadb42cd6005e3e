"""``python -m bench [--quick] [--model NAME] [--zoo DIR]``: every speed and memory target of
Limelight printed in one run (the export and preview cases, then the batch cases).

Run it from the repository root (``bench`` is not part of the installed package).
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--peak-child", nargs=2, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peak_child:
        return export.peak_child(args)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp_name:
        tmp = Path(tmp_name)
        engine, model = export.run(args, tmp)
        if not args.no_batch:
            batch.run_cases(engine.zoo.root, model, tmp, quick=args.quick,
                            peak=not args.no_peak, device=args.device)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
