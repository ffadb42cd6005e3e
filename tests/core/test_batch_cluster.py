"""The batch on a Dask cluster (``batch_cluster``): one LocalCluster of 2 worker processes
for the module (starting one costs seconds), the same bytes, outcomes and report as a local
batch, a resumed batch, and a worker killed mid-batch (SIGKILL): Dask re-runs its tasks and
no output is truncated, duplicated or lost."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import distributed  # the dev extra installs it: the tests never skip
import numpy as np
import pytest
from PIL import Image as PILImage

from limelight.core import batch_cluster, batch_worker
from limelight.core.atomic import TEMP_PREFIX
from limelight.core.batch import BatchError, BatchJob, batch_engine, run_batch
from limelight.core.batch_cluster import ClusterSpec
from limelight.core.engine import Engine
from limelight.core.masks import Ellipse, MaskSpec
from limelight.core.recipe import Recipe

RECIPE = Recipe(mask=MaskSpec(shapes=(Ellipse(0.5, 0.5, 0.3, 0.3),), transition=0.05))


def _photos(folder: Path, n: int, size: tuple[int, int], seed: int = 0) -> list[Path]:
    """``n`` different dark photo-like JPEGs of ``size`` (h, w)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    h, w = size
    base = np.linspace(10, 60, w)[None, :, None] + np.linspace(0, 20, h)[:, None, None]
    paths = []
    for i in range(n):
        arr = np.clip(base + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)
        paths.append(folder / f"img{i:02d}.jpg")
        PILImage.fromarray(arr).save(paths[-1], quality=90)
    return paths


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.suffix != ".json"}


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bench.tinyzoo import build_tiny_zoo

    return build_tiny_zoo(tmp_path_factory.mktemp("cluster") / "zoo")


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.ERROR) as c:
        yield c


def _local(inputs: list[Path], out: Path, zoo: Path, **kw: object) -> object:
    job = BatchJob(tuple(inputs), out, RECIPE, jobs=2, **kw)  # type: ignore[arg-type]
    return run_batch(job, batch_engine(zoo, device="cpu", jobs=2))


def _on_cluster(inputs: list[Path], out: Path, zoo: Path, address: str,
                run: dict[str, object] | None = None, **kw: object) -> object:
    job = BatchJob(tuple(inputs), out, RECIPE, cluster=address, **kw)  # type: ignore[arg-type]
    return run_batch(job, Engine(zoo, device="cpu"), **(run or {}))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- no cluster


def test_cluster_spec_parsing() -> None:
    assert ClusterSpec.parse("local:3") == ClusterSpec(None, 3)
    assert ClusterSpec.parse("local").workers >= 1
    assert ClusterSpec.parse("10.0.0.5:8786").address == "tcp://10.0.0.5:8786"
    assert ClusterSpec.parse("tls://sched.studio:8786").address == "tls://sched.studio:8786"
    for bad in ("local:0", "local:x", "", "a b:1", "local:-2"):
        with pytest.raises(BatchError, match="--cluster"):
            ClusterSpec.parse(bad)
    with pytest.raises(BatchError, match="local:N"):
        BatchJob((Path("a.jpg"),), Path("out"), RECIPE, cluster="local:0")


def test_without_distributed_says_how_to_install(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path, zoo: Path) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if absent
    inputs = _photos(tmp_path / "in", 1, (40, 60))
    with pytest.raises(BatchError, match=r"pip install 'limelight\[cluster\]'"):
        _on_cluster(inputs, tmp_path / "out", zoo, "local:1")


def test_unreachable_scheduler_is_one_sentence(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path, zoo: Path) -> None:
    monkeypatch.setattr(batch_cluster, "CONNECT_TIMEOUT_S", 1.0)
    inputs = _photos(tmp_path / "in", 1, (40, 60))
    with pytest.raises(BatchError, match=r"cannot reach the Dask scheduler at "
                                         r"tcp://127\.0\.0\.1:9.*dask scheduler"):
        _on_cluster(inputs, tmp_path / "out", zoo, "127.0.0.1:9")
    assert not (tmp_path / "out" / "img00.jpg").exists()


def test_worker_probe_names_a_folder_it_does_not_see(tmp_path: Path) -> None:
    (tmp_path / "probe").write_bytes(b"")
    assert batch_worker.sees_probe(str(tmp_path), "probe") == ""
    assert "is another folder there" in batch_worker.sees_probe(str(tmp_path / "x"), "probe")


# ----------------------------------------------------------------------------- LocalCluster


def test_same_bytes_outcomes_and_report_as_a_local_batch(cluster: object, zoo: Path,
                                                         tmp_path: Path) -> None:
    address = cluster.scheduler_address  # type: ignore[attr-defined]
    inputs = _photos(tmp_path / "in", 4, (120, 180))
    bad = tmp_path / "in" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    inputs.append(bad)
    local = _local(inputs, tmp_path / "local", zoo)
    events: list[str] = []
    remote = _on_cluster(inputs, tmp_path / "remote", zoo, address,
                         run={"on_event": lambda ev: events.append(ev.file.status)})
    assert [f.status for f in remote.files] == [f.status for f in local.files] \
        == ["done"] * 4 + ["failed"]
    assert remote.files[4].reason == local.files[4].reason  # the same one-line reason
    assert _digests(tmp_path / "remote") == _digests(tmp_path / "local")
    assert "cluster" in remote.device and "CPU" in remote.device
    assert events.count("done") == 4 and events.count("failed") == 1
    report = json.loads((tmp_path / "remote" / "limelight-batch-report.json").read_text())
    assert report["state"] == "finished" and report["options"]["cluster"] == address
    assert report["summary"]["done"] == 4 and report["summary"]["failed"] == 1
    # resumed: the outputs still there are skipped, the missing ones are made again
    for name in ("img01.jpg", "img03.jpg"):
        (tmp_path / "remote" / name).unlink()
    again = _on_cluster(inputs, tmp_path / "remote", zoo, address, on_exists="skip")
    assert [f.status for f in again.files] == ["skipped", "done", "skipped", "done", "failed"]
    assert _digests(tmp_path / "remote") == _digests(tmp_path / "local")


def test_a_worker_killed_mid_batch_loses_nothing(cluster: object, zoo: Path,
                                                 tmp_path: Path) -> None:
    address = cluster.scheduler_address  # type: ignore[attr-defined]
    inputs = _photos(tmp_path / "in", 8, (900, 1200), seed=3)
    reference = _local(inputs, tmp_path / "local", zoo)
    assert reference.ok
    killed: dict[str, object] = {}
    control = distributed.Client(address, timeout=20)

    def kill_one(ev: object) -> None:
        if killed or ev.file.status != "done":  # type: ignore[attr-defined]
            return
        busy = {w: keys for w, keys in control.processing().items() if keys}
        victim = sorted(busy)[0] if busy else sorted(control.processing())[0]
        pid = control.run(os.getpid, workers=[victim])[victim]
        killed.update(worker=victim, pid=pid, tasks=list(busy.get(victim, ())))
        os.kill(pid, signal.SIGKILL)

    try:
        result = _on_cluster(inputs, tmp_path / "remote", zoo, address,
                             run={"on_event": kill_one})
    finally:
        control.close()
    assert killed and killed["tasks"], "no task was running on the killed worker"
    with pytest.raises(ProcessLookupError):
        os.kill(killed["pid"], 0)  # type: ignore[arg-type]
    assert [f.status for f in result.files] == ["done"] * 8, [f.reason for f in result.files]
    # every output exactly once, whole and identical to the local batch's; no temp left
    assert _digests(tmp_path / "remote") == _digests(tmp_path / "local")
    assert not [p for p in (tmp_path / "remote").iterdir() if p.name.startswith(TEMP_PREFIX)]
    report = json.loads((tmp_path / "remote" / "limelight-batch-report.json").read_text())
    assert report["summary"]["done"] == 8 and report["state"] == "finished"


def test_cancel_stops_the_cluster_batch_and_keeps_outputs_whole(cluster: object, zoo: Path,
                                                                 tmp_path: Path) -> None:
    """Ctrl-C (the CancelToken) on a cluster batch: photos not started are cancelled, the
    ones done are whole, nothing temporary is left, the report says "interrupted"."""
    from limelight.core.batch import CancelToken

    address = cluster.scheduler_address  # type: ignore[attr-defined]
    inputs = _photos(tmp_path / "in", 8, (600, 800), seed=5)
    reference = _local(inputs, tmp_path / "local", zoo)
    token = CancelToken()

    def stop(ev: object) -> None:
        if ev.file.status == "done":  # type: ignore[attr-defined]
            token.cancel("interrupted")

    result = _on_cluster(inputs, tmp_path / "remote", zoo, address,
                         run={"on_event": stop, "cancel": token})
    statuses = [f.status for f in result.files]
    assert result.cancelled and "cancelled" in statuses and statuses.count("done") >= 1
    assert set(statuses) <= {"done", "cancelled"}
    want = _digests(tmp_path / "local")
    got = _digests(tmp_path / "remote")
    assert set(got) == {f.output.name for f in result.files if f.status == "done"}
    assert all(got[name] == want[name] for name in got) and reference.ok
    report = json.loads((tmp_path / "remote" / "limelight-batch-report.json").read_text())
    assert report["state"] == "interrupted"


def test_a_worker_without_the_clients_model_stops_the_batch_before_any_photo(
        cluster: object, tmp_path: Path) -> None:
    """The workers load the model themselves: one that differs from the client's (here:
    changed on disk after the client checked it) is named, before any output is written."""
    from bench.tinyzoo import build_tiny_zoo

    zoo = build_tiny_zoo(tmp_path / "zoo")
    engine = Engine(zoo, device="cpu")
    info = engine.model()
    engine.session(None)  # the client's check passes
    info.path.write_bytes(info.path.read_bytes() + b"\0")  # what the workers will see
    inputs = _photos(tmp_path / "in", 2, (40, 60))
    job = BatchJob(tuple(inputs), tmp_path / "out", RECIPE,
                   cluster=cluster.scheduler_address)  # type: ignore[attr-defined]
    with pytest.raises(BatchError, match=r"the worker tcp://\S+ cannot run the model: .*"):
        run_batch(job, engine)
    assert not list((tmp_path / "out").glob("*.jpg"))


def test_cli_cluster_local(zoo: Path, tmp_path: Path) -> None:
    """``limelight batch --cluster local:1`` from the command line: summary and exit code;
    ``--jobs`` with ``--cluster`` is a usage error."""
    inputs = _photos(tmp_path / "in", 2, (60, 90))
    cmd = [sys.executable, "-m", "limelight.cli", "batch", str(tmp_path / "in"), "--out",
           str(tmp_path / "out"), "--zoo", str(zoo), "--device", "cpu", "--ellipse",
           "0.5,0.5,0.3,0.3"]
    proc = subprocess.run([*cmd, "--cluster", "local:1", "--jobs", "2"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "--jobs" in proc.stderr
    proc = subprocess.run([*cmd, "--cluster", "local:1"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "2 done, 0 skipped, 0 failed" in proc.stdout and "cluster" in proc.stdout
    assert sorted(p.name for p in (tmp_path / "out").glob("*.jpg")) == \
        sorted(p.name for p in inputs)
