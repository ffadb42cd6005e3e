"""Tiny hand-built ONNX models, one per family, for tests and the benchmark.

They are *not* enhancement models: each output is a simple closed-form function of the image
and the mask (e.g. ``illumination = clip(0.2 + 0.6 * blockmean(mean_c(image)) + 0.2 * (1 -
mask[1]))``) so that tests can check that the engine feeds both inputs, pads and crops, and
that the recomposition and compositing behave. Their names start with ``tiny-`` and their
conversion is ``synthetic`` so that nothing here can be mistaken for a trained model.

Needs the ``onnx`` package (the ``dev``/``train`` extras), never torch; the app never imports
this module (it lives in the benchmark package, which does not ship).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from limelight.core.zoo import sha256_file

OPSET = 17
#: Block size of the pooling in the retinex/fusion models: their H and W must be multiples of it.
BLOCK = 4


class _Graph:
    """A few helpers over ``onnx.helper`` that name intermediate tensors automatically."""

    def __init__(self) -> None:
        import onnx.helper as oh  # imported here: onnx is an optional (dev/train) dependency

        self.oh = oh
        self.nodes: list = []
        self.inits: list = []
        self._n = 0

    def _name(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}_{self._n}"

    def const(self, value: float | list[int], dtype: str = "float") -> str:
        from onnx import numpy_helper

        arr = np.asarray(value, dtype=np.float32 if dtype == "float" else np.int64)
        name = self._name("c")
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type: str, *inputs: str, out: str | None = None, **attrs: object) -> str:
        out = out or self._name(op_type.lower())
        self.nodes.append(self.oh.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def add(self, a: str, b: str, out: str | None = None) -> str:
        return self.op("Add", a, b, out=out)

    def mul(self, a: str, b: str, out: str | None = None) -> str:
        return self.op("Mul", a, b, out=out)

    def affine(self, x: str, scale: float, offset: float, out: str | None = None) -> str:
        return self.add(self.mul(x, self.const(scale)), self.const(offset), out=out)

    def clip(self, x: str, lo: float, hi: float, out: str | None = None) -> str:
        return self.op("Clip", x, self.const(lo), self.const(hi), out=out)

    def block_mean(self, x: str) -> str:
        """Mean over BLOCK x BLOCK blocks, repeated back to full size (needs H, W % BLOCK == 0)."""
        pooled = self.op("AveragePool", x, kernel_shape=[BLOCK, BLOCK], strides=[BLOCK, BLOCK])
        scales = self.const([1.0, 1.0, float(BLOCK), float(BLOCK)])
        return self.op("Resize", pooled, "", scales, mode="nearest")


def _common(g: _Graph) -> tuple[str, str, str]:
    """(m1 = mask channel 1 (N,1,H,W), lum = channel mean (N,1,H,W), one_minus_image)."""
    m1 = g.op("Slice", "mask", g.const([1], "int"), g.const([2], "int"), g.const([1], "int"))
    lum = g.op("ReduceMean", "image", axes=[1], keepdims=1)
    inv = g.affine("image", -1.0, 1.0)
    return m1, lum, inv


def _illumination(g: _Graph, m1: str, lum: str, out: str) -> str:
    outside = g.affine(m1, -0.2, 0.2)  # 0.2 * (1 - m1)
    base = g.affine(g.block_mean(lum), 0.6, 0.2)
    return g.clip(g.add(base, outside), 0.02, 1.0, out=out)


def _retinex(g: _Graph) -> None:
    m1, lum, _ = _common(g)
    _illumination(g, m1, lum, "illumination")


def _curve(g: _Graph) -> None:
    m1, _, inv = _common(g)
    a = g.mul(g.mul(inv, m1), g.const(0.8))
    g.op("Concat", a, g.mul(a, g.const(0.5)), axis=1, out="curve")


def _fusion(g: _Graph) -> None:
    m1, lum, inv = _common(g)
    _illumination(g, m1, lum, "illumination")
    g.clip(g.affine(lum, -0.4, 1.0), 0.02, 1.0, out="illumination_inv")
    logits = g.op("Concat", g.affine(m1, -1.0, 0.0), g.add(m1, lum), g.mul(lum, g.const(0.5)),
                  axis=1)
    g.op("Softmax", logits, axis=1, out="weights")
    g.mul(g.op("Sub", "image", lum), g.mul(m1, g.const(-0.02)), out="noise")
    g.mul(g.mul("image", m1), g.const(0.01), out="refine")


def _residual(g: _Graph) -> None:
    m1, lum, inv = _common(g)
    gain = g.affine(lum, 1.0, 0.5)
    g.mul(g.mul(g.mul(inv, m1), gain), g.const(0.5), out="residual")


_FAMILY: dict[str, tuple[Callable[[_Graph], None], dict[str, int], int]] = {
    # family: (builder, output channels, pad_multiple)
    "retinex": (_retinex, {"illumination": 1}, BLOCK),
    "curve": (_curve, {"curve": 6}, 1),
    "fusion": (
        _fusion,
        {"illumination": 1, "illumination_inv": 1, "weights": 3, "noise": 3, "refine": 3},
        BLOCK,
    ),
    "residual": (_residual, {"residual": 3}, 1),
}


def build_model(family: str, path: Path) -> tuple[tuple[str, ...], int]:
    """Writes the tiny ONNX model of ``family`` to ``path``; returns (outputs, pad_multiple)."""
    import onnx
    from onnx import TensorProto

    builder, outputs, pad = _FAMILY[family]
    g = _Graph()
    builder(g)
    oh = g.oh
    dims = ["n", None, "h", "w"]  # the contract's free dimensions (engine.DIMENSIONS)
    inputs = [
        oh.make_tensor_value_info("image", TensorProto.FLOAT, [dims[0], 3, dims[2], dims[3]]),
        oh.make_tensor_value_info("mask", TensorProto.FLOAT, [dims[0], 2, dims[2], dims[3]]),
    ]
    outs = [
        oh.make_tensor_value_info(name, TensorProto.FLOAT, ["n", ch, "h", "w"])
        for name, ch in outputs.items()
    ]
    graph = oh.make_graph(g.nodes, f"tiny_{family}", inputs, outs, g.inits)
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return tuple(outputs), pad


def build_tiny_zoo(
    root: Path, *, working_resolution: int = 64, default: str = "tiny-fusion"
) -> Path:
    """Writes one tiny model per family and ``manifest.json`` (real sha256) into ``root``."""
    root = Path(root)
    entries = []
    for family in _FAMILY:
        name = f"tiny-{family}"
        path = root / f"{name}.onnx"
        outputs, pad = build_model(family, path)
        entries.append(
            {
                "name": name,
                "file": path.name,
                "backbone": f"tiny_{family}",
                "conversion": "synthetic",
                "family": family,
                "inputs": ["image", "mask"],
                "outputs": list(outputs),
                "working_resolution": working_resolution,
                "pad_multiple": pad,
                "sha256": sha256_file(path),
                "params": 0,
            }
        )
    doc = {"schema": 1, "default": default, "models": entries}
    (root / "manifest.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return root
