"""Channel fusion and the multi-centroid, pinned on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from models.recall import Fusion, fuse_channels, interest_centroids

CENTROID = ["a", "b", "c", "d"]
QUERIES = ["x", "c", "y", "a"]


def test_equal_rrf_adds_the_reciprocal_ranks_of_both_channels():
    # a: 1/61 + 1/64 = .03202; c: 1/63 + 1/62 = .03200; x: 1/61 = .01639; b: 1/62 = .01613; y: 1/63; d: 1/64
    fused = fuse_channels(CENTROID, QUERIES, 6, Fusion("rrf", weight=1.0))
    assert fused == ["a", "c", "x", "b", "y", "d"]


def test_a_weight_tips_the_order_towards_the_query_channel():
    # weight 2: c = 1/63 + 2/62 = .0481, a = 1/61 + 2/64 = .0476, x = 2/61 = .0328
    assert fuse_channels(CENTROID, QUERIES, 3, Fusion("rrf", weight=2.0)) == ["c", "a", "x"]
    # weight 0: the centroid's own list
    assert fuse_channels(CENTROID, QUERIES, 4, Fusion("rrf", weight=0.0)) == CENTROID


def test_equal_scores_are_broken_by_the_incumbents_rank_then_the_query_rank_then_the_id():
    assert fuse_channels(["p"], ["q"], 2, Fusion("rrf")) == ["p", "q"]  # both 1/61: p is the incumbent's
    assert fuse_channels([], ["z", "q"], 2, Fusion("rrf")) == ["z", "q"]


def test_a_quota_keeps_the_incumbents_head_and_gives_the_rest_to_new_query_items():
    # k 4, quota 2: a, b from the centroid; then x, y (c is already... not in a, b: c is the query's 2nd)
    assert fuse_channels(CENTROID, QUERIES, 4, Fusion("quota", quota=2)) == ["a", "b", "x", "c"]
    assert fuse_channels(CENTROID, QUERIES, 4, Fusion("quota", quota=0)) == CENTROID
    # a query channel with too few new items leaves its slots to the incumbent
    assert fuse_channels(CENTROID, ["a"], 4, Fusion("quota", quota=3)) == ["a", "b", "c", "d"]


def test_a_rule_by_click_history_switches_the_weight_for_users_with_few_clicks():
    fusion = Fusion("rrf", weight=0.0, cold_clicks=3, cold_weight=5.0)
    assert fusion.for_user(3) == (0.0, 0) and fusion.for_user(2) == (5.0, 0)
    assert fuse_channels(CENTROID, QUERIES, 2, fusion, n_clicks=10) == ["a", "b"]
    # c = 1/63 + 5/62 = .0965, a = 1/61 + 5/64 = .0945, x = 5/61 = .0820
    assert fuse_channels(CENTROID, QUERIES, 3, fusion, n_clicks=0) == ["c", "a", "x"]
    assert "users with < 3 clicks: 5" in fusion.describe()


def test_bad_fusions_are_refused():
    with pytest.raises(ValueError, match="unknown fusion"):
        Fusion("max")
    with pytest.raises(ValueError, match=">= 0"):
        Fusion("rrf", weight=-1)
    with pytest.raises(ValueError, match="k must be"):
        fuse_channels(CENTROID, QUERIES, 0, Fusion())


def test_multi_centroid_finds_each_interest_and_orders_them_by_weight():
    rng = np.random.default_rng(0)
    axes = np.eye(8)[[0, 3, 6]]
    vectors = np.vstack([axes[i] + 0.05 * rng.normal(size=8) for i in (0, 0, 0, 0, 1, 1, 2)])
    centres, mass = interest_centroids(vectors, k=3)
    assert centres.shape == (3, 8) and np.allclose(np.linalg.norm(centres, axis=1), 1, atol=1e-5)
    assert [int(np.argmax(c)) for c in centres] == [0, 3, 6]  # heaviest cluster first
    assert np.allclose(mass, [4 / 7, 2 / 7, 1 / 7], atol=1e-6)
    # recency weights move the order: the lone newest signal now outweighs the rest
    weights = np.array([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 5.0])
    centres, mass = interest_centroids(vectors, weights, k=3)
    assert int(np.argmax(centres[0])) == 6 and mass[0] == pytest.approx(5 / 5.6)


def test_multi_centroid_gives_fewer_centres_for_fewer_distinct_signals():
    same = np.tile(np.eye(4)[1], (5, 1))
    centres, mass = interest_centroids(same, k=3)
    assert centres.shape == (1, 4) and mass.tolist() == [1.0]
    empty, none = interest_centroids(np.zeros((0, 4)))
    assert empty.shape == (0, 4) and none.shape == (0,)
