"""The reference ranker: the recall channels' candidates, scored by a LightGBM model on per-(user, article) features
built from what a ranker reads from Feast (the interest vector, the queries and their embeddings) and from the news
index (article recency and popularity).

A ranker reads one feature row per user and needs nothing else of the user, so what it is trained on is what it is
served: the training set reads the same rows point-in-time correct from Feast's offline store
(``training/ranker.py``), ``interests rank`` reads them from the online store.

- **Candidates** (:func:`gather`): the union of the history centroid's list (the interest vector searched alone) and
  the query channel's list (every query searched by its embedding and, given the query texts and a news index with
  a word index, by its words: the lists fused by reciprocal rank), ``depth`` each, with the channels that brought
  each article and the query that found it best.
- **Features** (:data:`BASE_FEATURES`, :data:`QUERY_FEATURES`, :data:`USER_FEATURES`, :data:`CONTEXT_FEATURES`):
  the base set has the interest vector's similarity and the centroid channel's rank; the query set adds the best and
  mean similarity to the queries, the position of the best-matching query (queries are written best first), the
  query channel's rank and the number of queries; the word set (:data:`WORD_FEATURES`, with the query texts and the
  news index's word index: the hybrid search's rankers) adds how the queries' words match the article: its best and
  mean BM25 score under the queries, its best score as a share of that query's best over the whole index (comparable
  across queries of different lengths) and how many queries share a word with it; the user set is the feature
  row's activity (history length and domain shares, ``models/activity.py``; the same for all of a user's
  candidates, so it acts by changing how the other features count, e.g. the query channel's rank for a reader with
  few clicks; missing in rows written before it existed, which LightGBM reads as missing); the optional context set
  has the article's age at the request and its log popularity. The ranker "without the query features" is trained
  on the same candidates without the query set. A ranker uses the context set only where the candidates are
  articles published before the request (true in serving; not in the simulated benchmark, whose next clicks are
  mostly on articles published after the impression, so there the age and popularity of a candidate read the
  future).
- A trained ranker is a folder: ``model.txt`` (LightGBM), ``ranker.json`` (features, depth, how it was trained and
  measured) and ``popularity.json`` (log clicks per article over the training range's last days).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models import activity
from models.lexical import LexicalIndex
from models.retrieval import ArticleIndex, check_search, fuse

DEPTH = 50  # candidates per channel
CHANNELS = ("centroid", "queries")
BASE_FEATURES = ("cos_interest", "rank_centroid")
QUERY_FEATURES = ("cos_query_max", "cos_query_mean", "best_query_position", "rank_queries", "n_queries")
WORD_FEATURES = ("bm25_query_max", "bm25_query_mean", "bm25_query_share_max", "n_queries_matching")
CONTEXT_FEATURES = ("age_hours", "log_popularity")
USER_FEATURES = activity.FIELDS
MISSING_RANK = 2 * DEPTH  # an article a channel did not bring


class RankerError(ValueError):
    """A ranker folder is missing or does not fit the request; the message says which and why."""


@dataclass
class NewsIndex:
    """The articles a ranker can return: the retrieval index plus publication times and popularity, and the word
    index the query channel's hybrid search uses (None: queries are searched by embedding only)."""

    index: ArticleIndex
    published_ms: dict[str, int]
    popularity: dict[str, float] = field(default_factory=dict)  # article id -> log(1 + recent clicks)
    lexical: LexicalIndex | None = None

    @classmethod
    def from_folder(cls, folder: Path, popularity: dict[str, float] | None = None,
                    words: bool = True) -> "NewsIndex":
        """A catalogue folder (``catalogue.parquet`` with ``article_id`` and ``published_at``, and
        ``article_embeddings.npy``), as the simulator, the MIND loader and ``INTERESTS_CATALOGUE`` use; with
        ``words`` and a ``title`` column (and ``body``), the word index too (``words=False`` skips building it, for a
        ranker that searches by embedding only)."""
        import pandas as pd
        import pyarrow.parquet as pq

        folder = Path(folder)
        for name in ("catalogue.parquet", "article_embeddings.npy"):
            if not (folder / name).exists():
                raise RankerError(f"{folder} is not a catalogue folder: {name} is missing")
        have = set(pq.read_schema(folder / "catalogue.parquet").names)
        text = [c for c in ("title", "body") if c in have] if words else []
        catalogue = pd.read_parquet(folder / "catalogue.parquet", columns=["article_id", "published_at", *text])
        ids = catalogue["article_id"].astype(str).tolist()
        stamps = pd.to_datetime(catalogue["published_at"], utc=True)
        published = ((stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)).tolist()
        vectors = np.load(folder / "article_embeddings.npy").astype(np.float32)
        lexical = LexicalIndex.from_catalogue(catalogue) if "title" in text else None
        return cls(ArticleIndex(ids, vectors), dict(zip(ids, map(int, published))), dict(popularity or {}), lexical)


@dataclass
class Candidates:
    """One user's candidates in a fixed order, with what each channel said about them."""

    ids: list[str]
    ranks: dict[str, np.ndarray]  # channel -> rank per candidate (1 = first; MISSING_RANK when absent)
    best_query: np.ndarray  # index of the query most similar to each candidate (-1 without queries)
    cos_interest: np.ndarray
    cos_queries: np.ndarray  # [candidates, queries]
    word_scores: np.ndarray | None = None  # [candidates, query texts]: BM25; None without texts or a word index
    word_best: np.ndarray | None = None  # [query texts]: each query's best BM25 score over the whole index

    def channels_of(self, i: int) -> list[str]:
        return [c for c in CHANNELS if self.ranks[c][i] < MISSING_RANK]


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def _vectors(interest_vector, query_embeddings, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """``(unit interest vector, unit query vectors [queries, dim])`` of a feature row's values (lists or arrays; no
    query embeddings, None or empty, give no rows)."""
    interest = _unit(np.asarray(interest_vector, dtype=np.float32).reshape(-1))
    rows = [np.asarray(e, dtype=np.float32).reshape(-1) for e in (query_embeddings if query_embeddings is not None
                                                                  else [])]
    return interest, _unit(np.stack(rows)) if rows else np.zeros((0, dim), np.float32)


def _assemble(news: NewsIndex, interest: np.ndarray, queries: np.ndarray, centroid: list[str],
              query_hits: list[list[tuple[str, float]]], depth: int, word_scores=None) -> Candidates:
    """One user's candidates from the channels' search results, centroid first; with the query texts' BM25 scores
    over the index (:func:`_word_scores`), how their words match each candidate."""
    query_list = fuse(query_hits, depth) if query_hits else []
    ids = list(dict.fromkeys(centroid + query_list))
    ranks = {}
    for name, listed in (("centroid", centroid), ("queries", query_list)):
        position = {a: r for r, a in enumerate(listed, start=1)}
        ranks[name] = np.asarray([position.get(a, MISSING_RANK) for a in ids], dtype=np.float32)
    vectors = news.index.vectors(ids) if ids else np.zeros((0, news.index.dim), np.float32)
    cos_q = vectors @ queries.T if len(queries) else np.zeros((len(ids), 0), np.float32)
    best = cos_q.argmax(axis=1) if cos_q.shape[1] else np.full(len(ids), -1)
    words, word_best = news.lexical.match(word_scores, ids) if word_scores is not None else (None, None)
    return Candidates(ids, ranks, best, vectors @ interest, cos_q, words, word_best)


def _word_scores(news: NewsIndex, texts) -> np.ndarray | None:
    """Each query text's BM25 score of every article ([texts, articles], computed once per request for both the word
    search and the word features); None without texts or a word index."""
    if news.lexical is None or texts is None:
        return None
    rows = [news.lexical.scores(str(t)) for t in texts]
    return np.stack(rows) if rows else np.zeros((0, len(news.lexical)), np.float32)


def _word_hits(news: NewsIndex, scores, depth: int, exclude=()) -> list[list[tuple[str, float]]]:
    """The query texts searched by their words, from their :func:`_word_scores` (none without them)."""
    if scores is None:
        return []
    return [hits for hits in (news.lexical.top(row, 2 * depth, exclude) for row in scores) if hits]


def gather(news: NewsIndex, interest_vector, query_embeddings, depth: int = DEPTH,
           exclude=(), queries=None) -> Candidates:
    """The union of the centroid list and the query list (``depth`` each, ``exclude`` skipped), centroid first. The
    query texts (``queries``, in the embeddings' order) add their word search to the query list (hybrid search)."""
    index = news.index
    interest, vectors = _vectors(interest_vector, query_embeddings, index.dim)
    centroid = [a for a, _ in index.search(interest[None, :], depth, exclude=exclude)[0]] if interest.any() else []
    hits = index.search(vectors, 2 * depth, exclude=exclude) if len(vectors) else []
    words = _word_scores(news, (queries if len(vectors) else []) if queries is not None else None)
    hits += _word_hits(news, words, depth, exclude)
    return _assemble(news, interest, vectors, centroid, hits, depth, words)


def gather_many(news: NewsIndex, rows: list[dict], depth: int = DEPTH, hybrid: bool = False) -> list[Candidates]:
    """:func:`gather` for many feature rows (each with an interest vector), with one vector search per channel for
    all of them (``hybrid``: each row's query texts searched by their words too); nothing excluded (a ranking
    request does not know what the users have read)."""
    index = news.index
    pairs = [_vectors(r["interest_vector"], r.get("query_embeddings"), index.dim) for r in rows]
    interests = np.stack([i for i, _ in pairs]) if pairs else np.zeros((0, index.dim), np.float32)
    centroids = index.search(interests, depth) if len(interests) else []
    flat = [q for _, queries in pairs for q in queries]
    hits = index.search(np.stack(flat), 2 * depth) if flat else []
    out, offset = [], 0
    for row, (interest, queries), centroid in zip(rows, pairs, centroids):
        mine = hits[offset:offset + len(queries)]
        offset += len(queries)
        words = _word_scores(news, row.get("queries") if len(queries) else []) if hybrid else None
        mine = mine + _word_hits(news, words, depth)
        ids = [a for a, _ in centroid] if interest.any() else []
        out.append(_assemble(news, interest, queries, ids, mine, depth, words))
    return out


def _word_columns(candidates: Candidates) -> list[np.ndarray]:
    """The :data:`WORD_FEATURES` columns: NaN (unknown to LightGBM) where the candidates were gathered without the
    query texts or a word index, zeros for a user without queries."""
    n = len(candidates.ids)
    scores, best = candidates.word_scores, candidates.word_best
    if scores is None or best is None:
        return [np.full(n, np.nan)] * len(WORD_FEATURES)
    if scores.shape[1] == 0:
        return [np.zeros(n)] * len(WORD_FEATURES)
    share = np.where(best > 0, scores / np.maximum(best, 1e-12), 0.0)
    return [scores.max(axis=1), scores.mean(axis=1), share.max(axis=1), (scores > 0).sum(axis=1)]


def features(news: NewsIndex, candidates: Candidates, now_ms: int, with_queries: bool = True,
             context: bool = False, row: dict | None = None, words: bool = False) -> np.ndarray:
    """The feature matrix of ``candidates`` ([candidates, features]) in the order of :func:`feature_names`; with a
    feature ``row``, the user set too (its activity fields; a field the row lacks or holds as None is NaN); with
    ``words`` (and ``with_queries``), the word set."""
    ids = candidates.ids
    columns = [candidates.cos_interest, candidates.ranks["centroid"]]
    if with_queries:
        cos_q = candidates.cos_queries
        n = cos_q.shape[1]
        columns += [cos_q.max(axis=1) if n else np.zeros(len(ids)), cos_q.mean(axis=1) if n else np.zeros(len(ids)),
                    np.where(candidates.best_query >= 0, candidates.best_query, MISSING_RANK),
                    candidates.ranks["queries"], np.full(len(ids), n)]
        if words:
            columns += _word_columns(candidates)
    if context:
        columns += [np.asarray([(now_ms - news.published_ms.get(a, now_ms)) / 3_600_000 for a in ids]),
                    np.asarray([news.popularity.get(a, 0.0) for a in ids])]
    if row is not None:
        columns += [np.full(len(ids), np.nan if row.get(name) is None else float(row[name])) for name in USER_FEATURES]
    return np.stack([np.asarray(c, dtype=np.float32) for c in columns], axis=1) if ids else \
        np.zeros((0, len(columns)), np.float32)


def feature_names(with_queries: bool, context: bool = False, user: bool = False, words: bool = False) -> list[str]:
    return list(BASE_FEATURES) + (list(QUERY_FEATURES) if with_queries else []) + \
        (list(WORD_FEATURES) if with_queries and words else []) + \
        (list(CONTEXT_FEATURES) if context else []) + (list(USER_FEATURES) if user else [])


@dataclass
class Ranked:
    """One recommended article and why it is a candidate."""

    article_id: str
    score: float
    channels: list[str]  # the recall channels that brought it
    query: str | None  # the user's query most similar to it, when the query channel brought it

    def reason(self) -> str:
        parts = []
        if "centroid" in self.channels:
            parts.append("history centroid")
        if "queries" in self.channels:
            parts.append(f"query {self.query!r}" if self.query else "queries")
        return " + ".join(parts)


class Ranker:
    """A trained LightGBM ranker and the feature set it was trained on."""

    def __init__(self, booster, with_queries: bool, depth: int = DEPTH, meta: dict | None = None,
                 popularity: dict[str, float] | None = None, context: bool = False, user: bool = False,
                 query_search: str = "dense", words: bool = False):
        self.booster, self.with_queries, self.depth, self.context = booster, with_queries, depth, context
        self.user, self.query_search = user, check_search(query_search)
        self.words = bool(words and with_queries)
        if self.words and self.query_search != "hybrid":
            raise RankerError("the word features need the query texts searched by their words: a ranker with them "
                              "gathers its candidates by the hybrid search (query_search='hybrid')")
        self.meta = dict(meta or {})
        self.popularity = dict(popularity or {})

    def feature_names(self) -> list[str]:
        return feature_names(self.with_queries, self.context, self.user, self.words)

    def _check_news(self, news: NewsIndex) -> None:
        """A ranker trained on hybrid candidates needs the word index to gather them the same way."""
        if self.query_search == "hybrid" and news.lexical is None:
            raise RankerError("this ranker was trained on the query channel's hybrid search (embedding and words), "
                              "but the news index has no word index: its catalogue.parquet needs a title column")

    def score(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0)
        return np.asarray(self.booster.predict(x), dtype=np.float64)

    def rank(self, news: NewsIndex, row: dict, now_ms: int, k: int = 10, exclude=()) -> list[Ranked]:
        """The top ``k`` for a user's feature row (``interest_vector``, ``queries``, ``query_embeddings``; a user
        without features gets ``[]``), skipping ``exclude``."""
        if not row or row.get("interest_vector") is None:
            return []
        self._check_news(news)
        candidates = gather(news, row["interest_vector"], row.get("query_embeddings"), self.depth, exclude,
                            row.get("queries") if self.query_search == "hybrid" else None)
        x = features(news, candidates, now_ms, self.with_queries, self.context, row if self.user else None,
                     self.words)
        return self._top(candidates, self.score(x), row, k)

    def rank_many(self, news: NewsIndex, rows: list[dict], now_ms: int, k: int = 10) -> list[list[Ranked]]:
        """:meth:`rank` for many users at once (one search per channel and one model call for all of them), in the
        order of ``rows``; a user without features gets ``[]``."""
        live = [i for i, r in enumerate(rows) if r and r.get("interest_vector") is not None]
        out: list[list[Ranked]] = [[] for _ in rows]
        if not live:
            return out
        self._check_news(news)
        candidates = gather_many(news, [rows[i] for i in live], self.depth, self.query_search == "hybrid")
        blocks = [features(news, c, now_ms, self.with_queries, self.context, rows[i] if self.user else None,
                           self.words) for i, c in zip(live, candidates)]
        scores = self.score(np.concatenate(blocks))
        offset = 0
        for i, cands, block in zip(live, candidates, blocks):
            out[i] = self._top(cands, scores[offset:offset + len(block)], rows[i], k)
            offset += len(block)
        return out

    @staticmethod
    def _top(candidates: Candidates, scores: np.ndarray, row: dict, k: int) -> list[Ranked]:
        queries = list(row.get("queries") if row.get("queries") is not None else [])
        out = []
        for i in np.argsort(-scores, kind="stable")[:k]:
            channels = candidates.channels_of(int(i))
            best = int(candidates.best_query[i])
            query = queries[best] if "queries" in channels and 0 <= best < len(queries) else None
            out.append(Ranked(candidates.ids[i], float(scores[i]), channels, query))
        return out

    def save(self, folder: Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / "model.txt"))
        meta = {**self.meta, "with_queries": self.with_queries, "context": self.context, "user": self.user,
                "query_search": self.query_search, "words": self.words, "depth": self.depth,
                "features": self.feature_names()}
        (folder / "ranker.json").write_text(json.dumps(meta, indent=1, default=float) + "\n")
        (folder / "popularity.json").write_text(json.dumps({a: round(v, 4) for a, v in self.popularity.items()
                                                            if v > 0}))
        return folder

    @classmethod
    def load(cls, folder: Path) -> "Ranker":
        import lightgbm

        folder = Path(folder)
        if not (folder / "model.txt").exists() or not (folder / "ranker.json").exists():
            raise RankerError(f"no trained ranker in {folder} (model.txt and ranker.json): train one with "
                              f"`interests train ranker`")
        meta = json.loads((folder / "ranker.json").read_text())
        popularity = json.loads((folder / "popularity.json").read_text()) if (folder / "popularity.json").exists() \
            else {}
        booster = lightgbm.Booster(model_file=str(folder / "model.txt"))
        names = feature_names(bool(meta["with_queries"]), bool(meta.get("context")), bool(meta.get("user")),
                              bool(meta.get("words")))
        if booster.num_feature() != len(names):
            raise RankerError(f"{folder}: the model has {booster.num_feature()} features, ranker.json names "
                              f"{len(names)}")
        return cls(booster, bool(meta["with_queries"]), int(meta.get("depth", DEPTH)), meta, popularity,
                   bool(meta.get("context")), bool(meta.get("user")), str(meta.get("query_search", "dense")),
                   bool(meta.get("words")))


def log_popularity(clicks_ms: dict[str, list[int]], now_ms: int, window_days: float = 3.0) -> dict[str, float]:
    """Article -> log(1 + clicks in the ``window_days`` before ``now_ms``) from click times per article."""
    lo = now_ms - int(window_days * 86_400_000)
    out = {}
    for article, times in clicks_ms.items():
        n = sum(lo <= t < now_ms for t in times)
        if n:
            out[article] = math.log1p(n)
    return out
