"""The engine on CUDA against the CPU: every model's maps within 1e-3 (max absolute
difference) on a photo-like image. Needs a working CUDA provider (``pip install
'limelight[cuda]'`` on an NVIDIA GPU): skipped elsewhere, with the reason
``limelight models`` gives. ``scripts/gpu_check.sh`` runs it on a GPU machine."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from limelight.core.engine import Engine, available_devices, cuda_problem
from limelight.core.masks import Ellipse, MaskSpec, derive_mask, rasterize_area_a

pytestmark = pytest.mark.cuda
TOLERANCE = 1e-3


def _inputs(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    img = cv2.resize(data.coffee(), (w, h)).astype(np.float32) * np.float32(0.35 / 255)
    area = rasterize_area_a(MaskSpec(shapes=(Ellipse(0.5, 0.5, 0.3, 0.3),)), h, w)
    return img, derive_mask(area, 0.06 * min(h, w), "outside")


@pytest.mark.parametrize("zoo_kind", ["shipped", "tiny"])
def test_cuda_maps_match_the_cpu(zoo_kind: str, tiny_zoo: Path) -> None:
    if "CUDA" not in available_devices():
        pytest.skip(f"CUDA is not usable here: {cuda_problem()}")
    zoo = None if zoo_kind == "shipped" else tiny_zoo
    cpu, gpu = Engine(zoo, device="cpu"), Engine(zoo, device="cuda")
    assert gpu.device == "CUDA"
    img, mask = _inputs(384, 576)
    worst = {}
    for info in cpu.zoo.models:
        a, b = cpu.run(info.name, img, mask), gpu.run(info.name, img, mask)
        assert b.device == "CUDA"
        for name, m in a.maps.items():
            worst[f"{info.name}.{name}"] = float(np.max(np.abs(m - b.maps[name])))
    print("max |CUDA - CPU| per map:", ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))
    assert worst and max(worst.values()) <= TOLERANCE, worst
