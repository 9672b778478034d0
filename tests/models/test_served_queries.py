"""The served generator (the registry's current version, with its fill and fallback, built as the generator
worker builds it) on the shipped sample events, with the real SmolLM2 and the shipped default adapter: no served
query repeats the prompt's fixed text or holds an invented word, and every sample user gets a list."""

from __future__ import annotations

from dataclasses import replace

import pytest

from models.config import GeneratorConfig
from models.generators.base import UserContext
from models.parsing import own_words, query_words_problem
from models.prompt import EXAMPLE_ANSWER
from streams.demo import SAMPLE
from training.evaluate import replay_histories

pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from models.served import generator_from_config

    cfg = replace(GeneratorConfig(), registry_dir=tmp_path_factory.mktemp("registry"), on_invalid="fallback",
                  torch_threads=0)
    generator, _ = generator_from_config(cfg)
    with SAMPLE.open() as handle:
        histories, _ = replay_histories(handle)
    contexts = [UserContext(u, histories[u]) for u in sorted(histories)]
    return generator, contexts, generator.generate(contexts)


def test_the_shipped_default_is_what_serves(served):
    from models.student import packaged_default

    generator, _, _ = served
    assert packaged_default() and generator.version.endswith("@" + packaged_default())


def test_no_served_query_repeats_the_prompt_or_invents_a_word(served):
    _, contexts, generations = served
    assert len(contexts) == 36
    problems = []
    for context, generation in zip(contexts, generations):
        own, check = own_words([s["text"] for s in context.history])
        problems += [(context.user_id, q, p) for q in generation.queries
                     if (p := query_words_problem(q, own, check))]
        problems += [(context.user_id, q, "example query") for q in generation.queries
                     if q.lower() in EXAMPLE_ANSWER]
    assert problems == []


def test_every_sample_user_gets_a_list_of_about_five(served):
    _, contexts, generations = served
    sizes = [len(g.queries) for g in generations]
    assert min(sizes) >= 1
    assert sum(sizes) / len(sizes) >= 4.0
    assert all(g.queries[: len(g.queries) - g.filled] or "keyphrase" in g.version for g in generations)
