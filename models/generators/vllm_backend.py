"""The student LLM through vLLM on a GPU: the same interface and output handling as the transformers backend.

Each :meth:`VLLMGenerator.generate` call renders the prompts with the model's chat template and hands the whole batch
to one ``llm.generate(prompts, SamplingParams(...))`` call; vLLM schedules the sequences itself (continuous batching,
paged KV cache, prefix caching of the shared system prompt), so ``cfg.batch_size`` does not split the batch here.

``n == 1`` is greedy (temperature 0) with one sampled retry for a user whose output is invalid, as on CPU; ``n > 1``
draws ``n`` samples per user at ``temperature`` (``SamplingParams(n=...)``) and keeps them all in
:attr:`Generation.candidates` for :class:`models.bestofn.BestOfN`. Parsing and the grounding check are those of
:mod:`models.generators.transformers_backend`.

vLLM is an optional extra: importing this module without it raises ``ImportError`` naming
``pip install 'interests[vllm]'``.
"""

from __future__ import annotations

import logging
from pathlib import Path

try:
    import vllm
except ImportError as exc:  # pragma: no cover - the branch taken depends on the machine
    raise ImportError(
        "the vLLM backend needs vLLM, an optional extra of this project (a CUDA GPU machine): "
        "pip install 'interests[vllm]'"
    ) from exc

from models.generators.base import Generation, QueryGenerator, UserContext
from models.generators.transformers_backend import generation_from_samples, single_generation, with_prompt_contract
from models.prompt import chat_prompts
from models.student import model_version

log = logging.getLogger(__name__)


class VLLMGenerator(QueryGenerator):
    """The student through ``vllm.LLM``.

    ``cfg`` is a :class:`models.config.GeneratorConfig` (or anything with its fields: ``num_queries``,
    ``max_new_tokens``, ``max_prompt_signals``, ``repetition_penalty``, ``retry_temperature``). The vLLM-only knobs
    are constructor arguments: ``n`` samples per user, their ``temperature`` and ``top_p``, the weights' ``dtype``
    (None = ``cfg.dtype``, i.e. ``INTERESTS_GEN_DTYPE``, as the transformers backend),
    the share of GPU memory vLLM may take (``gpu_memory_utilization``), ``max_model_len`` (None = the model's),
    ``seed``, and ``llm_kwargs`` passed on to ``vllm.LLM``.
    """

    def __init__(self, model_dir: Path, cfg, n: int = 1, temperature: float = 0.8, top_p: float = 0.95,
                 dtype: str | None = None, gpu_memory_utilization: float = 0.9, max_model_len: int | None = 4096,
                 seed: int | None = 0, llm_kwargs: dict | None = None):
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if n > 1 and temperature <= 0:
            raise ValueError("n > 1 samples need a temperature > 0 (greedy decoding would repeat one output)")
        self.cfg = with_prompt_contract(cfg, model_dir)  # the prompt the model was trained on
        self.n, self.temperature, self.top_p, self.seed = n, temperature, top_p, seed
        dtype = dtype or getattr(cfg, "dtype", None) or "auto"
        kwargs = {"model": str(model_dir), "dtype": dtype, "gpu_memory_utilization": gpu_memory_utilization}
        if max_model_len:
            kwargs["max_model_len"] = max_model_len
        if seed is not None:
            kwargs["seed"] = seed
        kwargs.update(llm_kwargs or {})
        self.llm = vllm.LLM(**kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self.version = model_version(model_dir)

    def prompts(self, contexts: list[UserContext]) -> list[str]:
        return chat_prompts(self.tokenizer, [c.history for c in contexts], self.cfg.num_queries,
                            self.cfg.max_prompt_signals, getattr(self.cfg, "prompt_contract", "chat"))

    def sampling_params(self, temperature: float = 0.0, n: int = 1):
        """``vllm.SamplingParams`` for ``n`` completions per prompt (greedy at temperature 0)."""
        if n > 1 and temperature <= 0:
            raise ValueError("n > 1 completions per prompt need a temperature > 0")
        extra = {"top_p": self.top_p} if temperature > 0 else {}
        return vllm.SamplingParams(n=n, temperature=temperature, max_tokens=self.cfg.max_new_tokens,
                                   repetition_penalty=self.cfg.repetition_penalty, skip_special_tokens=True, **extra)

    def complete(self, prompts: list[str], temperature: float = 0.0, n: int = 1) -> list[str]:
        """Completions of already-templated prompts in one ``llm.generate`` call: ``n`` per prompt, returned prompt
        by prompt (prompt ``i``'s at ``[i * n, (i + 1) * n)``)."""
        if not prompts:
            return []
        outputs = self.llm.generate(prompts, self.sampling_params(temperature, n), use_tqdm=False)
        if len(outputs) != len(prompts):
            raise RuntimeError(f"vLLM returned {len(outputs)} results for {len(prompts)} prompts")
        texts = []
        for output in outputs:
            completions = list(output.outputs)
            if len(completions) != n:
                raise RuntimeError(f"vLLM returned {len(completions)} completions for a prompt, expected {n}")
            texts.extend(c.text for c in completions)
        return texts

    def generate(self, contexts: list[UserContext]) -> list[Generation]:
        prompts = self.prompts(contexts)
        mend = getattr(self.cfg, "mend_words", False)
        if self.n > 1:
            raws = self.complete(prompts, temperature=self.temperature, n=self.n)
            results = [generation_from_samples(raws[i * self.n:(i + 1) * self.n], c, self.cfg.num_queries, mend)
                       for i, c in enumerate(contexts)]
        else:
            results = [single_generation(raw, c, self.cfg.num_queries, mend)
                       for raw, c in zip(self.complete(prompts), contexts)]
            failed = [i for i, g in enumerate(results) if not g.queries]
            if failed and self.cfg.retry_temperature > 0:
                retried = self.complete([prompts[i] for i in failed], temperature=self.cfg.retry_temperature)
                for i, raw in zip(failed, retried):
                    results[i] = single_generation(raw, contexts[i], self.cfg.num_queries, mend)
        for context, result in zip(contexts, results):
            if not result.queries:
                log.warning("no valid queries for %s: %s", context.user_id, result.error)
        return results

    def close(self) -> None:
        self.llm = None  # vLLM frees the GPU memory when the engine is collected
