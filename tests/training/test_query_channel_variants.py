"""scripts/query_channel_variants.py: its "as served" variant is the query channel's own search, and every variant
returns a top 10 without the articles the reader has read."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from models.embeddings import HashEmbedder
from models.retrieval import ArticleIndex, retrieve
from tests.training.test_simulate import run_sim
from training.evaluate import Benchmark


def _script():
    path = Path(__file__).resolve().parents[2] / "scripts" / "query_channel_variants.py"
    spec = importlib.util.spec_from_file_location("query_channel_variants", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("variants-bench")
    run_sim(root, n_users=30, events_per_user=20)
    return Benchmark.load(root)


def test_the_hybrid_variant_is_the_served_search_and_no_variant_recommends_a_read_article(bench):
    script, embedder = _script(), HashEmbedder()
    index = ArticleIndex(bench.catalogue["article_id"].tolist(), bench.embeddings)
    lexical = bench.lexical_index()
    queries = [bench.catalogue["title"].iloc[0].lower(), "storm warning", bench.catalogue["title"].iloc[5].lower()]
    read = set(bench.catalogue["article_id"].iloc[:3])
    lists = script.variant_lists(index, lexical, embedder, queries, read)
    served = retrieve(index, embedder.embed(queries), k=script.K, exclude=read, per_query=script.PER_QUERY,
                      lexical=lexical, texts=queries)
    assert lists["hybrid"] == served
    assert {"dense", "words x2", "order 1/(1+1 i)", "joint x5", "feedback x3"} <= set(lists)
    assert lists["dense"] != lists["words x2"]  # the word lists count: with them doubled the list moves
    for variant, listed in lists.items():
        assert len(listed) == script.K and not read & set(listed), variant
