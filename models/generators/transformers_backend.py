"""The student LLM through transformers on CPU: batched greedy generation with left padding and the KV cache."""

from __future__ import annotations

import logging
from pathlib import Path

from models.generators.base import Generation, QueryGenerator, UserContext
from models.parsing import InvalidOutput, parse_queries
from models.prompt import build_messages

log = logging.getLogger(__name__)


class TransformersGenerator(QueryGenerator):
    def __init__(self, model_dir: Path, cfg):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if cfg.torch_threads:
            torch.set_num_threads(cfg.torch_threads)
        self.cfg = cfg
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.tokenizer.padding_side = "left"  # decoder-only: pad on the left so every row ends at its prompt
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        self.model.eval()
        manifest = Path(model_dir) / "manifest.json"
        if manifest.exists():
            import json

            meta = json.loads(manifest.read_text())
            self.version = f"{meta['name']}@{meta['version']}"
        else:
            self.version = f"{Path(model_dir).name}@unversioned"

    def prompts(self, contexts: list[UserContext]) -> list[str]:
        return [
            self.tokenizer.apply_chat_template(
                build_messages(c.history, self.cfg.num_queries, self.cfg.max_prompt_signals),
                add_generation_prompt=True, tokenize=False,
            )
            for c in contexts
        ]

    def complete(self, prompts: list[str]) -> list[str]:
        """Greedy completions of already-templated prompts, in batches of ``cfg.batch_size``."""
        outputs = []
        for start in range(0, len(prompts), self.cfg.batch_size):
            chunk = prompts[start:start + self.cfg.batch_size]
            inputs = self.tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False)
            with self.torch.inference_mode():
                generated = self.model.generate(
                    **inputs, max_new_tokens=self.cfg.max_new_tokens, do_sample=False, use_cache=True,
                    pad_token_id=self.tokenizer.pad_token_id, repetition_penalty=1.2,
                )
            new_tokens = generated[:, inputs["input_ids"].shape[1]:]
            outputs.extend(self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
        return outputs

    def generate(self, contexts: list[UserContext]) -> list[Generation]:
        results = []
        for context, raw in zip(contexts, self.complete(self.prompts(contexts))):
            try:
                results.append(Generation(parse_queries(raw, self.cfg.num_queries), raw))
            except InvalidOutput as exc:
                log.warning("no valid queries for %s: %s", context.user_id, exc)
                results.append(Generation([], raw, str(exc)))
        return results
