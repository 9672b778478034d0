"""The channel measurement: exclusive hits, the fusion chosen on training users, and the rows on a tiny real index."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from models.embeddings import HashEmbedder
from models.recall import Fusion
from training.channels import (Channels, channel_rows, choose_fusion, exclusive_hits, fusion_grid, paired,
                               summarise_rows, within_one_se)
from training.evaluate import Benchmark


def test_exclusive_hits_count_future_clicks_one_top_k_has_and_the_other_lacks():
    fused, centroid, relevant = ["a", "x", "b", "y"], ["a", "b", "c", "d"], {"x", "c", "a", "z"}
    assert exclusive_hits(fused, centroid, relevant, k=4) == (1, 1)  # gained x, lost c
    assert exclusive_hits(fused, centroid, relevant, k=1) == (0, 0)  # both have a
    assert exclusive_hits(centroid, centroid, relevant) == (0, 0)


class FakeChannels:
    """FAKE channels: fixed lists per user, no index (the fusion search only reads these four things)."""

    def __init__(self, cases):
        self.cases = cases
        self.bench = SimpleNamespace(targets={u: c["targets"] for u, c in cases.items()})

    def history_lists(self, user):
        return self.cases[user]["centroid"], []

    def query_list(self, user, queries):
        return self.cases[user]["queries"] if queries else []

    def n_clicks(self, user):
        return self.cases[user]["clicks"]


def test_the_fusion_is_chosen_on_training_users_and_can_be_a_rule_by_click_history():
    centroid = [f"c{i}" for i in range(30)]
    queries = [f"q{i}" for i in range(30)]
    cases = {  # warm users' next clicks are the centroid's head, cold users' the query channel's head
        **{f"w{i}": {"centroid": centroid, "queries": queries, "clicks": 10, "targets": ["c0", "c1"]}
           for i in range(6)},
        **{f"k{i}": {"centroid": centroid, "queries": queries, "clicks": 0, "targets": ["q0", "q1"]}
           for i in range(3)},
    }
    fusion, mean, _ = choose_fusion(FakeChannels(cases), list(cases), {u: ["some query"] for u in cases})
    assert fusion.cold_clicks > 0 and fusion.for_user(0)[0] > fusion.for_user(10)[0] or \
        fusion.method == "quota" and fusion.for_user(0)[1] > fusion.for_user(10)[1]
    assert mean == pytest.approx(1.0)  # each group gets its own channel's top two first
    # without cold users the plain fusion that keeps the centroid's head wins, the first such in the grid
    warm = {u: c for u, c in cases.items() if u.startswith("w")}
    fusion, mean, _ = choose_fusion(FakeChannels(warm), list(warm), {u: ["q"] for u in warm})
    assert mean == pytest.approx(1.0) and fusion == fusion_grid()[0] == Fusion("rrf", weight=0.25)


def test_a_fusion_better_only_within_the_noise_loses_to_the_simplest():
    centroid = [f"c{i}" for i in range(30)]
    queries = [f"q{i}" for i in range(30)]
    # most users' next click is the centroid's head; of five users without clicks three read the query channel's
    # head and two the centroid's second item, so a rule for users without clicks gains on three and loses on two:
    # a net gain within one standard error of the paired per-user differences
    cases = {f"w{i}": {"centroid": centroid, "queries": queries, "clicks": 10,
                       "targets": ["c0"] if i % 2 else ["c29"]} for i in range(40)}
    cases.update({f"k{i}": {"centroid": centroid, "queries": queries, "clicks": 0,
                            "targets": ["q0"] if i < 3 else ["c1"]} for i in range(5)})
    grid = fusion_grid()
    fusion, mean, _ = choose_fusion(FakeChannels(cases), list(cases), {u: ["q"] for u in cases})
    assert fusion == grid[0]  # the plain RRF at the lowest query weight
    lists = [(c["centroid"], c["queries"], c["clicks"], c["targets"]) for c in cases.values()]
    from common import ranking
    from models.recall import fuse_channels

    def mean_of(f):
        return float(np.mean([ranking.ndcg_at_k(fuse_channels(a, b, 10, f, n), t, 10) for a, b, n, t in lists]))

    assert mean == pytest.approx(mean_of(grid[0]))
    assert max(mean_of(f) for f in grid) > mean  # a rule by click history scores higher on these users


def test_a_small_gain_on_every_reader_wins_though_the_per_user_scores_spread_widely():
    centroid = [f"c{i}" for i in range(30)]
    queries = [f"q{i}" for i in range(30)]
    # a third of the users read the centroid's head and the query channel's first item; the others read nothing
    # either channel finds. Per-user scores spread from 0 to 1, so the standard error of one fusion's mean is larger
    # than the gain of giving the query channel slots (the unpaired rule kept the lowest query weight here); the gain
    # is the same for every reader, so the paired rule takes it
    cases = {f"u{i}": {"centroid": centroid, "queries": queries, "clicks": 10,
                       "targets": ["c0", "c1", "c2", "c3", "q0"] if i % 3 == 0 else ["zz"]} for i in range(30)}
    fusion, mean, _ = choose_fusion(FakeChannels(cases), list(cases), {u: ["q"] for u in cases})
    assert fusion != fusion_grid()[0] and fusion.for_user(10) != (0.25, 0)
    from common import ranking
    from models.recall import fuse_channels

    lowest = np.mean([ranking.ndcg_at_k(fuse_channels(centroid, queries, 10, fusion_grid()[0], 10), c["targets"], 10)
                      for c in cases.values()])
    assert mean > lowest


def test_within_one_se_reads_the_paired_differences():
    assert within_one_se(np.zeros(10))
    assert not within_one_se(np.full(10, 0.01))  # a loss on every user, no spread: no tie
    assert within_one_se(np.array([0.5, -0.5, 0.4, -0.3, 0.1]))  # mean 0.04, standard error 0.19
    assert not within_one_se(np.array([0.3]))
    assert within_one_se(np.array([0.0]))


def tiny_bench() -> Benchmark:
    texts = ["storm hits coast", "snow storm warning", "election polls open", "votes counted election",
             "storm coast flooding", "election night results"]
    embedder = HashEmbedder(dim=64)
    catalogue = pd.DataFrame({"article_id": [f"a{i}" for i in range(len(texts))], "title": texts})
    histories = {"u1": [{"domain": "click", "kind": "click", "text": "storm hits coast", "ts": 2_000_000},
                        {"domain": "search", "kind": "search", "text": "election polls", "ts": 1_000_000}],
                 "u2": [{"domain": "search", "kind": "search", "text": "election night", "ts": 1_000_000}]}
    return Benchmark(root=None, catalogue=catalogue, embeddings=np.asarray(embedder.embed(texts), np.float32),
                     histories=histories, clicked={"u1": {"a0"}}, targets={"u1": ["a4"], "u2": ["a5"]},
                     users={"u1": {"split": "test"}, "u2": {"split": "test", "cold": True}})


def test_channel_rows_score_every_channel_and_fusion_per_user_and_group():
    channels = Channels(tiny_bench(), HashEmbedder(dim=64))
    centroid, multi = channels.history_lists("u1")
    assert "a0" not in centroid and "a0" not in multi and len(centroid) == 5  # read articles are excluded
    generators = {"gen": {"u1": ["storm coast flooding"], "u2": []}}
    rows = channel_rows(channels, ["u1", "u2"], generators, {"gen": Fusion("rrf", weight=1.0)})
    assert set(rows) == {"centroid", "multi-centroid", "gen", "centroid + gen"}
    gen_u1 = rows["gen"][0]
    assert gen_u1["user_id"] == "u1" and gen_u1["ndcg@10"] == 1.0  # the query's nearest article is the target
    assert rows["gen"][1]["ndcg@10"] == 0.0 and rows["gen"][1]["gained"] == 0  # no queries: an empty list
    summary = summarise_rows(rows)
    assert summary["gen"]["all"]["users"] == 2 and summary["gen"]["cold"]["users"] == 1
    assert summary["centroid + gen"]["all"]["gained_total"] == sum(r["gained"] for r in rows["centroid + gen"])


def test_paired_differences_match_users_and_split_by_group():
    rows = {"a": [{"user_id": "u1", "group": "warm", "ndcg@10": 0.5}, {"user_id": "u2", "group": "cold", "ndcg@10": 0.2},
                  {"user_id": "u3", "group": "cold", "ndcg@10": 0.0}],
            "b": [{"user_id": "u3", "group": "cold", "ndcg@10": 0.1}, {"user_id": "u1", "group": "warm", "ndcg@10": 0.1},
                  {"user_id": "u2", "group": "cold", "ndcg@10": 0.2}]}
    out = paired(rows, "a", "b")
    assert out["all"][0] == pytest.approx((0.4 + 0.0 - 0.1) / 3)  # matched by user, not by position
    assert out["warm"] == pytest.approx([0.4, 0.4, 0.4]) and out["cold"][0] == pytest.approx(-0.05)
    assert out["cold"][1] <= out["cold"][0] <= out["cold"][2] and "drift" not in out
