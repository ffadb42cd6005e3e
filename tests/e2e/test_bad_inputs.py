"""The bad-input corpus (``tests/bad_inputs.py``, issue #17 item 12) through ``enhance``,
``batch`` and ``select``: the documented exit code, one line naming the file for a refusal,
no output nor temporary file left for it, and every input's bytes unchanged."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

from limelight.cli import main
from limelight.core.imageio import read_image

_spec = importlib.util.spec_from_file_location(
    "bad_inputs", Path(__file__).resolve().parents[1] / "bad_inputs.py")
assert _spec is not None and _spec.loader is not None
bad_inputs = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("bad_inputs", bad_inputs)  # dataclasses look their module up
_spec.loader.exec_module(bad_inputs)
KINDS = bad_inputs.KINDS


def _digests(folder: Path) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for p in sorted(folder.iterdir()):
        try:
            out[p.name] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
        except OSError:
            out[p.name] = None  # a loop or a dangling link: nothing to hash, still there
    return out


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"
            or p.suffix == ".part"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    bad_inputs.make_corpus(folder)
    return folder


def test_the_corpus_has_at_least_30_kinds() -> None:
    assert len(KINDS) >= 30 and len({k.name for k in KINDS}) == len(KINDS)
    assert {k.expect for k in KINDS} == {"ok", "refused"}


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_enhance_and_select(kind, corpus: Path, tiny_zoo: Path, tmp_path: Path,  # noqa: ANN001
                            capsys: pytest.CaptureFixture[str]) -> None:
    src = corpus / kind.name
    before = _digests(corpus)
    out = tmp_path / "out.png"
    code = main(["enhance", str(src), "-o", str(out), "--zoo", str(tiny_zoo)])
    err = capsys.readouterr().err
    mask = tmp_path / "mask.png"
    select_code = main(["select", str(src), "-o", str(mask), "--rect", "0,0,1,1"])
    select_err = capsys.readouterr().err
    assert _digests(corpus) == before, "an input changed"
    for c, e, written in ((code, err, out), (select_code, select_err, mask)):
        if kind.expect == "refused":
            assert c == 1, e
            lines = e.strip().splitlines()
            assert len(lines) == 1 and kind.name in lines[0], e
            assert lines[0].startswith("limelight: error:") and "Traceback" not in e
            assert not written.exists()
        else:
            assert c == 0, e
            assert "Traceback" not in e and "error" not in e
            assert written.exists()
        assert _leftovers(tmp_path) == []
    if kind.expect == "ok":
        image = read_image(out)
        assert image.pixels.ndim == 3 and image.pixels.shape[2] == 3
        if kind.name[:6] == "orient" and kind.name[6:7].isdigit():
            assert image.pixels.shape == (40, 16, 3)  # turned upright, once


def test_batch_of_the_whole_corpus(corpus: Path, tiny_zoo: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    before = _digests(corpus)
    out = tmp_path / "out"
    code = main(["batch", *(str(corpus / k.name) for k in KINDS), "--out", str(out),
                 "--format", "png", "--zoo", str(tiny_zoo), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert _digests(corpus) == before
    # a folder given to batch is a folder of photos (here none), not a photo that failed
    kinds = [k for k in KINDS if not (corpus / k.name).is_dir()]
    refused = [k.name for k in kinds if k.expect == "refused"]
    assert f"{len(kinds) - len(refused)} done" in captured.out
    assert f"{len(refused)} failed" in captured.out
    failed_lines = [ln for ln in captured.err.splitlines() if ln.startswith("limelight: failed:")]
    assert len(failed_lines) == len(refused) and "Traceback" not in captured.err
    for name in refused:
        assert sum(name in ln for ln in failed_lines) == 1, name
    doc = json.loads((out / "limelight-batch-report.json").read_text())
    status = {Path(f["input"]).name: f["status"] for f in doc["files"]}
    assert status == {k.name: "done" if k.expect == "ok" else "failed" for k in kinds}
    for f in doc["files"]:
        if f["status"] == "failed":
            assert Path(f["input"]).name in f["reason"]
            assert not (Path(f["output"]).exists() and Path(f["output"]).parent == out
                        and f["output"] != f["input"]), f
    assert _leftovers(out) == []
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]
