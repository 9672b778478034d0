"""Training the query-value model (``models/query_value.py``): which of a reader's candidate queries retrieves what
they read next.

For each training user of the simulated benchmarks (test users are never touched):

1. the candidates are the served model's grounded queries (where they are given: ``model_queries``) and the user's
   key phrases (twenty, validated), with their features, as the served chooser builds them
   (``models.generators.select.candidates``);
2. each candidate is searched the way the query channel searches it when served (its embedding and, with the hybrid
   search, its words; the user's read articles excluded), and its label is the NDCG@10 of that search alone on the
   user's next clicks, in tenths (0 to 10);
3. the features are the ones the worker computes (``models.query_value.features``, through the same function).

A LightGBM LambdaRank model, one query group per user, learns to order the candidates. A tenth of the users
(seeded) is held out: the report gives the NDCG@10 there of the chosen ``size`` candidates (fused as the channel
fuses them) against the first ``size`` key phrases and against the best possible choice of single candidates.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from common import ranking
from models.generators.select import candidates
from models.query_value import FEATURES, NOT_A_PHRASE, QueryValueModel, choose
from models.retrieval import ArticleIndex, check_search
from training.hindsight import K, fused

log = logging.getLogger(__name__)
VERSION = "value@1"
PARAMS = {"objective": "lambdarank", "n_estimators": 300, "learning_rate": 0.03, "num_leaves": 15,
          "min_child_samples": 40, "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8,
          "label_gain": list(range(11)), "verbose": -1}


@dataclass
class UserRows:
    """One user's candidates: their features, labels (NDCG@10 alone), search results and the chooser's inputs."""

    benchmark: str
    user: str
    group: str
    pool: list[str]
    from_model: list[bool]
    rows: np.ndarray
    solo: list[float]
    vectors: np.ndarray = field(repr=False)
    lists: list[list[list[tuple[str, float]]]] = field(repr=False)
    relevant: list[str] = field(repr=False)


def user_rows(bench, user: str, embedder, index: ArticleIndex, lexical=None, model_queries: list[str] = (),
              phrases: int = NOT_A_PHRASE) -> UserRows | None:
    """The candidates of one training user of ``bench`` (a :class:`training.evaluate.Benchmark`) with their
    features and labels; None when the user has no valid candidate."""
    if bench.users.get(user, {}).get("split", "test") != "train":
        raise ValueError(f"{user} is not a training user: the labels read the next clicks")
    pool, from_model, rows, qv = candidates(bench.histories[user], list(model_queries), embedder, phrases)
    if not pool:
        return None
    exclude = bench.clicked.get(user, set())
    lists = [[hits] for hits in index.search(qv, 2 * K, exclude=exclude)]
    if lexical is not None:
        for own, hits in zip(lists, lexical.search(pool, 2 * K, exclude=exclude)):
            own.append(hits)
    relevant = bench.targets[user]
    solo = [ranking.ndcg_at_k(fused(lists, [i]), relevant, K) for i in range(len(pool))]
    return UserRows(bench.root.name, user, bench.group_of(user), pool, from_model, rows, solo, qv, lists, relevant)


def labels(solo: list[float]) -> np.ndarray:
    """NDCG@10 in tenths, 0 to 10 (LambdaRank's graded relevance)."""
    return np.minimum(np.rint(np.asarray(solo) * 10), 10).astype(int)


def fit(users: list[UserRows], seed: int = 0) -> QueryValueModel:
    """A LambdaRank model on ``users`` (one query group each)."""
    import lightgbm as lgb

    if not users:
        raise ValueError("no training user with candidates: nothing to learn from")
    x = np.vstack([u.rows for u in users])
    y = np.concatenate([labels(u.solo) for u in users])
    ranker = lgb.LGBMRanker(**PARAMS, random_state=seed)
    ranker.fit(x, y, group=[len(u.pool) for u in users])
    return QueryValueModel(ranker.booster_, VERSION, {"params": dict(PARAMS), "seed": seed,
                                                      "users": len(users), "candidates": int(len(y))})


def held_out_report(model: QueryValueModel, users: list[UserRows], size: int = 5) -> dict:
    """On held-out users: mean NDCG@10 of the chosen ``size`` candidates, of the model's own queries with the first
    key phrases after them (the fill, as served before the chooser), of the first ``size`` key phrases, and of the
    ``size`` best single candidates (an upper mark: chosen with the next clicks)."""
    out = {"users": len(users), "chosen": [], "model_then_phrases": [], "key_phrases": [], "best_singles": [],
           "model_share": []}
    for u in users:
        picks = choose(u.pool, model.scores(u.rows), size, u.vectors)
        out["chosen"].append(ranking.ndcg_at_k(fused(u.lists, picks), u.relevant, K))
        out["model_share"].append(sum(u.from_model[i] for i in picks) / max(len(picks), 1))
        model_first = [i for i, m in enumerate(u.from_model) if m]
        phrases = [i for i, m in enumerate(u.from_model) if not m]
        out["model_then_phrases"].append(
            ranking.ndcg_at_k(fused(u.lists, (model_first + phrases)[:size]), u.relevant, K))
        out["key_phrases"].append(ranking.ndcg_at_k(fused(u.lists, phrases[:size]), u.relevant, K))
        best = sorted(range(len(u.pool)), key=lambda i: (-u.solo[i], i))[:size]
        out["best_singles"].append(ranking.ndcg_at_k(fused(u.lists, best), u.relevant, K))
    return {k: (round(float(np.mean(v)), 4) if isinstance(v, list) and v else v) for k, v in out.items()}


def split(users: list[UserRows], seed: int = 0, held_out: float = 0.1) -> tuple[list[UserRows], list[UserRows]]:
    """(training, held out): a seeded ``held_out`` share of the users held out."""
    rng = np.random.default_rng(seed)
    mask = rng.random(len(users)) < held_out
    return [u for u, m in zip(users, mask) if not m], [u for u, m in zip(users, mask) if m]


def collect(bench, users: list[str], embedder, model_queries: dict[str, list[str]] | None = None,
            search: str = "hybrid", progress: bool = True) -> list[UserRows]:
    """:func:`user_rows` for ``users`` of ``bench``, searched with ``search``."""
    from tqdm import tqdm

    check_search(search)
    index = ArticleIndex(bench.catalogue["article_id"].tolist(), bench.embeddings)
    lexical = bench.lexical_index() if search == "hybrid" else None
    out = []
    started = time.time()
    for user in tqdm(users, desc=f"query value {bench.root.name}", unit="user", disable=not progress):
        row = user_rows(bench, user, embedder, index, lexical, (model_queries or {}).get(user, []))
        if row is not None:
            out.append(row)
    log.info("%s: %d users with candidates of %d in %.0f s", bench.root.name, len(out), len(users),
             time.time() - started)
    return out


def served_model_queries(bench, users: list[str], gen_cfg=None, batch: int = 16,
                         progress: bool = True) -> dict[str, list[str]]:
    """The served model's own grounded queries for ``users`` (no fill, no chooser, no fallback): what the chooser
    pools with the key phrases when it serves. The completion cache (``INTERESTS_GEN_COMPLETION_CACHE``) spares a
    rerun the generation."""
    from dataclasses import replace

    from models.config import GeneratorConfig
    from models.generators.base import UserContext
    from models.served import generator_from_config
    from tqdm import tqdm

    cfg = replace(gen_cfg or GeneratorConfig.from_env(), fill="", select="", on_invalid="stale")
    generator, _ = generator_from_config(cfg)
    out: dict[str, list[str]] = {}
    try:
        for start in tqdm(range(0, len(users), batch), desc=f"served model {bench.root.name}", unit="batch",
                          disable=not progress):
            chunk = users[start:start + batch]
            for user, g in zip(chunk, generator.generate([UserContext(u, bench.histories[u]) for u in chunk])):
                out[user] = list(g.queries)
    finally:
        generator.close()
    return out


def run(seeds: list[int], truths: list[str], users: int, model_users: int, model_seeds: list[int], out,
        report_dir=None, bench_users: int = 2000, search: str = "hybrid", seed: int = 0,
        fusion_users: int = 200) -> dict:
    """Collect the training users of each simulated benchmark (``seeds`` x ``truths``): a seeded sample of ``users``
    without the ``fusion_users`` that ``interests benchmark --train-users`` of the same seed chooses its fusion on (so
    the fusion is chosen on lists the chooser was not fitted to), the first ``model_users`` of them with the served
    model's queries where the benchmark's seed is in ``model_seeds``; fit on nine tenths, report on the rest, refit on
    all and save to ``out``."""
    import json
    import platform
    from pathlib import Path

    from models.embeddings import MiniLMEmbedder
    from training.benchmark import commit, noise_filter_for, simulated
    from training.evaluate import Benchmark

    started = time.time()
    embedder = MiniLMEmbedder()
    rows: list[UserRows] = []
    for sim_seed in seeds:
        for truth in truths:
            folder = simulated(sim_seed, bench_users, truth)
            noise_filter, _ = noise_filter_for(folder, embedder, sim_seed)
            bench = Benchmark.load(folder, noise_filter=noise_filter)
            fusion = set(bench.eval_users("train", limit=fusion_users, seed=sim_seed)) if fusion_users else set()
            chosen = [u for u in bench.eval_users("train", limit=users, seed=1) if u not in fusion]
            with_model = chosen[:model_users] if sim_seed in model_seeds else []
            model_queries = served_model_queries(bench, with_model) if with_model else {}
            rows += collect(bench, chosen, embedder, model_queries, search)
    train, held = split(rows, seed)
    report = {"held_out": held_out_report(fit(train, seed), held)} if held else {}
    model = fit(rows, seed)
    model.meta.update({"benchmarks": sorted({r.benchmark for r in rows}), "search": search,
                       "model_users": model_users, "model_seeds": model_seeds, "fusion_users_left_out": fusion_users,
                       **report})
    model.save(out)
    report = {"command": f"interests train query-value --seeds {','.join(map(str, seeds))} --truths "
                         f"{','.join(truths)} --users {users} --model-users {model_users} --model-seeds "
                         f"{','.join(map(str, model_seeds))} --fusion-users {fusion_users} --query-search {search} "
                         f"--seed {seed}",
              "commit": commit(), "machine": f"{platform.machine()}, python {platform.python_version()}",
              "seconds": round(time.time() - started, 1), "users": len(rows),
              "candidates": int(sum(len(r.pool) for r in rows)),
              "model_candidates": int(sum(sum(r.from_model) for r in rows)), **report,
              "importance": dict(sorted(zip(FEATURES, (int(v) for v in model.booster.feature_importance())),
                                        key=lambda kv: -kv[1]))}
    if report_dir is not None:
        Path(report_dir).mkdir(parents=True, exist_ok=True)
        (Path(report_dir) / "query-value.json").write_text(json.dumps(report, indent=1) + "\n")
    return report
