"""The reference ranker trained and measured on the benchmark, its features read from Feast's offline store.

For one simulated benchmark and one generator:

1. **Feature rows as the worker writes them.** For every training and test user, the row the generator worker would
   have written just before the impression (the benchmark's cutoff, when the future clicks start): the stream's
   interest vector of the history, the generator's queries and their embeddings. They are appended to a real Feast
   offline store a minute before the impression. A second row per user is appended an hour *after* it, with the titles
   of the user's next clicks as queries (what a generator would write after seeing them): the training set must not
   see it, and :func:`read_at` checks that it did not.
2. **Point-in-time read.** ``get_historical_features`` on (user, impression time) returns the rows the rankers train
   and are evaluated on.
3. **Candidates and labels.** The union of the centroid and query channels (``models/ranker.py``); a candidate is
   positive when it is one of the user's next clicks.
4. **Two rankers on the same candidates**: LightGBM LambdaRank with the query features and without them, trained on
   training users, evaluated on test users: NDCG@10 of the reranked list, AUC of the scores over the candidates, and
   the expected click-through of the top 5 under the benchmark's click model (``training/click_model.py``, with the
   user's next clicks as their profile), per group with bootstrap intervals, the paired lift (with - without), and the
   channels unranked as the floor, with the ranker's paired difference to the best of them. On a simulated
   benchmark also the share of the top 5 on one of the user's true interest topics (``users.json``; the simulator's
   readers click only articles of their topics): the fitted click model scores closeness to the next clicks' mean
   embedding, the centroid's own measure. Neither ranker uses the article's age or popularity: most next clicks
   here are on articles published after the impression, so those features would read the future; a third ranker
   that has them is reported to show by how much (``models/ranker.py``).

``interests ranker benchmark`` runs it and writes ``ranker.{json,md}``; ``interests ranker train`` keeps the ranker
with the query features for ``interests rank``.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from common import ranking
from models import ranker as rk
from models.activity import activity
from models.retrieval import check_search
from models.recall import Fusion, fuse_channels
from streams.config import StreamsConfig
from training.evaluate import GROUPS, Benchmark, interest_vector

log = logging.getLogger(__name__)
K = 10
CTR_K = 5
ON_INTEREST = f"on-interest@{CTR_K}"  # share of the top 5 on one of the user's true interest topics (simulator)
FULL = rk.feature_names(with_queries=True, context=True, user=True, words=True)  # a split's columns; a ranker its own
# name -> (query features, context features, user activity features)
RANKERS = {"ranker + queries": (True, False, True), "ranker without queries": (False, False, True),
           "ranker + queries, no activity": (True, False, False),
           "ranker + queries + age, popularity (read the future here)": (True, True, True)}
ROWS = ("ranker + queries", "ranker without queries", "ranker + queries, no activity", "centroid", "queries",
        "centroid + queries (RRF)", "ranker + queries + age, popularity (read the future here)")
UNRANKED = ("centroid", "queries", "centroid + queries (RRF)")  # the lists a ranker must beat
LEAK_VERSION = "leak@future"  # the model version of the rows planted after the impression
LGBM_FIXED = {"learning_rate": 0.05, "reg_lambda": 1.0, "deterministic": True, "force_row_wise": True, "n_jobs": 2,
              "verbose": -1}
# What cross-validation on the training users chooses from (simplest first: a tie keeps the earlier): the objective
# (LambdaRank over each user's candidates, or a binary click objective), tree size, leaf size and trees.
PARAM_GRID = tuple({"objective": o, "num_leaves": leaves, "min_child_samples": m, "n_estimators": n}
                   for o in ("binary", "lambdarank") for leaves in (3, 7, 15) for m in (200, 50) for n in (50, 150))
FOLDS = 5


def impression_ms(bench: Benchmark) -> int:
    """When the benchmark's users are shown their next page: the simulation's cutoff (after the newest history
    event otherwise)."""
    meta = Path(bench.root) / "meta.json"
    if meta.exists():
        cutoff = json.loads(meta.read_text()).get("cutoff_ms")
        if cutoff:
            return int(cutoff)
    return 1 + max(s["ts"] for signals in bench.histories.values() for s in signals)


def feature_rows(bench: Benchmark, users: list[str], queries: dict[str, list[str]], embedder, at_ms: int,
                 version: str, cfg: StreamsConfig | None = None) -> list[dict]:
    """The query-feature records the generator worker would write for ``users`` at ``at_ms``."""
    cfg = cfg or StreamsConfig()
    rows = []
    for user in users:
        signals = list(reversed(bench.histories[user]))  # oldest first, as the stream applies them
        vectors = np.asarray(embedder.embed([s["text"] for s in signals]), dtype=np.float32)
        listed = list(queries.get(user) or [])
        embedded = np.asarray(embedder.embed(listed), dtype=np.float32) if listed else np.zeros((0, 0))
        rows.append({"user_id": user, "request_id": f"bench-{user}", "queries": listed,
                     "query_embeddings": embedded.tolist(),
                     "interest_vector": interest_vector(signals, vectors, cfg).tolist(), "model_version": version,
                     "generated_at": at_ms, "last_event_at": max(s["ts"] for s in signals), "freshness_ms": 0,
                     **activity(signals)})
    return rows


def leak_rows(bench: Benchmark, rows: list[dict], embedder, at_ms: int) -> list[dict]:
    """Rows written after the impression whose queries are the titles of the user's next clicks."""
    titles = dict(zip(bench.catalogue["article_id"].astype(str), bench.catalogue["title"].astype(str)))
    out = []
    for row in rows:
        future = [titles[a] for a in bench.targets.get(row["user_id"], [])[:5] if a in titles]
        if future:
            out.append({**row, "queries": future, "query_embeddings": np.asarray(embedder.embed(future)).tolist(),
                        "model_version": LEAK_VERSION, "generated_at": at_ms})
    return out


def read_at(store, store_cfg, users: list[str], at_ms: int) -> dict[str, dict]:
    """Each user's feature row as it was at ``at_ms`` (Feast's point-in-time read of the offline store); raises
    when a row written after ``at_ms`` came back."""
    from feature_repo import offline

    at = pd.Timestamp(at_ms, unit="ms", tz="UTC")
    frame = offline.historical_features(store, store_cfg, pd.DataFrame({"user_id": users,
                                                                        "event_timestamp": [at] * len(users)}))
    rows = {r["user_id"]: r for r in frame.to_dict("records")}
    leaked = [u for u, r in rows.items() if r.get("model_version") == LEAK_VERSION]
    if leaked:
        raise AssertionError(f"the point-in-time read returned rows written after the impression for {leaked[:5]}")
    return rows


@dataclass
class Split:
    """One split's impressions: per user the candidates, the full feature matrix and the labels."""

    users: list[str]
    groups: list[str]
    candidates: list[rk.Candidates]
    x: list[np.ndarray]  # [candidates, FULL]
    labels: list[np.ndarray]
    relevant: list[list[str]]  # every next click of the user, among the candidates or not

    def subset(self, idx: list[int]) -> "Split":
        return Split(*([getattr(self, f)[i] for i in idx] for f in ("users", "groups", "candidates", "x", "labels",
                                                                      "relevant")))

    def stacked(self, names: list[str]) -> tuple[np.ndarray, np.ndarray, list[int]]:
        x = np.concatenate([columns(m, names) for m in self.x]) if self.x else np.zeros((0, len(names)))
        return x, np.concatenate(self.labels) if self.labels else np.zeros(0), [len(m) for m in self.x]


def columns(x: np.ndarray, names: list[str]) -> np.ndarray:
    """The columns ``names`` of a :data:`FULL` feature matrix."""
    return x[:, [FULL.index(n) for n in names]]


def build_split(bench: Benchmark, news: rk.NewsIndex, users: list[str], rows: dict[str, dict], at_ms: int,
                depth: int = rk.DEPTH, query_search: str = "hybrid") -> Split:
    split = Split([], [], [], [], [], [])
    for user in users:
        row = rows.get(user) or {}
        if row.get("interest_vector") is None:
            continue
        candidates = rk.gather(news, row["interest_vector"], row.get("query_embeddings"), depth,
                               exclude=bench.clicked.get(user, set()),
                               queries=row.get("queries") if query_search == "hybrid" else None)
        relevant = set(bench.targets.get(user, []))
        split.users.append(user)
        split.groups.append(bench.group_of(user))
        split.candidates.append(candidates)
        split.x.append(rk.features(news, candidates, at_ms, with_queries=True, context=True, row=row, words=True))
        split.labels.append(np.asarray([a in relevant for a in candidates.ids], dtype=np.float32))
        split.relevant.append(list(bench.targets.get(user, [])))
    return split


def _booster(split: Split, names: list[str], params: dict, seed: int):
    import lightgbm

    x, y, groups = split.stacked(names)
    if y.sum() == 0:
        raise ValueError("no training user has a next click among their candidates: nothing to learn")
    full = {**LGBM_FIXED, **params, "random_state": seed}
    if params["objective"] == "lambdarank":
        model = lightgbm.LGBMRanker(**full).fit(x, y, group=[n for n in groups if n], feature_name=names)
    else:
        model = lightgbm.LGBMClassifier(**full).fit(x, y, feature_name=names)
    return model.booster_


def user_ndcg(split: Split, score) -> np.ndarray:
    """Each of the split's users' NDCG@10 of their candidates ordered by ``score(feature matrix)``."""
    return np.array([ranking.ndcg_at_k([cands.ids[j] for j in np.argsort(-score(x), kind="stable")], relevant, K)
                     for x, cands, relevant in zip(split.x, split.candidates, split.relevant)], dtype=float)


def out_of_fold(split: Split, names: list[str], params: dict, seed: int = 0, folds: int = FOLDS) -> np.ndarray:
    """Each user's NDCG@10 (in ``split.users`` order) ranked by a booster with ``params`` trained on the other
    ``folds - 1`` parts of the users (seeded folds by user: the same parts for every ``params``)."""
    order = np.random.default_rng(seed).permutation(len(split.users))
    scores = np.zeros(len(split.users))
    for k in range(folds):
        held = sorted(order[k::folds].tolist())
        kept = set(held)
        fitted = _booster(split.subset([i for i in range(len(split.users)) if i not in kept]), names, params, seed)
        scores[held] = user_ndcg(split.subset(held), lambda x: fitted.predict(columns(x, names)))
    return scores


def choose_params(split: Split, names: list[str], seed: int = 0, folds: int = FOLDS) -> tuple[dict, np.ndarray]:
    """The :data:`PARAM_GRID` entry with the best mean NDCG@10 in ``folds``-fold cross-validation over the training
    users (seeded folds by user), and its users' out-of-fold NDCG@10 (:func:`out_of_fold`). Test users never
    choose."""
    best, best_scores = PARAM_GRID[0], None
    for params in PARAM_GRID:
        scores = out_of_fold(split, names, params, seed, folds)
        if best_scores is None or scores.mean() > best_scores.mean() + 1e-9:
            best, best_scores = params, scores
    return best, best_scores


def fit(split: Split, with_queries: bool, seed: int = 0, popularity: dict | None = None,
        meta: dict | None = None, context: bool = False, user: bool = False, query_search: str = "hybrid"
        ) -> rk.Ranker:
    """A ranker on the feature set (``with_queries``, ``context``, ``user``; the word features with the queries
    where they are searched by their words, ``query_search='hybrid'``), its parameters chosen by cross-validation on
    ``split`` (the training users), then trained on all of them."""
    return cross_fit(split, with_queries, seed, popularity, meta, context, user, query_search)[0]


def cross_fit(split: Split, with_queries: bool, seed: int = 0, popularity: dict | None = None,
              meta: dict | None = None, context: bool = False, user: bool = False, query_search: str = "hybrid"
              ) -> tuple[rk.Ranker, np.ndarray]:
    """:func:`fit`'s ranker and each of ``split``'s users' NDCG@10 with their fold held out under the chosen
    parameters (:func:`out_of_fold`, in ``split.users`` order)."""
    words = with_queries and check_search(query_search) == "hybrid"
    names = rk.feature_names(with_queries, context, user, words)
    params, held_out = choose_params(split, names, seed)
    cv = float(held_out.mean())
    booster = _booster(split, names, params, seed)
    y = np.concatenate(split.labels)
    info = {"training_users": len(split.users), "training_rows": int(len(y)), "positives": int(y.sum()),
            "params": {**LGBM_FIXED, **params}, "cv_ndcg@10": round(cv, 4), "seed": seed, **(meta or {})}
    log.info("ranker %s: %s (cross-validated NDCG@10 %.4f)", names, params, cv)
    return rk.Ranker(booster, with_queries, meta=info, popularity=popularity, context=context, user=user,
                     query_search=query_search, words=words), held_out


def _auc(labels: list[np.ndarray], scores: list[np.ndarray]) -> float:
    from sklearn.metrics import roc_auc_score

    y, s = np.concatenate(labels), np.concatenate(scores)
    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else float("nan")


def _auc_ci(labels, scores, seed: int, resamples: int = 200) -> list[float]:
    """Pooled AUC over the users' candidates, with a 95 % bootstrap over users."""
    point = _auc(labels, scores)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        pick = rng.integers(0, len(labels), len(labels))
        value = _auc([labels[i] for i in pick], [scores[i] for i in pick])
        if not np.isnan(value):
            draws.append(value)
    return [point, *np.percentile(draws, [2.5, 97.5]).tolist()] if draws else [point, point, point]


def evaluate(bench: Benchmark, split: Split, rankers: dict[str, rk.Ranker], click_model, news: rk.NewsIndex,
             seed: int = 0) -> tuple[dict, dict]:
    """Per row of :data:`ROWS` and group: NDCG@10, recall@10 and CTR@5 (mean, 95 % interval), AUC for the
    rankers, and the paired lift of the query features; plus the per-user values."""
    per_user: dict[str, list[dict]] = {name: [] for name in ROWS}
    scores: dict[str, list[np.ndarray]] = {name: [] for name in rankers}
    topic_of = dict(zip(bench.catalogue["article_id"].astype(str), bench.catalogue["topic"])) \
        if "topic" in bench.catalogue.columns else {}
    for i, user in enumerate(split.users):
        cands, relevant = split.candidates[i], bench.targets[user]
        vectors = news.index.vectors(relevant)
        profile = vectors.mean(axis=0) / max(float(np.linalg.norm(vectors.mean(axis=0))), 1e-12)
        lists = {}
        for name, model in rankers.items():
            s = model.score(columns(split.x[i], model.feature_names()))
            scores[name].append(s)
            lists[name] = [cands.ids[j] for j in np.argsort(-s, kind="stable")]
        by_rank = {c: [cands.ids[j] for j in np.argsort(cands.ranks[c], kind="stable")
                       if cands.ranks[c][j] < rk.MISSING_RANK] for c in rk.CHANNELS}
        lists["centroid"], lists["queries"] = by_rank["centroid"], by_rank["queries"]
        lists["centroid + queries (RRF)"] = fuse_channels(by_rank["centroid"], by_rank["queries"], K,
                                                          Fusion("rrf", weight=1.0))
        topics = set(bench.interest_topics(user)) if topic_of else set()
        for name, ranked in lists.items():
            top = ranked[:CTR_K]
            ctr = float(click_model.predict(profile, top).mean()) if top else 0.0
            per_user[name].append({"user_id": user, "group": split.groups[i],
                                   "ndcg@10": ranking.ndcg_at_k(ranked, relevant, K),
                                   "recall@10": ranking.recall_at_k(ranked, relevant, K), f"ctr@{CTR_K}": ctr})
            if topics:
                per_user[name][-1][ON_INTEREST] = float(np.mean([topic_of.get(a) in topics for a in top])) \
                    if top else 0.0
    summary: dict = {}
    for name, rows in per_user.items():
        summary[name] = {}
        for group in GROUPS:
            idx = [i for i, r in enumerate(rows) if group == "all" or r["group"] == group]
            if not idx:
                continue
            entry = {"users": len(idx)}
            for metric in _metrics(rows, ("ndcg@10", "recall@10", f"ctr@{CTR_K}", ON_INTEREST)):
                entry[metric] = list(ranking.bootstrap_ci([rows[i][metric] for i in idx], seed=seed))
            if name in scores:
                entry["auc"] = _auc_ci([split.labels[i] for i in idx], [scores[name][i] for i in idx], seed)
            summary[name][group] = entry
    summary["lift (with - without queries)"] = paired(per_user, "ranker + queries", "ranker without queries", seed)
    summary["over the best channel"] = over_best_channel(per_user, seed)
    return summary, per_user


def _metrics(rows: list[dict], names: tuple[str, ...]) -> list[str]:
    """The metrics of ``names`` every one of ``rows`` has (the on-interest share only where the benchmark knows the
    users' true topics)."""
    return [m for m in names if rows and all(m in r for r in rows)]


def paired(per_user: dict[str, list[dict]], a: str, b: str, seed: int = 0) -> dict:
    """Per group, the mean per-user difference ``a - b`` of NDCG@10, CTR@5 and the on-interest share at 5 (where
    known) with its 95 % bootstrap interval."""
    out = {}
    metrics = _metrics(per_user[a] + per_user[b], ("ndcg@10", f"ctr@{CTR_K}", ON_INTEREST))
    for group in GROUPS:
        idx = [i for i, r in enumerate(per_user[a]) if group == "all" or r["group"] == group]
        if idx:
            out[group] = {m: list(ranking.bootstrap_ci([per_user[a][i][m] - per_user[b][i][m] for i in idx],
                                                       seed=seed)) for m in metrics}
    return out


def over_best_channel(per_user: dict[str, list[dict]], seed: int = 0) -> dict:
    """The ranker with the query features against the best unranked list (the channel, or the centroid and the
    queries fused by equal RRF, whichever has the highest NDCG@10 over all test users: picked on the test users, so
    the comparison favours the channel), paired per user."""
    def mean(name: str) -> float:
        return float(np.mean([r["ndcg@10"] for r in per_user[name]]))

    best = max(UNRANKED, key=mean)
    return {"channel": best, **paired(per_user, "ranker + queries", best, seed)}


def popularity_at(bench: Benchmark, at_ms: int, window_days: float = 3.0) -> dict[str, float]:
    """Log clicks per article in the ``window_days`` before ``at_ms``, from the benchmark's click events."""
    clicks: dict[str, list[int]] = {}
    with (Path(bench.root) / "events.jsonl").open() as handle:
        for line in handle:
            if '"click"' not in line:
                continue
            row = json.loads(line)
            if row.get("type") == "click" and row.get("article_id"):
                clicks.setdefault(row["article_id"], []).append(int(row["ts"]))
    return rk.log_popularity(clicks, at_ms, window_days)


def generate(bench: Benchmark, generator_name: str, users: list[str], embedder, seed: int, gen_cfg=None
             ) -> tuple[dict[str, list[str]], str]:
    """The generator's queries for ``users`` (as ``interests eval`` makes them) and its version."""
    from training.evaluate import evaluate as evaluate_generator
    from training.evaluate import make_baseline

    generator = make_baseline(generator_name, gen_cfg)
    if generator is None:
        raise ValueError(f"{generator_name!r} writes no queries: the ranker needs a query generator")
    try:
        result = evaluate_generator(bench, generator_name, generator, embedder, users, seed=seed)
        version = getattr(generator, "version", None) or generator_name
    finally:
        generator.close()
    return {r["user_id"]: r["queries"] for r in result.per_user}, str(version)


def measure(bench: Benchmark, generator_name: str, embedder, work: Path, eval_users: int = 200,
            train_users: int = 200, seed: int = 0, gen_cfg=None, queries: dict | None = None,
            query_search: str = "hybrid") -> dict:
    """Steps 1-4 of the module doc on one benchmark; returns the report and keeps the ranker with the query
    features in ``work/ranker``. ``queries`` (user -> list) skips the generator (tests); ``query_search``: how the
    query channel gathers its candidates (``models/retrieval.py``)."""
    from feature_repo import offline
    from feature_repo.config import FeatureStoreConfig
    from feature_repo.store import open_store

    started = time.time()
    test = bench.eval_users("test", limit=eval_users, seed=seed)
    train = bench.eval_users("train", limit=train_users, seed=seed)
    at_ms = impression_ms(bench)
    version = "given"
    if queries is None:
        queries, version = generate(bench, generator_name, train + test, embedder, seed, gen_cfg)
    work = Path(work)
    store_cfg = FeatureStoreConfig(data_dir=work / "feast")
    shutil.rmtree(store_cfg.data_dir, ignore_errors=True)  # a fresh offline store per run: reproducible
    store = open_store(store_cfg, apply=True)
    rows = feature_rows(bench, train + test, queries, embedder, at_ms - 60_000, version)
    offline.append(store_cfg, rows, _dt(at_ms - 60_000))
    offline.append(store_cfg, leak_rows(bench, rows, embedder, at_ms + 3_600_000), _dt(at_ms + 3_600_000))
    read = read_at(store, store_cfg, train + test, at_ms)
    log.info("read %d feature rows at the impression time from the offline store", len(read))
    meta = {"generator": generator_name, "generator_version": version, "benchmark": Path(bench.root).name}
    report = train_and_measure(bench, read, train, test, at_ms, work, seed, meta, query_search)
    return {"generator": generator_name, "generator_version": version, **report,
            "seconds": round(time.time() - started, 1)}


def train_and_measure(bench: Benchmark, read: dict[str, dict], train: list[str], test: list[str], at_ms: int,
                      work: Path, seed: int = 0, meta: dict | None = None, query_search: str = "hybrid") -> dict:
    """Steps 3-4 on feature rows already read (user -> row at ``at_ms``); keeps the ranker with the query features
    in ``work/ranker``."""
    from training.click_model import fit_click_model

    popularity = popularity_at(bench, at_ms)
    news = rk.NewsIndex.from_folder(bench.root, popularity, words=check_search(query_search) == "hybrid")
    if query_search == "hybrid" and news.lexical is None:
        raise ValueError(f"{bench.root}/catalogue.parquet has no title column: the hybrid query search needs the "
                         f"articles' words (or use query_search='dense')")
    train_split = build_split(bench, news, train, read, at_ms, query_search=query_search)
    test_split = build_split(bench, news, test, read, at_ms, query_search=query_search)
    if not train_split.users or not test_split.users:
        raise ValueError(f"{len(train_split.users)} training and {len(test_split.users)} test users have features "
                         f"at the impression time: a ranker needs both")
    meta = {**(meta or {}), "catalogue": str(bench.root), "impression_ms": at_ms}
    rankers = {name: fit(train_split, uses_queries, seed, popularity, meta, context, user, query_search)
               for name, (uses_queries, context, user) in RANKERS.items()}
    rankers["ranker + queries"].save(Path(work) / "ranker")
    click_model = fit_click_model(bench, bench.eval_users("train", seed=seed), seed=seed)
    summary, per_user = evaluate(bench, test_split, rankers, click_model, news, seed)
    recall = {name: float(np.mean([lab.sum() > 0 for lab in split.labels])) for name, split in
              (("train", train_split), ("test", test_split))}
    importance = {name: dict(zip(m.feature_names(),
                                 m.booster.feature_importance("gain").round(1).tolist())) for name, m in rankers.items()}
    return {"test_users": len(test_split.users), "train_users": len(train_split.users), "impression_ms": at_ms,
            "query_search": query_search,
            "candidates_per_user": float(np.mean([len(c.ids) for c in test_split.candidates])),
            "users_with_a_next_click_among_candidates": recall, "click_model": click_model.report,
            "feature_gain": importance,
            "chosen": {name: {"params": m.meta["params"], "cv_ndcg@10": m.meta["cv_ndcg@10"]}
                       for name, m in rankers.items()},
            "rows": summary, "per_user": per_user}


def retrain(events, reference: Path, store_cfg, since_ms: int, until_ms: int, work: Path, seed: int = 0,
            target_share: float = 0.2, query_search: str = "hybrid") -> dict:
    """The ranker retrained from the system's own logs: the events of ``[since_ms, until_ms)`` (an event file or
    rows, e.g. :class:`training.eventlog.EventLog`) split at the cut into history and next clicks
    (``training/retrain.py``), the feature rows the generator worker wrote, read from the offline store of
    ``store_cfg`` as they were at the cut, a fifth of the users (by a stable hash) held out to measure. Returns the
    report; the ranker is kept in ``work/ranker``."""
    from feature_repo.store import open_store
    from training.click_model import hash_user
    from training.retrain import build_training_set

    work = Path(work)
    summary = build_training_set(events, reference, work / "data", since_ms, until_ms, target_share=target_share)
    bench = Benchmark.load(work / "data")
    at_ms = int(summary["cut_ms"])
    users = sorted(u for u in bench.targets if bench.histories.get(u))
    read = read_at(open_store(store_cfg, apply=True), store_cfg, users, at_ms)
    have = [u for u in users if (read.get(u) or {}).get("interest_vector") is not None]
    log.info("%d of %d users of the range have features at the cut", len(have), len(users))
    test = [u for u in have if hash_user(u) % 5 == 0]
    train = [u for u in have if hash_user(u) % 5 != 0]
    report = train_and_measure(bench, read, train, test, at_ms, work, seed, {"retrain": summary}, query_search)
    return {"training_set": summary, "users_with_features": len(have), **report}


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def run(seed: int = 0, users: int = 2000, eval_users: int = 200, train_users: int = 200,
        generator: str = "served", truths: tuple[str, ...] = ("lexical", "embedding"), out_dir: Path | None = None,
        work: Path | None = None, gen_cfg=None, query_search: str = "hybrid") -> dict:
    """:func:`measure` on the simulated benchmark of each truth (the noise classifier applied, as in
    ``interests benchmark``); writes ``out_dir/ranker.{json,md}`` and keeps each truth's ranker in ``work/<truth>``
    (the first truth's is the one ``interests rank`` serves by default)."""
    import os

    from common.settings import cache_dir
    from models.embeddings import MiniLMEmbedder
    from training.benchmark import RESULTS, commit, machine, noise_filter_for, simulated

    out_dir, work = Path(out_dir or RESULTS), Path(work or cache_dir() / "ranker")
    started, load = time.time(), os.getloadavg()
    embedder = MiniLMEmbedder()
    runs = []
    for truth in truths:
        sim_dir = simulated(seed, users, truth)
        noise_filter, _ = noise_filter_for(sim_dir, embedder, seed)
        bench = Benchmark.load(sim_dir, noise_filter=noise_filter)
        runs.append({"truth": truth, "simulation": sim_dir.name,
                     **measure(bench, generator, embedder, work / truth, eval_users, train_users, seed, gen_cfg,
                               query_search=query_search)})
    meta = {"command": f"interests ranker benchmark --seed {seed} --users {users} --eval-users {eval_users} "
                       f"--train-users {train_users} --generator {generator} --truths {','.join(truths)} "
                       f"--query-search {query_search}",
            "seed": seed, "commit": commit(), "machine": machine(),
            "load_average": {"start": [round(x, 2) for x in load], "end": [round(x, 2) for x in os.getloadavg()]},
            "seconds": round(time.time() - started, 1)}
    report = {"meta": meta, "truths": runs}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ranker.json").write_text(json.dumps(report, indent=1, default=float) + "\n")
    (out_dir / "ranker.md").write_text(markdown(report))
    return report


def _cell(entry: dict | None, metric: str) -> str:
    if not entry or metric not in entry:
        return ""
    mean, low, high = entry[metric]
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def markdown(report: dict) -> str:
    """Per truth: every row's NDCG@10, AUC and CTR@5 per group with intervals, then the paired lift."""
    meta = report["meta"]
    parts = [f"`{meta['command']}` (commit {meta['commit']}; {meta['machine']}; load average "
             f"{meta['load_average']['start'][0]} -> {meta['load_average']['end'][0]}; "
             f"{meta['seconds'] / 60:.0f} min)\n"]
    for run_ in report["truths"]:
        rows = run_["rows"]
        groups = [g for g in GROUPS if g in rows["ranker + queries"]]
        counts = ", ".join(f"{g} {rows['ranker + queries'][g]['users']}" for g in groups)
        parts.append(f"## Truth: {run_['truth']} topics ({run_['test_users']} test users: {counts}; rankers trained "
                     f"on {run_['train_users']} training users; {run_['candidates_per_user']:.0f} candidates per user; "
                     f"queries by {run_['generator_version']}, searched {run_.get('query_search', 'dense')})\n")
        for metric, label in (("ndcg@10", "NDCG@10"), ("auc", "AUC over the candidates"),
                              (f"ctr@{CTR_K}", f"expected CTR@{CTR_K} (click model)"),
                              (ON_INTEREST, f"on-interest share of the top {CTR_K} (the simulator's true topics)")):
            if metric == ON_INTEREST and ON_INTEREST not in rows["ranker + queries"].get("all", {}):
                continue
            lines = [f"| {label} | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
            for name in ROWS:
                if metric == "auc" and "auc" not in rows[name].get("all", {}):
                    continue
                lines.append(f"| {name} | " + " | ".join(_cell(rows[name].get(g), metric) for g in groups) + " |")
            parts.append("\n".join(lines) + "\n")
        best = rows.get("over the best channel") or {}
        for title, lift in (("lift of the query features (paired)", rows["lift (with - without queries)"]),
                            (f"ranker + queries - {best.get('channel')} (the best unranked list, paired)", best)):
            if not lift:
                continue
            lines = [f"| {title} | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
            for metric in ("ndcg@10", f"ctr@{CTR_K}", ON_INTEREST):
                if metric in lift.get("all", {}):
                    lines.append(f"| {metric} | " + " | ".join(_cell(lift.get(g), metric) for g in groups) + " |")
            parts.append("\n".join(lines) + "\n")
        gains = run_["feature_gain"]["ranker + queries"]
        parts.append("Feature gain (ranker + queries): " + ", ".join(f"{k} {v:.0f}" for k, v in
                                                                     sorted(gains.items(), key=lambda kv: -kv[1]))
                     + "\n")
    return "\n".join(parts)
