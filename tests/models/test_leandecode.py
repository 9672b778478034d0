"""The lean greedy decoder (models/leandecode.py) against transformers' ``generate`` on tiny random Llama models (4
query and 2 key/value heads, float32 so that equal arithmetic gives equal tokens), and its place in the backend."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from models.config import GeneratorConfig
from models.decoding import ListComplete, NoRepeatInCompletion
from models.generators.base import UserContext
from models.generators.transformers_backend import TransformersGenerator
from models.leandecode import LeanLlama, unsupported
from tests.tiny_models import save_tiny_llama

CFG = GeneratorConfig(max_new_tokens=10, batch_size=3, retry_temperature=0.0, dtype="float32", fallback="")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-lean"), seed=3, manifest={"name": "tiny", "version": "t"})


@pytest.fixture(scope="module")
def model_and_batch(tiny_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    tokenizer.padding_side = "left"
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32, attn_implementation="sdpa").eval()
    batch = tokenizer(["storm warning for the coast tonight and tomorrow", "election", "tennis final in paris"],
                      return_tensors="pt", padding=True, add_special_tokens=False)
    assert (batch["attention_mask"] == 0).any()  # rows of three lengths, left-padded
    return model, tokenizer, batch


def reference(model, batch, **options):
    with torch.inference_mode():
        return model.generate(**batch, do_sample=False, **options)


def test_the_lean_decoder_writes_the_tokens_generate_writes(model_and_batch):
    model, tokenizer, batch = model_and_batch
    expected = reference(model, batch, max_new_tokens=10, pad_token_id=tokenizer.pad_token_id, eos_token_id=[-5 % 7])
    lean = LeanLlama(model)
    got = lean.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], max_new_tokens=10,
                        eos_token_ids=[-5 % 7], pad_token_id=tokenizer.pad_token_id)
    assert got.shape == expected.shape == (3, batch["input_ids"].shape[1] + 10)
    assert torch.equal(got, expected)


def test_its_scores_are_the_models_logits(model_and_batch):
    model, tokenizer, batch = model_and_batch
    lean = LeanLlama(model)
    width = batch["input_ids"].shape[1]
    with torch.inference_mode():
        hidden, cache, lengths = lean._prefill(batch["input_ids"], batch["attention_mask"], width + 4)
        logits = model(**batch).logits[:, -1].float()
    assert lengths.tolist() == batch["attention_mask"].sum(1).tolist()
    assert torch.allclose(lean._logits(hidden), logits, atol=1e-5)
    keys, _ = cache[0]
    assert keys.shape == (3, 2, width + 4, 8)
    assert torch.all(keys[1, :, :width - lengths[1]] == 0)  # the padding columns stay empty


def test_end_tokens_and_stopping_criteria_end_rows_as_generate_ends_them(model_and_batch):
    model, tokenizer, batch = model_and_batch
    free = reference(model, batch, max_new_tokens=10, pad_token_id=tokenizer.pad_token_id, eos_token_id=[-5 % 7])
    width = batch["input_ids"].shape[1]
    end = int(free[1, width + 2])  # the token row 1 writes third ends it there; the other rows may end too
    newline = int(free[0, width + 1])  # row 0's second token counts as a line break: two lines end its list
    rules = {"max_new_tokens": 10, "pad_token_id": tokenizer.pad_token_id, "eos_token_id": [end]}
    from transformers import LogitsProcessorList, StoppingCriteriaList

    processors = LogitsProcessorList([NoRepeatInCompletion(2, width)])
    stops = StoppingCriteriaList([ListComplete(2, width, [newline], max_line_tokens=6)])
    expected = reference(model, batch, logits_processor=processors, stopping_criteria=stops, **rules)
    got = LeanLlama(model).generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                    max_new_tokens=10, eos_token_ids=[end], pad_token_id=tokenizer.pad_token_id,
                                    logits_processor=processors, stopping_criteria=stops)
    assert torch.equal(got, expected)
    assert got.shape[1] < width + 10  # every row ended before the token limit, and the batch stopped
    assert (got[1, width + 3:] == tokenizer.pad_token_id).all()  # after its end token a row writes padding


def test_fused_projections_leave_the_model_itself_unchanged(model_and_batch):
    model, tokenizer, batch = model_and_batch
    before = reference(model, batch, max_new_tokens=6, pad_token_id=tokenizer.pad_token_id)
    params = sum(p.numel() for p in model.parameters())
    LeanLlama(model)
    layer = model.model.layers[0]
    assert layer.self_attn.q_proj.weight.untyped_storage().data_ptr() == \
        layer.self_attn.v_proj.weight.untyped_storage().data_ptr()  # views of one fused matrix: no second copy
    assert sum(p.numel() for p in model.parameters()) == params
    assert torch.equal(reference(model, batch, max_new_tokens=6, pad_token_id=tokenizer.pad_token_id), before)


def test_models_it_cannot_run_are_named_with_the_reason(tiny_dir):
    from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel

    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50))
    assert "not a Llama model" in unsupported(gpt2)
    quantised = torch.ao.quantization.quantize_dynamic(AutoModelForCausalLM.from_pretrained(tiny_dir),
                                                       {torch.nn.Linear}, dtype=torch.qint8)
    assert "not plain" in unsupported(quantised)
    with pytest.raises(ValueError, match="cannot run this model"):
        LeanLlama(gpt2)


def contexts(n):
    return [UserContext(f"u{i}", [{"domain": "click", "kind": "click", "text": f"Tennis story {i} from Paris",
                                   "ts": 1000 - i, "platform": None}]) for i in range(n)]


def test_the_backend_decodes_greedy_lists_with_it_and_they_equal_generates(tiny_dir):
    cfg = dataclasses.replace(CFG, no_repeat_ngram=3, stop_at_list=True)
    lean = TransformersGenerator(tiny_dir, cfg)
    plain = TransformersGenerator(tiny_dir, dataclasses.replace(cfg, engine="transformers"))
    assert lean.engine == "lean" and plain.engine == "transformers" and plain.lean is None
    calls = []
    original = lean.lean.generate
    lean.lean.generate = lambda **kw: calls.append(kw) or original(**kw)
    prompts = lean.prompts(contexts(4))
    assert lean.complete(prompts) == plain.complete(prompts)
    assert len(calls) == 2 and [type(p).__name__ for p in calls[0]["logits_processor"]] == ["NoRepeatInCompletion"]
    assert type(calls[0]["stopping_criteria"][0]).__name__ == "ListComplete"


def test_sampling_and_an_int8_model_stay_with_generate(tiny_dir):
    sampled = TransformersGenerator(tiny_dir, CFG)
    calls = []
    original = sampled.model.generate
    sampled.model.generate = lambda **kw: calls.append(kw) or original(**kw)
    sampled.complete(sampled.prompts(contexts(1)), temperature=0.8, n=2)
    assert calls and calls[0]["do_sample"]
    assert TransformersGenerator(tiny_dir, dataclasses.replace(CFG, dtype="int8")).engine == "transformers"


def test_a_trimmed_head_writes_only_kept_tokens_and_the_best_of_them(model_and_batch):
    model, tokenizer, batch = model_and_batch
    lean = LeanLlama(model)
    width = batch["input_ids"].shape[1]
    with torch.inference_mode():
        hidden, _, _ = lean._prefill(batch["input_ids"], batch["attention_mask"], width + 1)
        full = lean._logits(hidden)
    keep = sorted(set(full.topk(5, dim=-1).indices[:, 2:].flatten().tolist()) | {0})  # not any row's best token
    got = lean.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], max_new_tokens=6,
                        eos_token_ids=[0], pad_token_id=tokenizer.pad_token_id, head_keep=keep)
    first = got[:, width]
    assert set(got[:, width:].flatten().tolist()) <= set(keep) | {tokenizer.pad_token_id}
    # the first token is the best of the kept ones by the full head's own logits
    masked = torch.full_like(full, float("-inf"))
    masked[:, keep] = full[:, keep]
    assert torch.equal(first, masked.argmax(-1))
    assert not torch.equal(first, full.argmax(-1))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        lean.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], max_new_tokens=2,
                      eos_token_ids=[0], pad_token_id=tokenizer.pad_token_id, head_keep=[10 ** 6])


def test_a_trimmed_head_in_the_backend_gives_the_same_lists_under_both_engines(tiny_dir, tmp_path):
    cache = tmp_path / "completions.jsonl"
    lean = TransformersGenerator(tiny_dir, dataclasses.replace(CFG, completion_cache=str(cache)))
    plain = TransformersGenerator(tiny_dir, dataclasses.replace(CFG, engine="transformers"))
    lean.head_tokens = plain.head_tokens = set(range(20, 60))
    assert lean.engine == "lean" and plain.engine == "transformers"
    prompts = lean.prompts(contexts(3))
    trimmed = lean.complete(prompts)
    assert trimmed == plain.complete(prompts)
    lean.head_tokens = None
    lean.complete(prompts)
    assert len(cache.read_text().splitlines()) == 6  # the trimmed head's lists are keyed apart from the full head's
    assert type(plain.model.get_output_embeddings()).__name__ == "TrimmedHead"
    assert unsupported(plain.model) == ""  # a head trimmed for generate does not keep the lean decoder out


def test_the_lean_engine_is_part_of_the_completion_cache_key(tiny_dir, tmp_path):
    cache = tmp_path / "completions.jsonl"
    for engine in ("transformers", "lean"):
        gen = TransformersGenerator(tiny_dir, dataclasses.replace(CFG, engine=engine, completion_cache=str(cache)))
        gen.complete(gen.prompts(contexts(1)))
    assert len(cache.read_text().splitlines()) == 2  # one entry per engine, not one shared


def test_an_unknown_engine_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="INTERESTS_GEN_ENGINE.*lean, transformers"):
        GeneratorConfig(engine="vllm-cpu")
