"""Training, evaluation and ONNX export of Limelight's networks (the only torch user).

The wheel carries this package so that ``pip install 'limelight[train]'`` trains from an
installed copy; without PyTorch its import fails at once with what to install, instead of a
bare ``No module named 'torch'`` from whichever submodule comes first.
"""

from importlib.util import find_spec

TORCH_MISSING = "limelight_models needs PyTorch: pip install 'limelight[train]'"

if find_spec("torch") is None:
    raise ImportError(TORCH_MISSING, name="torch")
