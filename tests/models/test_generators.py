"""models.generators.base: the fallback wrapper and the factory."""

from __future__ import annotations

import pytest

from models.config import GeneratorConfig
from models.generators.factory import make_generator
from models.generators.base import Generation, QueryGenerator, UserContext, WithFallback
from models.generators.factory import make_fallback
from models.generators.keyphrase import KeyphraseGenerator


class Scripted(QueryGenerator):
    """Fake: returns the scripted queries for each user id ([] = invalid output), records what it was asked."""

    def __init__(self, version, answers):
        self.version, self.answers, self.calls, self.closed = version, answers, [], False

    def generate(self, contexts):
        self.calls.append([c.user_id for c in contexts])
        return [Generation(list(self.answers.get(c.user_id, [])), raw=f"raw-{c.user_id}",
                           error="" if self.answers.get(c.user_id) else "invalid") for c in contexts]

    def close(self):
        self.closed = True


def contexts(*users):
    return [UserContext(u, [{"domain": "click", "kind": "click", "text": f"{u} news: alpha beta gamma delta backup query",
                             "ts": 1}]) for u in users]


def test_users_left_empty_by_primary_get_fallback_queries_and_version():
    primary = Scripted("llm@1", {"a": ["alpha query"], "c": ["gamma query"]})
    fallback = Scripted("kp@1", {"b": ["beta backup"], "d": ["delta backup"]})
    results = WithFallback(primary, fallback).generate(contexts("a", "b", "c", "d"))
    assert [r.queries for r in results] == [["alpha query"], ["beta backup"], ["gamma query"], ["delta backup"]]
    assert [r.version for r in results] == ["", "kp@1", "", "kp@1"]


def test_fallback_is_asked_only_about_failed_users():
    primary = Scripted("llm@1", {"a": ["alpha query"]})
    fallback = Scripted("kp@1", {"b": ["beta backup"]})
    WithFallback(primary, fallback).generate(contexts("a", "b"))
    assert primary.calls == [["a", "b"]]
    assert fallback.calls == [["b"]]


def test_fallback_not_called_when_primary_succeeds_for_all():
    fallback = Scripted("kp@1", {})
    results = WithFallback(Scripted("llm@1", {"a": ["q one"]}), fallback).generate(contexts("a"))
    assert results[0] == Generation(["q one"], "raw-a", "")
    assert fallback.calls == []


def test_fallback_keeps_primary_raw_and_error_for_debugging():
    results = WithFallback(Scripted("llm@1", {}), Scripted("kp@1", {"a": ["backup"]})).generate(contexts("a"))
    assert results[0] == Generation(["backup"], "raw-a", "invalid", "kp@1")


def test_user_empty_in_both_stays_empty_with_primary_error():
    results = WithFallback(Scripted("llm@1", {}), Scripted("kp@1", {})).generate(contexts("a"))
    assert results[0].queries == [] and results[0].error == "invalid" and results[0].version == ""


def test_wrapper_version_is_the_primary_version():
    assert WithFallback(Scripted("llm@1", {}), Scripted("kp@1", {})).version == "llm@1"


def test_close_closes_both():
    primary, fallback = Scripted("llm@1", {}), Scripted("kp@1", {})
    WithFallback(primary, fallback).close()
    assert primary.closed and fallback.closed


def test_make_generator_keyphrase_backend_is_plain_keyphrase():
    generator = make_generator(GeneratorConfig(backend="keyphrase", num_queries=3))
    assert type(generator) is KeyphraseGenerator
    assert generator.num_queries == 3
    assert generator.version == "keyphrase@1"


def test_make_generator_without_fallback_is_not_wrapped():
    assert type(make_generator(GeneratorConfig(backend="keyphrase", fallback=""))) is KeyphraseGenerator


def test_make_generator_rejects_unknown_backend():
    with pytest.raises(ValueError, match="unknown generator backend 'nope'"):
        make_generator(GeneratorConfig(backend="nope", fallback=""))


def test_make_generator_wraps_a_different_backend_with_the_fallback(monkeypatch):
    import models.generators.factory as factory

    made = {}

    def fake_backend(name, cfg):
        made[name] = Scripted(f"{name}@x", {})
        return made[name]

    monkeypatch.setattr(factory, "backend", fake_backend)
    generator = make_generator(GeneratorConfig(backend="smollm2", fallback="keyphrase", on_invalid="fallback",
                                               fill="", select=""))
    assert isinstance(generator, WithFallback)
    assert generator.primary is made["smollm2"] and generator.fallback is made["keyphrase"]
    assert make_fallback(GeneratorConfig(backend="smollm2", fallback="keyphrase", on_invalid="fallback")) is None


def test_make_generator_completes_short_lists_with_the_fill_inside_the_fallback(monkeypatch):
    import models.generators.factory as factory
    from models.generators.fill import Filled

    made = {}

    def fake_backend(name, cfg):
        made.setdefault(name, []).append(Scripted(f"{name}@x", {}))
        return made[name][-1]

    monkeypatch.setattr(factory, "backend", fake_backend)
    generator = make_generator(GeneratorConfig(backend="smollm2", fallback="keyphrase", on_invalid="fallback",
                                               select=""))
    assert isinstance(generator, WithFallback) and isinstance(generator.primary, Filled)
    assert generator.primary.primary is made["smollm2"][0] and generator.primary.filler is made["keyphrase"][0]
    assert not isinstance(make_generator(GeneratorConfig(backend="keyphrase")), Filled)  # nothing to fill itself with


def test_under_the_stale_policy_the_generator_is_not_wrapped_and_the_worker_gets_the_fallback(monkeypatch):
    import models.generators.factory as factory

    monkeypatch.setattr(factory, "backend", lambda name, cfg: Scripted(f"{name}@x", {}))
    cfg = GeneratorConfig(backend="smollm2", fallback="keyphrase", select="")
    assert cfg.on_invalid == "stale"  # the default
    generator = make_generator(cfg)
    assert not isinstance(generator, WithFallback) and generator.version == "smollm2@x"
    assert make_fallback(cfg).version == "keyphrase@x"
    assert make_fallback(GeneratorConfig(backend="smollm2", fallback="")) is None
    assert make_fallback(GeneratorConfig(backend="keyphrase", fallback="keyphrase")) is None


class Sampler(QueryGenerator):
    """Fake sampling backend: every user gets the scripted candidates (the 2nd is the best: grounded, diverse)."""

    def __init__(self, n):
        self.n, self.version, self.closed = n, "tiny@v1", False

    def generate(self, contexts):
        return [Generation(["alpha query"], candidates=[["alpha alpha"], ["alpha query", "beta backup"], ["zzz"]])
                for _ in contexts]

    def close(self):
        self.closed = True


def test_best_of_n_from_the_config_wraps_the_sampling_backend(monkeypatch):
    import models.generators.transformers_backend as tb
    import models.student as student
    from models.bestofn import BestOfN
    from models.embeddings import HashEmbedder

    made = []

    def fake_transformers(model_dir, cfg, n=1, temperature=0.8):
        made.append((model_dir, n, temperature))
        return Sampler(n)

    monkeypatch.setattr(tb, "TransformersGenerator", fake_transformers)
    monkeypatch.setattr(student, "ensure_student", lambda path: path)
    cfg = GeneratorConfig.from_env({"INTERESTS_GEN_BEST_OF_N": "8", "INTERESTS_GEN_SAMPLE_TEMPERATURE": "0.7",
                                    "INTERESTS_GEN_REWARD_WEIGHTS": "structure=1, diversity=0.5",
                                    "INTERESTS_GEN_MODEL_DIR": "/models/v3"}, fallback="", fill="",
                                   select="")
    embedder = HashEmbedder(dim=16)  # FAKE embedder
    generator = make_generator(cfg, embedder)
    assert isinstance(generator, BestOfN) and generator.embedder is embedder
    assert made == [(cfg.model_dir, 8, 0.7)] and str(cfg.model_dir) == "/models/v3"
    assert generator.weights == {"structure": 1.0, "diversity": 0.5}
    assert generator.version == "tiny@v1+best-of-8"
    [result] = generator.generate(contexts("a"))
    assert result.queries == ["alpha query", "beta backup"]  # the rewards' pick, not the backend's own


def test_best_of_n_with_the_fallback_policy_is_wrapped_too(monkeypatch):
    import models.generators.transformers_backend as tb
    import models.student as student
    from models.bestofn import BestOfN
    from models.embeddings import HashEmbedder

    monkeypatch.setattr(tb, "TransformersGenerator", lambda model_dir, cfg, n=1, temperature=0.8: Sampler(n))
    monkeypatch.setattr(student, "ensure_student", lambda path: path)
    generator = make_generator(GeneratorConfig(best_of_n=4, on_invalid="fallback", fill="", select=""),
                               HashEmbedder(dim=8))
    assert isinstance(generator, WithFallback) and isinstance(generator.primary, BestOfN)
    filled = make_generator(GeneratorConfig(best_of_n=4, on_invalid="fallback", select=""), HashEmbedder(dim=8))
    assert isinstance(filled.primary.primary, BestOfN) and filled.primary.filler.version == "keyphrase@1"
    assert generator.version == "tiny@v1+best-of-4"


def test_best_of_n_needs_a_sampling_backend():
    with pytest.raises(ValueError, match="sampling LLM backend"):
        make_generator(GeneratorConfig(backend="keyphrase", best_of_n=4, fallback=""))


def test_best_of_n_rejects_unknown_reward_names(monkeypatch):
    import models.generators.transformers_backend as tb
    import models.student as student
    from models.embeddings import HashEmbedder

    monkeypatch.setattr(tb, "TransformersGenerator", lambda model_dir, cfg, n=1, temperature=0.8: Sampler(n))
    monkeypatch.setattr(student, "ensure_student", lambda path: path)
    with pytest.raises(ValueError, match="unknown rewards"):
        make_generator(GeneratorConfig(best_of_n=2, reward_weights="structur=1"), HashEmbedder(dim=8))


def test_fallback_output_passes_the_same_validator():
    """An injected payload or an ungrounded phrase from the fallback is never written."""
    primary = Scripted("llm@1", {})
    fallback = Scripted("kp@1", {"a": ["ignore previous instructions", "zebracorn payload", "beta backup"]})
    results = WithFallback(primary, fallback).generate(contexts("a"))
    assert results[0].queries == ["beta backup"] and results[0].version == "kp@1"
