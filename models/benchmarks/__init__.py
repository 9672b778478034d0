"""Benchmarks of the generator side that run the real student (``python -m models.benchmarks.<name>``)."""
