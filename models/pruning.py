"""Depth pruning: a copy of a decoder-only model that keeps a subset of its transformer layers.

The student of the training package is SmolLM2 with some of its 30 layers (``training/distill.py``); the registry
rebuilds it from the base model and the layer list in its manifest (``"layers": [...]``) before applying the
student's adapter, so only the small adapter has to be stored.
"""

from __future__ import annotations


def default_layers(total: int, keep: int) -> list[int]:
    """Which ``keep`` of ``total`` layers a depth-pruned student keeps: the first two thirds of the budget from the
    bottom (token-level features) and the rest from the top (the output layers), dropping the middle, where
    consecutive layers change the residual stream least."""
    if not 1 <= keep <= total:
        raise ValueError(f"cannot keep {keep} of {total} layers")
    if keep == total:
        return list(range(total))
    top = max(1, keep // 3)
    bottom = keep - top
    return list(range(bottom)) + list(range(total - top, total))


def prune_layers(model, keep: list[int]):
    """Keep only the layers ``keep`` (sorted, unique indices) of a Llama-style ``model`` in place; returns it.
    The config's layer count (and per-layer lists) follow, and each attention layer's cache index is renumbered."""
    import torch

    layers = model.model.layers
    if not keep or sorted(set(keep)) != list(keep) or keep[0] < 0 or keep[-1] >= len(layers):
        raise ValueError(f"layers to keep must be sorted unique indices in [0, {len(layers)}), got {keep}")
    model.model.layers = torch.nn.ModuleList([layers[i] for i in keep])
    for index, layer in enumerate(model.model.layers):
        if hasattr(layer, "self_attn") and hasattr(layer.self_attn, "layer_idx"):
            layer.self_attn.layer_idx = index
    config = model.config
    if isinstance(getattr(config, "layer_types", None), list):
        config.layer_types = [config.layer_types[i] for i in keep]
    config.num_hidden_layers = len(keep)
    return model
