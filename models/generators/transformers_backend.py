"""The student LLM through transformers on CPU: batched generation with left padding and the KV cache.

One output per user (``n == 1``) is greedy, with one sampled retry for a user whose output is invalid; greedy lists
are decoded by the lean decoder (``models/leandecode.py``, ``INTERESTS_GEN_ENGINE=lean``, the default) where the
model allows it, else by transformers' ``generate``. With
``n > 1`` every user gets ``n`` sampled outputs at ``temperature`` (``num_return_sequences=n``, one ``generate`` call
per batch of ``cfg.batch_size`` users, so ``batch_size * n`` sequences decode together); all parsed samples are kept
in :attr:`Generation.candidates` for a best-of-N selector (:class:`models.bestofn.BestOfN`), and ``queries`` holds
this backend's own pick: the sample with the most grounded queries (ties: the first). With
``INTERESTS_GEN_MEND_WORDS`` parsed queries are mended (``models/mending.py``: a misspelt word of the user's put back
as they wrote it) before they are grounded.

:func:`parse_sample` and :func:`generation_from_samples` are shared with the vLLM backend.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from models.generators.base import Generation, QueryGenerator, UserContext
from models.generators.cache import CompletionCache
from models.parsing import InvalidOutput, complete_lines, grounded, parse_queries
from models.mending import Mender, mend_queries
from models.decoding import ListComplete, NoRepeatInCompletion, newline_tokens
from models.prefill import generate_shared
from models.prompt import chat_prompts, check_contract
from models.student import MANIFEST, model_version, read_manifest

log = logging.getLogger(__name__)
SAMPLE_HEADER = "--- sample {index} ---"


def parse_sample(raw: str, num_queries: int) -> tuple[list[str], str]:
    """``(queries, error)`` of one raw output: the parsed queries (not yet grounded), or ``[]`` and the reason."""
    try:
        return parse_queries(raw, num_queries), ""
    except InvalidOutput as exc:
        return [], str(exc)


def single_generation(raw: str, context: UserContext, num_queries: int, mend: bool = False) -> Generation:
    """One output for one user: parsed, (when ``mend``) its misspelt words of the user's put back as written
    (``models/mending.py``), then only the queries grounded in the user's own signals are kept."""
    queries, error = parse_sample(raw, num_queries)
    if error:
        return Generation([], raw, error)
    history = [s["text"] for s in context.history]
    kept = grounded(mend_queries(queries, history) if mend else queries, history)
    return Generation(kept, raw, "" if kept else f"no query relates to the user's signals: {queries}")


def generation_from_samples(raws: list[str], context: UserContext, num_queries: int, mend: bool = False
                            ) -> Generation:
    """Several sampled outputs for one user. ``candidates`` holds every sample's parsed queries (``[]`` for one that
    did not parse), ``queries`` the grounded queries of the sample with the most of them (ties: the first), and
    ``raw`` every sample under a ``--- sample i ---`` header (so it stays true whichever sample is chosen later);
    each sample's queries mended first when ``mend``."""
    history = [s["text"] for s in context.history]
    mender = Mender(history) if mend else None  # one reader: built once for all the samples
    candidates, errors, kept = [], [], []
    for raw in raws:
        queries, error = parse_sample(raw, num_queries)
        queries = mender.mend_all(queries) if mender else queries
        candidates.append(queries)
        errors.append(error)
        kept.append(grounded(queries, history) if queries else [])
    best = max(range(len(raws)), key=lambda i: (len(kept[i]), -i)) if raws else 0
    raw = "\n".join(f"{SAMPLE_HEADER.format(index=i)}\n{text}" for i, text in enumerate(raws))
    if raws and kept[best]:
        return Generation(kept[best], raw, "", candidates=candidates)
    parsed = [c for c in candidates if c]
    error = (f"no sampled query relates to the user's signals: {parsed[0]}" if parsed
             else f"none of {len(raws)} samples held a valid query: {errors[0] if errors else 'no sample'}")
    return Generation([], raw, error, candidates=candidates)


def manifest_of(model_dir: Path) -> tuple[Path, dict]:
    """A model folder's manifest path and its fields ({} when the folder has none)."""
    manifest = Path(model_dir) / MANIFEST
    return manifest, read_manifest(model_dir) if manifest.exists() else {}


def with_prompt_contract(cfg, model_dir: Path):
    """``cfg`` with the prompt settings a trained model's manifest names (``"prompt": {"num_queries": ...,
    "max_prompt_signals": ..., "contract": ...}``): a model is served with the prompt it was trained on. A manifest
    without a contract was trained on the chat prompt. A manifest's ``"decoding": {"no_repeat_ngram": N}`` is the
    model's own decoding rule (``models/decoding.py``); it applies where the setting is off
    (``INTERESTS_GEN_NO_REPEAT_NGRAM`` unset or 0), so an operator's own value stays. ``"real_words": true``
    turns on the real-words rule and ``"own_words": true`` the own-words rule (``models/realwords.py``)."""
    import dataclasses

    manifest, meta = manifest_of(model_dir)
    prompt, decoding = meta.get("prompt"), meta.get("decoding") or {}
    if not dataclasses.is_dataclass(cfg) or not (prompt or decoding):
        return cfg
    fields = {k: int(v) for k, v in (prompt or {}).items() if k in ("num_queries", "max_prompt_signals")}
    if prompt and hasattr(cfg, "prompt_contract"):
        fields["prompt_contract"] = check_contract(str(prompt.get("contract", "chat")))
    if decoding.get("real_words") and hasattr(cfg, "real_words"):
        fields["real_words"] = True
    if decoding.get("own_words") and hasattr(cfg, "own_words"):
        fields["own_words"] = True
    n = int(decoding.get("no_repeat_ngram", 0))
    if n and hasattr(cfg, "no_repeat_ngram") and not cfg.no_repeat_ngram:
        if n < 2:
            raise ValueError(f"{manifest}: decoding.no_repeat_ngram must be >= 2, got {n}")
        fields["no_repeat_ngram"] = n
    return dataclasses.replace(cfg, **fields)


def manifest_head_tokens(model_dir: Path, vocab_size: int) -> set[int] | None:
    """The token ids a model's manifest keeps in its trimmed head (``"decoding": {"head_tokens": [...]}``), or None
    when it names none; a clear error for ids outside the vocabulary."""
    manifest, meta = manifest_of(model_dir)
    ids = (meta.get("decoding") or {}).get("head_tokens")
    if not ids:
        return None
    kept = {int(i) for i in ids}
    if min(kept) < 0 or max(kept) >= vocab_size:
        raise ValueError(f"{manifest}: decoding.head_tokens holds ids outside the vocabulary of {vocab_size}")
    return kept


def torch_dtype(cfg):
    """The torch dtype the weights load in for ``cfg.dtype`` ("bfloat16", "float32", "float16", or "int8": float32
    weights whose linear layers are then quantised, :func:`load_causal_lm`); a clear error otherwise."""
    import torch

    name = getattr(cfg, "dtype", "float32")
    if name not in ("bfloat16", "float32", "float16", "int8"):
        raise ValueError(f"unknown dtype {name!r}: use bfloat16, float32, float16 or int8")
    return torch.float32 if name == "int8" else getattr(torch, name)


def load_causal_lm(model_dir: Path, cfg):
    """The model in ``cfg.dtype`` with ``cfg.attention`` (models/attention.py); "int8" is torch's dynamic
    quantisation of every linear layer, the output projection included (int8 weights, activations quantised per
    batch on the fly; CPU only)."""
    import torch
    from transformers import AutoModelForCausalLM

    from models.attention import implementation

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch_dtype(cfg),
                                                 attn_implementation=implementation(getattr(cfg, "attention", "sdpa")))
    if getattr(cfg, "dtype", "") == "int8":
        if getattr(model.config, "tie_word_embeddings", False):  # quantising the head must not touch the embeddings
            model.lm_head.weight = torch.nn.Parameter(model.lm_head.weight.detach().clone())
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return model


class TransformersGenerator(QueryGenerator):
    """The student through transformers.

    ``n`` samples per user (best-of-N candidates; 1 = greedy), drawn at ``temperature`` with nucleus ``top_p``.
    These are constructor arguments rather than configuration fields; ``cfg`` is a
    :class:`models.config.GeneratorConfig` (or anything with its fields).
    """

    def __init__(self, model_dir: Path, cfg, n: int = 1, temperature: float = 0.8, top_p: float = 0.95):
        import torch
        from transformers import AutoTokenizer

        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if n > 1 and temperature <= 0:
            raise ValueError("n > 1 samples need a temperature > 0 (greedy decoding would repeat one output)")
        if cfg.torch_threads:
            torch.set_num_threads(cfg.torch_threads)
        self.cfg = with_prompt_contract(cfg, model_dir)
        self.n, self.temperature, self.top_p = n, temperature, top_p
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.tokenizer.padding_side = "left"  # decoder-only: pad on the left so every row ends at its prompt
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = load_causal_lm(model_dir, cfg)
        self.model.eval()
        self.version = model_version(model_dir)
        self._newlines: list[int] | None = None  # the vocabulary's line-break tokens (stop_at_list), found once
        self._texts: dict[int, str] = {}  # token id -> its text (the real-words rule)
        # a trimmed output vocabulary (models/headtrim.py): these tokens plus each batch's prompt tokens; None = the
        # full head. The manifest's "decoding": {"head_tokens": [...]} sets it (cfg.head_trim).
        self.head_tokens: set[int] | None = manifest_head_tokens(model_dir, len(self.tokenizer)) if getattr(
            cfg, "head_trim", False) else None
        self._lean_decoder = None  # models/leandecode.py LeanLlama, built on first use; False: this model cannot
        cache_path = getattr(cfg, "completion_cache", "")
        self.cache = CompletionCache(cache_path) if cache_path else None

    def prompts(self, contexts: list[UserContext]) -> list[str]:
        return chat_prompts(self.tokenizer, [c.history for c in contexts], self.cfg.num_queries,
                            self.cfg.max_prompt_signals, getattr(self.cfg, "prompt_contract", "chat"))

    def complete(self, prompts: list[str], temperature: float = 0.0, n: int = 1) -> list[str]:
        """Completions of already-templated prompts in batches of ``cfg.batch_size`` prompts: greedy at temperature
        0, else sampled. ``n`` completions per prompt (``n > 1`` needs a temperature), returned prompt by prompt:
        prompt ``i``'s are at ``[i * n, (i + 1) * n)``."""
        if n > 1 and temperature <= 0:
            raise ValueError("n > 1 completions per prompt need a temperature > 0")
        if self.cache is None:
            return self._complete(prompts, temperature, n)
        settings = {"temperature": temperature, "n": n, "max_new_tokens": self.cfg.max_new_tokens,
                    "top_p": self.top_p, "repetition_penalty": self.cfg.repetition_penalty}
        if getattr(self.cfg, "no_repeat_ngram", 0):  # absent from older keys: their cached completions stay valid
            settings["no_repeat_ngram"] = self.cfg.no_repeat_ngram
        if getattr(self.cfg, "stop_at_list", False):
            settings["stop_at_list"] = True
        if getattr(self.cfg, "real_words", False):
            settings["real_words"] = True
        if getattr(self.cfg, "own_words", False):
            settings["own_words"] = True
        if self.head_tokens is not None:  # a trimmed head: only its tokens can be written
            settings["head_tokens"] = hashlib.sha256(json.dumps(sorted(self.head_tokens)).encode()).hexdigest()[:16]
        if temperature <= 0 and n == 1 and self._lean() is not None:  # its lists may differ from generate's
            settings["engine"] = "lean"
        keys = [self.cache.key(self.version, p, **settings) for p in prompts]
        missing = [i for i, key in enumerate(keys) if self.cache.get(key) is None]
        if missing:
            made = self._complete([prompts[i] for i in missing], temperature, n)
            for j, i in enumerate(missing):
                self.cache.put(keys[i], made[j * n:(j + 1) * n])
        return [text for key in keys for text in self.cache.get(key)]

    def _complete(self, prompts: list[str], temperature: float, n: int) -> list[str]:
        sampling = {"do_sample": True, "temperature": temperature, "top_p": self.top_p} if temperature > 0 else {
            "do_sample": False}
        outputs = []
        for start in range(0, len(prompts), self.cfg.batch_size):
            chunk = prompts[start:start + self.cfg.batch_size]
            inputs = self.tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False)
            rules = {}
            lean = self._lean() if temperature <= 0 and n == 1 else None
            keep = self._head_keep(inputs["input_ids"]) if self.head_tokens is not None else None
            if keep is not None and lean is None:
                from models.headtrim import trim

                trim(self.model, keep)
            processors = self._processors(chunk, inputs["input_ids"].shape[1], n, greedy=temperature <= 0)
            if processors:
                from transformers import LogitsProcessorList

                rules["logits_processor"] = LogitsProcessorList(processors)
            if getattr(self.cfg, "stop_at_list", False):
                from transformers import StoppingCriteriaList

                if self._newlines is None:
                    self._newlines = newline_tokens(self.tokenizer)
                rules["stopping_criteria"] = StoppingCriteriaList(
                    [ListComplete(self.cfg.num_queries, inputs["input_ids"].shape[1], self._newlines)])
            if lean is not None:
                generated = lean.generate(
                    input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                    max_new_tokens=self.cfg.max_new_tokens, eos_token_ids=self._eos_ids(),
                    pad_token_id=self.tokenizer.pad_token_id,
                    logits_processor=self._with_penalty(rules.get("logits_processor")),
                    stopping_criteria=rules.get("stopping_criteria"), head_keep=keep)
            else:
                with self.torch.inference_mode():  # n samples of a prompt share its prefill; rows grouped by prompt
                    generated = generate_shared(
                        self.model, inputs["input_ids"], inputs["attention_mask"], n,
                        max_new_tokens=self.cfg.max_new_tokens, use_cache=True, **sampling, **rules,
                        pad_token_id=self.tokenizer.pad_token_id, repetition_penalty=self.cfg.repetition_penalty,
                    )
            new_tokens = generated[:, inputs["input_ids"].shape[1]:]
            ended = self.torch.isin(new_tokens, self._end_ids(new_tokens.device)).any(1)
            texts = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            # a row that ran out of tokens ends in a cut line: keep its complete lines only
            outputs.extend(t if done else complete_lines(t) for t, done in zip(texts, ended.tolist()))
        return outputs

    def _lean(self):
        """The lean decoder of greedy lists (models/leandecode.py) when ``cfg.engine`` asks for it and the model
        allows it (a Llama with plain linear layers); else None, and ``generate`` decodes. With
        :attr:`head_tokens` each engine trims the head its own way: the lean decoder per call, ``generate`` by a
        :class:`models.headtrim.TrimmedHead` swapped into the model."""
        if getattr(self.cfg, "engine", "transformers") != "lean":
            return None
        if self._lean_decoder is None:
            from models.leandecode import LeanLlama, unsupported

            reason = unsupported(self.model)
            if reason:
                log.info("lean decoder off for %s: %s; transformers' generate decodes", self.version, reason)
                self._lean_decoder = False
            else:
                self._lean_decoder = LeanLlama(self.model)
        return self._lean_decoder or None

    @property
    def lean(self):
        """The :class:`models.leandecode.LeanLlama` decoding this generator's greedy lists now, or None."""
        return self._lean()

    @property
    def engine(self) -> str:
        """What decodes this generator's greedy lists now: "lean" or "transformers"."""
        return "lean" if self._lean() is not None else "transformers"

    def _eos_ids(self) -> list[int]:
        """The end tokens ``generate`` stops a row at (the model's generation config)."""
        eos = getattr(self.model.generation_config, "eos_token_id", None)
        return [i for i in (eos if isinstance(eos, list) else [eos]) if i is not None]

    def _with_penalty(self, processors):
        """``processors`` behind transformers' repetition penalty when ``cfg`` sets one, in ``generate``'s order."""
        if self.cfg.repetition_penalty == 1.0:
            return processors
        from transformers import LogitsProcessorList, RepetitionPenaltyLogitsProcessor

        return LogitsProcessorList([RepetitionPenaltyLogitsProcessor(self.cfg.repetition_penalty), *(processors or [])])

    def _processors(self, prompts: list[str], prompt_len: int, n: int, greedy: bool) -> list:
        """The decoding rules ``cfg`` turns on, for one batch of ``prompts`` (``n`` rows each): no repeated n-gram,
        then the user's own words only or real words only."""
        processors = []
        if getattr(self.cfg, "no_repeat_ngram", 0):
            processors.append(NoRepeatInCompletion(self.cfg.no_repeat_ngram, prompt_len))
        if getattr(self.cfg, "own_words", False):  # the user's words only: it takes the place of real words
            from models.realwords import RealWords, activity_words, news_lexicon, row_words, stopword_lexicon

            own = row_words(prompts, news_lexicon(), n, words_of=activity_words)
            processors.append(RealWords(stopword_lexicon(), own, prompt_len, self._token_text,
                                        self._end_ids("cpu").tolist(), greedy=greedy))
        elif getattr(self.cfg, "real_words", False):
            from models.realwords import RealWords, news_lexicon, row_words

            news = news_lexicon()
            processors.append(RealWords(news, row_words(prompts, news, n), prompt_len, self._token_text,
                                        self._end_ids("cpu").tolist(), greedy=greedy))
        return processors

    def _token_text(self, token: int) -> str:
        """A token's text as it decodes mid-line (its leading space kept), decoded once per process."""
        text = self._texts.get(token)
        if text is None:
            text = self._texts[token] = self.tokenizer.decode([token], skip_special_tokens=True)
        return text

    def _head_keep(self, input_ids) -> set[int]:
        """A trimmed head's tokens for one batch: :attr:`head_tokens`, the batch's prompt tokens, the end tokens and
        the line breaks."""
        if self._newlines is None:
            self._newlines = newline_tokens(self.tokenizer)
        keep = set(self.head_tokens) | set(input_ids.unique().tolist()) | set(self._newlines)
        return keep | set(self._end_ids(input_ids.device).tolist())

    def _end_ids(self, device):
        """Tokens that end a row: the tokenizer's end and padding and the end token generation stops at (the
        converted SmolLM2's tokenizer and generation config disagree on it)."""
        ids = {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id, *self._eos_ids()}
        return self.torch.tensor(sorted(i for i in ids if i is not None), device=device)

    def _parse(self, raw: str, context: UserContext) -> Generation:
        return single_generation(raw, context, self.cfg.num_queries, getattr(self.cfg, "mend_words", False))

    def generate(self, contexts: list[UserContext]) -> list[Generation]:
        prompts = self.prompts(contexts)
        if self.n > 1:
            return self._generate_samples(contexts, prompts)
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

    def _generate_samples(self, contexts: list[UserContext], prompts: list[str]) -> list[Generation]:
        """``n`` samples per user; no retry (the samples already are the sampled attempts)."""
        results = self._samples(contexts, prompts, self.n, self.temperature)
        for context, result in zip(contexts, results):
            if not result.queries:
                log.warning("no valid queries for %s in %d samples: %s", context.user_id, self.n, result.error)
        return results

    def sample(self, contexts: list[UserContext], n: int, temperature: float) -> list[Generation]:
        """``n`` sampled lists per user at ``temperature`` (one prefill per prompt), whatever this generator's own
        ``n``: every sample's parsed queries in ``candidates`` (the top-up, ``models/generators/topup.py``)."""
        if n < 1 or temperature <= 0:
            raise ValueError(f"sampling needs n >= 1 and a temperature > 0, got n={n}, temperature={temperature}")
        return self._samples(contexts, self.prompts(contexts), n, temperature)

    def _samples(self, contexts: list[UserContext], prompts: list[str], n: int, temperature: float
                 ) -> list[Generation]:
        raws = self.complete(prompts, temperature=temperature, n=n)
        if len(raws) != len(prompts) * n:
            raise RuntimeError(f"expected {len(prompts) * n} completions, got {len(raws)}")
        mend = getattr(self.cfg, "mend_words", False)
        return [generation_from_samples(raws[i * n:(i + 1) * n], c, self.cfg.num_queries, mend)
                for i, c in enumerate(contexts)]
