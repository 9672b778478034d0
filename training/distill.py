"""The student: a depth-pruned SmolLM2 distilled from the teacher (``interests train distill``).

The student starts from the teacher itself (the base with the teacher's adapter merged) with its least important
layers removed (``layer_choice="importance"``: :func:`models.pruning.block_influence` measured on training prompts)
or an even cut of the middle (``"even"``); it trains a fresh LoRA adapter on every layer. It may read its own prompt
contract (``contract="compact"``: the activity and a one-line instruction) while the teacher reads the full chat
prompt it was trained on: the student learns the teacher's answers without the preamble (context distillation).

``on-policy`` (the paper's method): the student samples query lists for training users' prompts, the teacher
scores the student's own tokens, and the loss is the per-token reverse KL(student || teacher) over the vocabulary,
summed over tokens and divided by a constant (rows x max completion tokens); optionally plus the Dr.GRPO reward
term (``reward_coef``). ``sft`` (the off-policy control): the teacher samples, the student learns those tokens by
cross-entropy; with a KD cache (``training/kd.py``, an environment with ``target``) the targets are the teacher's
served lists, generated once (sequence-level distillation). The third control, no distillation, is the pruned
teacher as is (nothing to train).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from common.settings import portable
from models.parsing import complete_lines
from models.prompt import chat_prompts, check_contract
from models.pruning import block_influence, default_layers, important_layers, prune_layers
from training import policy as P
from training.config import DistillConfig
from training.grpo import adapter_manifest, user_batches
from training.losses import dr_grpo_loss, group_advantages, reverse_kl, sft_loss
from training.rewards import check_weights, composite
from training.runs import as_dict, model_card, seed_everything, train_loop

log = logging.getLogger(__name__)
MODES = ("on-policy", "sft")


def student_layers(cfg: DistillConfig, total: int, importance: list[float] | None = None) -> list[int]:
    """The teacher's layers the student keeps: ``cfg.student.layers`` when given, else ``cfg.keep_layers`` of them,
    the most important by ``importance`` (``layer_choice="importance"``) or an even cut."""
    if cfg.student.layers:
        return list(cfg.student.layers)
    if cfg.layer_choice == "importance":
        if importance is None:
            raise ValueError("layer_choice='importance' needs the layers' measured importance")
        return important_layers(importance, cfg.keep_layers)
    return default_layers(total, cfg.keep_layers)


def measure_importance(teacher, tokenizer, env, cfg: DistillConfig, users: int = 32) -> list[float]:
    """Each teacher layer's Block Influence on the teacher's prompts of the first ``users`` training users."""
    pcfg = cfg.student
    sample = env.train_users()[:users]
    prompts = chat_prompts(tokenizer, [env.history(u) for u in sample], pcfg.num_queries, cfg.teacher_signals)
    enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(teacher.device)
    return block_influence(teacher, enc["input_ids"], enc["attention_mask"])


def prompts_of(tokenizer, env, users: list[str], cfg: DistillConfig) -> tuple[list[str], list[str]]:
    """``(student prompts, teacher prompts)``: the student's contract over its signals, the teacher's chat prompt
    over the teacher's (the same list when they agree)."""
    pcfg = cfg.student
    histories = [env.history(u) for u in users]
    student = chat_prompts(tokenizer, histories, pcfg.num_queries, pcfg.max_prompt_signals, cfg.contract)
    if cfg.contract == "chat" and cfg.teacher_signals == pcfg.max_prompt_signals:
        return student, student
    return student, chat_prompts(tokenizer, histories, pcfg.num_queries, cfg.teacher_signals)


def load_teacher(base: Path, adapter: Path | None, dtype: str, device: str = "cpu"):
    """The teacher for scoring or sampling: the base with its adapter merged, frozen."""
    teacher = P.load_model(Path(base), dtype, adapter=adapter, trainable=False, device=device)
    teacher.eval()
    for param in teacher.parameters():
        param.requires_grad_(False)
    return teacher


class GreedyTeacher:
    """The teacher's greedy completion of each user's prompt, generated once and kept (in memory and in a JSON-lines
    file, so a resumed run reuses them): the targets of sequence-level distillation (SFT with
    ``teacher_temperature == 0``), which repeat every epoch. A completion cut by the token limit keeps only its
    complete lines (the student then learns to end after a whole query, not in the middle of one)."""

    def __init__(self, teacher, tokenizer, path: Path | None, max_new_tokens: int):
        self.teacher, self.tokenizer, self.path, self.max_new_tokens = teacher, tokenizer, path, max_new_tokens
        self.texts: dict[str, str] = {}
        if path is not None and Path(path).exists():
            for line in Path(path).read_text().splitlines():
                if line.strip():
                    rec = json.loads(line)
                    self.texts[rec["user"]] = rec["text"]

    def __call__(self, users: list[str], prompts: list[str]) -> list[str]:
        todo = [(u, p) for u, p in zip(users, prompts) if u not in self.texts]
        if todo:
            out = P.sample(self.teacher, self.tokenizer, [p for _, p in todo], n=1, temperature=0.0,
                           max_new_tokens=self.max_new_tokens)
            ends = {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id}
            for i, ((user, _), text) in enumerate(zip(todo, out.texts)):
                tokens = out.completion[i][: int(out.lengths[i])].tolist()
                self.texts[user] = text if any(t in ends for t in tokens) else complete_lines(text)
            if self.path is not None:
                with open(self.path, "a") as fh:
                    fh.writelines(json.dumps({"user": u, "text": self.texts[u]}) + "\n" for u, _ in todo)
        return [self.texts[u] for u in users]


def distill_step(student, teacher, tokenizer, env, users: list[str], cfg: DistillConfig, weights: dict,
                 greedy: GreedyTeacher | None = None) -> dict:
    pcfg = cfg.student
    prompts, teacher_prompts = prompts_of(tokenizer, env, users, cfg)
    n = cfg.samples_per_user
    teacher_rollout = None
    if cfg.mode == "sft" and hasattr(env, "target"):  # the KD cache: the teacher's served list, one per user
        n = 1
        rollout = P.rollout_from_texts(tokenizer, prompts, [env.target(u) for u in users], n=1)
    elif cfg.mode == "sft" and greedy is not None:  # sequence-level: one cached greedy teacher completion per prompt
        n = 1
        rollout = P.rollout_from_texts(tokenizer, prompts, greedy(users, teacher_prompts), n=1)
    elif cfg.mode == "sft":
        temperature = pcfg.temperature if cfg.teacher_temperature is None else cfg.teacher_temperature
        sampled = P.sample(teacher, tokenizer, teacher_prompts, n=n, temperature=temperature,
                           max_new_tokens=pcfg.max_new_tokens, top_p=pcfg.top_p)
        rollout = sampled if teacher_prompts is prompts else P.rollout_from_texts(tokenizer, prompts, sampled.texts, n)
    else:
        rollout = P.sample(student, tokenizer, prompts, n=n, temperature=pcfg.temperature,
                           max_new_tokens=pcfg.max_new_tokens, top_p=pcfg.top_p)
        # the teacher scores the student's tokens after its own prompt
        teacher_rollout = rollout if teacher_prompts is prompts else P.with_prompts(tokenizer, rollout,
                                                                                     teacher_prompts)
    rows_total = rollout.input_ids.shape[0]
    normalizer = float(rows_total * pcfg.max_new_tokens)
    adv = None
    row = {}
    if env.can_score:  # the rewards: the optional reward term, and the run log (a HistoryEnv has none)
        rows_users = [u for u in users for _ in range(n)]
        total, per = composite([p for p in prompts for _ in range(n)], rollout.texts,
                               env.contexts(rows_users), weights, env.rewards)
        row.update({"reward": float(np.mean(total)), **{f"reward/{k}": float(np.mean(v)) for k, v in per.items()}})
        if cfg.reward_coef > 0 and cfg.mode == "on-policy":
            adv = group_advantages(torch.tensor(total), n).to(rollout.input_ids.device)
    stats = {"loss": 0.0, "kl": 0.0, "entropy": 0.0}
    for start in range(0, rows_total, cfg.micro_batch):
        rows = slice(start, start + cfg.micro_batch)
        mask = rollout.completion_mask[rows]
        logits = P.completion_logits(student, rollout, rows)
        if cfg.mode == "on-policy":
            with torch.no_grad():
                teacher_logits = P.completion_logits(teacher, teacher_rollout, rows)
            kl = reverse_kl(logits, teacher_logits, mask)
            loss = kl.sum() / normalizer
            stats["kl"] += float(kl.detach().sum()) / float(rollout.completion_mask.sum().clamp(min=1))
            if adv is not None:
                logp = P.token_logprobs(logits, rollout.completion[rows], pcfg.temperature)
                pg, _ = dr_grpo_loss(logp, logp.detach(), adv[rows], mask, normalizer)
                loss = loss + cfg.reward_coef * pg
        else:
            loss = sft_loss(logits, rollout.completion[rows], mask) * (mask.shape[0] / rows_total)
        loss.backward()
        stats["loss"] += float(loss.detach())
        stats["entropy"] += P.entropy(logits.detach(), mask) * (mask.shape[0] / rows_total)
    lengths = rollout.lengths.float()
    return {**row, **stats, "completion_len": float(lengths.mean()), "example": rollout.texts[0][:200]}


def _teacher_ref(teacher_adapter: Path | None) -> str:
    """The teacher as the registry names it (``name@version`` from its manifest), else its folder: the base a
    student trained from the teacher is rebuilt on."""
    meta = adapter_manifest(teacher_adapter)
    if meta.get("name") and meta.get("version"):
        return f"{meta['name']}@{meta['version']}"
    return str(teacher_adapter)


def _student(base: Path, teacher_base: Path | None, teacher_adapter: Path | None, layers: list[int],
             cfg: DistillConfig, init_adapter: Path | None):
    """The trainable student: the teacher (``student_from="teacher"``, the teacher's adapter merged) or the base,
    pruned to ``layers``, with ``init_adapter`` loaded trainable or a fresh LoRA adapter on its layers."""
    pcfg = cfg.student
    if cfg.student_from == "teacher":
        model = load_teacher(teacher_base or base, teacher_adapter, pcfg.dtype, pcfg.device)
        if len(layers) != model.config.num_hidden_layers:
            prune_layers(model, layers)
    else:
        model = P.load_model(base, pcfg.dtype, layers, device=pcfg.device)
    if init_adapter is not None:
        from peft import PeftModel

        return P.float_trainable(PeftModel.from_pretrained(model, Path(init_adapter), is_trainable=True))
    return P.add_lora(model, pcfg.lora_rank, pcfg.lora_alpha, pcfg.lora_top_layers)


def train(cfg: DistillConfig, env, teacher_adapter: Path | None, out_dir: Path, resume: bool = True,
          teacher_base: Path | None = None, init_adapter: Path | None = None) -> Path:
    """Distil the teacher (``teacher_base`` + ``teacher_adapter``) into the pruned student; returns the student's
    adapter folder (``out_dir/adapter``), whose manifest names the base and the kept layers. ``init_adapter``: start
    from a trained student's adapter (same layers) instead of a fresh LoRA, e.g. on-policy after SFT."""
    if cfg.mode not in MODES:
        raise ValueError(f"unknown distillation mode {cfg.mode!r}; choose from {', '.join(MODES)}")
    check_contract(cfg.contract)
    if cfg.student_from not in ("teacher", "base"):
        raise ValueError(f"student_from must be 'teacher' or 'base', not {cfg.student_from!r}")
    if cfg.layer_choice not in ("importance", "even"):
        raise ValueError(f"layer_choice must be 'importance' or 'even', not {cfg.layer_choice!r}")
    weights = check_weights(dict(cfg.rewards))
    if cfg.reward_coef > 0 and cfg.mode == "on-policy" and not env.can_score:
        raise ValueError("reward_coef > 0 needs the rewards: give a benchmark (RewardEnv), not histories alone")
    seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    pcfg = cfg.student
    if pcfg.torch_threads:
        torch.set_num_threads(pcfg.torch_threads)
    base = Path(pcfg.model)
    tokenizer = P.load_tokenizer(base)
    teacher = load_teacher(teacher_base or base, teacher_adapter, pcfg.dtype, pcfg.device)
    teacher_prompt = adapter_manifest(teacher_adapter).get("prompt") or {}
    if not cfg.teacher_signals:  # the teacher reads the prompt it was trained on
        cfg = replace(cfg, teacher_signals=int(teacher_prompt.get("max_prompt_signals", pcfg.max_prompt_signals)))
    total_layers = teacher.config.num_hidden_layers
    importance = None
    init_meta = adapter_manifest(init_adapter)
    if init_meta.get("layers") is not None and not pcfg.layers:  # a trained student continues on its own layers
        if len(init_meta["layers"]) != cfg.keep_layers:
            raise ValueError(f"the initial adapter {init_adapter} keeps {len(init_meta['layers'])} layers, not "
                             f"{cfg.keep_layers}: give the same --layers")
        layers = list(init_meta["layers"])
        importance = init_meta.get("importance")
    else:
        if cfg.layer_choice == "importance" and not pcfg.layers:
            importance = measure_importance(teacher, tokenizer, env, cfg)
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            (Path(out_dir) / "importance.json").write_text(json.dumps({"block_influence": importance}, indent=1)
                                                          + "\n")
        layers = student_layers(cfg, total_layers, importance)
        if init_meta.get("layers") is not None and list(init_meta["layers"]) != layers:
            raise ValueError(f"the initial adapter {init_adapter} was trained on layers {init_meta['layers']}, not "
                             f"{layers}: give the same --layers")
    student = _student(base, teacher_base, teacher_adapter, layers, cfg, init_adapter)
    student.train()
    optimizer = torch.optim.AdamW(P.trainable_parameters(student), lr=cfg.lr, weight_decay=0.0)
    batches = user_batches(env.train_users(), cfg.users_per_step, rng)

    greedy = None
    if cfg.mode == "sft" and cfg.teacher_temperature == 0:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        greedy = GreedyTeacher(teacher, tokenizer, Path(out_dir) / "teacher_greedy.jsonl", pcfg.max_new_tokens)

    def step(_: int) -> dict:
        optimizer.zero_grad(set_to_none=True)
        row = distill_step(student, teacher, tokenizer, env, next(batches), cfg, weights, greedy)
        row["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(P.trainable_parameters(student), cfg.grad_clip))
        optimizer.step()
        return row

    rows = train_loop(out_dir, cfg, student, optimizer, cfg.steps, step, rng, cfg.checkpoint_every, resume,
                      desc=f"distill {cfg.mode}", time_budget_s=cfg.time_budget_s)
    metrics = {"steps": len(rows), "final_kl_last5": float(np.mean([r.get("kl", 0.0) for r in rows[-5:]]))}
    student_base = _teacher_ref(teacher_adapter) if cfg.student_from == "teacher" else str(base)
    manifest = {"base": student_base, "layers": layers, "adapter": ".", "training_run": portable(out_dir),
                "teacher": str(teacher_adapter) if teacher_adapter else str(teacher_base or base), "metrics": metrics,
                "init_adapter": str(init_adapter) if init_adapter else None,
                "layer_choice": "given" if pcfg.layers else cfg.layer_choice, "importance": importance,
                "description": f"the Dr.GRPO teacher depth-pruned to {len(layers)} of {total_layers} layers and "
                               f"{_how_trained(cfg.mode, env)}, reading the {cfg.contract} prompt.",
                "prompt": {"num_queries": pcfg.num_queries, "max_prompt_signals": pcfg.max_prompt_signals,
                           "contract": cfg.contract}}
    adapter = P.save_adapter(student, tokenizer, Path(out_dir) / "adapter", manifest)
    title = "sft on hindsight targets" if _hindsight(env) else f"{cfg.mode} distillation"
    (adapter / "README.md").write_text(model_card(f"Interest-query student ({title})", manifest, as_dict(cfg), metrics))
    return adapter


def _hindsight(env) -> bool:
    from training.hindsight import VERSION

    return VERSION in getattr(env, "makers", ())


def _how_trained(mode: str, env) -> str:
    """The manifest's words for the training: hindsight targets are not the teacher's outputs."""
    if _hindsight(env):
        return "trained (sft) on hindsight targets: the lists that best retrieved training users' next clicks"
    return f"distilled ({mode})"
