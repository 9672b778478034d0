"""The history centroid and a generator's queries fused by a learned ranker, beside the rule fusions.

A rule fusion (``training/channels.py``) merges the two channels' lists by their ranks alone. The learned fusion is
the reference ranker (``models/ranker.py``) on the same two channels, as ``interests rank`` serves it: LightGBM over
each candidate of the union of the centroid's and the queries' lists (50 deep each) scored on its rank in each list,
its similarity to the interest vector and to the queries, how the queries' words match it (BM25, with the hybrid
search) and the reader's activity. Its parameters are chosen by 5-fold cross-validation on the users the rule fusions
are chosen on, and it is trained on all of them; the reported test users never train or choose it.

:func:`deployed` says which of the two a benchmark deploys for a generator, by the one-standard-error rule the rule
fusions are chosen by: the learned fusion only where, on the users both were chosen on, its per-user NDCG@10 held out
by the cross-validation beats the chosen rule's per-user NDCG@10 by more than one standard error of the paired
differences; otherwise the simpler rule. (A comparison of the two means alone deployed a learned fusion that was
level with the rule there and below it on the test users.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from models import ranker as rk
from training import ranker as rank
from training.channels import within_one_se

log = logging.getLogger(__name__)
K = 10
LEARNED = "learned"
RULE = "rule"


@dataclass
class LearnedFusion:
    """A ranker trained on other users to fuse the centroid with one generator's queries."""

    ranker: rk.Ranker
    users: int  # the users it was trained on
    held_out: dict[str, float] = field(default_factory=dict)  # user -> NDCG@10 when their fold was held out

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
        ranker, held_out = rank.cross_fit(split, with_queries=True, seed=seed, user=True,
                                          query_search=channels.query_search)
    except ValueError as err:  # a fold without a positive
        log.warning("no learned fusion: %s", err)
        return None
    return LearnedFusion(ranker, len(split.users), dict(zip(split.users, held_out.tolist())))


def _gain(rule: dict[str, float], learned: LearnedFusion) -> np.ndarray:
    """Per user the rule was chosen on (``rule``: user -> NDCG@10), the learned fusion's held-out NDCG@10 minus the
    rule's; a user the learned fusion was not trained on (no next click) scores 0 with both."""
    return np.array([learned.held_out.get(u, 0.0) - v for u, v in rule.items()], dtype=float)


def deploy_margin(rule: dict[str, float], learned: LearnedFusion) -> tuple[float, float]:
    """(mean, standard error) of the learned fusion's held-out NDCG@10 minus the rule's, paired by user over the
    users the rule was chosen on."""
    diff = _gain(rule, learned)
    if diff.size < 2:
        return float(diff.sum()), 0.0
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(diff.size))


def deployed(rule: dict[str, float], learned: LearnedFusion | None) -> str:
    """:data:`LEARNED` where the learned fusion beat the rule by more than one standard error of the paired
    differences on the users both were chosen on (``training.channels.within_one_se``, the rule the rule fusions
    are chosen by), else :data:`RULE`."""
    if learned is None or not rule:
        return RULE
    return RULE if within_one_se(_gain(rule, learned)) else LEARNED
