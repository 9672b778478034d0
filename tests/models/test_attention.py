"""The grouped-query attention that reads the KV cache in place gives transformers' SDPA results (tiny random
Llama with 4 query and 2 key/value heads, not the student)."""

from __future__ import annotations

import pytest
import torch

from models.attention import implementation, sdpa_gqa_forward
from tests.tiny_models import save_tiny_llama


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-gqa"), manifest={"name": "tiny", "version": "test"})


def load(folder, attention: str):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder, attn_implementation=implementation(attention)).eval()


def test_grouped_heads_read_in_place_equal_the_repeated_heads():
    from transformers.integrations.sdpa_attention import repeat_kv

    torch.manual_seed(0)
    query, key, value = torch.randn(2, 6, 5, 8), torch.randn(2, 2, 7, 8), torch.randn(2, 2, 7, 8)
    mask = torch.ones(2, 1, 5, 7, dtype=torch.bool)
    mask[1, :, :, :3] = False  # a left-padded row
    module = torch.nn.Module()
    out, _ = sdpa_gqa_forward(module, query, key, value, mask, scaling=0.3)
    expected = torch.nn.functional.scaled_dot_product_attention(query, repeat_kv(key, 3), repeat_kv(value, 3),
                                                                attn_mask=mask, scale=0.3)
    assert out.shape == (2, 5, 6, 8)
    assert torch.allclose(out, expected.transpose(1, 2), atol=1e-6)


def test_a_left_padded_batch_generates_what_transformers_sdpa_generates(tiny_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    tokenizer.padding_side = "left"
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    enc = tokenizer(["storm warning for the coast tonight", "election"], return_tensors="pt", padding=True,
                    add_special_tokens=False)
    assert (enc["attention_mask"] == 0).any()
    options = {"max_new_tokens": 8, "do_sample": False, "pad_token_id": tokenizer.pad_token_id}
    ours, theirs = load(tiny_dir, "sdpa_gqa"), load(tiny_dir, "sdpa")
    assert ours.config._attn_implementation == "sdpa_gqa"
    with torch.inference_mode():
        assert torch.allclose(ours(**enc).logits, theirs(**enc).logits, atol=1e-5)
        assert torch.equal(ours.generate(**enc, **options), theirs.generate(**enc, **options))


def test_an_unknown_attention_is_refused_with_the_choices():
    from models.config import GeneratorConfig

    with pytest.raises(ValueError, match="sdpa_gqa, sdpa, eager"):
        implementation("flash")
    with pytest.raises(ValueError, match="INTERESTS_GEN_ATTENTION"):
        GeneratorConfig(attention="flash")
