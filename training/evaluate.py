"""Offline evaluation: do a generator's queries retrieve the news a user reads next?

For each evaluation user of a simulated (or MIND) benchmark, the user's history is replayed through the stream's
own logic (validation, per-domain window, newest-first snapshot), the generator writes queries, the queries are
embedded and run against the FAISS article index (the user's already-read articles excluded, lists fused by
reciprocal rank), and the top K is scored against the held-out future clicks. Run with
``interests eval --generator keyphrase`` (or ``all``); see ``training/benchmark.py`` for the whole table.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from common import ranking
from models.embeddings import Embedder
from models.generators.base import QueryGenerator, UserContext
from models.lexical import LexicalIndex
from models.retrieval import ArticleIndex, check_search, retrieve
from streams import drift, history
from streams.config import StreamsConfig
from streams.events import InvalidEvent, to_signal
from streams.replay import TYPE_SUBJECT

log = logging.getLogger(__name__)
# keyphrase-value: the key phrases chosen by the query-value model (models/generators/select.py), no language model
BASELINES = ("centroid", "recent-titles", "keyphrase", "keyphrase-value", "smollm2")
SERVED = "served"  # the registry's current version, built exactly as the generator worker builds it
METRICS = ("recall@5", "recall@10", "ndcg@5", "ndcg@10", "mrr", "ild", "coverage", "gen_ms")
GROUPS = ("all", "cold", "drift", "warm")


def replay_histories(lines, cfg: StreamsConfig | None = None, noise_filter=None, flags_path: Path | None = None
                     ) -> tuple[dict[str, list[dict]], dict[str, set[str]]]:
    """Event-file lines (JSON objects with ``type``) through the stream's own logic: validation, the per-domain
    window, the newest-first snapshot a regeneration request carries. Returns ``(user -> snapshot, user -> clicked
    article ids)``; invalid events are skipped, and signals ``noise_filter`` flags are dropped (its flags are kept
    in ``flags_path`` when given and read back from there: the classifier embeds every text, minutes of CPU)."""
    cfg = cfg or StreamsConfig()
    signals: list[dict] = []
    clicked: dict[str, set[str]] = {}
    now_ms = int(time.time() * 1000)
    for line in lines:
        if not line.strip():
            continue
        row = json.loads(line)
        record = {k: v for k, v in row.items() if k != "type"}
        try:
            signal = to_signal(TYPE_SUBJECT[row["type"]], record, now_ms=now_ms)
        except InvalidEvent:
            continue
        if row["type"] == "click":
            clicked.setdefault(signal.user_id, set()).add(signal.item_id)
        signals.append(signal.as_dict())
    if noise_filter is not None:  # one batched call: the classifier embeds every text
        flags = None
        if flags_path is not None and flags_path.exists():
            flags = np.load(flags_path)
            flags = flags.tolist() if len(flags) == len(signals) else None
        if flags is None:
            flags = [bool(f) for f in noise_filter.predict(signals)]
            if flags_path is not None:
                np.save(flags_path, np.asarray(flags, dtype=bool))
        log.info("noise filter dropped %d of %d events", sum(flags), len(signals))
        signals = [s for s, noisy in zip(signals, flags) if not noisy]
    windows: dict[str, dict] = {}
    for item in signals:
        window = windows.setdefault(item["user_id"], history.empty_history())
        history.add_signal(window, item, cfg.history_max_items, cfg.history_max_age_s)
    return {u: history.snapshot(w, cfg.snapshot_items) for u, w in windows.items()}, clicked


def interest_vector(signals: list[dict], vectors, cfg: StreamsConfig) -> np.ndarray:
    """The stream's recency-decayed, domain-weighted interest vector (unit) of ``signals`` (oldest first, as the
    stream applies them) with their embeddings ``vectors``: the history centroid's one query vector."""
    state = drift.new_state()
    for s, v in zip(signals, vectors):
        drift.update_vector(state, v, s["ts"], cfg.domain_weights[s["domain"]], cfg.half_life_s)
    return drift.unit(state["vector"])


@dataclass
class Benchmark:
    """A benchmark folder as the simulator (or the MIND loader) writes it."""

    root: Path
    catalogue: pd.DataFrame
    embeddings: np.ndarray
    histories: dict[str, list[dict]]  # user -> signals (newest first), as the stream's snapshot would carry them
    clicked: dict[str, set[str]]  # user -> article ids already read (excluded from retrieval)
    targets: dict[str, list[str]]
    users: dict[str, dict]
    lexical: LexicalIndex | None = field(default=None, repr=False)  # built on first use (lexical_index)

    def lexical_index(self) -> LexicalIndex:
        """The BM25 index of the catalogue's titles and bodies (the query channel's word search), built once."""
        if self.lexical is None:
            self.lexical = LexicalIndex.from_catalogue(self.catalogue)
        return self.lexical

    @classmethod
    def load(cls, root: Path, cfg: StreamsConfig | None = None, noise_filter=None) -> "Benchmark":
        cfg = cfg or StreamsConfig()
        root = Path(root)
        catalogue = pd.read_parquet(root / "catalogue.parquet")
        embeddings = np.load(root / "article_embeddings.npy").astype(np.float32)
        targets = json.loads((root / "targets.json").read_text())
        users = json.loads((root / "users.json").read_text())
        flags_path = None
        if noise_filter is not None and (root / "noise.joblib").exists():  # flags belong to this classifier
            digest = hashlib.sha256((root / "noise.joblib").read_bytes()).hexdigest()[:16]
            flags_path = root / f"noise-flags-{digest}.npy"
        with (root / "events.jsonl").open() as handle:
            histories, clicked = replay_histories(handle, cfg, noise_filter, flags_path)
        return cls(root, catalogue, embeddings, histories, clicked, targets, users)

    def eval_users(self, split: str = "test", limit: int | None = None, seed: int = 0) -> list[str]:
        """Users of ``split`` with a history and at least one future click; a seeded sample of ``limit``."""
        pool = sorted(u for u, meta in self.users.items()
                      if meta.get("split", "test") == split and self.targets.get(u) and self.histories.get(u))
        if limit and len(pool) > limit:
            rng = np.random.default_rng(seed)
            pool = sorted(rng.choice(pool, size=limit, replace=False).tolist())
        return pool

    def group_of(self, user: str) -> str:
        meta = self.users.get(user, {})
        return "cold" if meta.get("cold") else "drift" if meta.get("drift") else "warm"

    def interest_topics(self, user: str) -> list:
        """The user's true interest topics at the cutoff, a drifting user's new topic in place of the old one
        (evaluation only, never shown to a generator; [] for a benchmark without them, e.g. MIND)."""
        topics = [i["topic"] for i in self.users.get(user, {}).get("interests", [])]
        drifted = self.users.get(user, {}).get("drift")
        if drifted:
            topics = [t for t in topics if t != drifted.get("from")] + [drifted.get("to")]
        return topics

    def interest_centroids(self, user: str) -> np.ndarray:
        """Unit centroids of the user's true interest topics (evaluation only, never shown to a generator)."""
        topics = self.interest_topics(user)
        rows = []
        for topic in topics:
            mask = (self.catalogue["topic"] == topic).to_numpy()
            if mask.any():
                rows.append(drift.unit(self.embeddings[mask].mean(axis=0)))
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), self.embeddings.shape[1])


class RecentTitles(QueryGenerator):
    """Baseline: the user's most recent signal texts, used verbatim as queries."""

    version = "recent-titles@1"

    def __init__(self, n: int = 5):
        self.n = n

    def generate(self, contexts):
        from models.generators.base import Generation

        return [Generation([s["text"][:120] for s in c.history[: self.n]]) for c in contexts]


@dataclass
class EvalResult:
    generator: str
    version: str
    users: int
    per_user: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)  # group -> metric -> [mean, low, high]

    def to_json(self) -> dict:
        return asdict(self)


def make_baseline(name: str, gen_cfg=None) -> QueryGenerator | None:
    """The generator behind a baseline name; None for the centroid baseline (no queries at all). ``served`` is
    what the generator worker serves: the registry's current version with the configured fill, and the fallback for
    a user the model leaves without a valid query (a new user has no features to keep stale)."""
    from models.config import GeneratorConfig
    from models.generators.factory import backend

    gen_cfg = gen_cfg or GeneratorConfig.from_env()  # INTERESTS_GEN_* apply, as in the worker
    if name == "centroid":
        return None
    if name == SERVED:
        from dataclasses import replace

        from models.served import generator_from_config

        generator, _ = generator_from_config(replace(gen_cfg, on_invalid="fallback"))
        return generator
    if name == "recent-titles":
        return RecentTitles(gen_cfg.num_queries)
    if name == "keyphrase-value":
        from models.embeddings import make_embedder
        from models.generators.select import ValuedPhrases
        from models.query_value import QueryValueModel

        return ValuedPhrases(QueryValueModel.load(gen_cfg.query_value_dir), make_embedder(gen_cfg.embedder),
                             gen_cfg.num_queries)
    if name in ("keyphrase", "smollm2"):
        return backend(name, gen_cfg)  # no fallback: each generator is measured on its own
    raise ValueError(f"unknown generator {name!r}; choose from {', '.join((*BASELINES, SERVED))}")


def evaluate(bench: Benchmark, name: str, generator: QueryGenerator | None, embedder: Embedder, users: list[str],
             k: int = 10, batch_size: int = 16, seed: int = 0, progress: bool = True,
             coverage_threshold: float = 0.5, query_search: str = "hybrid") -> EvalResult:
    """A generator's queries (None: the history centroid) searched for each user: ``query_search`` "hybrid" searches
    each query by its embedding and by its words (BM25) and fuses the lists, as the query channel does; "dense" by
    the embedding only."""
    from tqdm import tqdm

    index = ArticleIndex(bench.catalogue["article_id"].tolist(), bench.embeddings)
    # the word index, where queries are searched by their words too (never for the centroid, which has none)
    lexical = bench.lexical_index() if check_search(query_search) == "hybrid" and generator is not None else None
    result = EvalResult(name, generator.version if generator else "centroid@1", len(users))
    scfg = StreamsConfig()
    if "torch" in sys.modules:  # a sampling generator (a retry, a top-up) draws the same samples for the same seed
        sys.modules["torch"].manual_seed(seed)
    bar = tqdm(total=len(users), desc=f"eval {name}", unit="user", disable=not progress)
    for start in range(0, len(users), batch_size):
        chunk = users[start:start + batch_size]
        started = time.perf_counter()
        if generator is None:
            generations = [None] * len(chunk)
        else:
            contexts = [UserContext(u, bench.histories[u]) for u in chunk]
            generations = generator.generate(contexts)
        gen_ms = (time.perf_counter() - started) * 1000 / len(chunk)
        for user, generation in zip(chunk, generations):
            queries = generation.queries if generation is not None else None
            if queries is None:  # centroid: the stream's own recency-decayed interest vector, one query vector
                signals = list(reversed(bench.histories[user]))
                query_vectors = interest_vector(signals, embedder.embed([s["text"] for s in signals]), scfg)[None, :]
            else:
                query_vectors = embedder.embed(queries) if queries else np.zeros((0, embedder.dim), np.float32)
            ranked = retrieve(index, query_vectors, k=k, exclude=bench.clicked.get(user, set()), lexical=lexical,
                              texts=queries)
            relevant = bench.targets[user]
            centroids = bench.interest_centroids(user)
            row = {
                "user_id": user, "group": bench.group_of(user), "queries": queries,
                "recall@5": ranking.recall_at_k(ranked, relevant, 5),
                "recall@10": ranking.recall_at_k(ranked, relevant, 10),
                "ndcg@5": ranking.ndcg_at_k(ranked, relevant, 5),
                "ndcg@10": ranking.ndcg_at_k(ranked, relevant, 10),
                "mrr": ranking.mrr(ranked, relevant),
                "ild": ranking.intra_list_diversity(query_vectors) if queries else float("nan"),
                "coverage": ranking.interest_coverage(query_vectors, centroids, coverage_threshold)
                if len(centroids) else float("nan"),
                "gen_ms": gen_ms,
            }
            if generation is not None:  # who made the list (a fallback or a fill names itself) and what was filled
                row.update(made_by=generation.version or result.version, filled=generation.filled,
                           topped_up=generation.topped_up, raw=generation.raw)
            result.per_user.append(row)
        bar.update(len(chunk))
    bar.close()
    result.summary = summarise(result.per_user, seed)
    return result


def summarise(rows: list[dict], seed: int = 0) -> dict:
    """group -> metric -> [mean, low, high] (95 % percentile bootstrap); groups with no users are left out."""
    out = {}
    for group in GROUPS:
        members = [r for r in rows if group == "all" or r["group"] == group]
        if not members:
            continue
        out[group] = {"users": len(members)}
        for metric in METRICS:
            values = [r[metric] for r in members if not (isinstance(r[metric], float) and np.isnan(r[metric]))]
            out[group][metric] = list(ranking.bootstrap_ci(values, seed=seed)) if values else [None] * 3
    return out
