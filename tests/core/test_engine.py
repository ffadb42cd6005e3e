"""The ONNX engine: manifest checks, sessions, padding, device report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from limelight.core.engine import Engine, Maps, available_devices
from limelight.core.errors import ModelError
from limelight.core.recompose import FAMILIES


def _inputs(h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    img = rng.random((h, w, 3), dtype=np.float32)
    mask = np.zeros((2, h, w), np.float32)
    mask[:, : h // 2] = 1.0
    return img, mask


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_runs_on_odd_sizes_and_crops_back(tiny_zoo: Path, family: str) -> None:
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    img, mask = _inputs(13, 22)  # not multiples of the retinex/fusion pad_multiple 4
    out = engine.run(f"tiny-{family}", img, mask)
    assert isinstance(out, Maps)
    assert out.family == family and out.model.name == f"tiny-{family}"
    for name in FAMILIES[family]:
        assert out.maps[name].shape[:2] == (13, 22)
        assert out.maps[name].dtype == np.float32
    assert out.elapsed_ms > 0 and out.device == "CPU"


def test_maps_depend_on_image_and_mask(tiny_zoo: Path) -> None:
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    img, mask = _inputs(16, 16)
    res = engine.run("tiny-residual", img, mask).maps["residual"]
    # residual = 0.5 * (1 - img) * m1 * (mean_c(img) + 0.5): zero where mask channel 1 is 0
    expected = 0.5 * (1 - img) * mask[1][..., None] * (img.mean(axis=2, keepdims=True) + 0.5)
    np.testing.assert_allclose(res, expected, atol=1e-6)
    assert np.all(res[8:] == 0) and np.all(res[:8] > 0)


def test_padding_is_reflect_and_matches_unpadded_inside(tiny_zoo: Path) -> None:
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    img, mask = _inputs(16, 20)
    full = engine.run("tiny-retinex", img, mask).maps["illumination"]
    # A 15-row crop is padded to 16 by reflecting row 13 into row 15: the blocks of rows 0-11
    # see the same pixels, so the maps agree there.
    part = engine.run("tiny-retinex", img[:15], mask[:, :15]).maps["illumination"]
    assert part.shape == (15, 20, 1)
    np.testing.assert_allclose(part[:12], full[:12], atol=1e-6)


def test_default_model_and_session_cache(tiny_zoo: Path) -> None:
    engine = Engine(tiny_zoo, device="cpu", threads=1)
    img, mask = _inputs(8, 8)
    assert engine.run(None, img, mask).model.name == "tiny-fusion"
    _, s1, _ = engine.session("tiny-fusion")
    _, s2, _ = engine.session(None)
    assert s1 is s2


def test_corrupted_model_names_the_file(tiny_zoo: Path) -> None:
    path = tiny_zoo / "tiny-curve.onnx"
    path.write_bytes(path.read_bytes() + b"\0")
    engine = Engine(tiny_zoo, device="cpu")
    with pytest.raises(ModelError, match="corrupted") as err:
        engine.run("tiny-curve", *_inputs(8, 8))
    assert err.value.path == path
    assert "tiny-curve.onnx" in str(err.value)
    # the other models still work
    engine.run("tiny-residual", *_inputs(8, 8))


def test_missing_model_file(tiny_zoo: Path) -> None:
    (tiny_zoo / "tiny-residual.onnx").unlink()
    with pytest.raises(ModelError, match="missing") as err:
        Engine(tiny_zoo).run("tiny-residual", *_inputs(8, 8))
    assert err.value.path == tiny_zoo / "tiny-residual.onnx"


def test_unknown_model_lists_known(tiny_zoo: Path) -> None:
    with pytest.raises(ModelError, match="unknown model 'nope'.*tiny-fusion"):
        Engine(tiny_zoo).run("nope", *_inputs(8, 8))


def test_empty_zoo_says_no_models_installed(tmp_path: Path) -> None:
    engine = Engine(tmp_path)
    with pytest.raises(ModelError, match="no models installed"):
        engine.run(None, *_inputs(8, 8))


def test_model_breaking_the_contract_is_refused(tiny_zoo: Path) -> None:
    doc = json.loads((tiny_zoo / "manifest.json").read_text())
    doc["models"][1]["family"] = "residual"  # tiny-curve exports no "residual" map
    (tiny_zoo / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(ModelError, match="ONNX contract"):
        Engine(tiny_zoo).run("tiny-curve", *_inputs(8, 8))


def test_bad_shapes_are_rejected(tiny_zoo: Path) -> None:
    engine = Engine(tiny_zoo)
    img, mask = _inputs(8, 8)
    with pytest.raises(ValueError, match="mask must be"):
        engine.run(None, img, mask[:, :4])
    with pytest.raises(ValueError, match="img must be"):
        engine.run(None, img[..., :2], mask)


def test_device_reported_is_the_one_used(tiny_zoo: Path) -> None:
    assert available_devices()[-1] == "CPU"
    auto = Engine(tiny_zoo, device="auto")
    assert auto.device in available_devices()
    assert auto.run(None, *_inputs(8, 8)).device == auto.device
    cuda = Engine(tiny_zoo, device="cuda")  # falls back to the CPU without a working GPU
    assert cuda.device == ("CUDA" if "CUDA" in available_devices() else "CPU")
    assert Engine(tiny_zoo, device="cpu").device == "CPU"
    with pytest.raises(ValueError, match="device"):
        Engine(tiny_zoo, device="tpu")


def test_a_cancelled_run_raises_run_cancelled(tiny_zoo: Path) -> None:
    from limelight.core.engine import Cancel, RunCancelled

    engine = Engine(tiny_zoo, device="cpu", threads=1)
    img = np.full((32, 48, 3), 0.2, np.float32)
    mask = np.ones((2, 32, 48), np.float32)
    cancel = Cancel()
    assert engine.run(None, img, mask, cancel=cancel).maps  # not used: runs normally
    cancel.cancel()
    with pytest.raises(RunCancelled):
        engine.run(None, img, mask, cancel=cancel)


def test_cpu_sessions_reuse_a_cached_optimised_graph(tiny_zoo: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The first CPU session of a model saves ORT's optimised graph; later ones load it
    without optimising again, with the same maps; a damaged cache file is made again;
    LIMELIGHT_ORT_CACHE=0 turns the cache off."""
    from limelight.core.engine import optimized_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    img, mask = _inputs(24, 36)
    monkeypatch.setenv("LIMELIGHT_ORT_CACHE", "0")
    plain = Engine(tiny_zoo, device="cpu")
    assert optimized_cache(plain.model()) is None
    want = plain.run(None, img, mask).maps
    monkeypatch.setenv("LIMELIGHT_ORT_CACHE", "1")
    first = Engine(tiny_zoo, device="cpu")
    cache = optimized_cache(first.model())
    assert cache is not None and str(tmp_path / "cache") in str(cache) and not cache.exists()
    got = first.run(None, img, mask).maps
    assert cache.is_file() and cache.stat().st_size > 0
    assert not [p for p in cache.parent.iterdir() if p.name.startswith(".tmp-")]
    again = Engine(tiny_zoo, device="cpu").run(None, img, mask).maps
    for name in want:
        np.testing.assert_array_equal(got[name], want[name])
        np.testing.assert_array_equal(again[name], want[name])
    cache.write_bytes(b"not an onnx model")
    healed = Engine(tiny_zoo, device="cpu").run(None, img, mask).maps
    assert cache.stat().st_size > 100
    for name in want:
        np.testing.assert_array_equal(healed[name], want[name])


def test_the_working_resolution_gets_a_session_for_its_size(
        tiny_zoo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the CPU an image at the model's working resolution (the export's network pass) runs
    in a session made for its padded size, whose optimised graph is cached under that size;
    its maps are the general session's (to float rounding), other sizes share the general
    session, ``prepare`` loads it ahead, and an engine keeps at most SHAPED_SESSIONS."""
    from limelight.core import engine as engine_mod

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    engine = Engine(tiny_zoo, device="cpu")
    info = engine.model("tiny-retinex")  # working resolution 64, pad multiple 4
    general = Engine(tiny_zoo, device="cpu").session("tiny-retinex")[1]
    img, mask = _inputs(41, 64)
    got = engine.run("tiny-retinex", img, mask).maps
    assert engine_mod.optimized_cache(info, (44, 64)).is_file()  # 41 padded to 44
    shaped = engine._session_for("tiny-retinex", 41, 64)[1]
    assert shaped is not general and shaped is not engine.session("tiny-retinex")[1]
    padded = np.pad(img, ((0, 3), (0, 0), (0, 0)), mode="reflect")
    feeds = {"image": padded.transpose(2, 0, 1)[None],
             "mask": np.pad(mask, ((0, 0), (0, 3), (0, 0)), mode="reflect")[None]}
    for out, value in zip(general.get_outputs(), general.run(None, feeds), strict=True):
        np.testing.assert_allclose(got[out.name], value[0, :, :41].transpose(1, 2, 0),
                                   atol=1e-6)
    small_img, small_mask = _inputs(30, 40)
    engine.run("tiny-retinex", small_img, small_mask)
    assert engine._session_for("tiny-retinex", 30, 40)[1] is engine.session("tiny-retinex")[1]
    assert not engine_mod.optimized_cache(info, (32, 40)).exists()
    engine.prepare("tiny-retinex", 64, 50)
    assert engine_mod.optimized_cache(info, (64, 52)).is_file()
    for width in range(20, 20 + 4 * engine_mod.SHAPED_SESSIONS, 4):
        engine.prepare("tiny-retinex", 64, width)
    assert len(engine._shaped) == engine_mod.SHAPED_SESSIONS
