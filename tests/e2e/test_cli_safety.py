"""Issue #17: no path the command line writes may be one of its inputs, every input that
cannot be used is counted, and the exit codes are the README's."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from limelight.cli import main


def _photo(path: Path, size: tuple[int, int] = (48, 64), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 80, (*size, 3), dtype=np.uint8)
    PILImage.fromarray(arr).save(path)
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ----------------------------------------------------------------------------- item 1


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink", "dotted"])
def test_save_recipe_never_replaces_the_input_photo(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    src = _photo(tmp_path / "p.jpg")
    before = _sha(src)
    target = {"same": src, "symlink": tmp_path / "link.json", "hardlink": tmp_path / "hard.json",
              "dotted": tmp_path / "sub" / ".." / "p.jpg"}[how]
    if how == "symlink":
        target.symlink_to(src)
    elif how == "hardlink":
        os.link(src, target)
    elif how == "dotted":
        (tmp_path / "sub").mkdir()
    code, _, err = _run(capsys, "enhance", str(src), "--save-recipe", str(target),
                        "--zoo", str(tiny_zoo))
    assert code == 2, err
    assert "input" in err and err.count("\n") == 1
    assert _sha(src) == before


def test_save_recipe_is_not_the_output_either(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _photo(tmp_path / "p.png")
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / "o.png"),
                        "--save-recipe", str(tmp_path / "o.png"), "--zoo", str(tiny_zoo))
    assert code == 2 and "o.png" in err
    assert not (tmp_path / "o.png").exists()


def test_save_recipe_over_the_recipe_it_reads_is_refused(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _photo(tmp_path / "p.png")
    recipe = tmp_path / "r.json"
    assert _run(capsys, "enhance", str(src), "--save-recipe", str(recipe),
                "--zoo", str(tiny_zoo))[0] == 0
    before = _sha(recipe)
    code, _, err = _run(capsys, "enhance", str(src), "--recipe", str(recipe), "--degree", "0.5",
                        "--save-recipe", str(recipe), "--zoo", str(tiny_zoo))
    assert code == 2 and "r.json" in err
    assert _sha(recipe) == before


def test_batch_report_never_replaces_an_input(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = _photo(tmp_path / "a.jpg"), _photo(tmp_path / "b.jpg", seed=1)
    link = tmp_path / "r.json"
    link.symlink_to(b)
    shas = [_sha(a), _sha(b)]
    for report in (a, link):
        code, _, err = _run(capsys, "batch", str(a), str(b), "--out", str(tmp_path / "o"),
                            "--report", str(report), "--zoo", str(tiny_zoo), "--no-progress")
        assert code == 2, err
        assert "input" in err
    assert [_sha(a), _sha(b)] == shas
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_batch_output_hard_linked_to_an_input_is_refused(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _photo(tmp_path / "a.png")
    out = tmp_path / "o"
    out.mkdir()
    os.link(src, out / "a.png")  # the output name is an input under another path
    before = _sha(src)
    code, _, err = _run(capsys, "batch", str(src), "--out", str(out), "--on-exists",
                        "overwrite", "--zoo", str(tiny_zoo), "--no-progress")
    assert code == 2 and "input" in err, err
    assert _sha(src) == before


def test_select_mask_never_replaces_an_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _photo(tmp_path / "p.png")
    inc = _photo(tmp_path / "inc.png", seed=3)
    hard = tmp_path / "hard.png"
    os.link(src, hard)
    shas = [_sha(src), _sha(inc)]
    for target in (hard, inc):
        args = ["select", str(src), "-o", str(target), "--rect", "0.2,0.2,0.5,0.5"]
        if target == inc:
            args += ["--include", str(inc)]
        code, _, err = _run(capsys, *args)
        assert code == 2, err
        assert "input" in err
    assert [_sha(src), _sha(inc)] == shas


def test_output_over_the_mask_file_is_refused(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _photo(tmp_path / "p.png")
    mask = tmp_path / "m.png"
    PILImage.fromarray(np.full((48, 64), 255, np.uint8), "L").save(mask)
    before = _sha(mask)
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(mask), "--mask", str(mask),
                        "--zoo", str(tiny_zoo))
    assert code == 2 and "input" in err, err
    assert _sha(mask) == before


def test_symlink_loop_is_one_line_not_a_traceback(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)
    code, _, err = _run(capsys, "enhance", str(loop), "-o", str(tmp_path / "o.jpg"),
                        "--zoo", str(tiny_zoo))
    assert code == 1 and "loop.jpg" in err and err.count("\n") == 1, err
    code, _, err = _run(capsys, "select", str(loop), "-o", str(tmp_path / "m.png"),
                        "--rect", "0,0,1,1")
    assert code == 1 and "loop.jpg" in err and err.count("\n") == 1, err
    code, _, err = _run(capsys, "enhance", str(_photo(tmp_path / "p.png")), "-o", str(loop),
                        "--zoo", str(tiny_zoo))
    assert code in (1, 2) and "loop.jpg" in err and err.count("\n") == 1, err


# ----------------------------------------------------------------------------- item 3


def test_batch_counts_reports_and_fails_inputs_it_cannot_take(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _photo(tmp_path / "a.png")
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)
    out = tmp_path / "o"
    code, out_text, err = _run(capsys, "batch", str(good), str(tmp_path / "nothing_here"),
                               str(loop), "--out", str(out), "--zoo", str(tiny_zoo),
                               "--no-progress")
    assert code == 1, err
    assert "1 done" in out_text and "2 failed" in out_text
    assert "nothing_here: no such file" in err and "loop.jpg: cannot be read" in err
    doc = json.loads((out / "limelight-batch-report.json").read_text())
    status = {Path(f["input"]).name: f["status"] for f in doc["files"]}
    assert status == {"a.png": "done", "nothing_here": "failed", "loop.jpg": "failed"}
    assert doc["summary"]["failed"] == 2 and doc["state"] == "finished"


def test_batch_of_only_missing_inputs_exits_1(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out_text, err = _run(capsys, "batch", str(tmp_path / "gone.jpg"), "--out",
                               str(tmp_path / "o"), "--zoo", str(tiny_zoo), "--no-progress")
    assert code == 1 and "0 done" in out_text and "1 failed" in out_text
    assert "gone.jpg" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_batch_fails_an_unreadable_folder(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    _photo(locked / "x.png")
    locked.chmod(0)
    try:
        code, _, err = _run(capsys, "batch", str(locked), str(_photo(tmp_path / "a.png")),
                            "--out", str(tmp_path / "o"), "--zoo", str(tiny_zoo),
                            "--no-progress")
    finally:
        locked.chmod(0o755)
    assert code == 1 and "locked" in err and "permission denied" in err


# ----------------------------------------------------------------------------- items 9, 10


def test_saved_recipe_pins_the_default_model_by_name(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _photo(tmp_path / "p.png")
    pinned, open_ = tmp_path / "pinned.json", tmp_path / "open.json"
    assert _run(capsys, "enhance", str(src), "--save-recipe", str(pinned),
                "--zoo", str(tiny_zoo))[0] == 0
    assert json.loads(pinned.read_text())["model"] == "tiny-fusion"  # the tiny zoo's default
    assert _run(capsys, "enhance", str(src), "--save-recipe", str(open_), "--model", "default",
                "--zoo", str(tiny_zoo))[0] == 0
    assert json.loads(open_.read_text())["model"] is None  # null only when asked for
    again = tmp_path / "again.json"
    assert _run(capsys, "enhance", str(src), "--recipe", str(open_), "--save-recipe",
                str(again), "--zoo", str(tiny_zoo))[0] == 0
    assert json.loads(again.read_text())["model"] is None  # the recipe's own null is kept
    code, _, err = _run(capsys, "batch", str(src), "--out", str(tmp_path / "o"),
                        "--zoo", str(tiny_zoo), "--no-progress")
    report = json.loads((tmp_path / "o" / "limelight-batch-report.json").read_text())
    assert code == 0 and report["recipe"]["model"] == "tiny-fusion", err


def test_an_ellipse_outside_the_image_warns(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _photo(tmp_path / "p.png")
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / "o.png"),
                        "--ellipse", "3,3,0.2,0.2", "--zoo", str(tiny_zoo))
    assert code == 0 and "area A is empty" in err
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / "o2.png"),
                        "--ellipse", "0.9,0.9,0.2,0.2", "--zoo", str(tiny_zoo))
    assert code == 0 and "area A is empty" not in err  # one that touches the image is fine


def test_bit_depth_16_into_jpeg_warns(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "enhance", str(_photo(tmp_path / "p.png")), "-o",
                        str(tmp_path / "o.jpg"), "--bit-depth", "16", "--zoo", str(tiny_zoo))
    assert code == 0 and "8 bits" in err


def test_gamma_on_a_model_that_ignores_it_warns(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tiny_zoo / "manifest.json"
    doc = json.loads(manifest.read_text())
    for m in doc["models"]:
        if m["name"] == "tiny-fusion":
            m.setdefault("metrics", {})["inert_knobs"] = ["gamma2"]
    manifest.write_text(json.dumps(doc))
    code, _, err = _run(capsys, "enhance", str(_photo(tmp_path / "p.png")), "-o",
                        str(tmp_path / "o.png"), "--gamma", "0.5,0.9,0.5", "--zoo", str(tiny_zoo))
    assert code == 0 and "gamma2 has no measurable effect" in err, err


def test_a_mistyped_command_suggests_the_right_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, "enhanc")
    assert code == 2 and "did you mean 'enhance'" in err
    # with its arguments too, as the issue typed it (argparse only listed the choices)
    code, _, err = _run(capsys, "enhanc", "p.jpg", "-o", "o.png")
    assert code == 2 and "did you mean 'enhance'" in err and err.count("\n") == 1, err
    code, _, err = _run(capsys, "bacth", "p.jpg", "--out", "o")
    assert code == 2 and "did you mean 'batch'" in err
