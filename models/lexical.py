"""A BM25 index over the articles' words: the lexical half of the query channel's search.

The query channel sends each query to the news index the way a search engine would: by meaning (the article
embeddings, ``models/retrieval.py``) and by words (this index), and fuses the lists. A search query names things
("alcaraz wimbledon final", "fed rate decision") that an article's words match exactly and a 384-dimension sentence
embedding blurs; a history centroid has no words, so this half belongs to the query channel only.

Okapi BM25 (``k1`` 1.2, ``b`` 0.75, idf ``log(1 + (N - df + 0.5) / (df + 0.5))``) over lower-case words of two or
more letters or digits, the project's stop words removed (``models/text.py``: function words and the words every
news query has, "news", "latest", "today"; not scikit-learn's list, which drops "interest", "fire" and "bill"), of
each article's title and the start of its body. Exact: one sparse row per query term, summed; built in about a second for a few thousand articles.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from models.text import STOPWORDS

K1, B = 1.2, 0.75
BODY_CHARS = 2000  # how much of an article's body is indexed beside its title
TOKEN = r"(?u)\b\w\w+\b"


def article_text(title, body=None) -> str:
    """What the index reads of one article: its title and the first :data:`BODY_CHARS` of its body."""
    body = "" if body is None or (isinstance(body, float) and np.isnan(body)) else str(body)
    return f"{title or ''} {body[:BODY_CHARS]}".strip()


class LexicalIndex:
    """Okapi BM25 over article texts, searched with query strings."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str]):
        """Build from article ``ids`` and their texts (:func:`article_text`). Raises ``ValueError`` when the counts
        differ or the ids repeat."""
        from scipy import sparse
        from sklearn.feature_extraction.text import CountVectorizer

        ids = [str(i) for i in ids]
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids but {len(texts)} texts")
        if len(set(ids)) != len(ids):
            raise ValueError("article ids must be unique")
        self._ids = ids
        self._row = {a: i for i, a in enumerate(ids)}
        vectorizer = CountVectorizer(token_pattern=TOKEN, stop_words=sorted(STOPWORDS), lowercase=True, dtype=np.float32)
        try:
            counts = vectorizer.fit_transform([str(t) for t in texts]).tocoo()
        except ValueError:  # no article has a single indexable word (or there are none)
            self._vocabulary, self._analyse, self._weights = {}, vectorizer.build_analyzer(), None
            return
        n = counts.shape[0]
        lengths = np.asarray(counts.sum(axis=1), dtype=np.float32).ravel()
        mean_length = float(lengths.mean()) or 1.0
        df = np.bincount(counts.col, minlength=counts.shape[1]).astype(np.float32)
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        tf = counts.data
        weights = tf * (K1 + 1) / (tf + K1 * (1 - B + B * lengths[counts.row] / mean_length)) * idf[counts.col]
        # [terms, articles]: a query's scores are the sum of its terms' rows
        self._weights = sparse.csr_matrix((weights.astype(np.float32), (counts.col, counts.row)),
                                          shape=(counts.shape[1], n))
        self._vocabulary = vectorizer.vocabulary_
        self._analyse = vectorizer.build_analyzer()

    def __len__(self) -> int:
        return len(self._ids)

    def terms(self, query: str) -> list[str]:
        """The query's words the index knows (repeats kept: a repeated word counts twice)."""
        return [t for t in self._analyse(query) if t in self._vocabulary]

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every article for ``query`` (zeros when none of its words is indexed)."""
        rows = [self._vocabulary[t] for t in self.terms(query)]
        if not rows or self._weights is None:
            return np.zeros(len(self._ids), dtype=np.float32)
        return np.asarray(self._weights[rows].sum(axis=0), dtype=np.float32).ravel()

    def match(self, scores: np.ndarray, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """How well queries' words match the articles ``ids``, from the queries' :meth:`scores` stacked
        (``[queries, articles]``): ``(scores [ids, queries], best [queries])``, the BM25 score of each (article,
        query) pair and each query's best score over the whole index; an id the index does not hold scores 0."""
        scores = np.atleast_2d(np.asarray(scores, dtype=np.float32))
        rows = np.asarray([self._row.get(str(a), -1) for a in ids], dtype=np.int64)
        out = np.zeros((len(rows), len(scores)), dtype=np.float32)
        known = rows >= 0
        out[known] = scores[:, rows[known]].T
        best = scores.max(axis=1) if scores.shape[1] else np.zeros(len(scores), dtype=np.float32)
        return out, best

    def top(self, scores: np.ndarray, k: int, exclude: Collection[str] = ()) -> list[tuple[str, float]]:
        """The top ``k`` (id, score) pairs of one query's :meth:`scores` with a positive score, best first (ties by
        index order), skipping ``exclude``. Raises ``ValueError`` for ``k < 1``."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        excluded = {str(i) for i in exclude}
        hits: list[tuple[str, float]] = []
        positive = np.flatnonzero(scores > 0)
        fetch = min(len(positive), k + len(excluded))
        if fetch:
            top = positive[np.argpartition(-scores[positive], fetch - 1)[:fetch]] if fetch < len(positive) \
                else positive
            for j in top[np.lexsort((top, -scores[top]))]:
                if self._ids[j] in excluded:
                    continue
                hits.append((self._ids[j], float(scores[j])))
                if len(hits) == k:
                    break
        return hits

    def search(self, queries: Sequence[str], k: int, exclude: Collection[str] = ()) -> list[list[tuple[str, float]]]:
        """Per query, the top ``k`` (id, score) pairs with a positive score, best first (ties by index order),
        skipping ``exclude`` (:meth:`top` of its :meth:`scores`). A query none of whose words is indexed gets ``[]``.
        Raises ``ValueError`` for ``k < 1``."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        return [self.top(self.scores(query), k, exclude) for query in queries]

    @classmethod
    def from_catalogue(cls, catalogue) -> "LexicalIndex":
        """From a catalogue frame with ``article_id`` and ``title`` (``body`` when it has one)."""
        bodies = catalogue["body"] if "body" in catalogue.columns else [None] * len(catalogue)
        texts = [article_text(t, b) for t, b in zip(catalogue["title"], bodies)]
        return cls(catalogue["article_id"].astype(str).tolist(), texts)
