"""The batch runner: planning (inputs, names, policies), outcomes, report, cancel, metadata."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from limelight.core import batch_report
from limelight.core.atomic import TEMP_PREFIX
from limelight.core.batch import (
    BatchError,
    BatchJob,
    CancelToken,
    batch_engine,
    fit_jobs,
    placed_recipe,
    plan_batch,
    run_batch,
)
from limelight.core.batch_plan import (
    Source,
    check_template,
    clean_stale_temps,
    find_inputs,
    plan_outputs,
    render_name,
)
from limelight.core.imageio import read_image
from limelight.core.masks import Ellipse, MaskSpec, Subject
from limelight.core.recipe import Recipe

RECIPE = Recipe(mask=MaskSpec(shapes=(Ellipse(0.5, 0.5, 0.3, 0.3),), transition=0.05))


def photo(path: Path, size: tuple[int, int] = (64, 96), seed: int = 0, **save: object) -> Path:
    """A dark 8-bit photo-like image saved in ``path``'s format."""
    rng = np.random.default_rng(seed)
    h, w = size
    base = np.linspace(10, 60, w)[None, :, None] + np.linspace(0, 20, h)[:, None, None]
    arr = np.clip(base + rng.normal(0, 4, (h, w, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(arr).save(path, **save)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def engine(tiny_zoo: Path):  # noqa: ANN201
    return batch_engine(tiny_zoo, device="cpu", jobs=2)


# ----------------------------------------------------------------------------- planning


def test_template_fields_and_errors() -> None:
    src = Path("/x/IMG_0007.CR2")
    assert render_name("{name}_lit", src, 3, 120) == "IMG_0007_lit"
    assert render_name("{stem}-{ext}-{index}", src, 3, 120) == "IMG_0007-CR2-003"
    assert render_name("{index:05d}", src, 3, 9) == "00003"
    with pytest.raises(BatchError, match=r"unknown field \{nmae\}.*\{name\}"):
        check_template("{nmae}_lit")
    for bad in ("", "{name", "{}", "{name!r}", "{name:>9}", "a/{name}", ".."):
        with pytest.raises(BatchError, match="template"):
            check_template(bad)


def test_find_inputs_folders_recursion_and_exclusions(tmp_path: Path) -> None:
    shoot = tmp_path / "shoot"
    a = photo(shoot / "a.jpg")
    b = photo(shoot / "day2" / "b.png")
    (shoot / "notes.txt").write_text("not a photo")
    photo(shoot / ".hidden.jpg")
    photo(shoot / "out" / "a.jpg")  # the output folder of a previous run
    flat, missing = find_inputs([shoot, a], exclude=shoot / "out")
    assert [s.path for s in flat] == [a] and missing == []
    deep, _ = find_inputs([shoot], recursive=True, exclude=shoot / "out")
    assert [(s.path, s.subdir) for s in deep] == [(a, Path()), (b, Path("day2"))]
    _, missing = find_inputs([tmp_path / "nope.jpg"])
    assert missing == [tmp_path / "nope.jpg"]


def test_plan_names_collisions_and_policies(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    srcs = [Source(tmp_path / "a" / "x.jpg"), Source(tmp_path / "b" / "x.jpg"),
            Source(tmp_path / "y.png")]
    for s in srcs:
        photo(s.path)
    (out / "y_lit.png").write_bytes(b"old")
    p = plan_outputs(srcs, out, "{name}_lit", None, "rename")
    assert [f.output.name for f in p] == ["x_lit.jpg", "x_lit_1.jpg", "y_lit_1.png"]
    p = plan_outputs(srcs, out, "{name}_lit", "tiff", "skip")
    assert [(f.output.name, f.skip) for f in p] == [
        ("x_lit.tif", False), ("x_lit_1.tif", False), ("y_lit.tif", False)]
    p = plan_outputs(srcs, out, "{name}_lit", "png", "skip")
    assert p[2].skip and p[2].output == out / "y_lit.png"
    p = plan_outputs(srcs, out, "{name}_lit", "png", "overwrite")
    assert not p[2].skip and p[2].output == out / "y_lit.png"


@pytest.mark.parametrize("policy", ["skip", "rename", "overwrite"])
def test_an_input_is_never_an_output(tmp_path: Path, policy: str) -> None:
    a = photo(tmp_path / "a.jpg")
    b = photo(tmp_path / "b.png")
    with pytest.raises(BatchError, match="overwrite the input photo"):
        plan_outputs([Source(a)], tmp_path, "{name}", None, policy)  # type: ignore[arg-type]
    # a.png -> b.png would hit the *other* input
    with pytest.raises(BatchError, match="overwrite the input photo"):
        plan_outputs([Source(a), Source(b)], tmp_path, "b", "png", policy)  # type: ignore[arg-type]


def test_subject_placement_replaces_the_shapes() -> None:
    placed = placed_recipe(RECIPE, "subject")
    assert placed.mask.shapes == (Subject(),)
    assert placed.mask.transition == RECIPE.mask.transition and placed.knobs == RECIPE.knobs
    assert placed_recipe(RECIPE, "painted") is RECIPE


def test_nothing_to_do_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BatchError, match="no photos found"):
        plan_batch(BatchJob((tmp_path / "empty",), tmp_path / "out", RECIPE))


def test_jobs_never_exceed_the_photos_to_export(tmp_path: Path) -> None:
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for i in range(3):
        PILImage.fromarray(np.full((8, 8, 3), 40 + i, np.uint8)).save(shoot / f"p{i}.png")
    job = BatchJob((shoot,), tmp_path / "out", RECIPE, fmt="png", jobs=2)
    planned, _ = plan_batch(job)
    assert fit_jobs(job, planned) is job  # 3 photos: 2 jobs kept
    assert fit_jobs(job, planned[:1]).jobs == 1
    (tmp_path / "out").mkdir()
    for p in planned[1:]:
        p.output.write_bytes(b"done before")
    resumed = BatchJob((shoot,), tmp_path / "out", RECIPE, fmt="png", jobs=2, on_exists="skip")
    planned, _ = plan_batch(resumed)
    assert [p.skip for p in planned] == [False, True, True]
    assert fit_jobs(resumed, planned).jobs == 1  # one photo left to do gets every core
    assert fit_jobs(resumed, [p for p in planned if p.skip]).jobs == 1  # never 0


def test_stale_temps_are_cleaned_and_nothing_else(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f"{TEMP_PREFIX}{dead}-abc123.a.jpg.tmp"
    live = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-def456.b.jpg.tmp"
    other = tmp_path / ".a.jpg.xyz.tmp"
    for p in (stale, live, other):
        p.write_bytes(b"partial")
    assert clean_stale_temps([tmp_path]) == [stale]
    assert live.exists() and other.exists()


# ----------------------------------------------------------------------------- running


def test_good_photos_exported_bad_ones_reported(tmp_path: Path, engine) -> None:  # noqa: ANN001
    shoot = tmp_path / "shoot"
    good = [photo(shoot / "g1.jpg", seed=1), photo(shoot / "g2.png", seed=2),
            photo(shoot / "sub" / "g3.tif", seed=3)]
    (shoot / "empty.jpg").touch()
    full = (shoot / "g1.jpg").read_bytes()
    (shoot / "truncated.jpg").write_bytes(full[: len(full) // 2])
    (shoot / "text.png").write_text("not an image at all")
    before = {p: sha(p) for p in shoot.rglob("*") if p.is_file()}
    events = []
    job = BatchJob((shoot,), tmp_path / "out", RECIPE, recursive=True, name="{name}_lit",
                   fmt="jpeg", jobs=2)
    res = run_batch(job, engine, on_event=events.append)
    assert {p: sha(p) for p in before} == before  # originals untouched
    status = {f.input.name: f.status for f in res.files}
    assert status == {"empty.jpg": "failed", "g1.jpg": "done", "g2.png": "done",
                      "text.png": "failed", "truncated.jpg": "failed", "g3.tif": "done"}
    reasons = {f.input.name: f.reason for f in res.failures}
    assert all(name in reasons[name] for name in reasons)  # each names its file
    assert "empty" in reasons["empty.jpg"].lower()
    assert res.counts["done"] == 3 and not res.ok
    for g, sub in zip(good, ("", "", "sub"), strict=True):
        out = tmp_path / "out" / sub / f"{g.stem}_lit.jpg"
        assert read_image(out).pixels.shape == (64, 96, 3)
    finals = [e for e in events if e.file.status in ("done", "failed")]
    assert [e.finished for e in finals] == list(range(1, 7)) and finals[-1].total == 6
    assert finals[-1].eta_s == 0.0
    report = json.loads((tmp_path / "out" / "limelight-batch-report.json").read_text())
    assert report["state"] == "finished" and report["summary"]["failed"] == 3
    assert sorted(f["status"] for f in report["files"]) == ["done"] * 3 + ["failed"] * 3
    leftovers = [p for p in (tmp_path / "out").rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_report_is_valid_while_running(tmp_path: Path, engine,  # noqa: ANN001
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_report, "INTERVAL_S", 0.0)
    srcs = [photo(tmp_path / f"p{i}.png", seed=i) for i in range(3)]
    report = tmp_path / "out" / "limelight-batch-report.json"
    seen = []

    def on_event(ev) -> None:  # noqa: ANN001
        if ev.file.status == "done":
            doc = json.loads(report.read_text())
            seen.append((doc["state"], doc["summary"]["done"]))

    run_batch(BatchJob(tuple(srcs), tmp_path / "out", RECIPE), engine, on_event=on_event)
    assert seen == [("running", 1), ("running", 2), ("running", 3)]


def test_policies_on_a_second_run(tmp_path: Path, engine) -> None:  # noqa: ANN001
    src = photo(tmp_path / "a.png")
    out = tmp_path / "out"
    job = BatchJob((src,), out, RECIPE)
    run_batch(job, engine)
    first = sha(out / "a.png")
    assert run_batch(BatchJob((src,), out, RECIPE, on_exists="skip"), engine).counts[
        "skipped"] == 1
    res = run_batch(job, engine)  # rename (default)
    assert res.files[0].output == out / "a_1.png" and sha(out / "a_1.png") == first
    (out / "a.png").write_bytes(b"stale output")
    run_batch(BatchJob((src,), out, RECIPE, on_exists="overwrite"), engine)
    assert sha(out / "a.png") == first and sha(src) == sha(tmp_path / "a.png")


def test_cancel_leaves_only_complete_outputs(tmp_path: Path, engine) -> None:  # noqa: ANN001
    srcs = [photo(tmp_path / "in" / f"p{i}.png", seed=i) for i in range(6)]
    token = CancelToken()

    def on_event(ev) -> None:  # noqa: ANN001
        if ev.file.status == "done":
            token.cancel()

    res = run_batch(BatchJob(tuple(srcs), tmp_path / "out", RECIPE, jobs=1), engine,
                    on_event=on_event, cancel=token)
    assert res.cancelled and not res.ok
    assert res.counts["done"] == 1 and res.counts["cancelled"] == 5
    outs = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert outs == ["limelight-batch-report.json", "p0.png"]
    assert read_image(tmp_path / "out" / "p0.png").pixels.shape == (64, 96, 3)
    doc = json.loads((tmp_path / "out" / "limelight-batch-report.json").read_text())
    assert doc["state"] == "cancelled" and doc["summary"]["cancelled"] == 5


def test_exif_icc_and_16_bit_tiff_kept(tmp_path: Path, engine) -> None:  # noqa: ANN001
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = PILImage.Exif()
    exif[0x010F] = "LimelightCam"  # Make
    src = photo(tmp_path / "in.jpg", exif=exif.tobytes(), icc_profile=icc, quality=95)
    rng = np.random.default_rng(0)
    deep = (rng.random((48, 64, 3)) * 12000).astype(np.uint16)
    import cv2

    cv2.imwrite(str(tmp_path / "deep.png"), deep[..., ::-1])
    out = tmp_path / "out"
    run_batch(BatchJob((src, tmp_path / "deep.png"), out, RECIPE, fmt="tiff"), engine)
    run_batch(BatchJob((src,), out, RECIPE, fmt="jpeg"), engine)
    with PILImage.open(out / "in.jpg") as im:
        assert im.info.get("icc_profile") == icc
        assert im.getexif()[0x010F] == "LimelightCam"
    tif = read_image(out / "deep.tif")
    assert tif.pixels.dtype == np.uint16 and tif.meta.bit_depth == 16
    assert read_image(out / "in.tif").meta.icc == icc
    assert read_image(out / "in.tif").pixels.dtype == np.uint8  # 8-bit source stays 8-bit


def test_jobs_give_the_same_bytes(tmp_path: Path, tiny_zoo: Path) -> None:
    srcs = [photo(tmp_path / f"p{i}.jpg", seed=i, quality=90) for i in range(4)]
    engine = batch_engine(tiny_zoo, device="cpu", jobs=1)
    one = run_batch(BatchJob(tuple(srcs), tmp_path / "one", RECIPE, jobs=1), engine)
    two = run_batch(BatchJob(tuple(srcs), tmp_path / "two", RECIPE, jobs=2), engine)
    assert one.ok and two.ok
    for a, b in zip(one.files, two.files, strict=True):
        assert a.output.read_bytes() == b.output.read_bytes()


def test_outputs_beside_the_originals_are_not_taken_as_photos_next_time(
        tmp_path: Path, engine) -> None:  # noqa: ANN001
    shoot = tmp_path / "shoot"
    srcs = [photo(shoot / "a.jpg"), photo(shoot / "day2" / "b.jpg", seed=1)]
    job = BatchJob((shoot,), shoot, RECIPE, recursive=True, name="{name}_lit",
                   on_exists="skip")
    first = run_batch(job, engine)
    assert first.counts["done"] == 2
    assert (shoot / "a_lit.jpg").is_file() and (shoot / "day2" / "b_lit.jpg").is_file()
    again = run_batch(job, engine)  # the _lit files are the last run's outputs, not photos
    assert [(f.input, f.status) for f in again.files] == [(s, "skipped") for s in srcs]
    missing = run_batch(BatchJob((srcs[0], tmp_path / "gone.jpg"), tmp_path / "o", RECIPE),
                        engine)
    assert [f.status for f in missing.files] == ["done", "failed"]
    assert "no such file" in missing.files[1].reason


def test_raw_gives_16_bit_tiff_by_default(tmp_path: Path, engine, make) -> None:  # noqa: ANN001
    raw = make.make_dng(tmp_path / "shot.dng", 48, 64)
    jpg = photo(tmp_path / "plain.jpg")
    before = sha(raw), sha(jpg)
    res = run_batch(BatchJob((tmp_path,), tmp_path / "out", RECIPE), engine)  # fmt: as input
    assert res.ok and [f.output.name for f in res.files] == ["plain.jpg", "shot.tif"]
    tif = read_image(tmp_path / "out" / "shot.tif")
    assert tif.pixels.dtype == np.uint16 and tif.pixels.shape == (48, 64, 3)
    assert (sha(raw), sha(jpg)) == before
    eight = run_batch(BatchJob((raw,), tmp_path / "o8", RECIPE, fmt="tiff", bit_depth=8),
                      engine)
    assert read_image(eight.files[0].output).pixels.dtype == np.uint8


_AUDIT: dict[str, object] = {"on": False, "writes": []}


def _audit(event: str, args: tuple) -> None:  # type: ignore[type-arg]
    if not _AUDIT["on"] or event != "open":
        return
    path, mode, flags = args
    writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
        isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
    if writing and isinstance(path, str | bytes | os.PathLike):
        _AUDIT["writes"].append(Path(os.fsdecode(path)).resolve())  # type: ignore[union-attr]


def test_inputs_are_never_opened_for_writing(tmp_path: Path, engine) -> None:  # noqa: ANN001
    shoot = tmp_path / "shoot"
    srcs = [photo(shoot / "a.jpg"), photo(shoot / "b.png", seed=1),
            photo(shoot / "c.tif", seed=2)]
    if not _AUDIT.get("hooked"):
        sys.addaudithook(_audit)
        _AUDIT["hooked"] = True
    _AUDIT["writes"] = []
    _AUDIT["on"] = True
    try:
        for policy in ("rename", "overwrite", "overwrite"):
            res = run_batch(BatchJob((shoot,), shoot / "out", RECIPE, on_exists=policy,
                                     jobs=2), engine)  # type: ignore[arg-type]
            assert res.ok
    finally:
        _AUDIT["on"] = False
    writes = set(_AUDIT["writes"])  # type: ignore[arg-type]
    assert writes, "the audit hook saw no writes at all"
    assert not writes & {s.resolve() for s in srcs}
    assert all((shoot / "out").resolve() in p.parents for p in writes)


def test_threads_per_job_follows_the_cores_the_process_may_use(monkeypatch) -> None:
    """Under taskset or a container's cpuset the jobs share the cores given, not the machine's."""
    import limelight.core.batch as batch_mod

    monkeypatch.setattr(batch_mod.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert batch_mod.available_cores() == 1
    assert batch_mod.threads_per_job(1) == 1 and batch_mod.threads_per_job(2) == 1
    monkeypatch.setattr(batch_mod.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3},
                        raising=False)
    assert batch_mod.threads_per_job(1) == 4 and batch_mod.threads_per_job(2) == 2
    assert batch_mod.threads_per_job(3, cores=8) == 2
