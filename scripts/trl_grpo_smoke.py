"""Does TRL's GRPOTrainer run a whole Dr.GRPO step with the pinned stack (torch 2.13.0, transformers 5.17.0) on a CPU?

TRL is not in the lock; install it beside the environment first (no dependency changes):

    .venv/bin/python -m pip install --target /tmp/trl --no-deps trl==1.16.0 datasets==4.7.0 dill multiprocess xxhash
    PYTHONPATH=/tmp/trl:. .venv/bin/python scripts/trl_grpo_smoke.py

A tiny random Llama (tests/tiny_models.py, not the student) and a length reward: two steps of
GRPOConfig(loss_type="dr_grpo", scale_rewards="none", use_cpu=True). It checks that the trainer runs, not what it
learns; the teacher is trained by the project's own loop (training/grpo.py).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer

from tests.tiny_models import save_tiny_llama


def length_reward(prompts, completions, **kwargs) -> list[float]:
    return [min(len(c.split()), 5) / 5 for c in completions]


def main() -> None:
    folder = save_tiny_llama(Path(tempfile.mkdtemp()), manifest={"name": "tiny", "version": "smoke"})
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(folder)
    prompts = Dataset.from_dict({"prompt": ["storm warning coast", "fed interest rates", "sourdough starter",
                                            "spacex launch"] * 2})
    cfg = GRPOConfig(output_dir=tempfile.mkdtemp(), loss_type="dr_grpo", scale_rewards="none", use_cpu=True,
                     per_device_train_batch_size=4, num_generations=4, max_completion_length=8, max_steps=2,
                     beta=0.0, report_to=[], logging_steps=1, save_strategy="no")
    trainer = GRPOTrainer(model=model, reward_funcs=[length_reward], args=cfg, train_dataset=prompts,
                          processing_class=tokenizer)
    started = time.time()
    result = trainer.train()
    print(f"GRPOTrainer (dr_grpo, scale_rewards=none, cpu): {result.global_step} steps in "
          f"{time.time() - started:.1f} s; last log {trainer.state.log_history[-2]}")


if __name__ == "__main__":
    main()
