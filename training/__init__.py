"""Offline training: datasets, rewards, Dr.GRPO, on-policy distillation, evaluation (built by the training issue;
nothing here yet)."""
