"""The image core: I/O, masks, recipes, inference engine, recomposition, full resolution.

Imports numpy, OpenCV, Pillow and ONNX Runtime only (an import-linter contract checks it).
Images in the core are ``img``: float32, HWC, RGB, in [0, 1], unless a name says otherwise.
"""

import os

# ONNX Runtime 1.31 starts a telemetry client when it is imported: it writes a device ID under
# $XDG_CACHE_HOME (or ~/.cache)/Microsoft and, where it cannot (a user whose HOME is not
# writable, a read-only cache), prints "[W:onnxruntime...] Failed to persist telemetry device
# ID" on stderr, a warning about nothing Limelight does (issue #17, item 8). Limelight sends
# nothing anywhere: off before any onnxruntime import (all of them sit under limelight.core or
# after it); a user's own ORT_DISABLE_TELEMETRY setting wins.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

