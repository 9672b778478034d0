"""A lean greedy decoder for Llama-architecture models on CPU: the same model, fewer operations per token.

On this machine a student batch (16 users, 24 layers) spent about 50 ms a decoding step in transformers' ``generate``
while reading its 226 MB of bfloat16 weights takes about 19 ms: a fifth of the step went to growing the KV cache by
concatenation (a copy of every layer's keys and values a step), and much of the rest to small operations and the
per-call overhead of 170 separate matrix products. Prefill padded every prompt to the batch's longest (16 x 327
positions for 3,572 real tokens). Here a step takes about 41 ms, most of it reading the weights and the cache.

:class:`LeanLlama` runs the model's own weights with:

- **packed prefill**: the batch's real prompt tokens in one sequence (no padding), attention row by row;
- **a preallocated KV cache**: prompts left-padded as ``generate`` keeps them, each step written in place;
- **fused projections**: query, key and value in one matrix product, gate and up in another. The fused matrices
  are made once, at load, and the model's own projection weights become views of them (same values, no second
  copy), so ``generate`` keeps working on the same model;
- **optionally a trimmed head** (``head_keep``): logits computed for a kept set of tokens only, every other token
  ``-inf`` (what ``models/headtrim.py`` does for ``generate``). SmolLM2's tied output projection is 49,152 x 576, a
  quarter of a 24-layer student's weights read every step.

Numerics follow transformers' Llama (``modeling_llama``) operation by operation in the weights' dtype (RMSNorm in
float32, rotary tables computed in float32 and cast, logits cast to float32 before the logits processors), so a
greedy list differs from ``generate``'s only where a matrix product of another shape rounds differently
(``tests/models/test_leandecode.py`` pins equal tokens in float32; the benchmark reports the share of equal lists on
the real student). Logits processors and stopping criteria are transformers' own interface, called as ``generate``
calls them. Greedy decoding only; sampling stays with ``generate``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from models.headtrim import TrimmedHead


def unsupported(model) -> str:
    """Why ``model`` cannot run here ("" when it can): a Llama with default rotary embeddings, no biases, SiLU."""
    cfg = getattr(model, "config", None)
    if cfg is None or getattr(cfg, "model_type", "") != "llama":
        return f"not a Llama model ({getattr(cfg, 'model_type', type(model).__name__)})"
    rope = getattr(cfg, "rope_parameters", None) or {}
    if rope.get("rope_type", "default") != "default":
        return f"rope type {rope.get('rope_type')!r} is not supported"
    if getattr(cfg, "attention_bias", False) or getattr(cfg, "mlp_bias", False):
        return "attention or MLP biases are not supported"
    if getattr(cfg, "hidden_act", "silu") != "silu":
        return f"activation {cfg.hidden_act!r} is not supported"
    head, layers = model.get_output_embeddings(), model.model.layers
    linears = [m for layer in layers[:1] for m in (layer.self_attn.q_proj, layer.mlp.down_proj)]
    if not isinstance(head, TrimmedHead):  # a head trimmed for ``generate`` keeps the full weight, read here
        linears.append(head)
    if any(type(m) is not torch.nn.Linear or type(m.weight) is not torch.nn.Parameter for m in linears):
        return "its linear layers are not plain torch.nn.Linear (quantised)"
    return ""


def fuse(linears: list) -> torch.Tensor:
    """One weight matrix of ``linears`` stacked by output row; each layer's weight becomes a view of its rows."""
    fused = torch.cat([m.weight.detach() for m in linears]).contiguous()
    start = 0
    for m in linears:
        rows = m.weight.shape[0]
        m.weight.data = fused[start:start + rows]
        start += rows
    return fused


class LeanLlama:
    """Greedy decoding of a loaded ``LlamaForCausalLM`` (its weights are shared, not copied, except the fused
    projections). :meth:`generate` takes and returns what ``model.generate`` does for left-padded greedy batches."""

    def __init__(self, model):
        reason = unsupported(model)
        if reason:
            raise ValueError(f"the lean decoder cannot run this model: {reason}")
        cfg, body = model.config, model.model
        self.heads, self.kv_heads = cfg.num_attention_heads, cfg.num_key_value_heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        self.scale = self.head_dim ** -0.5
        self.embed = body.embed_tokens.weight
        self.dtype = self.embed.dtype
        self.final_norm = (body.norm.weight, body.norm.variance_epsilon)
        self.head = model.get_output_embeddings().weight
        self.inv_freq = body.rotary_emb.inv_freq.float()
        self.rope_scale = float(getattr(body.rotary_emb, "attention_scaling", 1.0))
        self.layers = []
        with torch.no_grad():
            for layer in body.layers:
                attn, mlp = layer.self_attn, layer.mlp
                self.layers.append((
                    (layer.input_layernorm.weight, layer.input_layernorm.variance_epsilon),
                    fuse([attn.q_proj, attn.k_proj, attn.v_proj]),
                    attn.o_proj.weight,
                    (layer.post_attention_layernorm.weight, layer.post_attention_layernorm.variance_epsilon),
                    fuse([mlp.gate_proj, mlp.up_proj]),
                    mlp.down_proj.weight))
        self.q_size, self.kv_size = self.heads * self.head_dim, self.kv_heads * self.head_dim
        self.inner = self.layers[0][4].shape[0] // 2 if self.layers else 0

    # -- the operations, as modeling_llama computes them ------------------------------------------------------------

    def _norm(self, x: torch.Tensor, norm) -> torch.Tensor:
        weight, eps = norm  # torch's fused RMSNorm in float32: modeling_llama's arithmetic in fewer passes
        return weight * F.rms_norm(x.float(), (x.shape[-1],), eps=eps).to(x.dtype)

    def _rope(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and sin [..., head_dim] for integer ``positions``, in float32 then the weights' dtype."""
        freqs = positions.float()[..., None] * self.inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)
        return (emb.cos() * self.rope_scale).to(self.dtype), (emb.sin() * self.rope_scale).to(self.dtype)

    @staticmethod
    def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
        return x * cos + rotated * sin

    def _mlp(self, x: torch.Tensor, layer) -> torch.Tensor:
        gate, up = F.linear(x, layer[4]).split(self.inner, dim=-1)
        return F.linear(F.silu(gate) * up, layer[5])

    def _qkv(self, x: torch.Tensor, layer):
        q, k, v = F.linear(x, layer[1]).split((self.q_size, self.kv_size, self.kv_size), dim=-1)
        return q, k, v

    # -- prefill and decode -----------------------------------------------------------------------------------------

    def _prefill(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, total: int):
        """Runs the real tokens of every row as one packed sequence; returns the last position's hidden state per
        row [B, hidden] and the KV cache [(K, V)] per layer, each [B, kv_heads, total, head_dim] with row ``b``'s
        prompt at the columns its mask marks (left padding kept, so decode steps write one column for all rows)."""
        batch, width = input_ids.shape
        mask = attention_mask.bool()
        lengths = mask.sum(1).tolist()
        tokens = input_ids[mask]  # row by row, left to right
        positions = torch.cat([torch.arange(n) for n in lengths])
        cos, sin = self._rope(positions)  # [N, D]
        cos, sin = cos[:, None], sin[:, None]
        starts = [0]
        for n in lengths:
            starts.append(starts[-1] + n)
        x = F.embedding(tokens, self.embed)  # [N, hidden]
        cache = []
        for layer in self.layers:
            h = self._norm(x, layer[0])
            q, k, v = self._qkv(h, layer)
            q = self._rotate(q.view(-1, self.heads, self.head_dim), cos, sin)
            k = self._rotate(k.view(-1, self.kv_heads, self.head_dim), cos, sin)
            v = v.view(-1, self.kv_heads, self.head_dim)
            keys = k.new_zeros(batch, self.kv_heads, total, self.head_dim)
            values = torch.zeros_like(keys)
            out = torch.empty_like(q)
            for row in range(batch):
                a, b = starts[row], starts[row + 1]
                qi, ki, vi = q[a:b].transpose(0, 1), k[a:b].transpose(0, 1), v[a:b].transpose(0, 1)
                keys[row, :, width - (b - a):width] = ki
                values[row, :, width - (b - a):width] = vi
                out[a:b] = F.scaled_dot_product_attention(
                    qi[None], ki[None], vi[None], is_causal=True, scale=self.scale,
                    enable_gqa=self.kv_heads != self.heads)[0].transpose(0, 1)
            x = x + F.linear(out.reshape(-1, self.q_size), layer[2])
            x = x + self._mlp(self._norm(x, layer[3]), layer)
            cache.append((keys, values))
        last = torch.tensor([s - 1 for s in starts[1:]])
        return x[last], cache, torch.tensor(lengths)

    def _logits(self, hidden: torch.Tensor, head: TrimmedHead | None = None) -> torch.Tensor:
        """float32 logits over the whole vocabulary; with a trimmed ``head`` only its kept tokens are computed and
        every other token is ``-inf``."""
        normed = self._norm(hidden, self.final_norm)
        return (F.linear(normed, self.head) if head is None else head(normed)).float()

    def _step(self, tokens: torch.Tensor, positions: torch.Tensor, cache, column: int, keep: torch.Tensor):
        """One decoding step: ``tokens`` [B] at ``positions`` [B], written to cache ``column``; ``keep`` [B, 1, 1,
        column + 1] is 0 on the columns each row attends to and -inf elsewhere (in the weights' dtype: SDPA would
        convert a boolean mask in every layer). Returns the hidden state [B, hidden]."""
        batch = tokens.shape[0]
        x = F.embedding(tokens, self.embed)  # [B, hidden]
        cos, sin = self._rope(positions)
        cos, sin = cos[:, None, None], sin[:, None, None]  # [B, 1, 1, D]
        for layer, (keys, values) in zip(self.layers, cache):
            q, k, v = self._qkv(self._norm(x, layer[0]), layer)
            q = self._rotate(q.view(batch, self.heads, 1, self.head_dim), cos, sin)
            keys[:, :, column] = self._rotate(k.view(batch, self.kv_heads, 1, self.head_dim), cos, sin)[:, :, 0]
            values[:, :, column] = v.view(batch, self.kv_heads, self.head_dim)
            out = F.scaled_dot_product_attention(
                q, keys[:, :, :column + 1], values[:, :, :column + 1], attn_mask=keep, scale=self.scale,
                enable_gqa=self.kv_heads != self.heads)
            x = x + F.linear(out.reshape(batch, self.q_size), layer[2])
            x = x + self._mlp(self._norm(x, layer[3]), layer)
        return x

    @torch.inference_mode()
    def generate(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, max_new_tokens: int,
                 eos_token_ids: list[int], pad_token_id: int, logits_processor=None,
                 stopping_criteria=None, head_keep=None) -> torch.Tensor:
        """Greedy continuation of left-padded ``input_ids`` [B, P]: returns [B, P + steps] like ``generate`` (a row
        that has ended, by an end token or a stopping criterion, continues with ``pad_token_id``; the batch stops
        when every row has ended or after ``max_new_tokens``). ``logits_processor`` and ``stopping_criteria`` are
        called as ``generate`` calls them: on the float32 scores and the whole sequence so far. ``head_keep`` (token
        ids) trims the head to those tokens: no other token can be written; give it the end tokens too."""
        batch, width = input_ids.shape
        head = None
        if head_keep is not None:
            if not head_keep:
                raise ValueError("head_keep must name at least one token")
            head = TrimmedHead(self.head, head_keep)  # refuses an id outside the vocabulary
        total = width + max_new_tokens
        hidden, cache, lengths = self._prefill(input_ids, attention_mask, total)
        keep = torch.full((batch, 1, 1, total), float("-inf"), dtype=self.dtype)
        keep[:, 0, 0, :width].masked_fill_(attention_mask.bool(), 0.0)
        eos = torch.tensor(sorted(set(eos_token_ids)), dtype=torch.long)
        sequence = input_ids
        unfinished = torch.ones(batch, dtype=torch.bool)
        positions = lengths.clone()
        for step in range(max_new_tokens):
            scores = self._logits(hidden, head)
            if logits_processor is not None:
                scores = logits_processor(sequence, scores)
            token = scores.argmax(-1)
            token = torch.where(unfinished, token, torch.full_like(token, pad_token_id))
            sequence = torch.cat([sequence, token[:, None]], dim=1)
            unfinished &= ~torch.isin(token, eos)
            if stopping_criteria is not None:
                unfinished &= ~stopping_criteria(sequence, scores)
            if not unfinished.any() or step == max_new_tokens - 1:
                break
            column = width + step
            keep[:, 0, 0, column] = 0.0
            hidden = self._step(token, positions, cache, column, keep[:, :, :, :column + 1])
            positions += 1
        return sequence
