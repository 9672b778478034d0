"""models.generators.transformers_backend with a tiny random LlamaForCausalLM, not the real student.

The model has the student's architecture and its real tokenizer but random weights and two small layers, so the
tests check batching, padding, parsing and the retry path in about a second, never the quality of the queries.
"""

from __future__ import annotations

import json

import pytest

from models.config import GeneratorConfig
from models.generators.base import Generation, UserContext
from models.generators.transformers_backend import TransformersGenerator
from tests.tiny_models import save_tiny_llama

# transformers' generate decodes here (these tests watch its calls); tests/models/test_leandecode.py covers the lean one
CFG = GeneratorConfig(max_new_tokens=8, batch_size=2, retry_temperature=0.8, engine="transformers")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    # tiny random LlamaForCausalLM, not the real student
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), manifest={"name": "tiny", "version": "test"})


@pytest.fixture(scope="module")
def generator(tiny_dir):
    return TransformersGenerator(tiny_dir, CFG)


def contexts(n):
    return [UserContext(f"u{i}", [{"domain": "click", "kind": "click", "text": f"Story number {i} about tennis",
                                   "ts": 1000 - i, "platform": None}]) for i in range(n)]


def test_version_comes_from_the_manifest(generator):
    assert generator.version == "tiny@test"


def test_version_without_manifest_is_unversioned(tiny_dir, tmp_path):
    import shutil

    copy = tmp_path / "nomanifest"
    shutil.copytree(tiny_dir, copy)
    (copy / "manifest.json").unlink()
    assert TransformersGenerator(copy, CFG).version == "nomanifest@unversioned"


def test_tokenizer_pads_on_the_left_with_a_pad_token(generator):
    assert generator.tokenizer.padding_side == "left"
    assert generator.tokenizer.pad_token is not None


def test_prompts_use_the_chat_template_with_the_history(generator):
    [prompt] = generator.prompts(contexts(1))
    assert "Story number 0 about tennis" in prompt
    assert prompt.count("</activity>") == 3  # the system message, the worked example and the user's block
    assert prompt.rstrip().endswith("assistant")  # the generation prompt


def test_a_model_is_served_with_the_prompt_contract_its_manifest_names(tiny_dir, tmp_path):
    import shutil

    copy = tmp_path / "compact"
    shutil.copytree(tiny_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["prompt"] = {"num_queries": 4, "max_prompt_signals": 12, "contract": "compact"}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    served = TransformersGenerator(copy, CFG)
    assert (served.cfg.prompt_contract, served.cfg.num_queries, served.cfg.max_prompt_signals) == ("compact", 4, 12)
    [prompt] = served.prompts(contexts(1))
    assert prompt.count("</activity>") == 1 and "Story number 0 about tennis" in prompt
    assert "Write 4 search queries" in prompt and "worked" not in prompt
    # a manifest whose prompt names no contract was trained on the chat prompt, whatever the configuration says
    del manifest["prompt"]["contract"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    chat = TransformersGenerator(copy, GeneratorConfig(max_new_tokens=8, prompt_contract="compact"))
    assert chat.cfg.prompt_contract == "chat"
    # a manifest without a prompt block is served with the configured contract
    assert TransformersGenerator(tiny_dir, GeneratorConfig(prompt_contract="compact")).cfg.prompt_contract == "compact"


def test_a_manifests_decoding_rule_applies_unless_the_operator_set_one(tiny_dir, tmp_path):
    import shutil

    copy = tmp_path / "norepeat"
    shutil.copytree(tiny_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["decoding"] = {"no_repeat_ngram": 3}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert TransformersGenerator(copy, CFG).cfg.no_repeat_ngram == 3
    assert TransformersGenerator(copy, GeneratorConfig(max_new_tokens=8, no_repeat_ngram=4)).cfg.no_repeat_ngram == 4
    assert TransformersGenerator(tiny_dir, CFG).cfg.no_repeat_ngram == 0  # no decoding block: the setting's own
    manifest["decoding"] = {"no_repeat_ngram": 1}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="no_repeat_ngram"):
        TransformersGenerator(copy, CFG)


def test_a_manifests_head_tokens_trim_the_head_unless_turned_off(tiny_dir, tmp_path):
    import dataclasses
    import shutil

    copy = tmp_path / "trimmed"
    shutil.copytree(tiny_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["decoding"] = {"head_tokens": [5, 9, 300]}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert TransformersGenerator(copy, CFG).head_tokens == {5, 9, 300}
    assert TransformersGenerator(copy, dataclasses.replace(CFG, head_trim=False)).head_tokens is None
    assert TransformersGenerator(tiny_dir, CFG).head_tokens is None  # no list in the manifest: the full head
    manifest["decoding"] = {"head_tokens": [5, 10 ** 7]}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        TransformersGenerator(copy, CFG)


def test_complete_batches_and_returns_one_text_per_prompt(generator, monkeypatch):
    calls = []
    original = generator.model.generate

    def spy(**kwargs):
        calls.append(kwargs["input_ids"].shape[0])
        assert kwargs["max_new_tokens"] == 8
        return original(**kwargs)

    monkeypatch.setattr(generator.model, "generate", spy)
    outputs = generator.complete(generator.prompts(contexts(3)))
    assert calls == [2, 1]
    assert len(outputs) == 3 and all(isinstance(o, str) for o in outputs)


def test_left_padding_keeps_greedy_output_independent_of_the_batch(generator):
    prompts = generator.prompts([contexts(1)[0], UserContext("long", [
        {"domain": "search", "kind": "search", "text": "a much longer search text " * 8, "ts": 5}])])
    assert generator.complete(prompts[:1]) == generator.complete(prompts)[:1]


def test_generate_returns_one_generation_per_context_in_order(generator, monkeypatch):
    seen = []
    original = generator.complete

    def spy(prompts, temperature=0.0):
        seen.append((len(prompts), temperature))
        return original(prompts, temperature)

    monkeypatch.setattr(generator, "complete", spy)
    results = generator.generate(contexts(3))
    assert len(results) == 3
    assert all(isinstance(r, Generation) for r in results)
    assert seen[0] == (3, 0.0)
    for result in results:
        assert result.queries or result.error  # random weights: usually no valid query


def test_invalid_outputs_are_retried_once_with_sampling(generator, monkeypatch):
    calls = []

    def fake_complete(prompts, temperature=0.0):
        calls.append((len(prompts), temperature))
        return ["http://nonsense"] * len(prompts)

    monkeypatch.setattr(generator, "complete", fake_complete)
    results = generator.generate(contexts(3))
    assert calls == [(3, 0.0), (3, 0.8)]
    assert all(r.queries == [] and r.error and r.raw == "http://nonsense" for r in results)


def test_random_model_failures_take_the_sampled_retry_path(generator, monkeypatch):
    sampled = []
    original = generator.complete

    def spy(prompts, temperature=0.0):
        out = original(prompts, temperature)
        if temperature > 0:
            sampled.append(len(prompts))
        return ["12345"] * len(out)  # real model call, output forced invalid

    monkeypatch.setattr(generator, "complete", spy)
    results = generator.generate(contexts(3))
    assert sampled == [3]
    assert [r.queries for r in results] == [[], [], []]
    assert all("no valid query" in r.error for r in results)


def test_only_failed_users_are_retried(generator, monkeypatch):
    calls = []

    def fake_complete(prompts, temperature=0.0):
        calls.append((len(prompts), temperature))
        if temperature == 0.0:
            return ["tennis story one", "!!!", "tennis story three"]
        return ["tennis story again"]

    monkeypatch.setattr(generator, "complete", fake_complete)
    results = generator.generate(contexts(3))
    assert calls == [(3, 0.0), (1, 0.8)]
    assert [r.queries for r in results] == [["tennis story one"], ["tennis story again"], ["tennis story three"]]


def test_valid_completion_is_parsed_into_queries(generator, monkeypatch):
    raw = "1. tennis story\n- number theory tennis"
    monkeypatch.setattr(generator, "complete", lambda prompts, temperature=0.0: [raw] * len(prompts))
    results = generator.generate(contexts(2))
    assert [r.queries for r in results] == [["tennis story", "number theory tennis"]] * 2
    assert all(r.raw == raw and r.error == "" for r in results)


def test_parsed_but_ungrounded_completion_gives_no_queries(generator, monkeypatch):
    # "a b c" parses, but shares no content word with the history, so the grounding check drops it
    monkeypatch.setattr(generator, "complete", lambda prompts, temperature=0.0: ["a b c\nd e f"] * len(prompts))
    results = generator.generate(contexts(2))
    assert all(r.queries == [] and r.error and r.raw == "a b c\nd e f" for r in results)


def test_no_retry_when_retry_temperature_is_zero(tiny_dir, monkeypatch):
    generator = TransformersGenerator(tiny_dir, GeneratorConfig(max_new_tokens=4, batch_size=2,
                                                                retry_temperature=0.0))
    calls = []
    monkeypatch.setattr(generator, "complete", lambda p, temperature=0.0: calls.append(temperature) or ["?"] * len(p))
    assert generator.generate(contexts(1))[0].queries == []
    assert calls == [0.0]


# --- n samples per user (best-of-N candidates) -------------------------------------------------------------------

@pytest.fixture(scope="module")
def sampler(tiny_dir):
    return TransformersGenerator(tiny_dir, CFG, n=3, temperature=0.9)


def test_n_above_one_needs_a_temperature(tiny_dir):
    with pytest.raises(ValueError, match="temperature"):
        TransformersGenerator(tiny_dir, CFG, n=2, temperature=0.0)
    with pytest.raises(ValueError):
        TransformersGenerator(tiny_dir, CFG, n=0)


def test_complete_returns_n_samples_per_prompt_grouped_by_prompt(sampler, monkeypatch):
    calls = []
    original = sampler.model.generate

    def spy(**kwargs):
        calls.append((kwargs["input_ids"].shape[0], kwargs.get("past_key_values") is not None, kwargs["do_sample"],
                      kwargs.get("temperature")))
        return original(**kwargs)

    monkeypatch.setattr(sampler.model, "generate", spy)
    outputs = sampler.complete(sampler.prompts(contexts(3)), temperature=0.9, n=3)
    # batches of cfg.batch_size users, n rows each, continuing from one shared prefill per prompt
    assert calls == [(6, True, True, 0.9), (3, True, True, 0.9)]
    assert len(outputs) == 9 and all(isinstance(o, str) for o in outputs)
    with pytest.raises(ValueError):
        sampler.complete(sampler.prompts(contexts(1)), temperature=0.0, n=2)


def test_sampled_generation_keeps_every_candidate_and_picks_the_most_grounded(sampler, monkeypatch):
    calls = []
    samples = ["chess openings", "tennis story\nnumber tennis\nchess club", "!!!"]

    def fake_complete(prompts, temperature=0.0, n=1):
        calls.append((len(prompts), temperature, n))
        return samples * len(prompts)

    monkeypatch.setattr(sampler, "complete", fake_complete)
    results = sampler.generate(contexts(2))
    assert calls == [(2, 0.9, 3)]  # one sampled pass, no retry
    for result in results:
        assert result.candidates == [["chess openings"], ["tennis story", "number tennis", "chess club"], []]
        assert result.queries == ["tennis story", "number tennis"]  # grounded queries of sample 1
        assert result.error == ""
        assert result.raw.startswith("--- sample 0 ---\nchess openings\n--- sample 1 ---")


def test_sampled_generation_ties_go_to_the_first_sample_and_failures_report_why(sampler, monkeypatch):
    monkeypatch.setattr(sampler, "complete",
                        lambda prompts, temperature=0.0, n=1: ["tennis one", "tennis two", "tennis three"])
    [result] = sampler.generate(contexts(1))
    assert result.queries == ["tennis one"]
    monkeypatch.setattr(sampler, "complete", lambda prompts, temperature=0.0, n=1: ["chess", "!!!", "golf club"])
    [result] = sampler.generate(contexts(1))
    assert result.queries == [] and result.candidates == [["chess"], [], ["golf club"]]
    assert "no sampled query relates" in result.error
    monkeypatch.setattr(sampler, "complete", lambda prompts, temperature=0.0, n=1: ["!!!"] * 3)
    [result] = sampler.generate(contexts(1))
    assert result.candidates == [[], [], []] and "none of 3 samples" in result.error


def test_real_sampling_with_the_tiny_model_gives_n_candidates_per_user(sampler):
    results = sampler.generate(contexts(3))
    assert len(results) == 3
    assert all(len(r.candidates) == 3 and (r.queries or r.error) for r in results)


def test_greedy_generation_has_no_candidates(generator, monkeypatch):
    monkeypatch.setattr(generator, "complete", lambda prompts, temperature=0.0: ["tennis story"] * len(prompts))
    assert generator.generate(contexts(1)) == [Generation(["tennis story"], "tennis story", "")]


def test_best_of_n_wraps_the_sampling_backend(sampler, monkeypatch):
    from models.bestofn import BestOfN
    from models.embeddings import HashEmbedder

    # sample 0 repeats one word (low diversity); sample 1 is grounded and diverse
    monkeypatch.setattr(sampler, "complete", lambda prompts, temperature=0.0, n=1: [
        "tennis story\ntennis story number", "tennis story\nnumber theory", "chess"] * len(prompts))
    wrapper = BestOfN(sampler, HashEmbedder())  # FAKE embedder
    assert wrapper.version == "tiny@test+best-of-3"
    [result] = wrapper.generate(contexts(1))
    assert result.queries == ["tennis story", "number theory"]
    assert len(result.candidates) == 3


# --- the CPU benchmark's pieces, on the tiny model -----------------------------------------------------------------

def test_benchmark_histories_are_seeded_and_well_formed():
    from models.benchmarks.cpu_throughput import synthetic_histories

    users = synthetic_histories(20, seed=3)
    assert users == synthetic_histories(20, seed=3) and users != synthetic_histories(20, seed=4)
    assert len(users) == 20 and len({u.user_id for u in users}) == 20
    for u in users:
        assert 4 <= len(u.history) <= 12
        assert [s["ts"] for s in u.history] == sorted((s["ts"] for s in u.history), reverse=True)
        assert {s["domain"] for s in u.history} <= {"click", "search", "social", "browse"}


def test_benchmark_percentile_matches_numpy():
    import numpy as np

    from models.benchmarks.cpu_throughput import percentile

    values = [0.3, 1.0, 0.1, 7.0, 2.5]
    for q in (0, 50, 90, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_benchmark_measure_runs_whole_batches(generator):
    from models.benchmarks.cpu_throughput import measure, synthetic_histories

    result = measure(generator, synthetic_histories(5), batch_size=2, max_users=3, budget_s=60)
    assert result["batches"] == 2 and result["users"] == 4  # whole batches: 2 + 2
    assert result["users_per_s"] > 0 and result["latency_p50_s"] <= result["latency_p99_s"]
    one = measure(generator, synthetic_histories(5), batch_size=1, max_users=5, budget_s=0.0)
    assert one["batches"] == 1 and one["users"] == 1  # the budget is spent after the first batch


def test_benchmark_main_writes_the_report(tiny_dir, tmp_path, capsys):
    from models.benchmarks.cpu_throughput import main

    import torch

    out = tmp_path / "cpu.json"
    threads = torch.get_num_threads()
    try:
        assert main(["--out", str(out), "--users", "2", "--batch-sizes", "1", "2", "--samples", "1", "2",
                     "--budget-s", "0", "--threads", "1", "--model-dir", str(tiny_dir)]) == 0
    finally:
        torch.set_num_threads(threads)  # the benchmark sets the process-wide value
    report = json.loads(out.read_text())
    assert report["command"].startswith("python -m models.benchmarks.cpu_throughput --out")
    assert report["machine"]["torch_threads"] == 1 and report["machine"]["logical_cores"] >= 1
    rows = report["results"]
    assert [(r["backend"].split()[0], r["batch_size"], r["n"]) for r in rows] == [
        ("smollm2", 1, 1), ("smollm2", 2, 1), ("smollm2", 1, 2), ("smollm2", 2, 2), ("keyphrase", 1, 1)]
    assert all(r["users_per_s"] > 0 for r in rows)
    assert rows[1]["mean_prompt_tokens"] == pytest.approx(rows[3]["mean_prompt_tokens"])  # same users, per prompt
    assert "users/s" in capsys.readouterr().out


def test_benchmark_measures_each_dtype_and_records_it(tiny_dir, tmp_path, monkeypatch):
    from models.benchmarks.cpu_throughput import main

    import torch

    monkeypatch.setenv("INTERESTS_GEN_DTYPE", "float32")  # the configured dtype: used only without --dtype
    out = tmp_path / "cpu.json"
    threads = torch.get_num_threads()
    try:
        assert main(["--out", str(out), "--users", "1", "--batch-sizes", "1", "--samples", "1", "--budget-s", "0",
                     "--threads", "1", "--model-dir", str(tiny_dir), "--dtype", "bfloat16", "float32"]) == 0
        report = json.loads(out.read_text())
        assert report["dtypes"] == ["bfloat16", "float32"]
        assert [m["dtype"] for m in report["models"]] == ["bfloat16", "float32"]
        assert [(r["backend"].split()[0], r["dtype"]) for r in report["results"]] == [
            ("smollm2", "bfloat16"), ("smollm2", "float32"), ("keyphrase", "-")]
        assert "--dtype bfloat16 float32" in report["command"]
        default = tmp_path / "default.json"
        assert main(["--out", str(default), "--users", "1", "--batch-sizes", "1", "--samples", "1",
                     "--budget-s", "0", "--threads", "1", "--model-dir", str(tiny_dir)]) == 0
        assert json.loads(default.read_text())["dtypes"] == ["float32"]  # INTERESTS_GEN_DTYPE
    finally:
        torch.set_num_threads(threads)


def test_benchmark_times_several_models_back_to_back_with_and_without_the_stop(tiny_dir, tmp_path):
    import gzip
    import shutil

    from models.benchmarks.cpu_throughput import main

    import torch

    compact = tmp_path / "compact"
    shutil.copytree(tiny_dir, compact)
    manifest = json.loads((compact / "manifest.json").read_text())
    (compact / "manifest.json").write_text(json.dumps({**manifest, "version": "student",
                                                       "prompt": {"contract": "compact"}}))
    histories = tmp_path / "histories.json.gz"  # the shape `interests train export-histories` writes
    with gzip.open(histories, "wt") as handle:
        json.dump({"format": "interests-train-histories/1",
                   "histories": {c.user_id: c.history for c in contexts(6)}}, handle)
    out = tmp_path / "cpu.json"
    threads = torch.get_num_threads()
    try:
        assert main(["--out", str(out), "--users", "2", "--batch-sizes", "2", "--samples", "1", "--budget-s", "0",
                     "--threads", "1", "--model-dir", str(tiny_dir), str(compact), "--stop-at-list", "off", "on",
                     "--histories", str(histories), "--dtype", "float32"]) == 0
    finally:
        torch.set_num_threads(threads)
    report = json.loads(out.read_text())
    assert [(m["version"], m["prompt_contract"], m["layers"]) for m in report["models"]] == [
        ("tiny@test", "chat", 2), ("tiny@student", "compact", 2)]
    rows = [r for r in report["results"] if r["backend"] != "keyphrase"]
    assert [(r["version"], r["stop_at_list"]) for r in rows] == [
        ("tiny@test", False), ("tiny@test", True), ("tiny@student", False), ("tiny@student", True)]
    assert rows[2]["mean_prompt_tokens"] < rows[0]["mean_prompt_tokens"] - 200  # the compact prompt, same users
    assert report["settings"]["histories"].endswith("histories.json.gz")


def test_benchmark_rejects_an_unknown_dtype(capsys):
    from models.benchmarks.cpu_throughput import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--dtype", "int4"])
    assert "invalid choice" in capsys.readouterr().err


def test_completions_come_back_from_the_cache_without_generating_again(tiny_dir, tmp_path, monkeypatch):
    from dataclasses import replace

    cached = TransformersGenerator(tiny_dir, replace(CFG, completion_cache=str(tmp_path / "c.jsonl")))
    prompts = cached.prompts(contexts(3))
    first = cached.complete(prompts)
    calls = []
    original = cached._complete
    monkeypatch.setattr(cached, "_complete", lambda p, t, n: calls.append(len(p)) or original(p, t, n))
    assert cached.complete(prompts) == first and calls == []  # all three read back
    reopened = TransformersGenerator(tiny_dir, replace(CFG, completion_cache=str(tmp_path / "c.jsonl")))
    monkeypatch.setattr(reopened, "_complete", lambda p, t, n: calls.append(len(p)) or original(p, t, n))
    assert reopened.complete(prompts[:2] + ["another prompt"]) == first[:2] + reopened.complete(["another prompt"])
    assert calls == [1]  # only the new prompt was generated (once: the second call read it back)


def test_a_completion_cut_by_the_token_limit_keeps_its_complete_lines(generator, monkeypatch):
    import torch

    tok = generator.tokenizer
    body = tok("tennis story one\ntennis story tw", add_special_tokens=False)["input_ids"]

    def fake_generate(input_ids, **kwargs):  # no end-of-sequence token: the row ran out of tokens
        return torch.cat([input_ids, torch.tensor([body] * input_ids.shape[0])], dim=1)

    monkeypatch.setattr(generator.model, "generate", fake_generate)
    assert generator.complete(["a prompt"]) == ["tennis story one"]
    ended = body + [tok.eos_token_id]
    monkeypatch.setattr(generator.model, "generate",
                        lambda input_ids, **kw: torch.cat([input_ids, torch.tensor([ended])], dim=1))
    assert generator.complete(["a prompt"]) == ["tennis story one\ntennis story tw"]  # ended: kept whole


def test_the_no_repeat_rule_reaches_generate(tiny_dir, monkeypatch):
    from dataclasses import replace

    from models.decoding import NoRepeatInCompletion

    gen = TransformersGenerator(tiny_dir, replace(CFG, no_repeat_ngram=3))
    seen = []
    original = gen.model.generate
    monkeypatch.setattr(gen.model, "generate", lambda **kw: seen.append(kw.get("logits_processor")) or original(**kw))
    gen.complete(gen.prompts(contexts(1)))
    [rules] = seen
    assert isinstance(rules[0], NoRepeatInCompletion) and rules[0].n == 3
    assert rules[0].prompt_len == gen.tokenizer(gen.prompts(contexts(1)), return_tensors="pt")["input_ids"].shape[1]


def test_the_real_words_rule_reaches_generate_and_keeps_every_written_word_real(tiny_dir, monkeypatch):
    from dataclasses import replace

    from models.realwords import RealWords, walk

    gen = TransformersGenerator(tiny_dir, replace(CFG, real_words=True, no_repeat_ngram=3, max_new_tokens=16))
    seen = []
    original = gen.model.generate
    monkeypatch.setattr(gen.model, "generate", lambda **kw: seen.append(kw.get("logits_processor")) or original(**kw))
    prompts = gen.prompts(contexts(2))
    texts = gen.complete(prompts)
    [rules] = seen
    assert [type(r).__name__ for r in rules] == ["NoRepeatInCompletion", "RealWords"]
    assert isinstance(rules[1], RealWords) and rules[1].greedy and len(rules[1].rows) == 2
    assert rules[1].allowed > 0  # the untrained tiny model's favourite tokens were looked at
    for text, lexicon in zip(texts, rules[1].rows):  # each line's words are real, but for a word cut at the end
        for line in text.splitlines()[:-1]:
            assert walk("", line + "\n", lexicon)[0], line


def test_a_manifest_turns_the_real_words_rule_on(tiny_dir, tmp_path):
    import json
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(tiny_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["decoding"] = {"real_words": True}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert TransformersGenerator(copy, CFG).cfg.real_words
    assert not TransformersGenerator(tiny_dir, CFG).cfg.real_words


def test_int8_quantises_the_linear_layers_and_still_generates(tiny_dir):
    import torch

    from dataclasses import replace

    generator = TransformersGenerator(tiny_dir, replace(CFG, dtype="int8"))
    quantised = [m for m in generator.model.modules() if type(m).__name__ == "Linear" and "quantized" in
                 type(m).__module__]
    assert len(quantised) == 2 * 7 + 1  # every projection of the two layers and the output head
    assert generator.model.model.embed_tokens.weight.dtype == torch.float32  # the tied embeddings stay as they were
    assert len(generator.complete(generator.prompts(contexts(2)))) == 2
    with pytest.raises(ValueError, match="unknown dtype 'int4'"):
        TransformersGenerator(tiny_dir, replace(CFG, dtype="int4"))


def test_a_row_ended_by_the_generation_end_token_keeps_its_last_line(tiny_dir, monkeypatch):
    import torch
    from dataclasses import replace

    tok = TransformersGenerator(tiny_dir, CFG).tokenizer
    words = tok("fed rates\nmortgage rates", add_special_tokens=False)["input_ids"]
    generator = TransformersGenerator(tiny_dir, replace(CFG, max_new_tokens=len(words) + 1))
    end = generator.model.generation_config.eos_token_id
    end = end[0] if isinstance(end, list) else end
    assert end not in (tok.eos_token_id, tok.pad_token_id)  # the converted tokenizer names another end token

    def generate(**kwargs):  # the row writes its last line and the end token exactly at the token limit
        prompt = kwargs["input_ids"]
        tail = torch.tensor([words + [end]] * prompt.shape[0])
        return torch.cat([prompt, tail], dim=1)

    monkeypatch.setattr(generator.model, "generate", generate)
    [text] = generator.complete(generator.prompts(contexts(1)))
    assert text == "fed rates\nmortgage rates"  # not cut as an unfinished line


def test_benchmark_times_the_trimmed_head_beside_the_full_one(tiny_dir, tmp_path, capsys):
    import gzip

    from models.benchmarks.cpu_throughput import main

    import torch

    kd = tmp_path / "kd.jsonl.gz"
    with gzip.open(kd, "wt") as handle:
        handle.write(json.dumps({"user": "u1", "text": "storm warning\ncoast guard"}) + "\n")
    out = tmp_path / "cpu.json"
    threads = torch.get_num_threads()
    try:
        with pytest.raises(SystemExit):  # "on" needs the KD cache whose tokens it keeps
            main(["--out", str(out), "--trim-head", "on", "--model-dir", str(tiny_dir)])
        assert "--trim-head on needs --head-tokens" in capsys.readouterr().err
        assert main(["--out", str(out), "--users", "1", "--batch-sizes", "1", "--samples", "1", "--budget-s", "0",
                     "--threads", "1", "--model-dir", str(tiny_dir), "--trim-head", "off", "on",
                     "--head-tokens", str(kd)]) == 0
    finally:
        torch.set_num_threads(threads)
    rows = [r for r in json.loads(out.read_text())["results"] if r["backend"].startswith("smollm2")]
    assert [r["trim_head"] for r in rows] == [False, True]
    assert rows[0]["head_tokens"] is None and rows[1]["head_tokens"] >= 4


def test_benchmark_loads_each_model_with_each_attention(tiny_dir, tmp_path):
    from models.benchmarks.cpu_throughput import main

    import torch

    out = tmp_path / "cpu.json"
    threads = torch.get_num_threads()
    try:
        assert main(["--out", str(out), "--users", "1", "--batch-sizes", "1", "--samples", "1", "--budget-s", "0",
                     "--threads", "1", "--model-dir", str(tiny_dir), "--attention", "sdpa", "sdpa_gqa"]) == 0
    finally:
        torch.set_num_threads(threads)
    report = json.loads(out.read_text())
    assert report["attentions"] == ["sdpa", "sdpa_gqa"]
    assert [m["attention"] for m in report["models"]] == ["sdpa", "sdpa_gqa"]
    rows = [r for r in report["results"] if r["backend"].startswith("smollm2")]
    assert [r["attention"] for r in rows] == ["sdpa", "sdpa_gqa"]
    assert rows[0]["mean_queries"] == rows[1]["mean_queries"]  # the same model, the same greedy lists


def test_sample_draws_n_lists_per_user_with_every_samples_queries(generator, monkeypatch):
    calls = []

    def fake_complete(prompts, temperature=0.0, n=1):
        calls.append((len(prompts), temperature, n))
        return ["tennis story one\nfootball", "tennis number two"] * len(prompts)

    monkeypatch.setattr(generator, "complete", fake_complete)
    results = generator.sample(contexts(2), 2, 0.7)
    assert calls == [(2, 0.7, 2)]
    assert [r.candidates for r in results] == [[["tennis story one", "football"], ["tennis number two"]]] * 2
    with pytest.raises(ValueError, match="temperature"):
        generator.sample(contexts(1), 2, 0.0)
