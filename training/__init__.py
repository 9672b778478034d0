"""Offline training and evaluation: the simulated benchmark, rewards, the Dr.GRPO teacher, on-policy distillation,
the scaling study, the retraining job and the benchmark report."""
