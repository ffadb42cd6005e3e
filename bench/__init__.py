"""Limelight's benchmarks and synthetic test models (a developer tool, not shipped).

``python -m bench [--quick] [--model NAME] [--zoo DIR]`` (from the repository root) prints
every speed and memory target in one run: the export and preview cases (``bench.export``)
and the batch cases (``bench.batch``). ``python -m bench.editor`` times the editor and
``bench.tinyzoo`` builds the tiny ONNX models the tests and the benchmark use when no model
is installed. Needs the ``dev`` extra (scikit-image, onnx); never torch.
"""
