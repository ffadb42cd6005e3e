"""Issue #17, items 4 and 5: hostile values in recipes and options give one line naming the
file and the field (exit 2), never a traceback or a hang."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from limelight.cli import main
from limelight.core.errors import MaskError, RecipeError
from limelight.core.masks import Ellipse, MaskSpec, Stroke, rasterize_area_a
from limelight.core.recipe import load_recipe


def _photo(path: Path) -> Path:
    PILImage.fromarray(np.random.default_rng(0).integers(0, 80, (40, 56, 3), np.uint8)).save(path)
    return path


def _recipe_text(tmp: Path, text: str) -> Path:
    (tmp / "r.json").write_text(text, encoding="utf-8")
    return tmp / "r.json"


def _ellipse(**kw: object) -> str:
    shape = {"type": "ellipse", "cx": 0.5, "cy": 0.5, "rx": 0.2, "ry": 0.2, **kw}
    return json.dumps({"limelight_recipe": 1, "mask": {"shapes": [shape]}})


def _stroke(points: object, radius: float = 0.02) -> str:
    return json.dumps({"limelight_recipe": 1, "mask": {"shapes": [
        {"type": "stroke", "points": points, "radius": radius}]}})


HUGE = "9" * 400  # an integer no float holds
CASES = {
    "huge int knob": ('{"limelight_recipe": 1, "knobs": {"degree": ' + HUGE + '}}',
                      "knobs.degree"),
    "huge int centre": (_ellipse().replace('"cx": 0.5', '"cx": ' + HUGE), "cx"),
    "4301-digit version": ('{"limelight_recipe": ' + "1" * 4301 + "}", "r.json"),
    "nested 3000 deep": ("[" * 3000 + "]" * 3000, "nested too deeply"),
    "centre 1e308": (_ellipse(cx=1e308), "cx"),
    "angle 1e308": (_ellipse(angle=1e308), "angle"),
    "stroke point 1e308": (_stroke([[1e308, 0.5], [0.5, 0.5]]), "points[0][0]"),
    "stroke of 1e6 points": (_stroke([[0.5, 0.5]] * 1_000_000), "points"),
    "too many shapes": (json.dumps({"limelight_recipe": 1, "mask": {"shapes": [
        {"type": "subject"}] * 5000}}), "mask.shapes"),
    "too heavy a stroke": (_stroke([[0.1, 0.1], [0.9, 0.9]] * 2000, radius=1.0), "heavy"),
    # each stroke within its own bound (999 image areas, 30 s at 0.5 MP), 100 of them in all:
    # hours of rasterising before the total was bounded too
    "strokes too heavy together": (json.dumps({"limelight_recipe": 1, "mask": {"shapes": [
        {"type": "stroke", "points": [[0.1, 0.5], [0.9, 0.5]] * 500, "radius": 1.0}] * 100}}),
        "too heavy"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_recipe_is_one_line_naming_file_and_field(
    case: str, tmp_path: Path, tiny_zoo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, field = CASES[case]
    recipe = _recipe_text(tmp_path, text)
    with pytest.raises(RecipeError) as exc:
        load_recipe(recipe)
    assert "r.json" in str(exc.value) and field in str(exc.value)
    code = main(["enhance", str(_photo(tmp_path / "p.png")), "-o", str(tmp_path / "o.png"),
                 "--recipe", str(recipe), "--zoo", str(tiny_zoo)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "r.json" in err and field in err, err
    assert len(err) < 400, "the message stays one readable line"
    assert not (tmp_path / "o.png").exists()


def test_far_shapes_rasterise_without_overflow() -> None:
    """Positions at the validation limit paint nothing and raise nothing."""
    spec = MaskSpec(shapes=(Ellipse(100.0, -100.0, 10.0, 10.0, 1e4),
                            Stroke([(-100.0, 100.0), (100.0, -100.0)], 0.01)))
    area = rasterize_area_a(spec, 30, 40)
    assert area.shape == (30, 40) and float(area.max()) <= 1.0
    with pytest.raises(MaskError, match="cx must be in"):
        Ellipse(1e308, 0.5, 0.2, 0.2)


def test_stroke_point_bound_is_checked_before_the_points_are() -> None:
    with pytest.raises(MaskError, match="at most 10,000"):
        Stroke([(0.5, 0.5)] * 10_001, 0.02)
    assert len(Stroke([(0.5, 0.5)] * 10_000, 0.02).points) == 10_000


@pytest.mark.parametrize("template", ["{index:>1000000000}", "{name}" + "x" * 300])
def test_output_names_too_long_are_refused_before_any_photo(
    template: str, tmp_path: Path, tiny_zoo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["batch", str(_photo(tmp_path / "p.png")), "--out", str(tmp_path / "o"),
                 "--name", template, "--zoo", str(tiny_zoo), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "name" in err, err
    assert not (tmp_path / "o").exists()


def test_enhance_output_name_too_long(
    tmp_path: Path, tiny_zoo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / ("x" * 300 + ".png")
    code = main(["enhance", str(_photo(tmp_path / "p.png")), "-o", str(out),
                 "--zoo", str(tiny_zoo)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "too long" in err, err


def test_unexpected_errors_are_still_one_line(
    tmp_path: Path, tiny_zoo: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import limelight.cli as cli

    def broken(args: object) -> int:
        raise TypeError("a bug")

    monkeypatch.setitem(cli.COMMANDS, "enhance", cli.Command("x", cli._add_enhance, broken))
    code = main(["enhance", str(_photo(tmp_path / "p.png")), "-o", str(tmp_path / "o.png")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "TypeError: a bug" in err


def test_manifest_fields_of_the_wrong_type(
    tmp_path: Path, tiny_zoo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tiny_zoo / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["models"][0]["working_resolution"] = "big"
    manifest.write_text(json.dumps(doc))
    for argv in (["enhance", str(_photo(tmp_path / "p.png")), "-o", str(tmp_path / "o.png")],
                 ["models"]):
        code = main([*argv, "--zoo", str(tiny_zoo)] if argv[0] == "enhance"
                    else ["models", "--zoo", str(tiny_zoo)])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "manifest.json" in err, err
        assert "unexpected" not in err
