"""``limelight batch`` as a user runs it: killed with SIGKILL midway and resumed, exit codes
with bad photos, and the same bytes as the core runner (the editor's dialog uses it)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gated_batch import GATED, wait_for_gate  # beside this file
from PIL import Image as PILImage

from limelight.core.atomic import TEMP_PREFIX
from limelight.core.batch import BatchJob, batch_engine, run_batch
from limelight.core.imageio import read_image
from limelight.core.masks import Ellipse, MaskSpec
from limelight.core.recipe import Recipe, save_recipe

RECIPE = Recipe(mask=MaskSpec(shapes=(Ellipse(0.45, 0.5, 0.3, 0.25),), transition=0.05))


def _photos(folder: Path, n: int, size: tuple[int, int], suffix: str = ".png") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    h, w = size
    base = np.linspace(10, 60, w)[None, :, None] + np.linspace(0, 20, h)[:, None, None]
    paths = []
    for i in range(n):
        arr = np.clip(base + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)
        paths.append(folder / f"img{i:02d}{suffix}")
        PILImage.fromarray(arr).save(paths[-1])
    return paths


def _cli(*argv: str) -> list[str]:
    return [sys.executable, "-m", "limelight.cli", "batch", *argv]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_killed_batch_resumes_without_loss(tiny_zoo: Path, tmp_path: Path) -> None:
    srcs = _photos(tmp_path / "in", 8, (900, 1400))
    out = tmp_path / "out"
    argv = _cli(str(tmp_path / "in"), "--out", str(out), "--zoo", str(tiny_zoo), "--device",
                "cpu", "--format", "png", "--name", "{name}_lit", "--jobs", "2",
                "--ellipse", "0.5,0.5,0.3,0.3", "--no-progress")
    # the same command, held after its first photo so that the kill lands midway for sure
    gated = [sys.executable, str(GATED), *argv[3:]]
    proc = subprocess.Popen(gated, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_gate(proc)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    first = sorted(out.glob("*_lit.png"))
    assert len(first) == 1, "the kill did not land midway"
    report = json.loads((out / "limelight-batch-report.json").read_text())  # valid JSON
    assert report["state"] == "running"
    first_sha = {p: _sha(p) for p in first}

    done = subprocess.run([*argv, "--skip-existing"], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert f"{len(first)} skipped" in done.stdout
    outs = sorted(out.glob("*.png"))
    assert [p.name for p in outs] == [f"{s.stem}_lit.png" for s in srcs]  # no _1 duplicates
    for p in outs:
        assert read_image(p).pixels.shape == (900, 1400, 3)  # complete, decodable
    assert {p: _sha(p) for p in first} == first_sha  # finished outputs left alone
    assert not [p for p in out.iterdir() if p.name.startswith(TEMP_PREFIX)]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [p.name for p in outs] + ["limelight-batch-report.json"])
    report = json.loads((out / "limelight-batch-report.json").read_text())
    assert report["state"] == "finished"
    assert report["summary"]["done"] + report["summary"]["skipped"] == len(srcs)


def test_bad_photos_exit_1_and_originals_unchanged(tiny_zoo: Path, tmp_path: Path) -> None:
    srcs = _photos(tmp_path / "in", 2, (60, 80), ".jpg")
    (tmp_path / "in" / "empty.jpg").touch()
    whole = srcs[0].read_bytes()
    (tmp_path / "in" / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "in" / "words.tif").write_text("this is not a TIFF")
    before = {p: _sha(p) for p in (tmp_path / "in").iterdir()}
    out = tmp_path / "out"
    res = subprocess.run(_cli(str(tmp_path / "in"), "--out", str(out), "--zoo", str(tiny_zoo),
                              "--device", "cpu", "--no-progress"),
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 1
    for bad in ("empty.jpg", "cut.jpg", "words.tif"):
        assert bad in res.stderr
    assert "2 done" in res.stdout and "3 failed" in res.stdout
    assert {p: _sha(p) for p in before} == before
    assert sorted(p.name for p in out.glob("img*")) == ["img00.jpg", "img01.jpg"]
    report = json.loads((out / "limelight-batch-report.json").read_text())
    failed = {Path(f["input"]).name: f["reason"] for f in report["files"]
              if f["status"] == "failed"}
    assert set(failed) == {"empty.jpg", "cut.jpg", "words.tif"}


@pytest.mark.parametrize("argv", [
    ["--name", "{title}_lit"],  # unknown field
    ["--on-exists", "merge"],
    ["--jobs", "0"],
])
def test_usage_errors_exit_2(tiny_zoo: Path, tmp_path: Path, argv: list[str]) -> None:
    _photos(tmp_path / "in", 1, (40, 40))
    res = subprocess.run(_cli(str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--zoo",
                              str(tiny_zoo), *argv), capture_output=True, text=True,
                         timeout=120, check=False)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    if argv[0] == "--name":
        assert "unknown field {title}" in res.stderr
    assert not (tmp_path / "out").exists()


def test_cli_and_core_give_identical_bytes(tiny_zoo: Path, tmp_path: Path) -> None:
    srcs = _photos(tmp_path / "in", 3, (120, 160), ".jpg")
    recipe_file = save_recipe(RECIPE, tmp_path / "look.json")
    for fmt in ("jpeg", "tiff"):
        cli_out, core_out = tmp_path / f"cli-{fmt}", tmp_path / f"core-{fmt}"
        res = subprocess.run(_cli(*map(str, srcs), "--out", str(cli_out), "--zoo",
                                  str(tiny_zoo), "--device", "cpu", "--recipe",
                                  str(recipe_file), "--format", fmt, "--quality", "90",
                                  "--jobs", "2", "--name", "{name}_lit"),
                             capture_output=True, text=True, timeout=120, check=False)
        assert res.returncode == 0, res.stderr
        job = BatchJob(tuple(srcs), core_out, RECIPE, fmt=fmt, quality=90, jobs=2,
                       name="{name}_lit")
        result = run_batch(job, batch_engine(tiny_zoo, device="cpu", jobs=2))
        assert result.ok
        for f in result.files:
            twin = cli_out / f.output.name
            assert twin.read_bytes() == f.output.read_bytes(), f.output.name
