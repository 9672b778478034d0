"""Benchmarks of the stream side (``interests stream load``); results are written to ``results/`` beside them."""
