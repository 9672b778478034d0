"""Benchmarks of the stream side (``interests bench load``); results are written to ``results/`` beside them."""
