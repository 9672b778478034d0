"""common.ranking on hand-computed cases: each expected value is worked out in the comment beside it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from common.ranking import bootstrap_ci, interest_coverage, intra_list_diversity, mrr, ndcg_at_k, recall_at_k

RANKED = ["a", "b", "c", "d", "e"]


# ---------------------------------------------------------------- recall@k

def test_recall_basic():
    # top-3 = {a, b, c}; relevant {a, c, x}: hits {a, c} -> 2 / min(3, 3) = 2/3
    assert recall_at_k(RANKED, {"a", "c", "x"}, 3) == pytest.approx(2 / 3)


def test_recall_denominator_capped_at_k():
    # 4 relevant, k = 2, top-2 = {a, b} both relevant -> 2 / min(4, 2) = 1.0
    assert recall_at_k(RANKED, {"a", "b", "c", "d"}, 2) == 1.0


def test_recall_k_larger_than_list():
    # list has 2 items, k = 10; relevant {a, z}: hit {a} -> 1 / min(2, 10) = 1/2
    assert recall_at_k(["a", "b"], {"a", "z"}, 10) == 0.5


def test_recall_duplicates_count_once():
    # top-3 = [a, a, b]; relevant {a, c}: hits {a} -> 1 / min(2, 3) = 1/2 (the copy of a is no second hit)
    assert recall_at_k(["a", "a", "b", "c"], {"a", "c"}, 3) == 0.5


def test_recall_no_hits_and_errors():
    assert recall_at_k(RANKED, {"x", "y"}, 5) == 0.0
    assert recall_at_k([], {"x"}, 5) == 0.0
    with pytest.raises(ValueError, match="relevant is empty"):
        recall_at_k(RANKED, set(), 3)
    with pytest.raises(ValueError, match="k must be >= 1"):
        recall_at_k(RANKED, {"a"}, 0)


# ---------------------------------------------------------------- NDCG@k

def test_ndcg_hits_at_1_and_3_with_2_relevant():
    # hits at ranks 1 and 3: DCG = 1/log2(2) + 1/log2(4) = 1 + 1/2
    # 2 relevant, k = 3 -> ideal hits at ranks 1, 2: IDCG = 1/log2(2) + 1/log2(3) = 1 + 1/log2(3)
    expected = (1 + 1 / 2) / (1 + 1 / math.log2(3))  # = 0.9197...
    assert ndcg_at_k(RANKED, {"a", "c"}, 3) == pytest.approx(expected)
    assert expected == pytest.approx(0.919720, abs=1e-6)


def test_ndcg_perfect_and_single_hit_at_rank_2():
    assert ndcg_at_k(RANKED, {"a", "b"}, 3) == pytest.approx(1.0)
    # one relevant at rank 2: DCG = 1/log2(3); IDCG = 1/log2(2) = 1 -> 1/log2(3) = 0.6309...
    assert ndcg_at_k(RANKED, {"b"}, 5) == pytest.approx(1 / math.log2(3))


def test_ndcg_idcg_capped_at_k():
    # 4 relevant, k = 2, hit only at rank 2 (b): DCG = 1/log2(3)
    # IDCG over min(4, 2) = 2 hits: 1 + 1/log2(3)
    expected = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(["x", "b", "c"], {"b", "c", "d", "e"}, 2) == pytest.approx(expected)


def test_ndcg_k_larger_than_list_and_duplicates():
    # list [a], k = 10, relevant {a, b}: DCG = 1; IDCG over min(2, 10) = 2 hits = 1 + 1/log2(3)
    assert ndcg_at_k(["a"], {"a", "b"}, 10) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    # [a, a, b]: the copy of a at rank 2 gains nothing, b at rank 3 gains 1/log2(4) = 1/2
    # DCG = 1 + 1/2; IDCG (2 relevant) = 1 + 1/log2(3)
    assert ndcg_at_k(["a", "a", "b"], {"a", "b"}, 3) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))


def test_ndcg_no_hits_and_errors():
    assert ndcg_at_k(RANKED, {"x"}, 3) == 0.0
    with pytest.raises(ValueError):
        ndcg_at_k(RANKED, [], 3)
    with pytest.raises(ValueError):
        ndcg_at_k(RANKED, {"a"}, 0)


# ---------------------------------------------------------------- MRR

def test_mrr():
    assert mrr(RANKED, {"c", "e"}) == pytest.approx(1 / 3)  # first relevant (c) at rank 3
    assert mrr(RANKED, {"a"}) == 1.0
    assert mrr(RANKED, {"e"}) == pytest.approx(1 / 5)  # whole list searched, no cut-off
    assert mrr(RANKED, {"x"}) == 0.0
    assert mrr([], {"x"}) == 0.0
    with pytest.raises(ValueError):
        mrr(RANKED, set())


# ---------------------------------------------------------------- diversity

def test_intra_list_diversity_hand_computed():
    # e1 = (1,0), e2 = (0,1), e3 = (1,1)/sqrt(2)
    # cos: (e1,e2) = 0, (e1,e3) = 1/sqrt2, (e2,e3) = 1/sqrt2
    # distances: 1, 1 - 1/sqrt2, 1 - 1/sqrt2 -> mean = (3 - 2/sqrt2) / 3 = (3 - sqrt2) / 3 = 0.5286...
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # third row not normalised on purpose
    assert intra_list_diversity(emb) == pytest.approx((3 - math.sqrt(2)) / 3)


def test_intra_list_diversity_edges():
    assert intra_list_diversity(np.zeros((0, 4))) == 0.0
    assert intra_list_diversity(np.array([[1.0, 0.0]])) == 0.0
    assert intra_list_diversity(np.array([[1.0, 0.0], [2.0, 0.0]])) == pytest.approx(0.0)  # same direction
    assert intra_list_diversity(np.array([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(2.0)  # opposite
    with pytest.raises(ValueError, match="all-zero"):
        intra_list_diversity(np.array([[1.0, 0.0], [0.0, 0.0]]))


# ---------------------------------------------------------------- interest coverage

def test_interest_coverage_hand_computed():
    # centroids: x = (1,0,0), y = (0,1,0), z = (0,0,1)
    # queries: q1 = (1,0,0) -> cos with x = 1
    #          q2 = (0,1,1)/sqrt2 -> cos with y = cos with z = 1/sqrt2 = 0.707
    cents = np.eye(3)
    queries = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    assert interest_coverage(queries, cents, 0.7) == pytest.approx(1.0)  # x: 1, y: .707, z: .707 all >= .7
    assert interest_coverage(queries, cents, 0.8) == pytest.approx(1 / 3)  # only x
    assert interest_coverage(queries, cents, 1.0) == pytest.approx(1 / 3)  # >= : cos(q1, x) = 1.0 exactly counts
    assert interest_coverage(queries, cents, 1.01) == 0.0


def test_interest_coverage_edges():
    assert interest_coverage(np.zeros((0, 3)), np.eye(3), 0.5) == 0.0
    with pytest.raises(ValueError, match="empty"):
        interest_coverage(np.eye(3), np.zeros((0, 3)), 0.5)
    with pytest.raises(ValueError, match="dimension"):
        interest_coverage(np.eye(2), np.eye(3), 0.5)


# ---------------------------------------------------------------- bootstrap

def test_bootstrap_deterministic_and_contains_mean():
    values = [0.1, 0.4, 0.35, 0.8, 0.55, 0.2, 0.9, 0.05, 0.6, 0.45]
    first = bootstrap_ci(values, n_resamples=2000, seed=7)
    assert first == bootstrap_ci(values, n_resamples=2000, seed=7)
    assert first != bootstrap_ci(values, n_resamples=2000, seed=8)
    mean, low, high = first
    assert mean == pytest.approx(sum(values) / len(values))  # 4.4 / 10 = 0.44
    assert low < mean < high
    assert min(values) <= low and high <= max(values)


def test_bootstrap_wider_at_smaller_confidence_level():
    values = list(np.linspace(0.0, 1.0, 21))
    _, low95, high95 = bootstrap_ci(values, alpha=0.05)
    _, low50, high50 = bootstrap_ci(values, alpha=0.5)
    assert low95 < low50 < high50 < high95


def test_bootstrap_edges():
    nan_triple = bootstrap_ci([])
    assert all(math.isnan(v) for v in nan_triple)
    assert bootstrap_ci([0.3]) == (0.3, 0.3, 0.3)
    assert bootstrap_ci([0.5, 0.5, 0.5]) == pytest.approx((0.5, 0.5, 0.5))  # no spread, no interval
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 2.0], alpha=0.0)
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 2.0], n_resamples=0)
