"""Recall channels and how they are merged: the generator's queries are an *additional* recall path beside the
history centroid (the incumbent channel), as the paper deploys them, and a multi-interest baseline beside both.

- :class:`Fusion` and :func:`fuse_channels`: the incumbent's ranked list and the query channel's ranked list merged
  into one top ``k``, by weighted reciprocal-rank fusion or by a quota of slots for the query channel, with an
  optional rule by the user's click history (a reader with few clicks has a thin centroid: the queries weigh more).
  The fusion is chosen on training users (``training/channels.py``) and written down with its numbers.
- :func:`interest_centroids`: a PinnerSage-style multi-centroid: the history's embeddings clustered by a small
  weighted k-means; each centroid is searched and the lists are merged in turns, heaviest cluster first.

Pure numpy; the searching itself is ``models.retrieval``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

FUSION_METHODS = ("rrf", "quota")


@dataclass(frozen=True)
class Fusion:
    """How the query channel joins the incumbent channel's list.

    ``method="rrf"``: score = 1 / (rrf_k + rank in the incumbent list) + weight / (rrf_k + rank in the query list).
    ``method="quota"``: the incumbent's top ``k - quota`` are kept, then the query channel's best items not among
    them take up to ``quota`` slots (the incumbent fills any slot left). Users with fewer than ``cold_clicks``
    clicks use ``cold_weight`` / ``cold_quota`` instead (``cold_clicks=0``: one rule for everyone).
    """

    method: str = "rrf"
    weight: float = 1.0
    quota: int = 0
    cold_clicks: int = 0
    cold_weight: float = 1.0
    cold_quota: int = 0
    rrf_k: int = 60

    def __post_init__(self):
        if self.method not in FUSION_METHODS:
            raise ValueError(f"unknown fusion method {self.method!r}; choose from {', '.join(FUSION_METHODS)}")
        if min(self.weight, self.cold_weight) < 0 or min(self.quota, self.cold_quota) < 0:
            raise ValueError("fusion weights and quotas must be >= 0")

    def for_user(self, n_clicks: int) -> tuple[float, int]:
        """(weight, quota) for a user with ``n_clicks`` clicks in their history."""
        if n_clicks < self.cold_clicks:
            return self.cold_weight, self.cold_quota
        return self.weight, self.quota

    def describe(self) -> str:
        """One line naming the rule, e.g. ``rrf, query weight 0.5 (users with < 3 clicks: 2.0)``."""
        cold = self.cold_clicks > 0
        if self.method == "rrf":
            text = f"rrf, query weight {self.weight:g}"
            return text + (f" (users with < {self.cold_clicks} clicks: {self.cold_weight:g})" if cold else "")
        text = f"quota of {self.quota} query slots"
        return text + (f" (users with < {self.cold_clicks} clicks: {self.cold_quota})" if cold else "")

    def to_json(self) -> dict:
        return asdict(self)


def fuse_channels(incumbent: list[str], queries: list[str], k: int, fusion: Fusion, n_clicks: int = 0) -> list[str]:
    """The top ``k`` of the two ranked lists (best first, ids) merged by ``fusion`` for a user with ``n_clicks``."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    weight, quota = fusion.for_user(n_clicks)
    if fusion.method == "quota":
        quota = min(quota, k)
        out = list(dict.fromkeys(incumbent))[: k - quota]
        taken = set(out)
        extra = [i for i in dict.fromkeys(queries) if i not in taken][:quota]
        out += extra
        taken |= set(extra)
        out += [i for i in dict.fromkeys([*incumbent, *queries]) if i not in taken][: k - len(out)]
        return out
    score: dict[str, float] = {}
    first: dict[str, tuple[int, int]] = {}  # id -> (rank in incumbent or inf, rank in queries or inf) for ties
    big = 1 << 30
    for channel, (items, w) in enumerate(((incumbent, 1.0), (queries, weight))):
        for rank, item in enumerate(dict.fromkeys(items), start=1):
            score[item] = score.get(item, 0.0) + w / (fusion.rrf_k + rank)
            ranks = first.get(item, (big, big))
            first[item] = (rank, ranks[1]) if channel == 0 else (ranks[0], rank)
    return sorted(score, key=lambda i: (-score[i], first[i], i))[:k]


def interest_centroids(vectors: np.ndarray, weights: np.ndarray | None = None, k: int = 3,
                       iterations: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``k`` unit centroids of the rows of ``vectors`` (a user's signal embeddings) and each one's share of
    the total ``weights`` (recency weights; default equal), heaviest first.

    Weighted spherical k-means, deterministic: the first centre is the heaviest row, each next one the row farthest
    (lowest best cosine) from the centres so far, ties to the earlier row. Fewer distinct rows give fewer
    centroids; an empty input gives two empty arrays.
    """
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"vectors must be a 2-D array (n, d), got shape {x.shape}")
    if x.shape[0] == 0:
        return np.zeros((0, x.shape[1]), np.float32), np.zeros(0, np.float32)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(x),) or np.any(w < 0):
        raise ValueError("weights must be one non-negative number per row")
    w = w if w.sum() > 0 else np.ones(len(x))
    centres = [int(np.argmax(w))]
    while len(centres) < k:
        best = (x @ x[centres].T).max(axis=1)
        far = int(np.argmin(best))
        if best[far] > 1 - 1e-6:  # every row is (nearly) a centre already
            break
        centres.append(far)
    c = x[centres]
    for _ in range(iterations):
        assign = np.argmax(x @ c.T, axis=1)
        new = np.vstack([(w[assign == j, None] * x[assign == j]).sum(axis=0) if np.any(assign == j) else c[j]
                         for j in range(len(c))])
        new /= np.maximum(np.linalg.norm(new, axis=1, keepdims=True), 1e-12)
        if np.allclose(new, c):
            break
        c = new
    assign = np.argmax(x @ c.T, axis=1)
    mass = np.array([w[assign == j].sum() for j in range(len(c))]) / w.sum()
    keep = [j for j in np.argsort(-mass, kind="stable") if mass[j] > 0]
    return c[keep].astype(np.float32), mass[keep].astype(np.float32)
