"""The serving-side recall path: an exact FAISS index over article embeddings, searched with a user's query
embeddings, the per-query result lists fused into one ranked list of article ids.

Vectors: the index stores unit-normalised float32 rows in a ``faiss.IndexFlatIP``, so inner product is cosine.
Input that is not unit-normalised (articles or queries) is normalised here, not rejected, because embedders differ
in whether they normalise; an all-zero row has no direction and raises ``ValueError``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

FUSION_METHODS = ("rrf", "max", "roundrobin")
# How the query channel searches the news index with a user's queries: by embedding and by words (BM25,
# models/lexical.py), fused; or by embedding only.
QUERY_SEARCHES = ("hybrid", "dense")
INDEX_FILE = "index.faiss"
IDS_FILE = "ids.json"


def _faiss():
    """faiss, imported on first use: modules that only name the index (training on a GPU machine without faiss)
    import this one without it."""
    import faiss

    return faiss


def _normalise(x: np.ndarray, name: str, dim: int | None = None) -> np.ndarray:
    """Float32, C-contiguous, unit rows; a 1-D vector is one row."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n, d), got shape {x.shape}")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"{name} have dimension {x.shape[1]} but the index has dimension {dim}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError(f"{name} contain an all-zero row: it has no direction to search with")
    return np.ascontiguousarray(x / norms, dtype=np.float32)


class ArticleIndex:
    """Exact cosine search over article embeddings (``faiss.IndexFlatIP`` on unit vectors)."""

    def __init__(self, ids: Sequence[str], embeddings: np.ndarray) -> None:
        """Build from article ``ids`` and their embeddings, shape ``(len(ids), d)`` (normalised here).

        Raises ``ValueError`` when the counts differ, the ids repeat, or a row is all zeros.
        """
        ids = [str(i) for i in ids]
        emb = np.asarray(embeddings, dtype=np.float32)
        if emb.ndim != 2:
            raise ValueError(f"embeddings must be a 2-D array (n, d), got shape {emb.shape}")
        if len(ids) != emb.shape[0]:
            raise ValueError(f"{len(ids)} ids but {emb.shape[0]} embedding rows")
        if len(set(ids)) != len(ids):
            raise ValueError("article ids must be unique")
        index = _faiss().IndexFlatIP(emb.shape[1])
        if ids:
            index.add(_normalise(emb, "embeddings"))
        self._init(ids, index)

    def _init(self, ids: list[str], index: "faiss.Index") -> None:  # noqa: F821
        self._ids = ids
        self._id_set = set(ids)
        self._row = {article: i for i, article in enumerate(ids)}
        self._index = index

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return int(self._index.d)

    @property
    def ids(self) -> list[str]:
        """Article ids in index order (a copy)."""
        return list(self._ids)

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The unit vectors of the articles ``ids`` that the index holds, in order, shape ``(n, d)``; ids it does not
        hold are skipped."""
        rows = [self._row[str(i)] for i in ids if str(i) in self._row]
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._index.reconstruct_batch(np.asarray(rows, dtype=np.int64)), dtype=np.float32)

    def search(self, query_vectors: np.ndarray, k: int,
               exclude: Collection[str] = ()) -> list[list[tuple[str, float]]]:
        """Per query (rows of ``query_vectors``; a 1-D vector is one query), the top ``k`` (id, cosine) pairs, best
        first, skipping ids in ``exclude`` (e.g. articles the user has read).

        Fetches ``k + |exclude ∩ index|`` neighbours and filters, so each list has ``k`` items whenever enough
        non-excluded articles exist. Raises ``ValueError`` for ``k < 1`` or a dimension mismatch.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        queries = np.asarray(query_vectors, dtype=np.float32)
        if queries.size == 0:
            return []
        q = _normalise(queries, "query vectors", self.dim)
        if not self._ids:
            return [[] for _ in range(q.shape[0])]
        excluded = {str(i) for i in exclude}
        fetch = min(len(self._ids), k + len(excluded & self._id_set))
        scores, labels = self._index.search(q, fetch)
        results: list[list[tuple[str, float]]] = []
        for row_scores, row_labels in zip(scores, labels):
            hits: list[tuple[str, float]] = []
            for score, label in zip(row_scores, row_labels):
                if label < 0:
                    continue
                article = self._ids[label]
                if article in excluded:
                    continue
                hits.append((article, float(score)))
                if len(hits) == k:
                    break
            results.append(hits)
        return results

    def save(self, path: str | Path) -> None:
        """Write the index to the directory ``path`` (created): ``index.faiss`` (faiss.write_index) and
        ``ids.json`` (the ids in index order)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        _faiss().write_index(self._index, str(path / INDEX_FILE))
        (path / IDS_FILE).write_text(json.dumps(self._ids), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> ArticleIndex:
        """Read an index written by :meth:`save` from the directory ``path``."""
        path = Path(path)
        index = _faiss().read_index(str(path / INDEX_FILE))
        ids = json.loads((path / IDS_FILE).read_text(encoding="utf-8"))
        if index.ntotal != len(ids):
            raise ValueError(f"corrupt index at {path}: {index.ntotal} vectors but {len(ids)} ids")
        obj = cls.__new__(cls)
        obj._init([str(i) for i in ids], index)
        return obj


def fuse(result_lists: list[list[tuple[str, float]]], k: int, method: str = "rrf", rrf_k: int = 60,
         weights: list[float] | None = None) -> list[str]:
    """Fuse per-query (id, score) lists (each best first) into the top ``k`` ids.

    - ``"rrf"``: reciprocal rank fusion, score(id) = sum over lists containing id of w / (rrf_k + rank), rank
      from 1 within that list and ``w`` the list's weight (``weights``, one per list; 1 each when None); ties
      broken by the id's best raw score (higher first), then by id.
    - ``"max"``: by each id's best raw score over all lists (higher first), ties by id.
    - ``"roundrobin"``: rank 1 of list 1, rank 1 of list 2, ..., then rank 2 of each list, and so on, skipping ids
      already taken.

    Within one list only an id's first (best) occurrence counts. Raises ``ValueError`` for an unknown method or
    ``k < 1``.
    """
    if method not in FUSION_METHODS:
        raise ValueError(f"unknown fusion method {method!r}; valid methods: {', '.join(FUSION_METHODS)}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if weights is not None and len(weights) != len(result_lists):
        raise ValueError(f"{len(weights)} weights for {len(result_lists)} lists")
    deduped = [_first_occurrences(lst) for lst in result_lists]
    if method == "roundrobin":
        out: list[str] = []
        seen: set[str] = set()
        for rank in range(max((len(lst) for lst in deduped), default=0)):
            for lst in deduped:
                if rank < len(lst) and lst[rank][0] not in seen:
                    seen.add(lst[rank][0])
                    out.append(lst[rank][0])
                    if len(out) == k:
                        return out
        return out
    best: dict[str, float] = {}
    rrf: dict[str, float] = {}
    for lst, weight in zip(deduped, weights if weights is not None else [1.0] * len(deduped)):
        for rank, (item, score) in enumerate(lst, start=1):
            best[item] = max(best.get(item, -np.inf), score)
            rrf[item] = rrf.get(item, 0.0) + weight / (rrf_k + rank)
    if method == "rrf":
        order = sorted(rrf, key=lambda i: (-rrf[i], -best[i], i))
    else:
        order = sorted(best, key=lambda i: (-best[i], i))
    return order[:k]


def _first_occurrences(lst: list[tuple[str, float]]) -> list[tuple[str, float]]:
    seen: set[str] = set()
    out = []
    for item, score in lst:
        if item not in seen:
            seen.add(item)
            out.append((item, float(score)))
    return out


def check_search(name: str) -> str:
    """``name`` when it is one of :data:`QUERY_SEARCHES`; a ``ValueError`` naming them otherwise."""
    if name not in QUERY_SEARCHES:
        raise ValueError(f"unknown query search {name!r}; choose from {', '.join(QUERY_SEARCHES)}")
    return name


def retrieve(index: ArticleIndex, query_vectors: np.ndarray, k: int = 10, exclude: Collection[str] = (),
             method: str = "rrf", per_query: int | None = None, lexical=None,
             texts: Sequence[str] | None = None) -> list[str]:
    """Recall ``k`` article ids for one user: search each query vector for ``per_query or 2 * k`` candidates
    (skipping ``exclude``), then :func:`fuse` the lists with ``method``. Zero queries give ``[]``.

    Hybrid search: with ``lexical`` (a :class:`models.lexical.LexicalIndex`) and the queries' ``texts``, each query
    is also searched by its words, and those lists (a query with no indexed word adds none) join the fusion beside
    the vector lists."""
    if method not in FUSION_METHODS:
        raise ValueError(f"unknown fusion method {method!r}; valid methods: {', '.join(FUSION_METHODS)}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    lists = index.search(query_vectors, per_query or 2 * k, exclude=exclude) \
        if np.asarray(query_vectors).size else []
    if lexical is not None and texts:
        lists += [hits for hits in lexical.search(list(texts), per_query or 2 * k, exclude=exclude) if hits]
    return fuse(lists, k, method=method) if lists else []
