"""The one configuration object of the generator side. Fields read ``INTERESTS_GEN_<FIELD>`` from the environment
(e.g. ``INTERESTS_GEN_BACKEND=keyphrase``, ``INTERESTS_GEN_BATCH_SIZE=32``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from streams.config import _from_env, cache_dir


@dataclass(frozen=True)
class GeneratorConfig:
    backend: str = "smollm2"  # "smollm2" (student LLM, transformers on CPU) or "keyphrase" (non-LLM baseline)
    model_dir: Path = field(default_factory=lambda: cache_dir() / "models" / "smollm2-135m-instruct")  # converted
    num_queries: int = 5  # queries per user
    max_new_tokens: int = 48  # generation budget per user (five short queries fit in about 40 tokens)
    repetition_penalty: float = 1.0  # >1 pushed the 135M model off-format (9/16 valid at 1.2 vs 16/16 at 1.0)
    retry_temperature: float = 0.8  # an invalid greedy output is retried once with sampling at this temperature
    fallback: str = "keyphrase"  # used for a user whose output stays invalid ("" = write nothing for them)
    max_prompt_signals: int = 20  # newest signals shown to the model
    batch_size: int = 16  # B: regeneration requests generated together
    batch_wait_ms: int = 500  # T: the longest a request waits for its batch to fill
    torch_threads: int = 0  # 0 = torch's default
    # weights' dtype on CPU: bfloat16 runs on the AMX/AVX512-BF16 units of recent x86 CPUs (several times faster than
    # float32 here); "float32" for CPUs without them (models/benchmarks/cpu_throughput.py measures both)
    dtype: str = "bfloat16"
    group_id: str = "interests-generator"  # Kafka consumer group of the generator workers
    embedder: str = "minilm"  # query embeddings: "minilm" or "hash" (tests only)
    # --- model registry and hot reload (models/registry.py) -----------------------------------------------------
    registry_dir: Path = field(default_factory=lambda: cache_dir() / "registry")  # versioned models + current pointers
    model_name: str = "smollm2-135m-instruct"  # the registry name the smollm2 backend serves (its `current` version)
    reload_check_s: float = 5.0  # the worker re-reads the current pointer between batches at most this often
    # --- worker queue and metrics (models/worker.py) -----------------------------------------------------------
    max_queue: int = 256  # requests held in memory; polling pauses while the queue is full
    request_timeout_s: float = 60.0  # a request older than this when its batch starts is still served, counted late
    stats_every: int = 10  # log the worker's metrics every N batches

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "GeneratorConfig":
        return _from_env(cls, os.environ if env is None else env, overrides, prefix="INTERESTS_GEN_")
