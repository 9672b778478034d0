"""The click model behind the ``engagement`` reward: P(click | user profile, article), a logistic regression fitted
on the logged impressions of training users.

The simulated benchmark logs clicks, not the pages they were chosen from, so impressions are rebuilt from the log:
each click of a training user is shown with ``negatives`` articles published in the ``window_days`` before it that
the user did not click (what the front page held). A MIND folder has real impressions; the same features apply.

Features of (user, article): cosine between the article and the user's profile (the unit mean of their other
clicked articles when fitting, of their history when scoring), and the article's log popularity among training
clicks. Seeded; evaluation users are never used.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streams import drift

log = logging.getLogger(__name__)


@dataclass
class ClickModel:
    ids: dict[str, int]  # article id -> row of ``embeddings``
    embeddings: np.ndarray  # unit article embeddings
    popularity: np.ndarray  # log(1 + training clicks) per article
    coef: np.ndarray  # [3]: cosine, popularity, bias
    report: dict

    def features(self, profile: np.ndarray, articles: list[str]) -> np.ndarray:
        rows = np.asarray([self.ids[a] for a in articles], dtype=np.int64)
        cos = self.embeddings[rows] @ np.asarray(profile, dtype=np.float32)
        return np.stack([cos, self.popularity[rows], np.ones(len(rows))], axis=1)

    def predict(self, profile: np.ndarray, articles: list[str]) -> np.ndarray:
        """P(click) for each of ``articles`` (ids of the catalogue) shown to a user with ``profile``."""
        if not articles:
            return np.zeros(0)
        return 1.0 / (1.0 + np.exp(-(self.features(profile, articles) @ self.coef)))

    def to_json(self) -> dict:
        return {"coef": self.coef.tolist(), "report": self.report}


def impressions(clicks: dict[str, list[tuple[int, str]]], published_ms: np.ndarray, ids: list[str],
                negatives: int, window_days: float, rng: np.random.Generator) -> list[tuple[str, str, int, int]]:
    """``(user, article, clicked, click index)`` rows: every click and ``negatives`` unclicked articles published in
    the ``window_days`` before it."""
    order = np.argsort(published_ms)
    sorted_ms = published_ms[order]
    window = int(window_days * 86_400_000)
    rows = []
    for user, events in clicks.items():
        read = {a for _, a in events}
        for index, (ts, article) in enumerate(events):
            rows.append((user, article, 1, index))
            lo, hi = np.searchsorted(sorted_ms, [ts - window, ts])
            pool = [ids[i] for i in order[lo:hi] if ids[i] not in read]
            for choice in rng.choice(len(pool), size=min(negatives, len(pool)), replace=False) if pool else []:
                rows.append((user, pool[int(choice)], 0, index))
    return rows


def fit_click_model(bench, train_users: list[str], seed: int = 0, negatives: int = 4,
                    window_days: float = 3.0) -> ClickModel:
    """Fit on ``train_users``' clicks in ``bench`` (a :class:`training.evaluate.Benchmark`); the report holds the
    held-out AUC (a fifth of the users kept out of the fit)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    ids = bench.catalogue["article_id"].tolist()
    index = {a: i for i, a in enumerate(ids)}
    emb = np.asarray([drift.unit(v) for v in bench.embeddings], dtype=np.float32)
    import pandas as pd

    stamps = pd.to_datetime(bench.catalogue["published_at"], utc=True)
    published = ((stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)).to_numpy(dtype=np.int64)
    clicks: dict[str, list[tuple[int, str]]] = {}
    wanted = set(train_users)
    with (Path(bench.root) / "events.jsonl").open() as handle:
        for line in handle:
            row = json.loads(line)
            if row.get("type") == "click" and row.get("user_id") in wanted and row.get("article_id") in index:
                clicks.setdefault(row["user_id"], []).append((int(row["ts"]), row["article_id"]))
    counts = np.zeros(len(ids))
    for events in clicks.values():
        for _, article in events:
            counts[index[article]] += 1
    popularity = np.log1p(counts)
    rows = impressions(clicks, published, ids, negatives, window_days, rng)
    model = ClickModel(index, emb, popularity, np.zeros(3), {})
    features, labels, users = [], [], []
    for user, article, clicked, position in rows:
        others = [index[a] for i, (_, a) in enumerate(clicks[user]) if i != position]
        profile = drift.unit(emb[others].mean(axis=0)) if others else np.zeros(emb.shape[1], np.float32)
        features.append(model.features(profile, [article])[0])
        labels.append(clicked)
        users.append(user)
    x, y = np.asarray(features), np.asarray(labels)
    if len(set(y.tolist())) < 2:
        raise ValueError(f"cannot fit the click model: {int(y.sum())} clicks and {int(len(y) - y.sum())} unclicked "
                         f"impressions (no article was published in the {window_days} days before the clicks?)")
    held = np.asarray([hash_user(u) % 5 == 0 for u in users])
    if len(set(y[~held].tolist())) < 2:  # too few users to hold some out
        held[:] = False
    clf = LogisticRegression(fit_intercept=False, C=10.0).fit(x[~held], y[~held])
    auc = float(roc_auc_score(y[held], clf.predict_proba(x[held])[:, 1])) if held.any() and len(set(y[held])) > 1 \
        else float("nan")
    model.coef = clf.coef_[0].astype(np.float64)
    model.report = {"impressions": len(rows), "clicks": int(y.sum()), "users": len(clicks),
                    "held_out_auc": round(auc, 4), "features": ["cosine(profile, article)", "log1p(popularity)",
                                                                "bias"], "coef": model.coef.round(4).tolist()}
    log.info("click model: %s", model.report)
    return model


def hash_user(user: str) -> int:
    """A stable (not salted) hash of a user id, for splits."""
    import zlib

    return zlib.crc32(user.encode())
