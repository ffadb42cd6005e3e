"""Command line entry points (filled in by the foundation work)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """``limelight`` command."""
    print("limelight: under construction", file=sys.stderr)
    return 2


def gui_main() -> int:
    """``limelight-editor``: opens the editor."""
    return main([])
