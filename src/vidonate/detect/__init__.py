"""The theft detector: features, model, training, inference and its evaluation."""
