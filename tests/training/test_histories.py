"""Distillation without the benchmark (a histories file, for a GPU machine), the time budget of a run, and the
device choice."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace

import pytest
import torch

from models.parsing import complete_lines
from training import distill, grpo
from training import policy as P
from training.config import DistillConfig
from training.histories import HistoryEnv, export
from training.runs import latest_checkpoint

from .test_loops import grpo_cfg, policy


def test_export_writes_training_users_only_and_prompts_match(env, tiny_base, tmp_path):
    path = export(env, tmp_path / "h.json.gz", meta={"seed": 0})
    with gzip.open(path, "rt") as fh:
        doc = json.load(fh)
    assert doc["meta"]["users"] == len(env.train_users()) == 6 and doc["meta"]["seed"] == 0
    assert set(doc["histories"]) == set(env.train_users())  # no evaluation user leaves
    loaded = HistoryEnv.load(path)
    assert loaded.train_users() == env.train_users()
    tokenizer = P.load_tokenizer(tiny_base)
    users = env.train_users()
    assert (P.build_prompts(tokenizer, [loaded.history(u) for u in users], 5, 12)
            == P.build_prompts(tokenizer, [env.history(u) for u in users], 5, 12))
    short = HistoryEnv.load(export(env, tmp_path / "short.json", max_signals=1))
    assert all(len(short.history(u)) == 1 for u in short.train_users())


def test_history_env_refuses_what_it_cannot_do(env, tmp_path):
    loaded = HistoryEnv.load(export(env, tmp_path / "h.json"))
    assert not loaded.can_score and env.can_score
    with pytest.raises(RuntimeError, match="no rewards"):
        loaded.contexts(["u0"])
    (tmp_path / "bad.json").write_text(json.dumps({"histories": {}}))
    with pytest.raises(ValueError, match="not a histories file"):
        HistoryEnv.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="no training histories"):
        HistoryEnv({})


@pytest.mark.parametrize("mode", ["on-policy", "sft"])
def test_distillation_from_a_histories_file(env, tiny_base, tmp_path, mode):
    teacher = grpo.train(grpo_cfg(tiny_base, steps=1), env, tmp_path / "teacher")
    hist = HistoryEnv.load(export(env, tmp_path / "h.json.gz"))
    student = replace(policy(tiny_base), lora_top_layers=0, device="auto")
    cfg = replace(DistillConfig(), student=student, keep_layers=2, mode=mode, steps=2, users_per_step=2,
                  samples_per_user=2, checkpoint_every=1)
    adapter = distill.train(cfg, hist, teacher, tmp_path / mode)
    assert json.loads((adapter / "manifest.json").read_text())["layers"] == [0, 3]
    rows = [json.loads(line) for line in (tmp_path / mode / "log.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and "reward" not in rows[0]  # nothing scored: no rewards without the benchmark
    with pytest.raises(ValueError, match="reward_coef"):
        distill.train(replace(cfg, mode="on-policy", reward_coef=0.5), hist, teacher, tmp_path / "rc")


def test_time_budget_stops_early_with_a_checkpoint_and_resumes(env, tiny_base, tmp_path):
    out = tmp_path / "run"
    grpo.train(grpo_cfg(tiny_base, steps=5, checkpoint_every=100, time_budget_s=1e-9), env, out)
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1]  # stopped after the first step, not at 5
    assert latest_checkpoint(out).name == "step-1" and (out / "adapter" / "adapter_model.safetensors").exists()
    grpo.train(grpo_cfg(tiny_base, steps=2, checkpoint_every=100), env, out)
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]  # resumed at step 2


def test_device_choice(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert P.resolve_device("auto") == torch.device("cpu")
    assert P.resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        P.resolve_device("cuda")


def test_on_policy_continues_from_an_sft_student(env, tiny_base, tmp_path):
    teacher = grpo.train(grpo_cfg(tiny_base, steps=1), env, tmp_path / "teacher")
    student = replace(policy(tiny_base), lora_top_layers=0)
    cfg = replace(DistillConfig(), student=student, keep_layers=2, mode="sft", steps=1, users_per_step=2,
                  samples_per_user=2, checkpoint_every=1)
    sft = distill.train(cfg, env, teacher, tmp_path / "sft")
    on = distill.train(replace(cfg, mode="on-policy"), env, teacher, tmp_path / "on", init_adapter=sft)
    manifest = json.loads((on / "manifest.json").read_text())
    assert manifest["init_adapter"] == str(sft) and manifest["layers"] == [0, 3]
    from safetensors.torch import load_file

    start, end = load_file(sft / "adapter_model.safetensors"), load_file(on / "adapter_model.safetensors")
    assert start.keys() == end.keys()  # the same adapter, trained further
    assert any(not torch.equal(start[k], end[k]) for k in start)
    with pytest.raises(ValueError, match="same --layers"):
        distill.train(replace(cfg, mode="on-policy", keep_layers=3), env, teacher, tmp_path / "bad", init_adapter=sft)


def test_sequence_level_sft_caches_one_greedy_teacher_completion_per_user(env, tiny_base, tmp_path):
    teacher = grpo.train(grpo_cfg(tiny_base, steps=1), env, tmp_path / "teacher")
    student = replace(policy(tiny_base), lora_top_layers=0)
    cfg = replace(DistillConfig(), student=student, keep_layers=2, mode="sft", steps=2, users_per_step=2,
                  samples_per_user=3, checkpoint_every=1, teacher_temperature=0.0)
    distill.train(cfg, env, teacher, tmp_path / "seq")
    cache = [json.loads(line) for line in (tmp_path / "seq" / "teacher_greedy.jsonl").read_text().splitlines()]
    assert len(cache) == len({c["user"] for c in cache}) and 2 <= len(cache) <= 4  # once per user, never again
    distill.train(replace(cfg, steps=4), env, teacher, tmp_path / "seq")  # resumes; reuses the cached targets
    again = [json.loads(line) for line in (tmp_path / "seq" / "teacher_greedy.jsonl").read_text().splitlines()]
    assert again[: len(cache)] == cache and len(again) == len({c["user"] for c in again})


def test_complete_lines_drops_a_cut_last_line():
    assert complete_lines("fed rates\nmortgage ra") == "fed rates"
    assert complete_lines("one line only") == "one line only"
    assert complete_lines("a\nb\n") == "a\nb"
