"""Training, evaluation and ONNX export of Limelight's networks (the only torch user)."""
