"""Every row of the README's exit-code table (``## Command line``), one case or more each.

Row 130 (interrupted) is checked with a real SIGINT in ``test_batch_interrupt.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from limelight.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def _photo(path: Path) -> Path:
    PILImage.fromarray(np.random.default_rng(0).integers(0, 80, (40, 56, 3), np.uint8)).save(path)
    return path


def _bad_mask(tmp: Path) -> Path:
    (tmp / "m.png").write_bytes(b"<html>not a mask</html>")
    return tmp / "m.png"


def _wide_mask(tmp: Path) -> Path:
    PILImage.fromarray(np.zeros((4, 400), np.uint8), "L").save(tmp / "w.png")
    return tmp / "w.png"


def _bad_recipe(tmp: Path) -> Path:
    (tmp / "r.json").write_text('{"limelight_recipe": 1, "knobs": {"degree": 7}}')
    return tmp / "r.json"


#: (exit code, id, argv from (tmp, photo)). The ids follow the README table's wording.
Case = tuple[int, str, Callable[[Path, Path], list[str]]]
CASES: list[Case] = [
    (0, "all done: enhance", lambda t, p: ["enhance", str(p), "-o", str(t / "o.png")]),
    (0, "all done: batch", lambda t, p: ["batch", str(p), "--out", str(t / "o")]),
    (0, "all done: save the recipe only", lambda t, p: ["enhance", str(p), "--save-recipe",
                                                        str(t / "r.json")]),
    (1, "an input that cannot be read", lambda t, p: [
        "enhance", str(_html(t)), "-o", str(t / "o.png")]),
    (1, "a batch input missing", lambda t, p: ["batch", str(p), str(t / "gone.jpg"),
                                               "--out", str(t / "o")]),
    (1, "an output folder that does not exist", lambda t, p: [
        "enhance", str(p), "-o", str(t / "no" / "o.png")]),
    (1, "a mask of another shape than the photo", lambda t, p: [
        "enhance", str(p), "-o", str(t / "o.png"), "--mask", str(_wide_mask(t))]),
    (2, "bad options: --quality 0", lambda t, p: ["enhance", str(p), "-o", str(t / "o.jpg"),
                                                  "--quality", "0"]),
    (2, "bad options: --quality 500", lambda t, p: ["batch", str(p), "--out", str(t / "o"),
                                                    "--quality", "500"]),
    (2, "bad options: --quality 500 in enhance", lambda t, p: [
        "enhance", str(p), "-o", str(t / "o.jpg"), "--quality", "500"]),
    (2, "bad options: an unknown output suffix", lambda t, p: [
        "enhance", str(p), "-o", str(t / "o.xyz")]),
    (2, "bad options: -o a folder", lambda t, p: ["enhance", str(p), "-o", str(t)]),
    (2, "bad options: --format other than the -o suffix", lambda t, p: [
        "enhance", str(p), "-o", str(t / "o.png"), "--format", "jpeg"]),
    (2, "bad options: argparse", lambda t, p: ["enhance", str(p), "--degree", "x"]),
    (2, "a mask file that cannot be used", lambda t, p: [
        "enhance", str(p), "-o", str(t / "o.png"), "--mask", str(_bad_mask(t))]),
    (2, "a mask file that cannot be used in batch", lambda t, p: [
        "batch", str(p), "--out", str(t / "o"), "--mask", str(_bad_mask(t))]),
    (2, "a recipe failing validation", lambda t, p: [
        "enhance", str(p), "-o", str(t / "o.png"), "--recipe", str(_bad_recipe(t))]),
    (2, "an unknown model", lambda t, p: ["enhance", str(p), "-o", str(t / "o.png"),
                                          "--model", "no-such-model"]),
    (2, "an output equal to the input", lambda t, p: ["enhance", str(p), "-o", str(p)]),
    (2, "a recipe written over the input", lambda t, p: ["enhance", str(p), "--save-recipe",
                                                         str(p)]),
    (2, "a report written over the input", lambda t, p: [
        "batch", str(p), "--out", str(t / "o"), "--report", str(p)]),
    (2, "a cluster that cannot be used: local:0", lambda t, p: [
        "batch", str(p), "--out", str(t / "o"), "--cluster", "local:0"]),
    (2, "a cluster that cannot be used: --jobs with it", lambda t, p: [
        "batch", str(p), "--out", str(t / "o"), "--cluster", "local:1", "--jobs", "2"]),
    (2, "a mask written over the input", lambda t, p: ["select", str(p), "-o", str(p),
                                                        "--rect", "0,0,1,1"]),
]


def _html(tmp: Path) -> Path:
    (tmp / "page.jpg").write_bytes(b"<!doctype html><html></html>")
    return tmp / "page.jpg"


@pytest.mark.parametrize(("code", "case", "argv"), CASES, ids=[c[1] for c in CASES])
def test_exit_code(code: int, case: str, argv: Callable[[Path, Path], list[str]],
                   tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo = _photo(tmp_path / "p.png")
    args = argv(tmp_path, photo)
    if args[0] in ("enhance", "batch") and "--degree" not in args:
        args += ["--zoo", str(tiny_zoo)]
    if args[0] == "batch":
        args.append("--no-progress")
    try:
        got = main(args)
    except SystemExit as exc:  # argparse's own usage errors
        got = int(exc.code or 0)
    err = capsys.readouterr().err
    assert got == code, err
    assert "Traceback" not in err
    if code:
        assert err.strip(), "a failure says why"
        last = err.strip().splitlines()[-1]
        assert last.startswith(("limelight: ", "limelight enhance: error:")), err


def test_readme_table_lists_exactly_the_tested_codes() -> None:
    """One table of exit codes, in the README; every row of it is tested above (or, 130, in
    test_batch_interrupt.py)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Command line", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\d+)` \|", section, flags=re.M)
    assert rows == ["0", "1", "2", "130"]
    tested = {c[0] for c in CASES} | {130}
    assert {int(r) for r in rows} == tested
