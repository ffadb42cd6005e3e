"""The inference engine: ONNX Runtime sessions cached per model, device choice and report.

``Engine.run(model, img, mask)`` runs one model on one image and mask at the size given (the
caller chooses proxy or working resolution), padding H and W to the model's ``pad_multiple``
by reflection and cropping the maps back, and returns them as a frozen ``Maps``.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import logging
import os
import platform
import re
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from limelight.core.atomic import atomic_path
from limelight.core.errors import ModelError
from limelight.core.recompose import FAMILIES
from limelight.core.zoo import ModelInfo, Zoo, load_zoo

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")
#: The names of the inputs' free dimensions (batch, height, width) in the ONNX contract.
DIMENSIONS = ("n", "h", "w")
#: Sessions for one input size an engine keeps, all models together (``Engine.run``), the
#: least recently used dropped first: a batch of mixed aspect ratios does not pile them up.
SHAPED_SESSIONS = 4
_PROVIDERS = {"CUDA": "CUDAExecutionProvider", "CPU": "CPUExecutionProvider"}

#: A 65-byte ONNX model (one Identity node, x -> y, float[1]; opset 17) made with
#: ``onnx.helper``: enough to ask ONNX Runtime whether a provider really works here, without
#: needing the ``onnx`` package or any installed model.
_PROBE_MODEL = bytes.fromhex(
    "08083a370a100a017812017922084964656e746974791201675a0f0a0178120a0a08080112040a02"
    "0801620f0a0179120a0a08080112040a02080142040a001011"
)
_device_cache: dict[str, bool] = {}
_device_problem: dict[str, str] = {}
_device_lock = threading.Lock()
#: What 'pip install limelight[cuda]' adds: the CUDA and cuDNN wheels ONNX Runtime needs.
CUDA_HINT = "pip install 'limelight[cuda]'"


def _quiet_session(model: bytes | str, providers: list[str], threads: int | None, *,
                   optimize: bool = True, save_to: str | None = None,
                   shape: tuple[int, int] | None = None):
    """An InferenceSession whose provider-loading failures are not printed to stderr.
    ``optimize`` False: the model is already optimised (``optimized_cache``); ``save_to``:
    where ORT writes the optimised model; ``shape``: the (height, width) of every input, so
    that ORT folds the graph's size arithmetic into constants (``Engine.run``)."""
    so = ort.SessionOptions()
    so.log_severity_level = 3
    if shape is not None:  # the contract's free dimensions (limelight_models.export)
        for name, size in zip(DIMENSIONS, (1, *shape), strict=True):
            so.add_free_dimension_override_by_name(name, size)
    if not optimize:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if save_to:
        so.optimized_model_filepath = save_to
    # Idle ORT threads spin by default; on a busy machine (batch jobs, the GUI, other apps)
    # that burns the cores the other work needs.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        so.intra_op_num_threads = int(threads)
        so.inter_op_num_threads = 1
    # onnxruntime-gpu prints an error when it cannot load the CUDA libraries; we check the
    # providers of the session ourselves and log the fallback instead.
    ort.set_default_logger_severity(4)
    try:
        return ort.InferenceSession(model, so, providers=providers)
    finally:
        ort.set_default_logger_severity(2)


def _preload_cuda_libraries() -> list[str]:
    """Loads the CUDA and cuDNN libraries of the pip wheels (the ``cuda`` extra) so that
    ONNX Runtime's CUDA provider finds them (``onnxruntime.preload_dlls``, which prints
    instead of raising); returns the libraries it could not load."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is None or sys.platform == "darwin":
        return []
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            preload()
    except Exception as exc:  # noqa: BLE001 - only a diagnosis
        log.info("onnxruntime.preload_dlls failed: %s", exc)
    return sorted(set(re.findall(r"Failed to load (?:\S*/)?([^\s/:]+):", out.getvalue())))


def _driver_missing() -> bool:
    """True when the NVIDIA driver's library cannot be loaded (no driver, or no GPU)."""
    names = ("nvcuda.dll",) if sys.platform == "win32" else ("libcuda.so.1",)
    for name in names:
        try:
            ctypes.CDLL(name)
            return False
        except OSError:
            continue
    return True


def _cpu_signature() -> str:
    """What an ORT-optimised CPU model depends on: the CPU's instruction sets."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def optimized_cache(info: ModelInfo, shape: tuple[int, int] | None = None) -> Path | None:
    """Where the CPU session's optimised graph of ``info`` is cached (None: no caching,
    ``LIMELIGHT_ORT_CACHE=0``). The key holds the model's sha256, ONNX Runtime's version
    and the CPU's instruction sets, since the optimised graph is specific to all three."""
    if os.environ.get("LIMELIGHT_ORT_CACHE", "1") == "0":
        return None
    from platformdirs import user_cache_dir

    key = hashlib.sha256(f"{info.sha256}|{ort.__version__}|{platform.machine()}|"
                         f"{_cpu_signature()}".encode()).hexdigest()[:20]
    size = "" if shape is None else f"-{shape[0]}x{shape[1]}"
    return Path(user_cache_dir("limelight")) / "ort" / f"{info.name}{size}-{key}.onnx"


def _cached_cpu_session(info: ModelInfo, providers: list[str], threads: int | None,
                        shape: tuple[int, int] | None = None) -> Any:
    """A CPU session of ``info`` (for inputs of ``shape`` only, when given) from its cached
    optimised graph, which is made (and saved atomically) the first time: a model's start-up
    then skips ORT's graph optimisation (about half of its load time measured on the shipped
    default model); the graph and so the maps are the same."""
    cache = optimized_cache(info, shape)
    if cache is not None and cache.is_file():
        try:
            return _quiet_session(str(cache), providers, threads, optimize=False, shape=shape)
        except Exception as exc:  # a damaged cache file: made again below
            log.info("ignoring the cached optimised model %s: %s", cache, exc)
            cache.unlink(missing_ok=True)
    if cache is None:
        return _quiet_session(str(info.path), providers, threads, shape=shape)
    sess = None
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cache, sync=False) as tmp:
            sess = _quiet_session(str(info.path), providers, threads, save_to=str(tmp),
                                  shape=shape)
            if tmp.stat().st_size == 0:
                raise OSError("ONNX Runtime saved no optimised graph")
    except OSError as exc:  # e.g. another process holds the cache file (Windows)
        log.info("cannot cache the optimised model %s: %s", cache, exc)
    # the session is made anyway
    return sess if sess is not None else _quiet_session(str(info.path), providers, threads,
                                                        shape=shape)


def cuda_works() -> bool:
    """True when a CUDA session can really be created (not merely listed by the build);
    ``cuda_problem`` then says why not."""
    with _device_lock:
        if "CUDA" not in _device_cache:
            ok = False
            problem = ""
            if _PROVIDERS["CUDA"] not in ort.get_available_providers():
                problem = (f"this ONNX Runtime ({ort.__version__}) has no CUDA provider: "
                           f"install onnxruntime-gpu and its libraries with {CUDA_HINT}")
            else:
                missing = _preload_cuda_libraries()
                try:
                    s = _quiet_session(_PROBE_MODEL, [_PROVIDERS["CUDA"]], 1)
                    ok = s.get_providers()[0] == _PROVIDERS["CUDA"]
                except Exception as exc:  # ORT raises plain RuntimeError/Fail here
                    log.info("CUDA provider unusable: %s", exc)
                    first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
                else:
                    first = "the CUDA provider fell back to the CPU"
                if not ok:
                    problem = _cuda_sentence(missing, first)
            if not ok:
                log.info("CUDA is not usable (%s); using the CPU", problem)
            _device_cache["CUDA"] = ok
            _device_problem["CUDA"] = problem
        return _device_cache["CUDA"]


#: CUDA major version of the onnxruntime-gpu build -> (least driver, least compute capability)
_CUDA_NEEDS = {12: ("525", "5.2"), 13: ("580", "7.5")}


def cuda_requirements() -> str:
    """What this ONNX Runtime build's CUDA needs, e.g. 'an NVIDIA GPU of compute capability
    7.5 or newer and a driver for CUDA 13 (580 or newer)'."""
    try:
        from onnxruntime.capi.build_and_package_info import cuda_version  # type: ignore
        major = int(str(cuda_version).split(".")[0])
    except (ImportError, ValueError, AttributeError):
        major = 13
    driver, cc = _CUDA_NEEDS.get(major, _CUDA_NEEDS[13])
    return (f"an NVIDIA GPU of compute capability {cc} or newer and a driver for CUDA "
            f"{major} ({driver} or newer)")


def _cuda_sentence(missing: list[str], error: str) -> str:
    """Why the CUDA provider could not load, in one sentence, with what to do."""
    if _driver_missing():
        also = (f"; the CUDA libraries {', '.join(missing)} are missing too ({CUDA_HINT})"
                if missing else "")
        return (f"no NVIDIA driver is loaded (libcuda), so no GPU is usable here; CUDA needs "
                f"{cuda_requirements()}{also}")
    if missing:
        return (f"the CUDA libraries {', '.join(missing)} are missing: install them with "
                f"{CUDA_HINT}")
    return (f"ONNX Runtime's CUDA provider failed to start ({error or 'no reason given'}); "
            f"it needs {cuda_requirements()}")


def cuda_problem() -> str:
    """Why CUDA is not usable here, one sentence without a final full stop ('' when it
    works)."""
    cuda_works()
    return _device_problem.get("CUDA", "")


def available_devices() -> tuple[str, ...]:
    """Devices ONNX Runtime can actually run on here, best first: ``("CUDA", "CPU")`` or
    ``("CPU",)``."""
    return ("CUDA", "CPU") if cuda_works() else ("CPU",)


@dataclass(frozen=True)
class Maps:
    """One model's output for one image and mask.

    ``img``: (H, W, 3) float32 in [0, 1], the image the maps belong to; ``maps``: name ->
    (H, W, C) float32 (the family's maps, plus ``refine`` if exported); ``device``: ``"CUDA"``
    or ``"CPU"``; ``elapsed_ms``: wall time of the session run including padding.
    """

    model: ModelInfo
    family: str
    img: np.ndarray = field(repr=False, compare=False)
    maps: dict[str, np.ndarray] = field(repr=False, compare=False)
    device: str
    elapsed_ms: float


def to_nchw(x: np.ndarray) -> np.ndarray:
    """(H, W, C) -> contiguous (1, C, H, W) float32."""
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def from_nchw(x: np.ndarray) -> np.ndarray:
    """(1, C, H, W) -> contiguous (H, W, C) float32."""
    return np.ascontiguousarray(x[0].transpose(1, 2, 0), dtype=np.float32)


def _pad_amount(size: int, multiple: int) -> int:
    return (-size) % max(1, multiple)


def _pad_reflect(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """Pads the last two axes at the bottom/right by reflection (edge when too small)."""
    if ph == 0 and pw == 0:
        return x
    widths = [(0, 0)] * (x.ndim - 2) + [(0, ph), (0, pw)]
    h, w = x.shape[-2:]
    mode = "reflect" if ph < h and pw < w else "edge"
    return np.pad(x, widths, mode=mode)  # type: ignore[call-overload]


class RunCancelled(Exception):
    """An ``Engine.run`` stopped by its ``Cancel`` (not an error: nothing to report)."""


class Cancel:
    """Lets another thread stop an ``Engine.run`` in progress (ONNX Runtime's
    ``RunOptions.terminate``); the run then raises ``RunCancelled``. One use only."""

    def __init__(self) -> None:
        self.options = ort.RunOptions()

    def cancel(self) -> None:
        self.options.terminate = True

    @property
    def cancelled(self) -> bool:
        return bool(self.options.terminate)


class Engine:
    """Runs zoo models with ONNX Runtime; one cached session per model, and on the CPU one
    per input size at the model's working resolution (``run``).

    Args:
        zoo: a ``Zoo``, a zoo folder, or None for the shipped zoo.
        device: ``"auto"`` (CUDA when it really works, else CPU), ``"cpu"`` or ``"cuda"``
            (falls back to the CPU with a logged reason when CUDA is not usable).
        threads: ONNX Runtime intra-op threads per session (None: ORT's default, all cores);
            the batch runner divides the cores between parallel jobs with it.
    """

    def __init__(
        self, zoo: Zoo | Path | str | None = None, device: str = "auto", threads: int | None = None
    ) -> None:
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
        self.zoo = zoo if isinstance(zoo, Zoo) else load_zoo(Path(zoo) if zoo else None)
        self.requested_device = device
        self.threads = threads
        self._sessions: dict[str, tuple[Any, str]] = {}
        #: (model, padded height, padded width) -> session, least recently used first
        self._shaped: OrderedDict[tuple[str, int, int], tuple[Any, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._device: str | None = None

    @property
    def device(self) -> str:
        """``"CUDA"`` or ``"CPU"``: what the sessions actually use (probed if none exists)."""
        if self._device is None:
            want_cuda = self.requested_device in ("auto", "cuda")
            self._device = "CUDA" if want_cuda and cuda_works() else "CPU"
            if self.requested_device == "cuda" and self._device == "CPU":
                log.warning("CUDA was requested but is not usable here; running on the CPU")
        return self._device

    def model(self, name: str | None = None) -> ModelInfo:
        """The manifest entry of ``name`` (the default model when None)."""
        if not self.zoo.models:
            raise ModelError("no models installed", self.zoo.root / "manifest.json")
        return self.zoo.get(name)

    def session(self, name: str | None = None) -> tuple[ModelInfo, Any, str]:
        """(info, session, device) for a model; verifies its sha256 on first use."""
        info = self.model(name)
        with self._lock:
            if info.name not in self._sessions:
                self._sessions[info.name] = self._create(info)
            sess, device = self._sessions[info.name]
        return info, sess, device

    def prepare(self, name: str | None, height: int, width: int) -> None:
        """Loads the session ``run`` uses for a (height, width) image, ahead of the run (the
        CLI overlaps it with the imports and the decoding). Raises ModelError."""
        self._session_for(name, height, width)

    def _session_for(self, name: str | None, height: int, width: int
                     ) -> tuple[ModelInfo, Any, str]:
        """(info, session, device) for a (height, width) image: on the CPU, an image at the
        model's working resolution (the export's network pass) gets a session made for its
        padded size, in which ORT has folded the graph's size arithmetic (two thirds of the
        shipped default's nodes) into constants: it starts in ~0.03 s from its cached graph
        instead of ~0.2 s. The choice depends on the size only, so every path that runs an
        image of one size (export, batch, cluster, the editor's 1:1 view) uses the same
        graph; other sizes (the editor's previews) share the model's general session."""
        info = self.model(name)
        if self.device != "CPU" or max(height, width) != info.working_resolution:
            return self.session(name)
        key = (info.name, height + _pad_amount(height, info.pad_multiple),
               width + _pad_amount(width, info.pad_multiple))
        with self._lock:
            if key not in self._shaped:
                self._shaped[key] = self._create(info, key[1:])
                while len(self._shaped) > SHAPED_SESSIONS:
                    self._shaped.popitem(last=False)
            self._shaped.move_to_end(key)
            sess, device = self._shaped[key]
        return info, sess, device

    def _create(self, info: ModelInfo, shape: tuple[int, int] | None = None
                ) -> tuple[Any, str]:
        info.verify()
        providers = [_PROVIDERS["CPU"]]
        if self.device == "CUDA":
            providers.insert(0, _PROVIDERS["CUDA"])
        try:
            if self.device == "CPU":
                sess = _cached_cpu_session(info, providers, self.threads, shape)
            else:
                sess = _quiet_session(str(info.path), providers, self.threads)
        except Exception as exc:
            raise ModelError(f"ONNX Runtime cannot load model {info.name!r}: {exc}",
                             info.path) from exc
        used = "CUDA" if sess.get_providers()[0] == _PROVIDERS["CUDA"] else "CPU"
        if used != self.device:
            log.warning("model %s fell back to the CPU (CUDA session could not start)",
                        info.name)
        names = {o.name for o in sess.get_outputs()}
        missing = [n for n in FAMILIES[info.family] if n not in names]
        if missing or {i.name for i in sess.get_inputs()} != {"image", "mask"}:
            raise ModelError(
                f"model {info.name!r} does not follow the ONNX contract (inputs image, mask; "
                f"missing outputs: {', '.join(missing) or 'none'})", info.path)
        log.info("loaded %s on %s", info.name, used)
        return sess, used

    def run(self, model: str | None, img: np.ndarray, mask: np.ndarray, *,
            cancel: Cancel | None = None) -> Maps:
        """Runs ``model`` (default when None) on one image.

        Args:
            img: (H, W, 3) float32 in [0, 1].
            mask: (2, H, W) float32 in [0, 1]: area A, and A ∪ B.
            cancel: lets another thread stop the run.
        Returns:
            ``Maps`` whose maps are (H, W, C) float32, cropped back to H x W.
        Raises:
            ModelError: unknown/missing/corrupted model, or the run failed.
            RunCancelled: ``cancel`` was used.
            ValueError: wrong shapes.
        """
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"img must be (H, W, 3), got {img.shape}")
        if mask.shape != (2, *img.shape[:2]):
            raise ValueError(f"mask must be (2, {img.shape[0]}, {img.shape[1]}), got {mask.shape}")
        h, w = img.shape[:2]
        info, sess, device = self._session_for(model, h, w)
        start = time.perf_counter()
        ph, pw = _pad_amount(h, info.pad_multiple), _pad_amount(w, info.pad_multiple)
        feeds = {
            "image": _pad_reflect(to_nchw(img), ph, pw),
            "mask": _pad_reflect(np.ascontiguousarray(mask, dtype=np.float32)[None], ph, pw),
        }
        try:
            if cancel is not None and cancel.cancelled:
                raise RunCancelled
            outs = sess.run(None, feeds, cancel.options if cancel is not None else None)
        except RunCancelled:
            raise
        except Exception as exc:
            if cancel is not None and cancel.cancelled:
                raise RunCancelled from exc
            raise ModelError(f"model {info.name!r} failed on a {w}x{h} image: {exc}",
                             info.path) from exc
        maps = {
            o.name: from_nchw(v[:, :, :h, :w]) for o, v in zip(sess.get_outputs(), outs, strict=True)
        }
        elapsed = (time.perf_counter() - start) * 1000.0
        return Maps(info, info.family, img.astype(np.float32, copy=False), maps, device, elapsed)
