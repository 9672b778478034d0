"""The one configuration object of the generator side. Fields read ``INTERESTS_GEN_<FIELD>`` from the environment
(e.g. ``INTERESTS_GEN_BACKEND=keyphrase``, ``INTERESTS_GEN_BATCH_SIZE=32``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from common.settings import cache_dir, from_env

MODEL_NAME = "smollm2-135m-instruct"  # the student's registry name and its converted folder's name
PROMPT_SIGNALS = 20  # signals a prompt shows: serving and training build the same prompt
ON_INVALID = ("stale", "fallback")
ENGINES = ("lean", "transformers")  # greedy decoding: models/leandecode.py, or transformers' generate
SELECTS = ("", "value")  # how a list is chosen: the fill completes the model's, or the query-value model chooses


def parse_weights(text: str) -> dict[str, float] | None:
    """``"structure=1, diversity=0.5"`` -> ``{"structure": 1.0, "diversity": 0.5}``; None for an empty string.
    Reward names are checked where the rewards are (models/rewards.py); here only the shape and the numbers."""
    if not text.strip():
        return None
    weights: dict[str, float] = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        name = name.strip()
        try:
            if not sep or not name:
                raise ValueError
            weight = float(value)
        except ValueError:
            raise ValueError(f"INTERESTS_GEN_REWARD_WEIGHTS={text!r}: expected name=weight pairs separated by commas, "
                             f"e.g. 'structure=1,diversity=0.5'") from None
        if weight < 0 or weight != weight:
            raise ValueError(f"INTERESTS_GEN_REWARD_WEIGHTS: the weight of {name} must be a number >= 0, not {value!r}")
        weights[name] = weight
    return weights


@dataclass(frozen=True)
class GeneratorConfig:
    backend: str = "smollm2"  # "smollm2" (student LLM, transformers on CPU) or "keyphrase" (non-LLM baseline)
    model_dir: Path = field(default_factory=lambda: cache_dir() / "models" / MODEL_NAME)  # converted
    num_queries: int = 5  # queries per user
    # generation budget per user: the 40 tokens the shipped models were trained to write their lists in
    # (training/config.py); 48 retrieved no better (docs/results/2026-12-05-lean-decoder.md)
    max_new_tokens: int = 40
    repetition_penalty: float = 1.0  # >1 pushed the 135M model off-format (9/16 valid at 1.2 vs 16/16 at 1.0)
    no_repeat_ngram: int = 0  # n >= 2: no n-gram of tokens twice within one completion (models/decoding.py); 0 = off
    # every word the model writes is a news-vocabulary word or one of its prompt's (models/realwords.py)
    real_words: bool = False
    # every word of 3+ letters the model writes is one of the user's own (its prompt's activity block) or a stopword:
    # the own-words rule (models/realwords.py), stricter than real_words, which it takes the place of
    own_words: bool = False
    # a word of the model's that misspells one of the user's ("medvedvedev" for "Medvedev") is put back as the user
    # wrote it before the query is validated (models/mending.py); off: such a query is dropped (mending cost the
    # chosen lists 0.97x [0.94, 1.00] on the lexical truth, docs/results/2026-12-06-mending.md)
    mend_words: bool = False
    # a row stops once it has written num_queries lines (models/decoding.py ListComplete): the same retrieval quality
    # (docs/results/2026-12-05-lean-decoder.md) in fewer decoding steps
    stop_at_list: bool = True
    # a model whose manifest lists its output tokens ("decoding": {"head_tokens": [...]}) computes logits for those,
    # its prompt's tokens and the end and line-break tokens only (models/headtrim.py); False: the full head
    head_trim: bool = True
    retry_temperature: float = 0.8  # an invalid greedy output is retried once with sampling at this temperature
    # --- an output that stays invalid after the retry (models/stale.py) -------------------------------------------
    # "stale": a user who has features keeps them, re-written marked stale (same queries, embeddings, version and
    #   generated_at); a user without any gets the fallback's queries (if `fallback` is set) or nothing.
    # "fallback": every such user gets the fallback's queries (labelled with its version); only a user whose
    #   fallback output is invalid too keeps their previous features marked stale (or gets nothing).
    on_invalid: str = "stale"
    fallback: str = "keyphrase"  # the non-LLM generator of the rule above ("" = none: such users get nothing)
    # a list the model left short (1 to num_queries - 1 valid queries) is completed by this generator's queries about
    # what the list does not mention yet (models/generators/fill.py; "" = serve short lists as they are)
    fill: str = "keyphrase"
    # a list the model left short is first topped up with the grounded, new queries of this many lists the model
    # samples at sample_temperature from the same prompt (one prefill; models/generators/topup.py); 0 = off
    top_up: int = 0
    # how a list is chosen (models/generators/select.py): "value" = the model's grounded queries and the reader's key
    # phrases as one pool, the best by the learned query-value model in query_value_dir (models/query_value.py; it
    # takes the place of the fill); "" = the model's queries, completed by the fill
    select: str = "value"
    query_value_dir: Path = field(default_factory=lambda: Path(__file__).parent / "artifacts" / "query-value")
    # --- best-of-N (models/bestofn.py, models/rewards.py) -------------------------------------------------------------
    best_of_n: int = 1  # N > 1: sample N query lists per user at sample_temperature and serve the best by the rewards
    sample_temperature: float = 0.8  # temperature of the best-of-N samples and of the top-up's
    # reward weights of best-of-N, "name=weight,..." over structure, diversity, alignment, grounding; rewards not
    # named weigh 0; "" = each 1 (alignment needs an article index, which the worker does not have: it is skipped)
    reward_weights: str = ""
    max_prompt_signals: int = PROMPT_SIGNALS  # signals shown to the model (models/prompt.py covering_signals)
    # how the prompt is laid out (models/prompt.py CONTRACTS): "chat" (system message, worked example) or "compact"
    # (activity and a one-line instruction); a model's manifest overrides it with the contract it was trained on
    prompt_contract: str = "chat"
    completion_cache: str = ""  # offline evaluation only: a file of completions by prompt (models/generators/cache.py)
    batch_size: int = 16  # B: regeneration requests generated together
    batch_wait_ms: int = 500  # T: the longest a request waits for its batch to fill
    torch_threads: int = 0  # 0 = torch's default
    # weights' dtype on CPU: bfloat16 runs on the AMX/AVX512-BF16 units of recent x86 CPUs (several times faster than
    # float32 here); "float32" for CPUs without them (models/benchmarks/cpu_throughput.py measures both)
    dtype: str = "bfloat16"
    # attention of the transformers backend (models/attention.py): "sdpa_gqa" reads the grouped key/value heads in
    # place (the same outputs, about a tenth faster on CPU); "sdpa" is transformers' own, which copies them per step
    attention: str = "sdpa_gqa"
    # how greedy lists are decoded: "lean" (models/leandecode.py: packed prefill, a preallocated KV cache, fused
    # projections; Llama models in bfloat16 or float32, else transformers' generate) or "transformers" (`generate`)
    engine: str = "lean"
    group_id: str = "interests-generator"  # Kafka consumer group of the generator workers
    session_timeout_s: float = 45.0  # a worker silent this long (killed) loses its partitions to the others
    embedder: str = "minilm"  # query embeddings: "minilm", "minilm-onnx" (int8 ONNX) or "hash" (tests only)
    # --- model registry and hot reload (models/registry.py) -----------------------------------------------------
    registry_dir: Path = field(default_factory=lambda: cache_dir() / "registry")  # versioned models + current pointers
    model_name: str = MODEL_NAME  # the registry name the smollm2 backend serves (its `current` version)
    reload_check_s: float = 5.0  # the worker re-reads the current pointer between batches at most this often
    # --- worker queue and metrics (streams/generator/worker.py) -------------------------------------------------------
    max_queue: int = 256  # requests held in memory; polling pauses while the queue is full
    request_timeout_s: float = 60.0  # a request older than this when its batch starts is still served, counted late
    stats_every: int = 10  # log the worker's metrics every N batches
    metrics_port: int = 9109  # Prometheus metrics at http://<metrics_host>:<port>/metrics; 0 disables the endpoint
    metrics_host: str = "0.0.0.0"  # address the metrics endpoint binds

    def __post_init__(self):
        if self.on_invalid not in ON_INVALID:
            raise ValueError(f"on_invalid must be one of {', '.join(ON_INVALID)} (INTERESTS_GEN_ON_INVALID), "
                             f"not {self.on_invalid!r}")
        if self.on_invalid == "fallback" and not self.fallback:
            raise ValueError("on_invalid='fallback' needs a fallback generator (INTERESTS_GEN_FALLBACK=keyphrase)")
        if self.best_of_n < 1:
            raise ValueError(f"best_of_n must be >= 1 (INTERESTS_GEN_BEST_OF_N), not {self.best_of_n}")
        if self.best_of_n > 1 and self.sample_temperature <= 0:
            raise ValueError("best-of-N samples need INTERESTS_GEN_SAMPLE_TEMPERATURE > 0 "
                             f"(got {self.sample_temperature})")
        if self.select not in SELECTS:
            raise ValueError(f"select must be one of {', '.join(repr(x) for x in SELECTS)} (INTERESTS_GEN_SELECT), "
                             f"not {self.select!r}")
        if self.top_up < 0:
            raise ValueError(f"top_up must be >= 0 (INTERESTS_GEN_TOP_UP), not {self.top_up}")
        if self.top_up and self.best_of_n > 1:
            raise ValueError("INTERESTS_GEN_TOP_UP tops up a greedy list: it cannot be combined with "
                             f"INTERESTS_GEN_BEST_OF_N={self.best_of_n}")
        if self.top_up and self.sample_temperature <= 0:
            raise ValueError("the top-up samples: it needs INTERESTS_GEN_SAMPLE_TEMPERATURE > 0 "
                             f"(got {self.sample_temperature})")
        from models.prompt import check_contract

        check_contract(self.prompt_contract)  # INTERESTS_GEN_PROMPT_CONTRACT
        from models.attention import check_attention

        check_attention(self.attention)  # INTERESTS_GEN_ATTENTION
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r} (INTERESTS_GEN_ENGINE): use {', '.join(ENGINES)}")
        self.reward_weight_map()  # a malformed INTERESTS_GEN_REWARD_WEIGHTS fails here, at start-up

    def reward_weight_map(self) -> dict[str, float] | None:
        """``reward_weights`` parsed: ``{"structure": 1.0, ...}``, or None for the default (every reward 1)."""
        return parse_weights(self.reward_weights)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "GeneratorConfig":
        return from_env(cls, os.environ if env is None else env, overrides, prefix="INTERESTS_GEN_")
