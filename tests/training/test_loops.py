"""Every training path for a few steps on tiny random models: Dr.GRPO (with resume and the KL term), on-policy and
SFT distillation into a depth-pruned student, registry loading of a pruned student's adapter, the retraining job."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from models.pruning import default_layers, prune_layers
from training import distill, grpo
from training.config import DistillConfig, GRPOConfig, PolicyConfig
from training.policy import completion_mask, load_model


def policy(tiny_base, **kw) -> PolicyConfig:
    return replace(PolicyConfig(), model=str(tiny_base), dtype="float32", lora_rank=4, lora_alpha=8,
                   lora_top_layers=2, max_new_tokens=6, temperature=1.0, top_p=1.0, **kw)


def grpo_cfg(tiny_base, **kw) -> GRPOConfig:
    settings = {"steps": 2, "users_per_step": 2, "group_size": 2, "checkpoint_every": 1, **kw}
    return replace(GRPOConfig(), policy=policy(tiny_base), **settings)


def test_default_layers_keep_bottom_and_top():
    assert default_layers(30, 12) == list(range(8)) + [26, 27, 28, 29]
    assert default_layers(4, 4) == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        default_layers(4, 5)


def test_pruned_model_runs_and_reports_its_depth(tiny_base):
    model = load_model(tiny_base, "float32")
    prune_layers(model, [0, 3])
    assert model.config.num_hidden_layers == 2 and len(model.model.layers) == 2
    assert [layer.self_attn.layer_idx for layer in model.model.layers] == [0, 1]
    out = model.generate(torch.tensor([[1, 2, 3]]), max_new_tokens=3, do_sample=False)
    assert out.shape == (1, 6)
    with pytest.raises(ValueError):
        prune_layers(model, [1, 0])


def test_important_layers_keep_the_most_influential_and_the_ends():
    from models.pruning import important_layers

    scores = [0.9, 0.1, 0.5, 0.05, 0.3, 0.01]
    assert important_layers(scores, 4) == [0, 2, 4, 5]  # the last layer is kept though it scores lowest
    assert important_layers(scores, 3, protect=()) == [0, 2, 4]
    assert important_layers([0.2, 0.2, 0.2, 0.2], 3) == [0, 1, 3]  # ties keep the lower layer
    assert important_layers(scores, 6) == list(range(6))
    with pytest.raises(ValueError):
        important_layers(scores, 7)


def test_block_influence_scores_an_identity_layer_zero(tiny_base):
    from models.pruning import block_influence

    model = load_model(tiny_base, "float32")
    with torch.no_grad():  # layer 2 adds nothing to the residual stream: its output is its input
        model.model.layers[2].self_attn.o_proj.weight.zero_()
        model.model.layers[2].mlp.down_proj.weight.zero_()
    ids = torch.tensor([[0, 0, 5, 6, 7], [1, 2, 3, 4, 5]])
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    scores = block_influence(model, ids, mask)
    assert len(scores) == 4 and all(0 <= s <= 2 for s in scores)
    assert scores[2] == pytest.approx(0.0, abs=1e-6) and min(scores[i] for i in (0, 1, 3)) > 1e-4
    assert not any(h for layer in model.model.layers for h in layer._forward_hooks.values())  # hooks removed


def test_with_prompts_keeps_the_completion_tokens_after_other_prompts():
    from tests.tiny_models import student_tokenizer
    from training.policy import rollout_from_texts, with_prompts

    tokenizer = student_tokenizer()
    tokenizer.padding_side, tokenizer.pad_token = "left", tokenizer.eos_token
    rollout = rollout_from_texts(tokenizer, ["short", "a much longer prompt here"], ["a b", "c", "d e f", "g"], n=2)
    other = with_prompts(tokenizer, rollout, ["a far longer first prompt than before", "x"])
    assert torch.equal(other.completion, rollout.completion)
    assert torch.equal(other.completion_mask, rollout.completion_mask) and other.n == 2
    assert other.prompt_len > rollout.prompt_len
    assert other.attention_mask[:, other.prompt_len:].tolist() == rollout.completion_mask.tolist()
    with pytest.raises(ValueError):
        with_prompts(tokenizer, rollout, ["one prompt for two"] * 3)


def test_targets_end_with_the_token_that_ends_the_models_answer():
    from models.config import GeneratorConfig
    from models.student import ensure_student
    from training.policy import load_tokenizer, rollout_from_texts

    tokenizer = load_tokenizer(ensure_student(GeneratorConfig().model_dir))  # the real converted SmolLM2
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|im_end|>"
    rollout = rollout_from_texts(tokenizer, ["prompt"], ["fed rates\nmortgage rates"], n=1)
    body = rollout.completion[0][rollout.completion_mask[0].bool()].tolist()
    assert body[-1] == tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert tokenizer.convert_tokens_to_ids("<|im_start|>") not in body


def test_completion_mask_stops_after_the_first_end_token():
    tokens = torch.tensor([[5, 6, 2, 7, 2], [5, 5, 5, 5, 5]])
    assert completion_mask(tokens, {2}).tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]


def test_one_prefill_per_prompt_gives_the_full_pass_logits_and_gradients(tiny_base):
    from training import policy as P

    tokenizer = P.load_tokenizer(tiny_base)
    model = P.add_lora(load_model(tiny_base, "float32"), 4, 8)
    with torch.no_grad():  # an adapter off zero, so that its gradients are not all zero
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.2)
    torch.manual_seed(0)
    # prompts of different lengths (left padding), two completions each, one ended early (padding after its end)
    rollout = P.rollout_from_texts(tokenizer, ["a short prompt", "a much longer prompt with many more words in it"],
                                   ["one\ntwo three", "four", "five six seven eight", "nine ten"], n=2)
    full = P.completion_logits(model, rollout)
    shared = P.shared_completion_logits(model, rollout, [0, 1])
    assert shared.shape == full.shape
    mask = rollout.completion_mask.bool()
    assert torch.allclose(shared[mask], full[mask], atol=1e-4)
    grads = []
    for logits in (P.completion_logits(model, rollout), P.shared_completion_logits(model, rollout, [0, 1])):
        model.zero_grad(set_to_none=True)
        (P.token_logprobs(logits, rollout.completion) * rollout.completion_mask).sum().backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        assert torch.allclose(grads[0][name], grads[1][name], atol=1e-4, rtol=1e-3), name
    # one group alone: its rows of the full pass
    alone = P.shared_completion_logits(model, rollout, [1])
    assert torch.allclose(alone[mask[2:]], full[2:][mask[2:]], atol=1e-4)


def test_grpo_trains_logs_checkpoints_and_resumes(env, tiny_base, tmp_path):
    out = tmp_path / "teacher"
    adapter = grpo.train(grpo_cfg(tiny_base), env, out)
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    for key in ("reward", "reward/format", "reward/relevance", "reward/engagement", "kl", "entropy",
                "completion_len", "grad_norm"):
        assert key in rows[0], key
    assert (adapter / "adapter_config.json").exists() and (adapter / "README.md").exists()
    manifest = json.loads((adapter / "manifest.json").read_text())
    assert manifest["base"] == str(tiny_base) and manifest["prompt"]["num_queries"] == 5
    assert (out / "curves.png").exists()
    # resume: two more steps continue from the step-2 checkpoint; the first two lines are kept as they were
    grpo.train(grpo_cfg(tiny_base, steps=4), env, out)
    resumed = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in resumed] == [1, 2, 3, 4]
    assert resumed[:2] == rows


def test_grpo_step_changes_the_adapter_and_kl_is_logged(env, tiny_base):
    cfg = grpo_cfg(tiny_base, beta=0.1)
    tokenizer, model = grpo.setup_policy(cfg.policy)
    torch.manual_seed(3)
    # a fresh adapter equals the reference (LoRA B = 0), and a tiny random model earns no reward (advantages 0):
    # move the adapter off the reference so that the KL term alone must produce a gradient
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    row = grpo.grpo_step(model, tokenizer, env, ["u0", "u1"], cfg, cfg.weights)
    assert row["active_rows"] == 4  # with a KL term every row carries a gradient
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and torch.any(g != 0) for g in grads)
    torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0).step()
    after = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
    assert any(not torch.equal(before[n], after[n]) for n in before)


@pytest.mark.parametrize("positive_only, active", [(False, 4), (True, 2)])
def test_positive_only_reinforces_only_the_lists_above_their_groups_mean(env, tiny_base, monkeypatch, positive_only,
                                                                          active):
    cfg = grpo_cfg(tiny_base, positive_only=positive_only)
    tokenizer, model = grpo.setup_policy(cfg.policy)
    # two users, two lists each: one list of each group better than the other
    monkeypatch.setattr(grpo, "composite", lambda prompts, texts, contexts, weights, overrides: (
        [0.0, 1.0, 1.0, 0.0], {"relevance": [0.0, 1.0, 1.0, 0.0]}))
    row = grpo.grpo_step(model, tokenizer, env, ["u0", "u1"], cfg, cfg.weights)
    assert row["active_rows"] == active
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and torch.any(g != 0) for g in grads)


def test_rollouts_sampled_under_the_served_no_repeat_rule(tiny_base, monkeypatch):
    from models.decoding import NoRepeatInCompletion
    from training import policy as P

    tokenizer = P.load_tokenizer(tiny_base)
    model = load_model(tiny_base, "float32")
    seen = []
    real = P.generate_shared

    def generate_shared(model, input_ids, attention_mask, n, **kwargs):
        seen.append((input_ids.shape[1], kwargs.get("logits_processor")))
        return real(model, input_ids, attention_mask, n, **kwargs)

    monkeypatch.setattr(P, "generate_shared", generate_shared)
    P.sample(model, tokenizer, ["a prompt", "another prompt here"], n=2, max_new_tokens=4)
    rollout = P.sample(model, tokenizer, ["a prompt", "another prompt here"], n=2, max_new_tokens=4, no_repeat_ngram=3)
    assert seen[0][1] is None  # no rule unless asked
    prompt_len, processors = seen[1]
    rule = [p for p in processors if isinstance(p, NoRepeatInCompletion)]
    assert len(rule) == 1 and rule[0].n == 3 and rule[0].prompt_len == prompt_len == rollout.prompt_len
    # the served rule itself (models/decoding.py): the token that would repeat a trigram of the completion is banned
    scores = rule[0](torch.tensor([[7] * prompt_len + [5, 6, 5, 6, 5]]), torch.zeros(1, 10))
    assert scores[0, 6] == float("-inf") and scores[0, 5] == 0


@pytest.mark.parametrize("mode", ["on-policy", "sft"])
def test_distillation_into_a_pruned_student(env, tiny_base, tmp_path, mode):
    teacher = grpo.train(grpo_cfg(tiny_base, steps=1), env, tmp_path / "teacher")
    student = replace(policy(tiny_base), lora_top_layers=0)
    cfg = replace(DistillConfig(), student=student, keep_layers=2, mode=mode, steps=2, users_per_step=2,
                  samples_per_user=2, checkpoint_every=1, reward_coef=0.5 if mode == "on-policy" else 0.0,
                  layer_choice="even", student_from="base", contract="chat")
    adapter = distill.train(cfg, env, teacher, tmp_path / mode)
    manifest = json.loads((adapter / "manifest.json").read_text())
    assert manifest["layers"] == [0, 3]
    rows = [json.loads(line) for line in (tmp_path / mode / "log.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["loss"] == r["loss"] for r in rows)  # finite
    if mode == "on-policy":
        assert all(r["kl"] >= 0 for r in rows) and "reward" in rows[0]
    # the registry rebuilds the pruned base and merges the adapter
    from models.registry import Registry

    registry = Registry(tmp_path / "registry")
    registry.publish(tiny_base, "tiny", "base")
    registry.publish(adapter, "tiny", "student", {"base": "tiny@base"})
    folder = registry.load_path(registry.get("tiny", "student"))
    assert json.loads((folder / "config.json").read_text())["num_hidden_layers"] == 2


def publish_teacher(tiny_base, adapter, registry_root):
    """The tiny teacher in a registry as tiny@teacher (on tiny@base), as the real teacher is."""
    from models.registry import Registry

    manifest = json.loads((adapter / "manifest.json").read_text())
    (adapter / "manifest.json").write_text(json.dumps({**manifest, "name": "tiny", "version": "teacher"}))
    registry = Registry(registry_root)
    registry.publish(tiny_base, "tiny", "base")
    registry.publish(adapter, "tiny", "teacher", {"base": "tiny@base"})
    return registry


@pytest.mark.parametrize("mode", ["on-policy", "sft"])
def test_student_pruned_from_the_teacher_reads_the_compact_prompt(env, tiny_base, tmp_path, mode, monkeypatch):
    from training import policy as P

    teacher = grpo.train(grpo_cfg(tiny_base, steps=1), env, tmp_path / "teacher")
    registry = publish_teacher(tiny_base, teacher, tmp_path / "registry")
    seen = {"student": [], "teacher": []}
    real_logits, real_with_prompts = P.completion_logits, P.with_prompts

    def with_prompts(tokenizer, rollout, prompts):
        seen["teacher"].extend(prompts)
        return real_with_prompts(tokenizer, rollout, prompts)

    def completion_logits(model, rollout, rows=None):
        seen["student"].append(model.training)
        return real_logits(model, rollout, rows)

    monkeypatch.setattr(P, "with_prompts", with_prompts)
    monkeypatch.setattr(P, "completion_logits", completion_logits)
    student = replace(policy(tiny_base), lora_top_layers=0, max_prompt_signals=12)
    cfg = replace(DistillConfig(), student=student, keep_layers=3, mode=mode, steps=2, users_per_step=2,
                  samples_per_user=2, checkpoint_every=1, teacher_temperature=0.0 if mode == "sft" else None)
    adapter = distill.train(cfg, env, teacher, tmp_path / mode)
    manifest = json.loads((adapter / "manifest.json").read_text())
    importance = json.loads((tmp_path / mode / "importance.json").read_text())["block_influence"]
    from models.pruning import important_layers

    assert manifest["layers"] == important_layers(importance, 3) and len(importance) == 4
    assert manifest["base"] == "tiny@teacher" and manifest["layer_choice"] == "importance"
    assert manifest["prompt"] == {"num_queries": 5, "max_prompt_signals": 12, "contract": "compact"}
    if mode == "on-policy":  # the teacher scores the student's tokens after its own chat prompt
        assert seen["teacher"] and all("</activity>" in p and p.count("</activity>") == 3 for p in seen["teacher"])
    else:  # the greedy teacher wrote its targets from its chat prompt, the student learns them after the compact one
        greedy = [json.loads(line) for line in (tmp_path / mode / "teacher_greedy.jsonl").read_text().splitlines()]
        assert greedy
        # on-policy continues the SFT student on its own layers (not re-measured) and keeps its contract
        cont = distill.train(replace(cfg, mode="on-policy", teacher_temperature=None, steps=1), env, teacher,
                             tmp_path / "continued", init_adapter=adapter)
        continued = json.loads((cont / "manifest.json").read_text())
        assert continued["layers"] == manifest["layers"] and continued["prompt"]["contract"] == "compact"
        with pytest.raises(ValueError, match="keeps 3 layers, not 2"):
            distill.train(replace(cfg, keep_layers=2), env, teacher, tmp_path / "wrong", init_adapter=adapter)
    # the registry rebuilds the student: the teacher merged, pruned to the kept layers, the student's adapter merged
    registry.publish(adapter, "tiny", "student")
    folder = registry.load_path(registry.get("tiny", "student"))
    assert json.loads((folder / "config.json").read_text())["num_hidden_layers"] == 3
    from models.generators.transformers_backend import TransformersGenerator
    from models.config import GeneratorConfig

    served = TransformersGenerator(folder, GeneratorConfig(max_new_tokens=4))
    assert served.cfg.prompt_contract == "compact" and served.cfg.max_prompt_signals == 12


def test_grpo_trains_on_a_pruned_student_with_its_base_layers_and_prompt(env, tiny_base, tmp_path, monkeypatch):
    from training import policy as P

    teacher = grpo.train(grpo_cfg(tiny_base, steps=1), env, tmp_path / "teacher")
    registry = publish_teacher(tiny_base, teacher, tmp_path / "registry")
    cfg = replace(DistillConfig(), student=replace(policy(tiny_base), lora_top_layers=0, max_prompt_signals=12),
                  keep_layers=3, mode="sft", steps=1, users_per_step=2, checkpoint_every=1, teacher_temperature=0.0)
    student = distill.train(cfg, env, teacher, tmp_path / "student")
    meta = json.loads((student / "manifest.json").read_text())
    (student / "manifest.json").write_text(json.dumps({**meta, "decoding": {"no_repeat_ngram": 3}}))
    contracts = []
    real = P.build_prompts

    def build_prompts(tokenizer, histories, num_queries, max_signals, contract="chat"):
        contracts.append(contract)
        return real(tokenizer, histories, num_queries, max_signals, contract)

    monkeypatch.setattr(P, "build_prompts", build_prompts)
    pcfg, ref = grpo.continue_from(student, replace(policy(tiny_base), max_prompt_signals=20), registry.base_path)
    assert ref == "tiny@teacher" and list(pcfg.layers) == meta["layers"] and pcfg.lora_top_layers == 0
    assert pcfg.max_prompt_signals == meta["prompt"]["max_prompt_signals"] == 12  # the prompt it is served with
    assert pcfg.model != str(tiny_base)  # the teacher merged, from the registry
    adapter = grpo.train(replace(grpo_cfg(tiny_base, steps=1), policy=pcfg), env, tmp_path / "rl",
                         init_adapter=student, base_ref=ref)
    assert contracts == ["compact"]  # trained on the prompt it is served with
    manifest = json.loads((adapter / "manifest.json").read_text())
    assert manifest["base"] == "tiny@teacher" and manifest["layers"] == meta["layers"]
    assert manifest["prompt"]["contract"] == "compact" and manifest["decoding"] == {"no_repeat_ngram": 3}
    before = {k: v for k, v in load_adapter_weights(student).items()}
    after = load_adapter_weights(adapter)
    assert before.keys() == after.keys()  # the student's adapter trained on, not a fresh one
    # the registry rebuilds it like the student: the teacher merged, pruned, the new adapter merged
    registry.publish(adapter, "tiny", "student-rl")
    folder = registry.load_path(registry.get("tiny", "student-rl"))
    assert json.loads((folder / "config.json").read_text())["num_hidden_layers"] == 3
    with pytest.raises(ValueError, match="not a folder here"):
        grpo.continue_from(student, policy(tiny_base))


def load_adapter_weights(folder):
    from safetensors.torch import load_file

    return load_file(folder / "adapter_model.safetensors")


def test_sft_on_the_kd_cache_learns_the_teachers_served_lists(env, train_bench, tiny_base, tmp_path):
    from training.kd import KDEnv, build_targets, load_targets
    from training.evaluate import Benchmark
    from models.generators.base import Generation

    class Teacher:  # a stand-in teacher (unit test): one valid list per user, none for u1
        version = "tiny@teacher"
        calls = 0

        def generate(self, contexts):
            Teacher.calls += 1
            return [Generation([] if c.user_id == "u1" else ["fed rates", f"news {c.user_id}"], "", "")
                    for c in contexts]

    bench = Benchmark.load(train_bench)
    out = tmp_path / "kd.jsonl"
    counts = build_targets(bench, ["u0", "u1", "u2"], Teacher(), out, batch_size=2, progress=False)
    assert counts == {"benchmark": train_bench.name, "users": 3, "made": 3, "with_target": 2, "without": 1}
    again = build_targets(bench, ["u0", "u1", "u2", "u3"], Teacher(), out, batch_size=2, progress=False)
    assert again["made"] == 1  # resumed: only u3 is new
    rows = load_targets(out)
    assert rows[(train_bench.name, "u0")]["text"] == "fed rates\nnews u0"
    kd = KDEnv.load(out, [train_bench])
    assert kd.train_users() == [f"{train_bench.name}/{u}" for u in ("u0", "u2", "u3")]  # u1 has no target
    assert kd.history(f"{train_bench.name}/u2") == bench.histories["u2"]

    teacher = grpo.train(grpo_cfg(tiny_base, steps=1), env, tmp_path / "teacher")
    student = replace(policy(tiny_base), lora_top_layers=0)
    cfg = replace(DistillConfig(), student=student, keep_layers=3, mode="sft", steps=2, users_per_step=2,
                  checkpoint_every=1)
    distill.train(cfg, kd, teacher, tmp_path / "student")
    run = [json.loads(line) for line in (tmp_path / "student" / "log.jsonl").read_text().splitlines()]
    assert len(run) == 2 and all(r["loss"] > 0 for r in run)
    assert {r["example"] for r in run} <= {kd.target(u) for u in kd.train_users()}  # the targets are the cache's


def test_distill_rejects_unknown_modes(env, tiny_base, tmp_path):
    with pytest.raises(ValueError, match="unknown distillation mode"):
        distill.train(replace(DistillConfig(), mode="dpo"), env, None, tmp_path)


def logged_events(train_bench, tmp_path):
    """The logged stream of the retraining tests: the benchmark's history, then each user's next click later in the
    range, in an event file; ``(file, since, until)``."""
    events = tmp_path / "log.jsonl"
    rows = [json.loads(line) for line in (train_bench / "events.jsonl").read_text().splitlines()]
    later = [{"type": "click", "event_id": f"n{i}", "user_id": r["user_id"], "ts": r["ts"] + 3_600_000,
              "article_id": r["article_id"].rsplit("-", 1)[0] + "-3", "title": "next", "category": None,
              "dwell_ms": 1} for i, r in enumerate(rows) if r["type"] == "click"]
    events.write_text("\n".join(json.dumps(r) for r in rows + later) + "\n")
    return events, min(r["ts"] for r in rows), max(r["ts"] for r in later) + 1


def test_retrain_publishes_only_when_not_worse(env, train_bench, tiny_base, tmp_path):
    from models.registry import Registry
    from training.retrain import retrain

    events, since, until = logged_events(train_bench, tmp_path)
    registry = Registry(tmp_path / "registry")
    registry.publish(tiny_base, "tiny", "base")
    registry.set_current("tiny", "base")
    cfg = grpo_cfg(tiny_base, steps=1)
    scores = iter([0.1, 0.2])  # candidate, current: worse -> refused
    refused = retrain(registry, "tiny", events, train_bench, since, until, tmp_path / "r1", cfg, env.embedder,
                      eval_users=3, evaluate_fn=lambda folder, users: next(scores))
    assert refused.published is None and registry.current("tiny").version == "base"
    # the real evaluation on the benchmark's test users; equal or better -> published and current
    accepted = retrain(registry, "tiny", events, train_bench, since, until, tmp_path / "r2", cfg, env.embedder,
                       eval_users=3, tolerance=1.0, version="v2")
    assert accepted.published == "tiny@v2" and registry.current("tiny").version == "v2"
    manifest = registry.current("tiny").manifest
    assert manifest["parent"] == "tiny@base" and manifest["metrics"]["training_set"]["users"] == 6
    assert manifest["base"] == "tiny@base"
    # the published adapter loads (merged onto its base) for the generator worker
    assert (registry.load_path(registry.current("tiny")) / "config.json").exists()


def test_retraining_a_student_keeps_its_layers_and_its_prompt(env, train_bench, tiny_base, tmp_path, monkeypatch):
    from training import policy as P
    from training.retrain import retrain

    teacher = grpo.train(grpo_cfg(tiny_base, steps=1), env, tmp_path / "teacher")
    registry = publish_teacher(tiny_base, teacher, tmp_path / "registry")
    cfg = replace(DistillConfig(), student=replace(policy(tiny_base), lora_top_layers=0), keep_layers=3, mode="sft",
                  steps=1, users_per_step=2, checkpoint_every=1, teacher_temperature=0.0)
    student = distill.train(cfg, env, teacher, tmp_path / "student")
    registry.publish(student, "tiny", "student")
    registry.set_current("tiny", "student")
    contracts = []
    real = P.build_prompts
    monkeypatch.setattr(P, "build_prompts", lambda *a, **k: contracts.append(a[4] if len(a) > 4 else "chat")
                        or real(*a, **k))
    events, since, until = logged_events(train_bench, tmp_path)
    result = retrain(registry, "tiny", events, train_bench, since, until, tmp_path / "r", grpo_cfg(tiny_base, steps=1),
                     env.embedder, eval_users=3, version="student-v2", evaluate_fn=lambda folder, users: 0.5)
    assert result.published == "tiny@student-v2" and contracts == ["compact"]
    manifest = registry.current("tiny").manifest
    assert manifest["base"] == "tiny@teacher" and manifest["prompt"]["contract"] == "compact"
    assert manifest["layers"] == json.loads((student / "manifest.json").read_text())["layers"]
    folder = registry.load_path(registry.current("tiny"))
    assert json.loads((folder / "config.json").read_text())["num_hidden_layers"] == 3


def test_package_adapter_ships_weights_and_a_serving_manifest(env, tiny_base, tmp_path):
    from training.runs import package_adapter

    adapter = grpo.train(grpo_cfg(tiny_base, steps=1), env, tmp_path / "run")
    dest = package_adapter(adapter, tmp_path / "artifacts" / "v1", "tiny", "v1", "tiny@base")
    assert sorted(p.name for p in dest.iterdir()) == ["README.md", "adapter_config.json",
                                                      "adapter_model.safetensors", "manifest.json"]
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["name"] == "tiny" and manifest["base"] == "tiny@base" and manifest["prompt"]["num_queries"] == 5


def test_a_packaged_student_keeps_its_teacher_as_base_in_half_precision(env, tiny_base, tmp_path):
    from safetensors.torch import load_file

    from training.runs import package_adapter

    teacher = grpo.train(grpo_cfg(tiny_base, steps=1), env, tmp_path / "teacher")
    registry = publish_teacher(tiny_base, teacher, tmp_path / "registry")
    student = replace(policy(tiny_base), lora_top_layers=0)
    cfg = replace(DistillConfig(), student=student, keep_layers=3, mode="sft", steps=1, users_per_step=2,
                  checkpoint_every=1, teacher_temperature=0.0)
    adapter = distill.train(cfg, env, teacher, tmp_path / "student")
    dest = package_adapter(adapter, tmp_path / "artifacts" / "student-v1", "tiny", "student-v1", "tiny@base",
                           dtype="bfloat16")
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["base"] == "tiny@teacher" and manifest["prompt"]["contract"] == "compact"
    config = json.loads((dest / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "HuggingFaceTB/SmolLM2-135M-Instruct"  # no path of this machine
    weights = load_file(dest / "adapter_model.safetensors")
    assert weights and all(t.dtype == torch.bfloat16 for t in weights.values())
    registry.publish(dest, "tiny", "student-v1")  # as register_packaged publishes models/artifacts/*
    folder = registry.load_path(registry.get("tiny", "student-v1"))  # teacher merged, pruned, student merged
    assert json.loads((folder / "config.json").read_text())["num_hidden_layers"] == 3
