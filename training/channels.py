"""The query channel measured as it is deployed: an extra recall path beside the history centroid.

For each benchmark user this builds the ranked lists of the recall channels (the history centroid, a multi-centroid
of the history, and each generator's queries), merges the centroid with each generator's list by a
:class:`models.recall.Fusion` *chosen on other users* (:func:`choose_fusion`: a grid over weighted RRF, quotas
and a rule by click history, the simplest within one paired standard error of the best), and scores every row on the
test users per group (all, warm, cold, drift), with the exclusive hits against the centroid: future clicks the row's
top 10 has and the centroid's top 10 does not (``gained``) and the reverse (``lost``). ``training/benchmark.py``
runs it; the tests pin the pieces.
"""

from __future__ import annotations

import itertools
import logging
from typing import NamedTuple

import numpy as np

from common import ranking
from models.activity import activity
from models.recall import Fusion, fuse_channels, interest_centroids
from models.retrieval import ArticleIndex, check_search, fuse, retrieve
from streams.config import StreamsConfig
from training.evaluate import GROUPS, Benchmark, interest_vector

log = logging.getLogger(__name__)
DEPTH = 30  # each channel's list is this deep, so a fusion can reach past the other channel's top 10
K = 10
RRF_WEIGHTS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0)
QUOTAS = (1, 2, 3, 4, 5)
COLD_CLICKS = (1, 3, 5)
ROW_METRICS = ("ndcg@10", "recall@10", "mrr", "gained", "lost")


def fusion_grid() -> list[Fusion]:
    """Every fusion :func:`choose_fusion` tries, simplest first (a tie keeps the earlier one)."""
    grid = [Fusion("rrf", weight=w) for w in RRF_WEIGHTS]
    grid += [Fusion("quota", quota=q) for q in QUOTAS]
    grid += [Fusion("rrf", weight=w, cold_clicks=c, cold_weight=cw)
             for c, w, cw in itertools.product(COLD_CLICKS, RRF_WEIGHTS, RRF_WEIGHTS) if cw != w]
    grid += [Fusion("quota", quota=q, cold_clicks=c, cold_quota=cq)
             for c, q, cq in itertools.product(COLD_CLICKS, (0, *QUOTAS), (0, *QUOTAS, K)) if cq != q]
    return grid


def exclusive_hits(ranked: list[str], reference: list[str], relevant, k: int = K) -> tuple[int, int]:
    """``(gained, lost)``: relevant ids in ``ranked[:k]`` and not in ``reference[:k]``, and the reverse."""
    rel = set(relevant)
    mine, theirs = set(ranked[:k]) & rel, set(reference[:k]) & rel
    return len(mine - theirs), len(theirs - mine)


class Channels:
    """The recall channels of one benchmark: centroid and multi-centroid lists per user, and query lists."""

    def __init__(self, bench: Benchmark, embedder, cfg: StreamsConfig | None = None, multi_k: int = 3,
                 query_search: str = "hybrid"):
        self.bench, self.embedder, self.cfg, self.multi_k = bench, embedder, cfg or StreamsConfig(), multi_k
        self.query_search = check_search(query_search)
        self.lexical = bench.lexical_index() if query_search == "hybrid" else None  # queries' word search
        self.index = ArticleIndex(bench.catalogue["article_id"].tolist(), bench.embeddings)
        self._history: dict[str, tuple[list[str], list[str]]] = {}
        self._interest: dict[str, np.ndarray] = {}

    def n_clicks(self, user: str) -> int:
        return sum(s["domain"] == "click" for s in self.bench.histories[user])

    def history_lists(self, user: str) -> tuple[list[str], list[str]]:
        """``(centroid list, multi-centroid list)``: the stream's recency-decayed interest vector searched alone,
        and up to ``multi_k`` clusters of the history's embeddings (recency- and domain-weighted) searched and
        merged in turns, heaviest cluster first."""
        if user not in self._history:
            signals = list(reversed(self.bench.histories[user]))  # oldest first, as the stream applies them
            vectors = np.asarray(self.embedder.embed([s["text"] for s in signals]), dtype=np.float32)
            newest = max(s["ts"] for s in signals)
            weights = [self.cfg.domain_weights[s["domain"]] * 0.5 ** ((newest - s["ts"]) / 1000 / self.cfg.half_life_s)
                       for s in signals]
            exclude = self.bench.clicked.get(user, set())
            self._interest[user] = interest_vector(signals, vectors, self.cfg)
            centroid = retrieve(self.index, self._interest[user][None, :], k=DEPTH, exclude=exclude, per_query=DEPTH)
            centres, _ = interest_centroids(vectors, np.asarray(weights), k=self.multi_k)
            lists = self.index.search(centres, 2 * K, exclude=exclude)
            self._history[user] = (centroid, fuse(lists, DEPTH, method="roundrobin"))
        return self._history[user]

    def feature_row(self, user: str, queries: list[str] | None) -> dict:
        """The feature row the generator worker would write for ``user`` with ``queries``: the interest vector
        (the centroid's), the queries and their embeddings, the history's activity (``models/activity.py``)."""
        self.history_lists(user)
        listed = list(queries or [])
        embedded = np.asarray(self.embedder.embed(listed), dtype=np.float32) if listed else None
        return {"user_id": user, "interest_vector": self._interest[user], "queries": listed,
                "query_embeddings": embedded, **activity(self.bench.histories[user])}

    def query_list(self, user: str, queries: list[str] | None) -> list[str]:
        """The query channel's list: every query searched (by embedding and, with ``query_search="hybrid"``, by its
        words), the lists fused by RRF (as ``training/evaluate.py``)."""
        if not queries:
            return []
        vectors = self.embedder.embed(queries)
        return retrieve(self.index, vectors, k=DEPTH, exclude=self.bench.clicked.get(user, set()), per_query=2 * K,
                        lexical=self.lexical, texts=queries)


def score(ranked: list[str], reference: list[str], relevant) -> dict:
    gained, lost = exclusive_hits(ranked, reference, relevant)
    return {"ndcg@10": ranking.ndcg_at_k(ranked, relevant, K), "recall@10": ranking.recall_at_k(ranked, relevant, K),
            "mrr": ranking.mrr(ranked[:K], relevant), "gained": gained, "lost": lost}


class FusionChoice(NamedTuple):
    """A fusion chosen on some users, its mean NDCG@10 there and each user's (user id -> NDCG@10)."""

    fusion: Fusion
    mean: float
    per_user: dict[str, float]


def choose_fusion(channels: Channels, users: list[str], queries: dict[str, list[str]]) -> FusionChoice:
    """The fusion of :func:`fusion_grid` chosen on ``users`` (never the reported test users: the benchmark passes
    another simulation's test users, ``training/benchmark.py`` ``measure``) by the one-standard-error rule, with the
    NDCG@10 of centroid + queries there (mean and per user): the first fusion of the grid (simplest first) whose
    mean is within one standard error of the best mean, the standard error of the per-user difference from the best (both fusions score
    the same users, so the comparison is paired; the spread of one fusion's per-user scores would call nearly every
    fusion of the grid a tie). Among some 400 fusions, the one with the highest mean on a few hundred users is partly
    chosen by their noise; a rule for a small group (users without clicks) fitted to a handful of them does not
    carry to the test users."""
    cases = []
    for user in users:
        centroid, _ = channels.history_lists(user)
        cases.append((centroid, channels.query_list(user, queries.get(user)), channels.n_clicks(user),
                      channels.bench.targets[user]))
    grid = fusion_grid()
    if not cases:
        return FusionChoice(grid[0], 0.0, {})
    scores = np.array([[ranking.ndcg_at_k(fuse_channels(c, q, K, fusion, n), rel, K) for c, q, n, rel in cases]
                       for fusion in grid])
    means = scores.mean(axis=1)
    best = int(np.argmax(means))
    chosen = next(i for i in range(len(grid)) if within_one_se(scores[best] - scores[i]))
    return FusionChoice(grid[chosen], float(means[chosen]), dict(zip(users, scores[chosen].tolist())))


def within_one_se(loss: np.ndarray) -> bool:
    """Whether a per-user loss against the best (best minus candidate, paired by user) is within one standard error
    of nothing: its mean at most the standard error of that mean."""
    if loss.size < 2:
        return float(loss.sum()) <= 1e-12
    return float(loss.mean()) <= float(loss.std(ddof=1) / np.sqrt(loss.size)) + 1e-12


def learned_row(name: str) -> str:
    """The row of the centroid fused with generator ``name`` by a learned fusion (``training/learned_fusion.py``)."""
    return f"centroid + {name} (learned)"


def channel_rows(channels: Channels, users: list[str], generators: dict[str, dict[str, list[str]]],
                 fusions: dict[str, Fusion], learned: dict[str, dict[str, list[str]]] | None = None
                 ) -> dict[str, list[dict]]:
    """Row name -> per-user scores on ``users``: ``centroid``, ``multi-centroid``, each generator alone,
    ``centroid + <generator>`` fused by ``fusions[generator]`` and, for the generators in ``learned`` (generator ->
    user -> fused top 10 of a learned fusion), :func:`learned_row`."""
    learned = learned or {}
    rows: dict[str, list[dict]] = {"centroid": [], "multi-centroid": []}
    for name in generators:
        rows[name], rows[f"centroid + {name}"] = [], []
        if name in learned:
            rows[learned_row(name)] = []
    for user in users:
        relevant = channels.bench.targets[user]
        base = {"user_id": user, "group": channels.bench.group_of(user)}
        centroid, multi = channels.history_lists(user)
        rows["centroid"].append({**base, **score(centroid, centroid, relevant)})
        rows["multi-centroid"].append({**base, **score(multi, centroid, relevant)})
        for name, by_user in generators.items():
            listed = channels.query_list(user, by_user.get(user))
            rows[name].append({**base, **score(listed, centroid, relevant)})
            fused = fuse_channels(centroid, listed, K, fusions[name], channels.n_clicks(user))
            rows[f"centroid + {name}"].append({**base, **score(fused, centroid, relevant)})
            if name in learned:
                rows[learned_row(name)].append({**base, **score(learned[name].get(user, []), centroid, relevant)})
    return rows


def paired(rows: dict[str, list[dict]], a: str, b: str, seed: int = 0, metric: str = "ndcg@10") -> dict:
    """Group -> ``[mean, low, high]`` (95 % bootstrap) of the per-user difference ``a - b`` of ``metric`` between two
    rows of :func:`channel_rows` (the same users, so paired)."""
    theirs = {r["user_id"]: r[metric] for r in rows[b]}
    out = {}
    for group in GROUPS:
        diffs = [r[metric] - theirs[r["user_id"]] for r in rows[a]
                 if (group == "all" or r["group"] == group) and r["user_id"] in theirs]
        if diffs:
            out[group] = list(ranking.bootstrap_ci(diffs, seed=seed))
    return out


def summarise_rows(rows: dict[str, list[dict]], seed: int = 0) -> dict:
    """Row -> group -> {users, metric: [mean, low, high]} (95 % bootstrap), plus total gained/lost hits."""
    out = {}
    for name, per_user in rows.items():
        out[name] = {}
        for group in GROUPS:
            members = [r for r in per_user if group == "all" or r["group"] == group]
            if not members:
                continue
            entry = {"users": len(members)}
            for metric in ROW_METRICS:
                entry[metric] = list(ranking.bootstrap_ci([r[metric] for r in members], seed=seed))
            entry["gained_total"] = int(sum(r["gained"] for r in members))
            entry["lost_total"] = int(sum(r["lost"] for r in members))
            out[name][group] = entry
    return out
