"""Build and serve the demo world: the synthetic data systems of a fictional retailer."""
