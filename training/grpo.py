"""The teacher: Dr.GRPO on the composite interest reward, the project's own loop (``interests train grpo``).

Each step: ``users_per_step`` training users -> the serving prompt -> ``group_size`` sampled query lists each ->
the rewards (training/rewards.py) -> advantages centred on each group's mean (not scaled) -> the clipped-ratio loss
summed over tokens and divided by a constant (rows x max completion tokens) -> one AdamW step on a LoRA adapter.
Rows whose group had no reward spread (advantage 0) carry no gradient and are skipped unless a KL term is on.
The reference for the optional KL (``beta``) is the base model: the adapter disabled.

Why the project's loop and not TRL's GRPOTrainer: TRL is not in the pinned environment and its generation path
assumes a GPU setup; the objective is small enough to own and pin with tests (tests/training/test_losses.py).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from common.settings import portable
from training import policy as P
from training.config import GRPOConfig
from training.losses import dr_grpo_loss, group_advantages
from training.rewards import check_weights, composite
from training.runs import as_dict, model_card, seed_everything, train_loop

log = logging.getLogger(__name__)


def user_batches(users: list[str], per_step: int, rng: np.random.Generator):
    """An endless stream of batches: the users reshuffled every epoch, ``per_step`` at a time."""
    if not users:
        raise ValueError("no training users with a history and a held-out next click")
    while True:
        order = rng.permutation(len(users))
        for start in range(0, len(order) - per_step + 1 if len(order) >= per_step else 1, per_step):
            yield [users[i] for i in order[start:start + per_step]]


def setup_policy(pcfg, adapter: Path | None = None):
    """Tokenizer and the trainable policy (a fresh LoRA adapter, or ``adapter`` loaded trainable to continue)."""
    if pcfg.torch_threads:
        torch.set_num_threads(pcfg.torch_threads)
    tokenizer = P.load_tokenizer(Path(pcfg.model))
    model = P.load_model(Path(pcfg.model), pcfg.dtype, list(pcfg.layers) if pcfg.layers else None,
                         adapter=adapter, trainable=adapter is not None, device=pcfg.device)
    if adapter is None:
        model = P.add_lora(model, pcfg.lora_rank, pcfg.lora_alpha, pcfg.lora_top_layers)
    model.train()
    return tokenizer, model


def grpo_step(model, tokenizer, env, users: list[str], cfg: GRPOConfig, weights: dict) -> dict:
    """One Dr.GRPO update (gradients accumulated over micro-batches; the caller steps the optimizer)."""
    pcfg = cfg.policy
    prompts = P.build_prompts(tokenizer, [env.history(u) for u in users], pcfg.num_queries, pcfg.max_prompt_signals)
    rollout = P.sample(model, tokenizer, prompts, n=cfg.group_size, temperature=pcfg.temperature,
                       max_new_tokens=pcfg.max_new_tokens, top_p=pcfg.top_p)
    rows_users = [u for u in users for _ in range(cfg.group_size)]
    contexts = env.contexts(rows_users)
    total, per = composite([p for p in prompts for _ in range(cfg.group_size)], rollout.texts, contexts, weights,
                           env.rewards)
    adv = group_advantages(torch.tensor(total), cfg.group_size).to(rollout.input_ids.device)
    active = [i for i in range(len(rows_users)) if cfg.beta > 0 or abs(float(adv[i])) > 1e-8]
    normalizer = float(len(rows_users) * pcfg.max_new_tokens)  # constant: Dr.GRPO's unbiased normaliser
    stats = {"loss": 0.0, "kl": 0.0, "entropy": 0.0, "clip_fraction": 0.0}
    for start in range(0, len(active), cfg.micro_batch):
        rows = torch.tensor(active[start:start + cfg.micro_batch], device=rollout.input_ids.device)
        sub = P.Rollout(rollout.input_ids[rows], rollout.attention_mask[rows], rollout.prompt_len,
                        rollout.completion_mask[rows], [rollout.texts[i] for i in rows.tolist()], 1)
        logits = P.completion_logits(model, sub)
        logp = P.token_logprobs(logits, sub.completion, pcfg.temperature)
        ref = None
        if cfg.beta > 0:
            with torch.no_grad(), model.disable_adapter():
                ref = P.token_logprobs(P.completion_logits(model, sub), sub.completion, pcfg.temperature)
        loss, part = dr_grpo_loss(logp, logp.detach(), adv[rows], sub.completion_mask, normalizer, cfg.clip_eps,
                                  ref, cfg.beta)
        loss.backward()
        share = len(rows) / max(1, len(active))
        stats["loss"] += float(loss.detach())
        stats["kl"] += part.get("kl", 0.0) * share
        stats["clip_fraction"] += part["clip_fraction"] * share
        stats["entropy"] += P.entropy(logits.detach(), sub.completion_mask) * share
    lengths = rollout.lengths.float()
    return {
        "reward": float(np.mean(total)), "reward_std": float(np.std(total)),
        **{f"reward/{name}": float(np.mean(values)) for name, values in per.items()},
        **stats, "completion_len": float(lengths.mean()), "completion_len_max": float(lengths.max()),
        "active_rows": len(active), "example": rollout.texts[0][:200],
    }


def train(cfg: GRPOConfig, env, out_dir: Path, resume: bool = True, init_adapter: Path | None = None,
          users: list[str] | None = None) -> Path:
    """Train the teacher; returns the folder of the final adapter (``out_dir/adapter``)."""
    weights = check_weights(cfg.weights)
    seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    tokenizer, model = setup_policy(cfg.policy, init_adapter)
    optimizer = torch.optim.AdamW(P.trainable_parameters(model), lr=cfg.lr, weight_decay=0.0)
    batches = user_batches(users if users is not None else env.train_users(), cfg.users_per_step, rng)

    def step(_: int) -> dict:
        optimizer.zero_grad(set_to_none=True)
        row = grpo_step(model, tokenizer, env, next(batches), cfg, weights)
        row["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(P.trainable_parameters(model), cfg.grad_clip))
        optimizer.step()
        return row

    rows = train_loop(out_dir, cfg, model, optimizer, cfg.steps, step, rng, cfg.checkpoint_every, resume,
                      desc="dr-grpo", time_budget_s=cfg.time_budget_s)
    last = rows[-5:]
    metrics = {"final_reward_mean_last5": float(np.mean([r["reward"] for r in last])) if last else None,
               "steps": len(rows)}
    manifest = {"base": str(cfg.policy.model), "layers": list(cfg.policy.layers) if cfg.policy.layers else None,
                "adapter": ".", "training_run": portable(out_dir), "metrics": metrics,
                "description": "SmolLM2-135M-Instruct trained with Dr.GRPO on the composite interest reward.",
                "prompt": {"num_queries": cfg.policy.num_queries, "max_prompt_signals": cfg.policy.max_prompt_signals}}
    adapter = P.save_adapter(model, tokenizer, Path(out_dir) / "adapter", manifest)
    (adapter / "README.md").write_text(model_card("Interest-query teacher (Dr.GRPO)", manifest, as_dict(cfg),
                                                  metrics))
    return adapter


def with_rewards(cfg: GRPOConfig, weights: dict[str, float]) -> GRPOConfig:
    """``cfg`` with other reward weights (the ablations)."""
    return replace(cfg, rewards=tuple(check_weights(weights).items()))
