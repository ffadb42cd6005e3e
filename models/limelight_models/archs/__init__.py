"""limelight_models.archs"""
