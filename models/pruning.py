"""Depth pruning: a copy of a decoder-only model that keeps a subset of its transformer layers, chosen evenly
(:func:`default_layers`) or by measured importance (:func:`block_influence`, :func:`important_layers`).

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


def block_influence(model, input_ids, attention_mask) -> list[float]:
    """Each transformer layer's Block Influence (ShortGPT, Men et al. 2024) on a batch: one minus the cosine between
    the hidden state entering the layer and the one leaving it, averaged over the real (unpadded) tokens. A layer
    that barely turns the residual stream scores near 0 and is the first a depth-pruned student drops."""
    import torch

    layers = model.model.layers
    inputs: dict[int, torch.Tensor] = {}
    scores = [0.0] * len(layers)
    mask = attention_mask.bool()

    def before(index):
        def hook(_module, args, kwargs):
            inputs[index] = (args[0] if args else kwargs["hidden_states"]).detach()
        return hook

    def after(index):
        def hook(_module, _args, output):
            out = output[0] if isinstance(output, (tuple, list)) else output
            cos = torch.nn.functional.cosine_similarity(inputs.pop(index).float(), out.detach().float(), dim=-1)
            scores[index] = max(0.0, float((1.0 - cos)[mask].mean()))
        return hook

    handles = []
    for i, layer in enumerate(layers):
        handles.append(layer.register_forward_pre_hook(before(i), with_kwargs=True))
        handles.append(layer.register_forward_hook(after(i)))
    try:
        with torch.no_grad():
            model(input_ids=input_ids, attention_mask=attention_mask)
    finally:
        for handle in handles:
            handle.remove()
    return scores


def important_layers(scores: list[float], keep: int, protect: tuple[int, ...] = (0, -1)) -> list[int]:
    """The ``keep`` layers to keep given per-layer importance ``scores`` (e.g. :func:`block_influence`): the most
    important ones, the ``protect``ed layers (default the first and the last, which every pruning study keeps)
    always among them; ties keep the lower layer. Sorted."""
    total = len(scores)
    if not 1 <= keep <= total:
        raise ValueError(f"cannot keep {keep} of {total} layers")
    forced = sorted({p % total for p in protect})
    if len(forced) > keep:
        raise ValueError(f"cannot keep {keep} layers and protect {len(forced)}")
    rest = sorted((i for i in range(total) if i not in forced), key=lambda i: (-scores[i], i))
    return sorted(forced + rest[: keep - len(forced)])
