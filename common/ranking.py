"""Offline evaluation metrics: ranking quality of retrieved articles (recall@k, NDCG@k, MRR), diversity and interest
coverage of a user's generated queries, and a percentile bootstrap confidence interval of a per-user mean.

Pure numpy and the standard library. Conventions shared by the ranking metrics:

- ``ranked`` is the system's list, best first; ``relevant`` the user's held-out targets (order ignored).
- A repeated id in ``ranked`` counts once, at its first position; later copies are neither hits nor gains but still
  occupy their slot (the system wasted it).
- An empty ``relevant`` raises ``ValueError``: a user without targets has no defined score and the evaluation skips
  such users instead of scoring them 0 or 1.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import numpy as np


def _check(relevant: Collection[str], k: int | None = None) -> set[str]:
    if k is not None and k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    rel = set(relevant)
    if not rel:
        raise ValueError("relevant is empty: a user without targets has no score (skip the user)")
    return rel


def _hit_ranks(ranked: Sequence[str], rel: set[str], limit: int | None = None) -> list[int]:
    """1-based ranks of the first occurrence of each relevant id within the first ``limit`` positions."""
    seen: set[str] = set()
    ranks: list[int] = []
    for rank, item in enumerate(ranked[:limit] if limit is not None else ranked, start=1):
        if item in rel and item not in seen:
            ranks.append(rank)
        seen.add(item)
    return ranks


def recall_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Recall@k = |set(ranked[:k]) ∩ relevant| / min(|relevant|, k).

    The denominator is capped at k so that a perfect top-k scores 1.0 even when the user has more than k targets.
    A list shorter than k simply contributes fewer items. Raises ``ValueError`` for ``k < 1`` or empty ``relevant``.
    """
    rel = _check(relevant, k)
    return len(_hit_ranks(ranked, rel, k)) / min(len(rel), k)


def ndcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """NDCG@k with binary gains.

    DCG@k = sum over hits at 1-based rank r <= k of 1 / log2(r + 1); IDCG@k is the DCG of an ideal list with
    min(|relevant|, k) hits at ranks 1..min(|relevant|, k); NDCG@k = DCG@k / IDCG@k, in [0, 1].
    Raises ``ValueError`` for ``k < 1`` or empty ``relevant``.
    """
    rel = _check(relevant, k)
    dcg = sum(1.0 / math.log2(r + 1) for r in _hit_ranks(ranked, rel, k))
    idcg = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(rel), k) + 1))
    return dcg / idcg


def mrr(ranked: Sequence[str], relevant: Collection[str]) -> float:
    """Reciprocal rank: 1 / (1-based rank of the first relevant id in the whole ``ranked`` list), 0.0 if none.

    Averaging this over users gives the mean reciprocal rank. Raises ``ValueError`` for empty ``relevant``.
    """
    rel = _check(relevant)
    for rank, item in enumerate(ranked, start=1):
        if item in rel:
            return 1.0 / rank
    return 0.0


def _unit_rows(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n, d), got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if x.shape[0] and np.any(norms == 0):
        raise ValueError(f"{name} has an all-zero row: cosine is undefined")
    return x / np.where(norms == 0, 1.0, norms)


def intra_list_diversity(embeddings: np.ndarray) -> float:
    """Mean pairwise cosine distance, 1 - cos(a, b), over the n(n-1)/2 distinct pairs of rows.

    Rows need not be unit-normalised (they are normalised here). 0.0 for fewer than 2 rows. The value lies in [0, 2]:
    0 for identical directions, 1 for orthogonal ones.
    """
    x = _unit_rows(embeddings, "embeddings")
    n = x.shape[0]
    if n < 2:
        return 0.0
    sims = x @ x.T
    iu = np.triu_indices(n, k=1)
    return float(np.mean(1.0 - sims[iu]))


def interest_coverage(query_embeddings: np.ndarray, interest_centroids: np.ndarray, threshold: float) -> float:
    """Share of interest centroids covered by at least one query.

    A centroid is covered when max over queries of cos(query, centroid) >= ``threshold``. Returns 0.0 when there
    are no queries. Raises ``ValueError`` when there are no centroids (nothing to cover: skip the user) or the two
    arrays differ in dimension. Rows are normalised here.
    """
    cents = _unit_rows(interest_centroids, "interest_centroids")
    if cents.shape[0] == 0:
        raise ValueError("interest_centroids is empty: coverage is undefined (skip the user)")
    queries = np.asarray(query_embeddings)
    if queries.size == 0:
        return 0.0
    q = _unit_rows(queries, "query_embeddings")
    if q.shape[1] != cents.shape[1]:
        raise ValueError(f"query dimension {q.shape[1]} does not match centroid dimension {cents.shape[1]}")
    best = (q @ cents.T).max(axis=0)
    return float(np.mean(best >= threshold))


def bootstrap_ci(values: Sequence[float], n_resamples: int = 1000, alpha: float = 0.05,
                 seed: int = 0) -> tuple[float, float, float]:
    """Percentile bootstrap of the mean: returns (mean, low, high).

    ``mean`` is the sample mean; draws ``n_resamples`` resamples of len(values) with replacement from
    ``numpy.random.default_rng(seed)`` (so the result is deterministic for a seed) and takes the alpha/2 and
    1 - alpha/2 percentiles (numpy's default linear interpolation) of the resample means. Returns (nan, nan, nan)
    for no values and (v, v, v) for one value. Raises ``ValueError`` for ``n_resamples < 1`` or alpha not in (0, 1).
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if x.size == 1:
        return (mean, mean, mean)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_resamples, x.size))].mean(axis=1)
    low, high = np.percentile(means, [100.0 * alpha / 2, 100.0 * (1 - alpha / 2)])
    return (mean, float(low), float(high))
