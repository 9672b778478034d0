"""Grouped-query attention that reads the KV cache in place.

SmolLM2 has 9 query heads and 3 key/value heads. transformers' ``sdpa`` attention copies the keys and values three
times over (``repeat_kv``) in every layer at every decoding step whenever there is an attention mask, which left
padding of a batch always gives; on a CPU that copy of the whole cache was 11 % of a student batch's time. PyTorch's
``scaled_dot_product_attention`` takes the grouped heads as they are (``enable_gqa=True``), mask or not. The
attention registered here (``sdpa_gqa``) is transformers' own SDPA path with that one difference; its masks are
SDPA's. The generator loads its model with it (``INTERESTS_GEN_ATTENTION``).
"""

from __future__ import annotations

NAME = "sdpa_gqa"
IMPLEMENTATIONS = (NAME, "sdpa", "eager")


def sdpa_gqa_forward(module, query, key, value, attention_mask, dropout: float = 0.0, scaling: float | None = None,
                     is_causal: bool | None = None, **kwargs):
    """Attention over ``query`` [B, H, Q, D] and the unrepeated ``key``/``value`` [B, H_kv, K, D] (torch tensors;
    ``attention_mask`` None or SDPA's); returns ``([B, Q, H, D], None)`` like transformers' attention functions."""
    import torch

    is_causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
    is_causal = bool(query.shape[2] > 1 and attention_mask is None and is_causal)
    if is_causal and key.shape[2] > query.shape[2]:  # a prefill into an empty pre-sized cache: SDPA aligns top-left
        key, value = key[:, :, :query.shape[2]], value[:, :, :query.shape[2]]
    out = torch.nn.functional.scaled_dot_product_attention(
        query, key, value, attn_mask=attention_mask, dropout_p=dropout, scale=scaling, is_causal=is_causal,
        enable_gqa=key.shape[1] != query.shape[1])
    return out.transpose(1, 2).contiguous(), None


def register() -> str:
    """Register ``sdpa_gqa`` with transformers (attention and its masks, SDPA's); returns its name for
    ``from_pretrained(attn_implementation=...)``. Safe to call again."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, sdpa_gqa_forward)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    return NAME


def check_attention(name: str) -> str:
    """``name`` if it is one of :data:`IMPLEMENTATIONS`, else a clear error (without importing torch)."""
    if name not in IMPLEMENTATIONS:
        raise ValueError(f"unknown attention {name!r} (INTERESTS_GEN_ATTENTION): use {', '.join(IMPLEMENTATIONS)}")
    return name


def implementation(name: str) -> str:
    """The ``attn_implementation`` to load a model with: ``sdpa_gqa`` (registered here), ``sdpa`` or ``eager``."""
    return register() if check_attention(name) == NAME else name
