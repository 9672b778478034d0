"""The history centroid and a generator's queries fused by a learned ranker, beside the rule fusions.

A rule fusion (``training/channels.py``) merges the two channels' lists by their ranks alone. The learned fusion is
the reference ranker (``models/ranker.py``) on the same two channels, as ``interests rank`` serves it: LightGBM over
each candidate of the union of the centroid's and the queries' lists (50 deep each) scored on its rank in each list,
its similarity to the interest vector and to the queries, how the queries' words match it (BM25, with the hybrid
search) and the reader's activity. Its parameters are chosen by 5-fold cross-validation on the users the rule fusions
are chosen on, and it is trained on all of them; the reported test users never train or choose it.

:func:`deployed` says which of the two a benchmark deploys for a generator: the learned fusion where its
cross-validated NDCG@10 on those users is above the chosen rule's mean NDCG@10 there (both on the same users; the
rule's is the mean of the fusion the one-standard-error rule kept, the learned one's the mean over held-out folds).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from models import ranker as rk
from training import ranker as rank

log = logging.getLogger(__name__)
K = 10
LEARNED = "learned"
RULE = "rule"


@dataclass
class LearnedFusion:
    """A ranker trained on other users to fuse the centroid with one generator's queries."""

    ranker: rk.Ranker
    users: int  # the users it was trained on

    @property
    def cv_ndcg(self) -> float:
        return float(self.ranker.meta["cv_ndcg@10"])

    def describe(self) -> str:
        p = self.ranker.meta["params"]
        return (f"learned: LightGBM {p['objective']}, {p['num_leaves']} leaves, {p['n_estimators']} trees, "
                f"{self.users} users")

    def to_json(self) -> dict:
        p = self.ranker.meta["params"]
        return {"method": LEARNED, "rule": self.describe(), "cv_ndcg@10": round(self.cv_ndcg, 4),
                "training_users": self.users, "features": self.ranker.feature_names(),
                "params": {k: p[k] for k in ("objective", "num_leaves", "min_child_samples", "n_estimators")}}

    def lists(self, channels, users: list[str], queries: dict[str, list[str]], k: int = K) -> dict[str, list[str]]:
        """Each user's fused top ``k``: what the ranker serves for the user's feature row, the articles they have
        read excluded."""
        news = news_index(channels)
        return {u: [r.article_id for r in self.ranker.rank(news, channels.feature_row(u, queries.get(u)), 0, k,
                                                           exclude=channels.bench.clicked.get(u, set()))]
                for u in users}


def news_index(channels) -> rk.NewsIndex:
    """The ranker's view of ``channels``' articles (a :class:`training.channels.Channels`): its index and word
    index; no publication times or popularity (the learned fusion has no context features)."""
    return rk.NewsIndex(channels.index, {}, {}, channels.lexical)


def candidates(channels, users: list[str], queries: dict[str, list[str]]) -> rank.Split:
    """The users' candidates, feature matrices and labels, gathered as a ranker gathers them (the articles each user
    has read excluded), from ``channels``' interest vectors, activity and ``queries``."""
    rows = {u: channels.feature_row(u, queries.get(u)) for u in users}
    return rank.build_split(channels.bench, news_index(channels), users, rows, at_ms=0,
                            query_search=channels.query_search)


def fit_learned(channels, users: list[str], queries: dict[str, list[str]], seed: int = 0) -> LearnedFusion | None:
    """The learned fusion trained on ``users`` (never the reported test users); None where it cannot be trained
    (no user with a next click among their candidates, or too few users for the folds), with the reason logged.
    Users without next clicks are skipped (nothing to score them on)."""
    split = candidates(channels, [u for u in users if channels.bench.targets.get(u)], queries)
    if len(split.users) < rank.FOLDS or not any(labels.any() for labels in split.labels):
        log.warning("no learned fusion: %d users, %d with a next click among their candidates", len(split.users),
                    sum(bool(labels.any()) for labels in split.labels))
        return None
    try:
        ranker = rank.fit(split, with_queries=True, seed=seed, user=True, query_search=channels.query_search)
    except ValueError as err:  # a fold without a positive
        log.warning("no learned fusion: %s", err)
        return None
    return LearnedFusion(ranker, len(split.users))


def deployed(rule_ndcg: float, learned: LearnedFusion | None) -> str:
    """:data:`LEARNED` where the learned fusion measured above the rule on the users both were chosen on, else
    :data:`RULE`."""
    return LEARNED if learned is not None and learned.cv_ndcg > rule_ndcg else RULE
