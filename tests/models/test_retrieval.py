"""models.retrieval on small hand-made unit vectors whose nearest neighbours are obvious."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.retrieval import ArticleIndex, fuse, retrieve


def _unit(deg: float) -> list[float]:
    r = math.radians(deg)
    return [math.cos(r), math.sin(r)]


# Five articles on the unit circle at 0, 30, 60, 90 and 180 degrees.
IDS = ["a0", "a30", "a60", "a90", "a180"]
EMB = np.array([_unit(d) for d in (0, 30, 60, 90, 180)], dtype=np.float32)


@pytest.fixture
def index() -> ArticleIndex:
    return ArticleIndex(IDS, EMB)


def test_basics(index):
    assert len(index) == 5
    assert index.dim == 2
    assert index.ids == IDS


def test_vectors_by_id_are_the_unit_rows_and_skip_unknown_ids(index):
    np.testing.assert_allclose(index.vectors(["a90", "nope", "a0"]), [_unit(90), _unit(0)], atol=1e-6)
    assert index.vectors(["nope"]).shape == (0, 2)
    scaled = ArticleIndex(["x"], np.array([[3.0, 4.0]], dtype=np.float32))
    np.testing.assert_allclose(scaled.vectors(["x"]), [[0.6, 0.8]], atol=1e-6)


def test_exact_top_k_order_and_scores(index):
    # query at 10 degrees: angles to articles 10, 20, 50, 80, 170 -> order a0, a30, a60
    [hits] = index.search(np.array([_unit(10)]), k=3)
    assert [h[0] for h in hits] == ["a0", "a30", "a60"]
    assert [h[1] for h in hits] == pytest.approx([math.cos(math.radians(a)) for a in (10, 20, 50)], abs=1e-6)


def test_several_queries_and_1d_query(index):
    results = index.search(np.array([_unit(0), _unit(180)]), k=2)
    assert [[h[0] for h in r] for r in results] == [["a0", "a30"], ["a180", "a90"]]
    [single] = index.search(np.array(_unit(85)), k=1)  # a 1-D vector is one query
    assert single[0][0] == "a90"


def test_exclude_read_articles(index):
    # query at 10 degrees, a0 and a30 read: next best are a60 (50 deg) then a90 (80 deg)
    [hits] = index.search(np.array([_unit(10)]), k=2, exclude={"a0", "a30"})
    assert [h[0] for h in hits] == ["a60", "a90"]
    # excluding ids that are not in the index changes nothing
    [hits] = index.search(np.array([_unit(10)]), k=2, exclude={"zzz"})
    assert [h[0] for h in hits] == ["a0", "a30"]


def test_k_larger_than_index_returns_all_remaining(index):
    [hits] = index.search(np.array([_unit(0)]), k=50, exclude={"a90"})
    assert [h[0] for h in hits] == ["a0", "a30", "a60", "a180"]


def test_non_normalised_input_is_normalised():
    # articles scaled by 5 and 0.1, query scaled by 3: scores are still cosines
    idx = ArticleIndex(["x", "y"], np.array([[5.0, 0.0], [0.0, 0.1]]))
    [hits] = idx.search(np.array([[3.0, 3.0 * math.sqrt(3)]]), k=2)  # 60 degrees
    assert [h[0] for h in hits] == ["y", "x"]
    assert [h[1] for h in hits] == pytest.approx([math.cos(math.radians(30)), 0.5], abs=1e-6)


def test_zero_vector_rejected(index):
    with pytest.raises(ValueError, match="all-zero"):
        ArticleIndex(["x", "y"], np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="all-zero"):
        index.search(np.zeros((1, 2)), k=1)


def test_dimension_mismatch_and_bad_input(index):
    with pytest.raises(ValueError, match="dimension 3 but the index has dimension 2"):
        index.search(np.ones((1, 3)), k=1)
    with pytest.raises(ValueError, match="2 ids but 3 embedding rows"):
        ArticleIndex(["a", "b"], np.eye(3))
    with pytest.raises(ValueError, match="unique"):
        ArticleIndex(["a", "a"], np.eye(2))
    with pytest.raises(ValueError, match="k must be"):
        index.search(np.ones((1, 2)), k=0)


def test_save_load_round_trip(index, tmp_path):
    index.save(tmp_path / "idx")
    loaded = ArticleIndex.load(tmp_path / "idx")
    assert len(loaded) == 5 and loaded.dim == 2 and loaded.ids == IDS
    q = np.array([_unit(10), _unit(170)])
    assert loaded.search(q, k=3, exclude={"a0"}) == index.search(q, k=3, exclude={"a0"})


def test_fuse_rrf_hand_computed():
    lists = [[("a", 0.9), ("b", 0.8), ("c", 0.7)],
             [("b", 0.95), ("d", 0.6)]]
    # rrf_k = 60:
    #   a: 1/61                 = 0.016393
    #   b: 1/62 + 1/61          = 0.032522
    #   c: 1/63                 = 0.015873
    #   d: 1/62                 = 0.016129
    # order: b, a, d, c
    assert fuse(lists, k=4) == ["b", "a", "d", "c"]
    assert fuse(lists, k=2, method="rrf") == ["b", "a"]
    # rrf_k = 0: a = 1, b = 1/2 + 1 = 1.5, c = 1/3, d = 1/2 -> b, a, d, c
    assert fuse(lists, k=4, rrf_k=0) == ["b", "a", "d", "c"]
    # weights 1 and 3, rrf_k = 0: a = 1, b = 1/2 + 3 = 3.5, c = 1/3, d = 3/2 -> b, d, a, c
    assert fuse(lists, k=4, rrf_k=0, weights=[1.0, 3.0]) == ["b", "d", "a", "c"]
    assert fuse(lists, k=4, weights=[1.0, 1.0]) == fuse(lists, k=4)
    with pytest.raises(ValueError, match="1 weights for 2 lists"):
        fuse(lists, k=4, weights=[1.0])


def test_fuse_rrf_ties_broken_by_best_score_then_id():
    # x and y each at rank 1 of one list: equal RRF 1/61; y's raw score is higher -> y first
    assert fuse([[("x", 0.5)], [("y", 0.7)]], k=2) == ["y", "x"]
    # equal RRF and equal raw score -> by id
    assert fuse([[("q", 0.5)], [("p", 0.5)]], k=2) == ["p", "q"]


def test_fuse_max():
    lists = [[("a", 0.9), ("b", 0.8), ("c", 0.7)],
             [("b", 0.95), ("d", 0.6)]]
    # best raw scores: b 0.95, a 0.9, c 0.7, d 0.6
    assert fuse(lists, k=4, method="max") == ["b", "a", "c", "d"]
    assert fuse(lists, k=1, method="max") == ["b"]


def test_fuse_roundrobin():
    lists = [[("a", 0.9), ("b", 0.8), ("c", 0.7)],
             [("b", 0.95), ("d", 0.6)],
             [("e", 0.5)]]
    # rank 1: a, b, e; rank 2: b (taken, skipped), d; rank 3: c
    assert fuse(lists, k=10, method="roundrobin") == ["a", "b", "e", "d", "c"]
    assert fuse(lists, k=2, method="roundrobin") == ["a", "b"]


def test_fuse_duplicates_within_a_list_count_once():
    # a repeated id in one list counts only at its first rank: a = 1/61, b = 1/62 (not 1/62 + 1/63)
    assert fuse([[("a", 0.9), ("b", 0.8), ("b", 0.8)]], k=2) == ["a", "b"]


def test_fuse_errors_and_empty():
    with pytest.raises(ValueError, match="rrf, max, roundrobin"):
        fuse([], k=3, method="borda")
    with pytest.raises(ValueError, match="k must be"):
        fuse([], k=0)
    assert fuse([], k=3) == []
    assert fuse([[], []], k=3, method="roundrobin") == []


def test_retrieve_fuses_queries(index):
    # query 1 at 0 deg, query 2 at 180 deg, k = 2, per_query = 2k = 4
    # list 1: a0, a30, a60, a90; list 2: a180, a90, a60, a30
    # RRF: a0 = 1/61, a180 = 1/61, a30 = 1/62 + 1/64, a90 = 1/64 + 1/62, a60 = 1/63 + 1/63
    #      1/62 + 1/64 = 0.031754 > 2/63 = 0.031746 > 1/61 = 0.016393
    # a30 vs a90 tie on RRF, best raw score cos(30) = 0.866 for a30 vs cos(90) = 0 for a90 -> a30 first
    q = np.array([_unit(0), _unit(180)])
    assert retrieve(index, q, k=2) == ["a30", "a90"]
    assert retrieve(index, q, k=3, method="roundrobin") == ["a0", "a180", "a30"]
    assert retrieve(index, q, k=2, method="max") == ["a0", "a180"]
    # per_query = 1: only a0 and a180 are candidates, both at RRF 1/61 and raw score 1.0 -> by id
    assert retrieve(index, q, k=2, per_query=1) == ["a0", "a180"]


def test_retrieve_excludes_and_handles_no_queries(index):
    q = np.array([_unit(10)])
    assert retrieve(index, q, k=2, exclude=["a0"]) == ["a30", "a60"]
    assert retrieve(index, np.zeros((0, 2)), k=3) == []
    with pytest.raises(ValueError, match="valid methods"):
        retrieve(index, q, k=2, method="nope")
