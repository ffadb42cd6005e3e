"""limelight_models.losses"""
