"""Training the query-value model: labels, a training user's candidates searched on a real (tiny) index, the fit
and its held-out report (training/query_value.py)."""

from __future__ import annotations

import numpy as np
import pytest

from models.embeddings import HashEmbedder
from models.query_value import FEATURES
from models.retrieval import ArticleIndex
from training.evaluate import Benchmark
from training.query_value import UserRows, fit, held_out_report, labels, split, user_rows


def test_labels_are_ndcg_in_tenths_capped_at_ten():
    assert labels([0.0, 0.04, 0.05001, 0.26, 1.0]).tolist() == [0, 0, 1, 3, 10]


def test_a_training_users_candidates_are_the_model_queries_and_key_phrases_labelled_by_their_own_search(
        train_bench):
    bench = Benchmark.load(train_bench)
    index = ArticleIndex(bench.catalogue["article_id"].tolist(), bench.embeddings)
    embedder = HashEmbedder()
    rows = user_rows(bench, "u0", embedder, index, bench.lexical_index(), ["mortgage rates"])
    assert rows.pool[0] == "mortgage rates" and rows.from_model[0] and not any(rows.from_model[1:])
    assert rows.rows.shape == (len(rows.pool), len(FEATURES)) and len(rows.solo) == len(rows.pool)
    assert all(0.0 <= s <= 1.0 for s in rows.solo) and max(rows.solo) > 0  # some candidate finds rates-2
    assert rows.relevant == ["rates-2"] and rows.group == "warm"
    with pytest.raises(ValueError, match="not a training user"):
        user_rows(bench, "u6", embedder, index)


def synthetic(n_users: int, seed: int) -> list[UserRows]:
    """Users of ten candidates whose own-search NDCG falls with the key-phrase rank; candidate i finds article
    ``a{i}`` and the user's next click is ``a0``/``a1``."""
    rng = np.random.default_rng(seed)
    users = []
    for u in range(n_users):
        order = rng.permutation(10)  # candidate i has key-phrase rank order[i]
        rows = rng.random((10, len(FEATURES)))
        rows[:, FEATURES.index("phrase_rank")] = order
        rows[:, FEATURES.index("is_model")] = 0
        solo = [1.0 if r < 2 else 0.0 for r in order]
        lists = [[[(f"a{r}", 1.0)]] for r in order]
        users.append(UserRows("b", f"u{u}", "warm", [f"q{i}" for i in range(10)], [False] * 10, rows, solo, np.eye(10), lists,
                              ["a0", "a1"]))
    return users


def test_the_fit_learns_which_candidates_find_the_next_clicks_and_reports_it_on_held_out_users():
    users = synthetic(60, 0)
    train, held = split(users, seed=0, held_out=0.2)
    assert len(train) + len(held) == 60 and held and not {u.user for u in train} & {u.user for u in held}
    model = fit(train)
    report = held_out_report(model, held, size=2)
    assert report["users"] == len(held)
    assert report["chosen"] == pytest.approx(1.0) and report["best_singles"] == pytest.approx(1.0)
    assert report["key_phrases"] < 1.0 and report["model_share"] == 0.0  # pool order is random: the first two miss
    assert model.meta["users"] == len(train) and model.meta["candidates"] == 10 * len(train)
    with pytest.raises(ValueError, match="nothing to learn"):
        fit([])
