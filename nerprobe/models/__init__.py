"""Model specs and aliases, loading base + adapter, predictors, generation cache, training."""
