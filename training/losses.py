"""The training objectives as plain tensor functions (no model, no data): Dr.GRPO and the distillation losses.

Dr.GRPO (Liu et al., "Understanding R1-Zero-Like Training", 2025), the variant the paper trains its teacher with:

- advantages are the rewards centred on their group's mean, **not** divided by the group's standard deviation
  (:func:`group_advantages` with ``scale=False``);
- the token losses are summed and divided by a **constant** (``normalizer``, e.g. batch rows x max completion
  tokens), not by each sequence's own length, so long and short completions are not reweighted;
- the importance ratio against the sampling policy is clipped PPO-style; an optional KL penalty to a reference
  model uses the k3 estimator ``exp(r - l) - (r - l) - 1`` per token.

Distillation: :func:`reverse_kl` is the per-token KL(student || teacher) over the whole vocabulary at each
position of the student's own rollout (on-policy distillation); :func:`sft_loss` the token cross-entropy on teacher
samples (the off-policy control).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def group_advantages(rewards: torch.Tensor, group_size: int, scale: bool = False, eps: float = 1e-4) -> torch.Tensor:
    """Rewards ``[B * G]`` (prompt by prompt, ``G = group_size`` samples each) -> advantages ``[B * G]``: reward minus
    its group's mean; divided by the group's standard deviation only when ``scale`` (GRPO, not Dr.GRPO)."""
    if rewards.dim() != 1 or rewards.numel() % group_size:
        raise ValueError(f"expected a flat tensor of B x {group_size} rewards, got shape {tuple(rewards.shape)}")
    grouped = rewards.float().view(-1, group_size)
    centred = grouped - grouped.mean(dim=1, keepdim=True)
    if scale:
        centred = centred / (grouped.std(dim=1, keepdim=True) + eps)
    return centred.reshape(-1)


def dr_grpo_loss(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor,
                 normalizer: float, clip_eps: float = 0.2, ref_logp: torch.Tensor | None = None,
                 beta: float = 0.0) -> tuple[torch.Tensor, dict]:
    """The Dr.GRPO loss of a batch of completions.

    ``logp``, ``old_logp``, ``ref_logp``, ``mask``: ``[N, T]`` per-token log-probabilities of the sampled tokens under
    the policy being trained, the policy that sampled them, and the reference model; ``mask`` is 1 on completion
    tokens. ``advantages``: ``[N]``. Returns ``(loss, stats)``; ``loss = -sum_tokens(min(ratio A, clip(ratio) A)
    - beta KL) / normalizer``.
    """
    if normalizer <= 0:
        raise ValueError("normalizer must be positive")
    mask = mask.to(logp)  # the dtype and device of logp
    ratio = torch.exp(logp - old_logp)
    adv = advantages.to(logp)[:, None]
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * adv
    per_token = torch.minimum(unclipped, clipped)
    stats = {"clip_fraction": float(((unclipped != clipped).to(mask.dtype) * mask).sum() / mask.sum().clamp(min=1))}
    if ref_logp is not None and beta > 0:
        delta = ref_logp - logp
        kl = torch.exp(delta) - delta - 1.0
        per_token = per_token - beta * kl
        stats["kl"] = float((kl.detach() * mask).sum() / mask.sum().clamp(min=1))
    loss = -(per_token * mask).sum() / normalizer
    return loss, stats


def reverse_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-token KL(student || teacher) ``[N, T]`` from logits ``[N, T, V]`` (zero where ``mask`` is 0):
    ``sum_v p_s(v) (log p_s(v) - log p_t(v))``, exact over the vocabulary."""
    log_s = F.log_softmax(student_logits.float(), dim=-1)
    log_t = F.log_softmax(teacher_logits.float(), dim=-1)
    kl = (log_s.exp() * (log_s - log_t)).sum(dim=-1)
    return kl * mask.to(kl)


def sft_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean token cross-entropy of ``targets`` ``[N, T]`` under ``logits`` ``[N, T, V]`` over the masked tokens."""
    logp = F.log_softmax(logits.float(), dim=-1).gather(-1, targets.to(logits.device)[..., None]).squeeze(-1)
    mask = mask.to(logp)
    return -(logp * mask).sum() / mask.sum().clamp(min=1)
