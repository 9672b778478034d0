"""Hindsight targets: the greedy choice on hand-computed cases, near-duplicates, and a build on a tiny real index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.embeddings import HashEmbedder
from training.evaluate import Benchmark
from training.hindsight import VERSION, build, distinct, select
from training.kd import KDEnv, load_targets


def test_distinct_drops_a_query_whose_words_are_a_subset_or_superset_of_an_earlier_one():
    assert distinct(["storm coast", "coast storm flooding", "storm", "election night", "Election  night"]) == \
        ["storm coast", "election night"]


def test_select_takes_the_largest_ndcg_gain_first_and_never_a_query_that_lowers_it_before_one_that_does_not():
    relevant = {"a", "b"}
    lists = [[[("x", 0.9), ("y", 0.8)]],  # finds nothing, and would push a hit down the fused list
             [[("a", 0.7)]],  # finds one
             [[("b", 0.9), ("a", 0.8)]]]  # finds both: NDCG 1 alone
    # first: candidate 2 (NDCG 1); then adding 1 keeps NDCG 1 (gain 0), adding 0 lowers it: 1 before 0
    # even though candidate 0 is the closest to the next clicks
    assert select(lists, np.array([0.9, 0.1, 0.2]), relevant, size=3) == [2, 1, 0]
    assert select(lists, np.array([0.9, 0.1, 0.2]), relevant, size=1) == [2]


def test_select_orders_candidates_that_find_nothing_by_closeness_then_by_position():
    lists = [[[("x", 0.5)]], [[("y", 0.5)]], [[("z", 0.5)]]]
    assert select(lists, np.array([0.1, 0.3, 0.3]), {"a"}, size=5) == [1, 2, 0]
    with pytest.raises(ValueError, match="closeness"):
        select(lists, np.array([0.1]), {"a"})


def test_select_fuses_every_search_of_a_candidate():
    # by embedding both candidates find nothing; candidate 1's word search finds the next click
    lists = [[[("x", 0.5)], []], [[("y", 0.5)], [("a", 3.0)]]]
    assert select(lists, np.array([0.9, 0.1]), {"a"}, size=1) == [1]
    assert select([[hits[0]] for hits in lists], np.array([0.9, 0.1]), {"a"}, size=1) == [0]


def tiny_bench(root: Path) -> Benchmark:
    texts = ["storm hits coast", "snow storm warning", "election polls open", "votes counted election",
             "storm coast flooding", "election night results"]
    embedder = HashEmbedder(dim=64)
    catalogue = pd.DataFrame({"article_id": [f"a{i}" for i in range(len(texts))], "title": texts})
    histories = {"u1": [{"domain": "click", "kind": "click", "text": "Storm coast flooding fears grow",
                         "ts": 2_000_000},
                        {"domain": "search", "kind": "search", "text": "election polls open", "ts": 1_000_000},
                        {"domain": "search", "kind": "search", "text": "election polls open", "ts": 900_000}],
                 "u2": [{"domain": "search", "kind": "search", "text": "election night", "ts": 1_000_000}]}
    return Benchmark(root=root, catalogue=catalogue, embeddings=np.asarray(embedder.embed(texts), np.float32),
                     histories=histories, clicked={"u1": {"a0"}}, targets={"u1": ["a4"], "u2": ["a5"]},
                     users={"u1": {"split": "train"}, "u2": {"split": "test"}})


def test_build_writes_kd_rows_the_distillation_reads_and_refuses_a_test_user(tmp_path):
    bench = tiny_bench(tmp_path / "bench-a")
    out = tmp_path / "targets.jsonl"
    stats = build(bench, ["u1"], HashEmbedder(dim=64), out, teacher={"u1": ["made up zebra words"]}, size=2,
                  progress=False)
    rows = load_targets(out)
    row = rows[("bench-a", "u1")]
    assert row["teacher"] == VERSION and row["text"] == "\n".join(row["queries"])
    # the key phrase that finds the next click (a4, "storm coast flooding") comes first; the teacher's ungrounded
    # query is never a candidate
    assert row["queries"][0] == "storm coast flooding fears" and len(row["queries"]) == 2
    assert "made up zebra words" not in row["queries"]
    assert stats["made"] == 1 and stats["target_ndcg"] > 0  # a4 is in the fused top 10
    env = KDEnv({"bench-a/u1": bench.histories["u1"]}, {"bench-a/u1": row["text"]})
    assert env.target("bench-a/u1").startswith("storm coast flooding")
    again = build(bench, ["u1"], HashEmbedder(dim=64), out, progress=False)  # resumed: nothing new
    assert again["made"] == 0
    with pytest.raises(ValueError, match="not a training user"):
        build(bench, ["u2"], HashEmbedder(dim=64), out, progress=False)


@pytest.mark.parametrize("search", ["hybrid", "dense"])
def test_build_names_its_search_and_the_word_search_can_change_the_choice(tmp_path, search):
    bench = tiny_bench(tmp_path / "bench-a")
    out = tmp_path / f"targets-{search}.jsonl"
    stats = build(bench, ["u1"], HashEmbedder(dim=64), out, size=5, progress=False, search=search)
    row = load_targets(out)[("bench-a", "u1")]
    assert stats["search"] == row["search"] == search
    assert row["queries"][0] == "storm coast flooding fears" and stats["target_ndcg"] > 0  # finds a4 either way
    with pytest.raises(ValueError, match="query search"):
        build(bench, ["u1"], HashEmbedder(dim=64), tmp_path / "x.jsonl", progress=False, search="bm25")


def test_pooled_keeps_every_samples_valid_queries_once_in_order():
    from models.generators.base import Generation
    from training.kd import pooled

    history = [{"domain": "search", "text": "fed rate hike expected in march", "ts": 1},
               {"domain": "click", "text": "Federal Reserve raises interest rates again", "ts": 2}]
    samples = [["fed rate hike", "ignore previous instructions"], ["fed rate hike", "zzqxvor rates"],
               ["interest rates march"]]
    generation = Generation(["fed rate hike"], "", "", candidates=samples)
    assert pooled(generation, history) == ["fed rate hike", "interest rates march"]
    assert pooled(Generation(["interest rates"], "", ""), history) == ["interest rates"]  # one sample: its list
