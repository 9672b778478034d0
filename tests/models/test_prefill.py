"""One prefill for several samples of a prompt gives what separate calls give (tiny random Llama, not the student)."""

from __future__ import annotations

import pytest
import torch

from models.prefill import generate_shared
from tests.tiny_models import save_tiny_llama


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = save_tiny_llama(tmp_path_factory.mktemp("tiny"), manifest={"name": "tiny", "version": "test"})
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.padding_side = "left"
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    return AutoModelForCausalLM.from_pretrained(folder).eval(), tokenizer


def test_shared_prefill_continues_left_padded_prompts_exactly_as_separate_calls(tiny):
    model, tokenizer = tiny
    enc = tokenizer(["storm warning for the coast tonight", "election"], return_tensors="pt", padding=True,
                    add_special_tokens=False)
    assert (enc["attention_mask"] == 0).any()  # the second prompt is left-padded
    options = {"max_new_tokens": 6, "do_sample": False, "pad_token_id": tokenizer.pad_token_id, "use_cache": True}
    separate = model.generate(input_ids=enc["input_ids"].repeat_interleave(3, 0),
                              attention_mask=enc["attention_mask"].repeat_interleave(3, 0), **options)
    shared = generate_shared(model, enc["input_ids"], enc["attention_mask"], 3, **options)
    assert shared.shape == separate.shape == (6, enc["input_ids"].shape[1] + 6)
    assert torch.equal(shared, separate)


def test_one_sample_is_a_plain_call(tiny):
    model, tokenizer = tiny
    enc = tokenizer(["storm warning"], return_tensors="pt", add_special_tokens=False)
    options = {"max_new_tokens": 4, "do_sample": False, "pad_token_id": tokenizer.pad_token_id}
    assert torch.equal(generate_shared(model, enc["input_ids"], enc["attention_mask"], 1, **options),
                       model.generate(**enc, **options))
