"""The trimmed output vocabulary: exact logits for the kept tokens, -inf elsewhere, and generation that only writes
kept tokens (tiny random Llama, not the student)."""

from __future__ import annotations

import pytest
import torch

from models.headtrim import TrimmedHead, list_texts, trim, written_tokens
from tests.tiny_models import save_tiny_llama


@pytest.fixture()
def tiny(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = save_tiny_llama(tmp_path, manifest={"name": "tiny", "version": "test"})
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    return AutoModelForCausalLM.from_pretrained(folder).eval(), tokenizer


def test_kept_logits_equal_the_full_heads_and_the_rest_are_minus_infinity():
    torch.manual_seed(0)
    weight = torch.randn(50, 8)
    hidden = torch.randn(2, 3, 8)
    head = TrimmedHead(weight, [3, 7, 7, 41])
    out = head(hidden)
    full = hidden @ weight.T
    assert out.shape == (2, 3, 50)
    assert torch.allclose(out[..., [3, 7, 41]], full[..., [3, 7, 41]])
    rest = [i for i in range(50) if i not in (3, 7, 41)]
    assert torch.isneginf(out[..., rest]).all()


def test_a_kept_id_outside_the_vocabulary_is_refused():
    with pytest.raises(ValueError, match="outside the vocabulary"):
        TrimmedHead(torch.zeros(10, 4), [2, 10])


def test_greedy_generation_writes_only_kept_tokens_and_matches_the_full_head_where_the_choice_is_kept(tiny):
    model, tokenizer = tiny
    enc = tokenizer(["storm warning for the coast"], return_tensors="pt", add_special_tokens=False)
    options = {"max_new_tokens": 8, "do_sample": False, "pad_token_id": tokenizer.pad_token_id}
    full = model.generate(**enc, **options)[0, enc["input_ids"].shape[1]:].tolist()
    # keeping exactly what the full head chose (and the prompt) reproduces it: the kept logits are exact
    trim(model, set(full) | set(enc["input_ids"][0].tolist()))
    assert model.generate(**enc, **options)[0, enc["input_ids"].shape[1]:].tolist() == full
    # keeping a set without the full head's first choice: every written token comes from the set
    keep = set(range(5, 60)) - {full[0]}
    head = trim(model, keep)
    assert model.get_output_embeddings() is head  # trimmed once; later calls change the kept set only
    written = model.generate(**enc, **options)[0, enc["input_ids"].shape[1]:].tolist()
    assert set(written) <= keep


def test_written_tokens_cover_each_line_with_and_without_its_leading_space(tiny):
    _, tokenizer = tiny
    ids = written_tokens(tokenizer, ["storm warning\ncoast guard"])
    for line in ("storm warning", " storm warning", "coast guard", " coast guard"):
        assert set(tokenizer(line, add_special_tokens=False)["input_ids"]) <= ids


def test_list_texts_reads_plain_and_gzipped_target_files(tmp_path):
    import gzip
    import json

    rows = [{"user": "u1", "text": "storm warning\ncoast guard"}, {"user": "u2", "text": "tennis final"}]
    plain, zipped = tmp_path / "t.jsonl", tmp_path / "t.jsonl.gz"
    plain.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n")
    with gzip.open(zipped, "wt") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in rows)
    assert list_texts(plain) == list_texts(zipped) == ["storm warning\ncoast guard", "tennis final"]
