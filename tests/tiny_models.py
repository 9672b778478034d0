"""Tiny random Llama models with the student's real tokenizer, for tests of code paths (not of quality)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def student_tokenizer():
    from transformers import AutoTokenizer

    from models.config import GeneratorConfig
    from models.student import ensure_student

    try:
        student = ensure_student(GeneratorConfig().model_dir)  # converts once (~20 s) when not cached yet
    except RuntimeError as exc:
        pytest.fail(f"the student model (and its tokenizer) could not be prepared: {exc}")
    return AutoTokenizer.from_pretrained(student)


def save_tiny_llama(path: Path, seed: int = 0, layers: int = 2, tokenizer=None, manifest: dict | None = None) -> Path:
    """A random ``LlamaForCausalLM`` (hidden 32, ``layers`` layers) saved in Hugging Face format with the student's
    tokenizer; ``manifest`` is written as manifest.json when given."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = tokenizer or student_tokenizer()
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=layers,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    if manifest is not None:
        (path / "manifest.json").write_text(json.dumps(manifest))
    return path
