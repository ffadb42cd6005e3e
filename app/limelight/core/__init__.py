"""The image core: I/O, masks, recipes, inference engine, recomposition, full resolution.

Imports numpy, OpenCV, Pillow and ONNX Runtime only (an import-linter contract checks it).
Images in the core are ``img``: float32, HWC, RGB, in [0, 1], unless a name says otherwise.
"""
