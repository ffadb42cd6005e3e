"""Data shipped with Limelight: the model zoo, the sample photo, icons (no code)."""
