"""limelight_models.data"""
