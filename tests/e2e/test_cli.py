"""The command line end to end, through ``main([...])`` on temporary files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from limelight import __version__
from limelight.cli import main
from limelight.core.imageio import read_image
from limelight.core.recipe import load_recipe


def _photo(path: Path, size: tuple[int, int] = (96, 128), seed: int = 0) -> Path:
    """A dark 8-bit photo-like image (a gradient plus noise), saved in path's format."""
    rng = np.random.default_rng(seed)
    h, w = size
    base = np.linspace(10, 60, w)[None, :, None] + np.linspace(0, 20, h)[:, None, None]
    arr = np.clip(base + rng.normal(0, 4, (h, w, 3)), 0, 255).astype(np.uint8)
    PILImage.fromarray(arr).save(path)
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and __version__ in capsys.readouterr().out


def test_enhance_ellipse_writes_a_brighter_spot(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _photo(tmp_path / "in.png")
    dst = tmp_path / "out.png"
    code, out, err = _run(capsys, "enhance", str(src), "-o", str(dst), "--zoo", str(tiny_zoo),
                          "--ellipse", "0.5,0.5,0.2,0.2", "--transition", "0.05")
    assert code == 0, err
    assert "tiny-fusion" in out
    a, b = read_image(src).pixels, read_image(dst).pixels
    assert b[48, 64].astype(int).sum() > a[48, 64].astype(int).sum() + 30
    assert np.array_equal(a[:10, :10], b[:10, :10])  # a corner, far from the spot: area C


def test_enhance_global_with_knobs_and_model(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _photo(tmp_path / "in.jpg")
    dst = tmp_path / "out.tif"
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(dst), "--zoo", str(tiny_zoo),
                        "--model", "tiny-retinex", "--degree", "1.5", "--bit-depth", "16")
    assert code == 0, err
    out = read_image(dst)
    assert out.meta.bit_depth == 16
    assert out.pixels.mean() / 257 > read_image(src).pixels.mean() * 1.5  # all of it is A


def test_save_recipe_round_trip(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _photo(tmp_path / "in.png")
    recipe = tmp_path / "r.json"
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / "a.png"),
                        "--zoo", str(tiny_zoo), "--ellipse", "0.4,0.6,0.2,0.3,15",
                        "--degree", "0.8", "--gamma", "0.5,0.7,0.9", "--transition", "0.1",
                        "--model", "tiny-fusion", "--save-recipe", str(recipe))
    assert code == 0, err
    r = load_recipe(recipe)
    assert r.model == "tiny-fusion" and r.knobs.degree == 0.8 and r.knobs.gamma2 == 0.7
    assert r.mask.transition == 0.1 and r.mask.shapes[0].angle == 15
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / "b.png"),
                        "--zoo", str(tiny_zoo), "--recipe", str(recipe))
    assert code == 0, err
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_batch_goes_on_after_a_bad_file(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _photo(tmp_path / "good.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    empty = tmp_path / "empty.png"
    empty.touch()
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, "batch", str(bad), str(good), str(empty), "--out", str(out),
                             "--zoo", str(tiny_zoo), "--jobs", "2", "--format", "png")
    assert code == 1
    assert "bad.jpg" in err and "empty.png" in err
    assert "1 done" in stdout and "2 failed" in stdout
    assert read_image(out / "good.png").pixels.shape == (96, 128, 3)
    assert not (out / "bad.png").exists()
    report = json.loads((out / "limelight-batch-report.json").read_text())
    assert [f["status"] for f in report["files"]] == ["failed", "done", "failed"]
    # resuming skips the finished output
    code, stdout, _ = _run(capsys, "batch", str(good), "--out", str(out), "--zoo", str(tiny_zoo),
                           "--format", "png", "--skip-existing")
    assert code == 0 and "1 skipped" in stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["enhance", "in.png"],  # no output
        ["enhance", "in.png", "-o", "o.png", "--ellipse", "0.5,0.5"],
        ["enhance", "in.png", "-o", "o.png", "--degree", "9"],
        ["enhance", "in.png", "-o", "o.png", "--gamma", "1,2"],
        ["batch", "in.png"],  # no --out
        ["frobnicate"],
        ["enhance", "in.png", "-o", "o.png", "--recipe", "r.json", "--ellipse", "0,0,1,1"],
        # (the shape is made after the model started loading: the same usage error)
        ["enhance", "in.png", "-o", "o.png", "--ellipse", "0.5,0.5,-0.2,0.2"],
        ["batch", "in.png", "--out", "outdir", "--ellipse", "0.5,0.5,0.2,0"],
    ],
)
def test_usage_errors_exit_2(
    tiny_zoo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    _photo(tmp_path / "in.png")
    try:
        code = main([*argv, "--zoo", str(tiny_zoo)] if argv[0] != "frobnicate" else argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert err and "Traceback" not in err
    assert not (tmp_path / "o.png").exists()
    if "--ellipse" in argv and "--recipe" not in argv:
        assert "--ellipse" in err  # the option at fault is named


def test_output_equal_to_input_is_refused(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _photo(tmp_path / "in.png")
    before = src.read_bytes()
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / "." / "in.png"),
                        "--zoo", str(tiny_zoo))
    assert code == 2 and "overwrite the input" in err
    code, _, err = _run(capsys, "batch", str(src), "--out", str(tmp_path), "--zoo", str(tiny_zoo))
    assert code == 2 and re.search("overwrite (the|an) input", err)
    assert src.read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder(tiny_zoo: Path, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    src = _photo(tmp_path / "in.png")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, _, err = _run(capsys, "enhance", str(src), "-o", str(locked / "o.png"),
                            "--zoo", str(tiny_zoo))
    finally:
        locked.chmod(0o700)
    assert code == 1 and "locked" in err and "Traceback" not in err


def test_mask_png_of_another_shape(tiny_zoo: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    src = _photo(tmp_path / "in.png", size=(96, 128))
    mask = tmp_path / "m.png"
    PILImage.fromarray(np.full((100, 100), 255, np.uint8)).save(mask)
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / "o.png"),
                        "--zoo", str(tiny_zoo), "--mask", str(mask))
    assert code == 1 and "m.png" in err and "100x100" in err
    assert not (tmp_path / "o.png").exists()


def test_mask_png_of_the_same_shape_is_area_a(tiny_zoo: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    src = _photo(tmp_path / "in.png", size=(96, 128))
    m = np.zeros((48, 64), np.uint8)  # half size: resized to the photo
    m[:, 32:] = 255
    PILImage.fromarray(m).save(tmp_path / "m.png")
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / "o.png"),
                        "--zoo", str(tiny_zoo), "--mask", str(tmp_path / "m.png"),
                        "--transition", "0")
    assert code == 0, err
    a, b = read_image(src).pixels, read_image(tmp_path / "o.png").pixels
    assert np.array_equal(a[:, :60], b[:, :60])
    assert b[:, 70:].mean() > a[:, 70:].mean() + 10


def test_recipe_with_unknown_model_or_bad_json(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _photo(tmp_path / "in.png")
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"limelight_recipe": 1, "model": "deep-magic"}))
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / "o.png"),
                        "--zoo", str(tiny_zoo), "--recipe", str(recipe))
    assert code == 2 and "deep-magic" in err and "tiny-fusion" in err
    recipe.write_text("{ not json")
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / "o.png"),
                        "--zoo", str(tiny_zoo), "--recipe", str(recipe))
    assert code == 2 and "r.json" in err and "JSON" in err


def test_empty_zoo_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _photo(tmp_path / "in.png")
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / "o.png"),
                        "--zoo", str(tmp_path))
    assert code == 2 and "no models installed" in err
    code, out, _ = _run(capsys, "models", "--zoo", str(tmp_path))
    assert code == 0 and "no models installed" in out and "CPU" in out


def test_models_lists_the_zoo(tiny_zoo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "models", "--zoo", str(tiny_zoo))
    assert code == 0
    lines = [ln for ln in out.splitlines() if "tiny-" in ln]
    assert len(lines) == 4
    assert any(ln.startswith("*") and "tiny-fusion" in ln for ln in lines)
    assert "tiny_curve · synthetic" in out and "devices: " in out


def test_sample_and_subprocess_entry_point(tiny_zoo: Path, tmp_path: Path) -> None:
    dst = tmp_path / "lit.jpg"
    proc = subprocess.run(
        [sys.executable, "-m", "limelight.cli", "enhance", "--sample", "-o", str(dst),
         "--zoo", str(tiny_zoo)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert read_image(dst).meta.format == "JPEG"
    assert read_image(dst).meta.exif is not None  # carried over from the sample


def test_editor_without_display_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    code = main([])
    assert code == 2 and "limelight enhance --sample" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["missing/sub/o.png", "afile.txt/o.png"])
def test_output_folder_that_cannot_be_used(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    src = _photo(tmp_path / "in.png")
    (tmp_path / "afile.txt").write_text("x")
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / where),
                        "--zoo", str(tiny_zoo))
    assert code == 1 and where.split("/")[0] in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_batch_jobs_default_to_two_but_never_more_than_the_photos(
        tmp_path: Path, tiny_zoo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two photos run as 2 jobs sharing the cores; one photo gets every core for itself."""
    import limelight.cli as cli
    import limelight.core.batch as batch_mod

    monkeypatch.setattr(batch_mod.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    seen: list[int | None] = []
    real = cli._engine
    monkeypatch.setattr(cli, "_engine",
                        lambda args, recipe, threads=None: seen.append(threads) or real(
                            args, recipe, threads))
    photos = []
    for i in range(2):
        photos.append(tmp_path / f"p{i}.png")
        PILImage.fromarray(np.full((24, 32, 3), 40 + i, np.uint8)).save(photos[-1])
    assert main(["batch", *map(str, photos), "--out", str(tmp_path / "two"),
                 "--zoo", str(tiny_zoo), "--no-progress"]) == 0
    assert main(["batch", str(photos[0]), "--out", str(tmp_path / "one"),
                 "--zoo", str(tiny_zoo), "--no-progress"]) == 0
    assert seen == [1, 2]


def test_models_says_why_cuda_cannot_load_in_one_sentence(
        tiny_zoo: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Where CUDA does not work (CI: no GPU), one line says what is missing; an ONNX Runtime
    without the CUDA provider (the plain package) is told how to get it."""
    from limelight.core import engine

    code, out, _ = _run(capsys, "models", "--zoo", str(tiny_zoo))
    cuda = [ln for ln in out.splitlines() if ln.startswith("CUDA:")]
    if "CUDA" in engine.available_devices():
        assert code == 0 and not cuda
        return
    assert code == 0 and len(cuda) == 1 and cuda[0].endswith(".") and cuda[0].count(". ") == 0
    assert "driver" in cuda[0] or "limelight[cuda]" in cuda[0]
    monkeypatch.setattr(engine.ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    monkeypatch.setattr(engine, "_device_cache", {})
    code, out, _ = _run(capsys, "models", "--zoo", str(tiny_zoo))
    (line,) = [ln for ln in out.splitlines() if ln.startswith("CUDA:")]
    assert "has no CUDA provider" in line and "pip install 'limelight[cuda]'" in line


def test_enhance_and_batch_apply_every_light_of_a_recipe(
    tiny_zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 18, item 1: a schema-3 recipe's lights all apply, the same bytes either way;
    a knob option applies to every light."""
    from limelight.core.lights import Light, whole_photo_light
    from limelight.core.masks import Ellipse, MaskSpec
    from limelight.core.recipe import Recipe, save_recipe
    from limelight.core.recompose import Knobs

    src = _photo(tmp_path / "in.png", size=(120, 160))
    lights = (whole_photo_light(), Light("Spot", MaskSpec(shapes=(Ellipse(0.6, 0.5, 0.2, 0.3),)),
                                         Knobs(degree=1.6)))
    recipe = save_recipe(Recipe(model="tiny-fusion", lights=lights), tmp_path / "r.json")
    one = save_recipe(Recipe(model="tiny-fusion", lights=lights[:1]), tmp_path / "one.json")
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / "a.png"),
                        "--zoo", str(tiny_zoo), "--recipe", str(recipe))
    assert code == 0, err
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / "first.png"),
                        "--zoo", str(tiny_zoo), "--recipe", str(one))
    assert code == 0, err
    both, first = read_image(tmp_path / "a.png").pixels, read_image(tmp_path / "first.png").pixels
    assert (both != first).any()  # the second light counts
    code, _, err = _run(capsys, "batch", str(src), "--out", str(tmp_path / "out"),
                        "--zoo", str(tiny_zoo), "--recipe", str(recipe))
    assert code == 0, err
    assert (tmp_path / "out" / "in.png").read_bytes() == (tmp_path / "a.png").read_bytes()
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / "b.png"),
                        "--zoo", str(tiny_zoo), "--recipe", str(recipe), "--save-recipe",
                        str(tmp_path / "low.json"), "--degree", "0.5")
    assert code == 0, err
    assert [x.knobs.degree for x in load_recipe(tmp_path / "low.json").layers] == [0.5, 0.5]


def test_enhance_starts_loading_the_model_before_it_reads_the_edit(
    tiny_zoo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without a recipe file the options name the model, so ``enhance`` starts ONNX
    Runtime's session before building the edit (its start-up overlaps the imports); the
    photo is the same bytes as through a recipe file, which takes the usual path."""
    import limelight.cli as cli

    order: list[str] = []
    real_loader, real_recipe = cli._Loader.__init__, cli.recipe_from_args

    def loader(self, engine, model, photo) -> None:  # noqa: ANN001
        order.append("load")
        real_loader(self, engine, model, photo)

    def recipe(args):  # noqa: ANN001, ANN202
        order.append("edit")
        return real_recipe(args)

    monkeypatch.setattr(cli._Loader, "__init__", loader)
    monkeypatch.setattr(cli, "recipe_from_args", recipe)
    src = _photo(tmp_path / "in.png")
    edit = ("--ellipse", "0.4,0.6,0.2,0.3,15", "--degree", "1.3")
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / "a.png"),
                        "--zoo", str(tiny_zoo), *edit)
    assert code == 0, err
    assert order == ["load", "edit"]
    code, _, err = _run(capsys, "enhance", str(src), "--save-recipe", str(tmp_path / "r.json"),
                        "--zoo", str(tiny_zoo), *edit)
    assert code == 0, err
    order.clear()
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / "b.png"),
                        "--zoo", str(tiny_zoo), "--recipe", str(tmp_path / "r.json"))
    assert code == 0, err
    assert order == ["edit", "load"]
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_enhance_loads_only_the_session_for_the_photos_working_size(
    tiny_zoo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``enhance`` reads the photo's size from its header and loads the one session its
    network pass runs in (made for that size, ``Engine.prepare``), not the model's general
    session as well: a 96 x 128 photo runs at the tiny models' 64 px as 48 x 64."""
    from limelight.core.engine import Engine

    made: list[tuple[int, int] | None] = []
    real_create = Engine._create

    def create(self, info, shape=None):  # noqa: ANN001, ANN202
        made.append(shape)
        return real_create(self, info, shape)

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(Engine, "_create", create)
    src = _photo(tmp_path / "in.png")
    code, _, err = _run(capsys, "enhance", str(src), "-o", str(tmp_path / "a.png"),
                        "--zoo", str(tiny_zoo), "--ellipse", "0.4,0.6,0.2,0.3")
    assert code == 0, err
    assert made == [(48, 64)]
