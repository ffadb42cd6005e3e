"""Training data: paired folders, synthetic pairs, the mask sampler, augmentation."""
