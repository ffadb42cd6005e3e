"""The real-photo measures (hand values) and the real-photo evaluation on generated photos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from skimage import data

from limelight_models import real_measures as rm


def _dark(scale: float = 0.1) -> np.ndarray:
    return np.round(data.astronaut().astype(np.float32) * scale).astype(np.uint8)


def test_a_plain_gain_scores_as_the_issue_defines() -> None:
    """x3 on a dark photo: grain ~1 (noise and light lifted alike), lift ~3, saturation kept,
    a small hue shift (scaling sRGB-encoded values moves the CIELAB hue of the darkest,
    noisiest pixels; 6 degrees here, under the kept rule's 8); an identity output lifts
    nothing and fogs nothing."""
    rng = np.random.default_rng(0)
    base = data.coffee().astype(np.float32) * 0.15
    inp = np.clip(np.round(base + rng.normal(0, 2, base.shape)), 0, 255).astype(np.uint8)
    out = np.clip(inp.astype(np.float32) * 3, 0, 255).astype(np.uint8)
    m = rm.measure(inp, out)
    assert m.grain == pytest.approx(1.0, abs=0.08)
    assert m.lift == pytest.approx(3.0, abs=0.1)
    assert m.hue < rm.HUE_MAX and m.sat == pytest.approx(1.0, abs=0.03) and m.clip == 0.0
    same = rm.measure(inp, inp)
    assert same.fog == 0.0 and same.lift == 1.0 and same.hue == 0.0 and same.grain == 1.0


def test_fog_and_clip_hand_values() -> None:
    inp = np.zeros((10, 10, 3), np.uint8)
    inp[5:] = 100
    out = inp.copy()
    out[:5] = 20  # the black half lifted by 20
    out[5:, :2] = 255  # 10 of the 100 pixels under 235 newly clipped
    assert rm.fog(inp, out) == pytest.approx(20.0)
    assert rm.clip_pct(inp, out) == pytest.approx(10.0)
    region = np.zeros((10, 10), bool)
    region[5:, 5:] = True
    assert rm.fog(inp, out, region) == 0.0 and rm.clip_pct(inp, out, region) == 0.0


def test_a_grey_output_loses_saturation_and_hue_is_wrapped() -> None:
    inp = np.zeros((8, 8, 3), np.uint8)
    inp[..., 0] = 120  # red
    grey = np.full_like(inp, 60)
    assert rm.sat_ratio(inp, grey) == 0.0
    blue = np.zeros_like(inp)
    blue[..., 2] = 120
    assert 80 < rm.hue_shift(inp, blue) <= 180  # CIELAB red ~40 degrees, blue ~306


def test_kept_rule() -> None:
    ok = rm.Measures(clip=0.5, fog=3, lift=2.0, hue=2, sat=0.9, grain=0.6, dark_half=10)
    assert ok.kept and ok.failures() == ()
    bad = rm.Measures(clip=2, fog=13, lift=1.2, hue=9, sat=0.6, grain=1.1, dark_half=10)
    assert set(bad.failures()) == {"clip", "fog", "lift", "hue", "sat", "grain"}
    bright = rm.Measures(clip=0, fog=0, lift=1.1, hue=0, sat=1, grain=0.5, dark_half=45)
    assert bright.kept  # a bright photo needs lift >= 1.0 only


def test_baselines_brighten_a_dark_photo_without_clipping() -> None:
    inp = _dark()
    for name, fn in rm.BASELINES.items():
        out = fn(inp)
        assert out.shape == inp.shape and out.dtype == np.uint8, name
        m = rm.measure(inp, out)
        assert m.lift > 1.5 and m.clip < 1.0, (name, m)


def test_real_eval_runs_every_edit_and_writes_sheets(tiny_zoo: Path, tmp_path: Path) -> None:
    from limelight.core.engine import Engine
    from limelight_models import real_eval

    photos = tmp_path / "real"
    (photos / "sub").mkdir(parents=True)
    PILImage.fromarray(_dark()[::4, ::4]).save(photos / "a.png")
    PILImage.fromarray(_dark(0.2)[::4, ::6]).save(photos / "sub" / "b.jpg")
    (photos / "notes.txt").write_text("not a photo")
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    result = real_eval.run(photos, ["tiny-fusion", "tiny-curve"], engine=engine,
                           sheets=tmp_path / "sheets", sheet_model="tiny-fusion")
    assert sorted(result["photos"]) == ["a.png", "sub/b.jpg"]
    summary = result["summary"]
    for name in ("tiny-fusion", "tiny-curve"):
        assert {"global", "ellipse"} <= set(summary[name]) and summary[name]["global"]["n"] == 2
        assert "halo_ok" in summary[name]["ellipse"]
    assert set(rm.BASELINES) <= set(summary)
    assert [Path(p).name for p in result["sheets"]] == ["real-tiny-fusion-1.png"]
    sheet = np.asarray(PILImage.open(result["sheets"][0]))
    assert sheet.shape[0] == 2 * (real_eval.SHEET_ROW + 2)
    table = real_eval.markdown(summary, "t")
    assert "| tiny-fusion | global | " in table and "| baseline_b | global |" in table
    json.dumps(result)  # every figure is plain JSON


def test_the_ellipse_region_is_what_the_edit_may_touch() -> None:
    from limelight_models import real_eval

    px = np.zeros((60, 90, 3), np.uint8)
    spec = real_eval.edit_spec("ellipse", 60, 90)
    region = real_eval.region_of(spec, px, None)
    assert region is not None and 0.2 < region.mean() < 0.6
    assert real_eval.region_of(real_eval.edit_spec("global", 60, 90), px, None) is None
    with pytest.raises(ValueError, match="unknown edit"):
        real_eval.edit_spec("square", 60, 90)


def test_the_knob_check_reports_every_knob(tiny_zoo: Path, tmp_path: Path) -> None:
    from limelight.core.engine import Engine
    from limelight_models import real_eval

    photos = tmp_path / "real"
    photos.mkdir()
    PILImage.fromarray(_dark(0.15)[::4, ::4]).save(photos / "a.png")
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    result = real_eval.run(photos, ["tiny-fusion"], engine=engine, sheet_model="tiny-fusion",
                           knob_check=True)
    figs = result["knob_photos"]["a.png"]
    assert len(figs["degree_mean"]) == 4 and len(figs["gamma1_dark"]) == 3
    summary = result["knob_summary"]
    assert set(summary) == set(real_eval.KNOB_DIRECTIONS)
    assert summary["degree_mean"] == {"both_ways": 1, "n": 1}  # brighter with each step
    assert summary["gamma1_dark"]["both_ways"] == 1
    assert "Shadows 0 → 1" in real_eval.knob_markdown(summary, "tiny-fusion")


def test_the_command_measures_a_zoo_given_on_the_command_line(tiny_zoo: Path,
                                                                tmp_path: Path) -> None:
    """--zoo: a model exported elsewhere is measured before it is shipped."""
    from limelight_models import real_eval

    photos = tmp_path / "real"
    photos.mkdir()
    PILImage.fromarray(_dark()[::4, ::4]).save(photos / "a.png")
    out = tmp_path / "r.json"
    assert real_eval.main(["--real", str(photos), "--zoo", str(tiny_zoo), "--models",
                           "tiny-curve", "--sheet-model", "tiny-curve", "--json", str(out)]) == 0
    summary = json.loads(out.read_text())["summary"]
    assert summary["tiny-curve"]["global"]["n"] == 1
