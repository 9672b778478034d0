"""The teacher: Dr.GRPO on the composite interest reward, the project's own loop (``interests train grpo``); it
also trains on from a published adapter, a depth-pruned student included (:func:`continue_from`: the adapter's base,
kept layers and prompt contract).

Each step: ``users_per_step`` training users -> the serving prompt -> ``group_size`` sampled query lists each ->
the rewards (training/rewards.py) -> advantages centred on each group's mean (not scaled) -> the clipped-ratio loss
summed over tokens and divided by a constant (rows x max completion tokens) -> one AdamW step on a LoRA adapter.
Groups with no reward spread (advantage 0) carry no gradient and are skipped unless a KL term is on; the others go
through the model whole, each prompt once for its ``group_size`` completions (``policy.shared_completion_logits``:
the prompt is most of the tokens, so this cuts a step's forward and backward work about ``group_size``-fold).
The reference for the optional KL (``beta``) is the base model: the adapter disabled.

Why the project's loop and not TRL's GRPOTrainer: TRL is not in the pinned environment and its generation path
assumes a GPU setup; the objective is small enough to own and pin with tests (tests/training/test_losses.py).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from common.settings import portable
from training import policy as P
from models.prompt import check_contract
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


CONTINUED_KEYS = ("decoding", "layer_choice", "importance", "teacher")  # what a continued adapter's manifest keeps


def adapter_manifest(adapter: Path | None) -> dict:
    """The ``manifest.json`` of an adapter folder ({} without one)."""
    path = Path(adapter) / "manifest.json" if adapter else None
    return json.loads(path.read_text()) if path and path.exists() else {}


def continue_from(adapter: Path, policy, resolve_base=None):
    """``(policy, base reference)`` for training on from ``adapter`` (a folder with a ``manifest.json``): the
    policy's model becomes the adapter's base (``resolve_base(ref)`` turns a registry reference such as
    ``smollm2-135m-instruct@grpo-v1`` into its folder; a folder is used as it is), its layers the adapter's kept
    layers (a depth-pruned student; LoRA then on all of them), its prompt's size (``num_queries``,
    ``max_prompt_signals``) the one the adapter is served with. The base reference is what the new adapter's
    manifest names, so that the registry rebuilds it the same way. Without a manifest the policy is unchanged."""
    meta = adapter_manifest(adapter)
    ref = str(meta.get("base") or "")
    if not ref:
        return policy, str(policy.model)
    if Path(ref).is_dir():
        base = Path(ref)
    elif resolve_base is not None:
        base = Path(resolve_base(ref))
    else:
        raise ValueError(f"the adapter {adapter} was trained on {ref!r}, which is not a folder here: give a resolver "
                         f"(the model registry) for it")
    layers = meta.get("layers")
    prompt = meta.get("prompt") or {}
    sizes = {key: int(prompt[key]) for key in ("num_queries", "max_prompt_signals") if prompt.get(key)}
    policy = replace(policy, model=str(base), layers=tuple(layers) if layers else None,
                     **({"lora_top_layers": 0} if layers else {}), **sizes)
    return policy, ref


def prompt_contract(adapter: Path | None) -> str:
    """The prompt contract an adapter reads (its manifest's ``prompt.contract``; the chat prompt without one): a
    continued model is trained on the prompt it is served with."""
    return check_contract(str((adapter_manifest(adapter).get("prompt") or {}).get("contract") or "chat"))


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


def grpo_step(model, tokenizer, env, users: list[str], cfg: GRPOConfig, weights: dict, contract: str = "chat",
              no_repeat_ngram: int = 0) -> dict:
    """One Dr.GRPO update (gradients accumulated over micro-batches; the caller steps the optimizer) on prompts of
    ``contract`` (models/prompt.py), rollouts sampled under the served no-repeat rule when ``no_repeat_ngram``."""
    pcfg = cfg.policy
    prompts = P.build_prompts(tokenizer, [env.history(u) for u in users], pcfg.num_queries, pcfg.max_prompt_signals,
                              contract)
    rollout = P.sample(model, tokenizer, prompts, n=cfg.group_size, temperature=pcfg.temperature,
                       max_new_tokens=pcfg.max_new_tokens, top_p=pcfg.top_p, no_repeat_ngram=no_repeat_ngram)
    rows_users = [u for u in users for _ in range(cfg.group_size)]
    contexts = env.contexts(rows_users)
    total, per = composite([p for p in prompts for _ in range(cfg.group_size)], rollout.texts, contexts, weights,
                           env.rewards)
    adv = group_advantages(torch.tensor(total), cfg.group_size).to(rollout.input_ids.device)
    if cfg.positive_only:
        adv = adv.clamp(min=0.0)
    active = [i for i in range(len(rows_users)) if cfg.beta > 0 or abs(float(adv[i])) > 1e-8]
    normalizer = float(len(rows_users) * pcfg.max_new_tokens)  # constant: Dr.GRPO's unbiased normaliser
    stats = {"loss": 0.0, "kl": 0.0, "entropy": 0.0, "clip_fraction": 0.0}
    # whole groups through the model, each prompt once (policy.shared_completion_logits); a row of a group with no
    # advantage adds nothing to the loss
    size = cfg.group_size
    groups = sorted({i // size for i in active})
    per_pass = max(1, cfg.micro_batch // size)
    for start in range(0, len(groups), per_pass):
        chunk = groups[start:start + per_pass]
        rows = torch.tensor([g * size + j for g in chunk for j in range(size)], device=rollout.input_ids.device)
        sub = P.Rollout(rollout.input_ids[rows], rollout.attention_mask[rows], rollout.prompt_len,
                        rollout.completion_mask[rows], [rollout.texts[i] for i in rows.tolist()], size)
        logits = P.shared_completion_logits(model, rollout, chunk)
        logp = P.token_logprobs(logits, sub.completion, pcfg.temperature)
        ref = None
        if cfg.beta > 0:
            with torch.no_grad(), model.disable_adapter():
                ref = P.token_logprobs(P.shared_completion_logits(model, rollout, chunk), sub.completion,
                                       pcfg.temperature)
        loss, part = dr_grpo_loss(logp, logp.detach(), adv[rows], sub.completion_mask, normalizer, cfg.clip_eps,
                                  ref, cfg.beta)
        loss.backward()
        share = len(rows) / max(1, len(groups) * size)
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
          users: list[str] | None = None, base_ref: str | None = None) -> Path:
    """Train the teacher, or continue ``init_adapter`` (a teacher or a depth-pruned student: give the policy its base
    and layers, :func:`continue_from`); returns the folder of the final adapter (``out_dir/adapter``). The prompt is
    the one ``init_adapter`` reads (:func:`prompt_contract`); ``base_ref`` is the base the new manifest names
    (default: the policy's model folder)."""
    weights = check_weights(cfg.weights)
    contract = prompt_contract(init_adapter)
    init_meta = adapter_manifest(init_adapter)
    no_repeat = int((init_meta.get("decoding") or {}).get("no_repeat_ngram") or 0)  # sampled as it is served
    seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    tokenizer, model = setup_policy(cfg.policy, init_adapter)
    optimizer = torch.optim.AdamW(P.trainable_parameters(model), lr=cfg.lr, weight_decay=0.0)
    batches = user_batches(users if users is not None else env.train_users(), cfg.users_per_step, rng)

    def step(_: int) -> dict:
        optimizer.zero_grad(set_to_none=True)
        row = grpo_step(model, tokenizer, env, next(batches), cfg, weights, contract, no_repeat)
        row["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(P.trainable_parameters(model), cfg.grad_clip))
        optimizer.step()
        return row

    rows = train_loop(out_dir, cfg, model, optimizer, cfg.steps, step, rng, cfg.checkpoint_every, resume,
                      desc="dr-grpo", time_budget_s=cfg.time_budget_s)
    last = rows[-5:]
    metrics = {"final_reward_mean_last5": float(np.mean([r["reward"] for r in last])) if last else None,
               "steps": len(rows)}
    layers = list(cfg.policy.layers) if cfg.policy.layers else None
    description = "SmolLM2-135M-Instruct trained with Dr.GRPO on the composite interest reward."
    if layers:
        description = (f"the depth-pruned student ({len(layers)} layers) of {init_meta.get('version') or init_adapter}"
                       f" trained on with Dr.GRPO on the composite interest reward, reading the {contract} prompt.")
    prompt = {"num_queries": cfg.policy.num_queries, "max_prompt_signals": cfg.policy.max_prompt_signals,
              **({"contract": contract} if contract != "chat" else {})}
    manifest = {"base": base_ref or str(cfg.policy.model), "layers": layers, "adapter": ".",
                "training_run": portable(out_dir), "metrics": metrics, "description": description, "prompt": prompt,
                "init_adapter": portable(init_adapter) if init_adapter else None,
                **{key: init_meta[key] for key in CONTINUED_KEYS if key in init_meta}}
    adapter = P.save_adapter(model, tokenizer, Path(out_dir) / "adapter", manifest)
    (adapter / "README.md").write_text(model_card("Interest-query teacher (Dr.GRPO)", manifest, as_dict(cfg),
                                                  metrics))
    return adapter


def with_rewards(cfg: GRPOConfig, weights: dict[str, float]) -> GRPOConfig:
    """``cfg`` with other reward weights (the ablations)."""
    return replace(cfg, rewards=tuple(check_weights(weights).items()))
