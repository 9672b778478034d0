"""The student LLM through transformers on CPU: batched greedy generation with left padding and the KV cache."""

from __future__ import annotations

import logging
from pathlib import Path

from models.generators.base import Generation, QueryGenerator, UserContext
from models.parsing import InvalidOutput, grounded, parse_queries
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

    def complete(self, prompts: list[str], temperature: float = 0.0) -> list[str]:
        """Completions of already-templated prompts in batches of ``cfg.batch_size``: greedy at temperature 0."""
        sampling = {"do_sample": True, "temperature": temperature, "top_p": 0.95} if temperature > 0 else {
            "do_sample": False}
        outputs = []
        for start in range(0, len(prompts), self.cfg.batch_size):
            chunk = prompts[start:start + self.cfg.batch_size]
            inputs = self.tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False)
            with self.torch.inference_mode():
                generated = self.model.generate(
                    **inputs, max_new_tokens=self.cfg.max_new_tokens, use_cache=True, **sampling,
                    pad_token_id=self.tokenizer.pad_token_id, repetition_penalty=self.cfg.repetition_penalty,
                )
            new_tokens = generated[:, inputs["input_ids"].shape[1]:]
            outputs.extend(self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
        return outputs

    def _parse(self, raw: str, context: UserContext) -> Generation:
        try:
            queries = parse_queries(raw, self.cfg.num_queries)
        except InvalidOutput as exc:
            return Generation([], raw, str(exc))
        kept = grounded(queries, [s["text"] for s in context.history])
        return Generation(kept, raw, "" if kept else f"no query relates to the user's signals: {queries}")

    def generate(self, contexts: list[UserContext]) -> list[Generation]:
        prompts = self.prompts(contexts)
        results = [self._parse(raw, c) for raw, c in zip(self.complete(prompts), contexts)]
        failed = [i for i, g in enumerate(results) if not g.queries]
        if failed and self.cfg.retry_temperature > 0:
            retried = self.complete([prompts[i] for i in failed], temperature=self.cfg.retry_temperature)
            for i, raw in zip(failed, retried):
                results[i] = self._parse(raw, contexts[i])
        for context, result in zip(contexts, results):
            if not result.queries:
                log.warning("no valid queries for %s after a sampled retry: %s", context.user_id, result.error)
        return results
