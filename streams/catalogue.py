"""Article vectors by id: a click or page view on a catalogue article takes the article's precomputed embedding
instead of embedding its title again; only free text (searches, posts, unknown pages) reaches the embedder, and a
free text embedded recently (a popular search, a page many users view) is taken from a bounded cache of the last
texts' vectors instead of being embedded again (``INTERESTS_TEXT_CACHE``).

The catalogue is a folder with ``catalogue.parquet`` (an ``article_id`` column) and ``article_embeddings.npy`` (one
row per article, in that order), the shape ``interests data simulate`` and the MIND loader write; it must come from
the stream's own embedding model (its dimension is checked at start). ``INTERESTS_CATALOGUE`` names it; without it
every signal is embedded, as before.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from models.embeddings import Embedder
from streams.lru import LRU

log = logging.getLogger(__name__)
CATALOGUE_DOMAINS = ("click", "browse")  # the signals whose item is an article of the catalogue


class Catalogue:
    """Unit vectors of the catalogue's articles, by article id."""

    def __init__(self, ids: list[str], vectors: np.ndarray):
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} article ids but vectors of shape {vectors.shape}")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = vectors / np.maximum(norms, 1e-12)
        self.row = {str(article): i for i, article in enumerate(ids)}

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __contains__(self, article_id) -> bool:
        return article_id in self.row

    def __len__(self) -> int:
        return len(self.row)

    def vector(self, article_id: str) -> np.ndarray:
        return self.vectors[self.row[article_id]]

    @classmethod
    def load(cls, folder: Path | str) -> "Catalogue":
        import pandas as pd

        folder = Path(folder)
        ids = pd.read_parquet(folder / "catalogue.parquet", columns=["article_id"])["article_id"].astype(str)
        return cls(ids.tolist(), np.load(folder / "article_embeddings.npy"))


def _field(signal, name: str):
    return signal.get(name) if isinstance(signal, dict) else getattr(signal, name, None)


class SignalVectors:
    """The vectors of a batch of signals (``Signal`` objects or their dicts), in order: the catalogue's for a click or
    page view on a known article, the text cache's for a text embedded lately, one embedder call for the rest (each
    distinct text once). Counts all three.

    The text cache holds the vectors of the last ``text_cache`` distinct texts (least recently used out first; 0
    turns it off). The embedders give a text the same vector whatever its batch (the ONNX one embeds texts one at a
    time), so a cached vector is the one the embedder would give again."""

    def __init__(self, embedder: Embedder, catalogue: Catalogue | None = None, text_cache: int = 0):
        if catalogue is not None and catalogue.dim != embedder.dim:
            raise ValueError(f"the catalogue's vectors have {catalogue.dim} dimensions, the stream's embedder "
                             f"({embedder.name}) {embedder.dim}: INTERESTS_CATALOGUE must come from the same model")
        self.embedder, self.catalogue = embedder, catalogue
        self._texts: LRU[str, np.ndarray] = LRU(text_cache, "the text cache size")
        self.from_catalogue = 0
        self.from_cache = 0  # taken from the text cache, or from an earlier row of the same batch
        self.embedded = 0  # distinct texts embedded

    def known(self, signal) -> bool:
        return (self.catalogue is not None and _field(signal, "domain") in CATALOGUE_DOMAINS
                and _field(signal, "item_id") in self.catalogue)

    def embed(self, signals: list) -> np.ndarray:
        """Shape ``(len(signals), dim)``, row ``i`` the vector of ``signals[i]``."""
        out: list = [None] * len(signals)
        rest: dict[str, list[int]] = {}  # text -> the rows that need it
        for i, signal in enumerate(signals):
            if self.known(signal):
                out[i] = self.catalogue.vector(_field(signal, "item_id"))
                self.from_catalogue += 1
                continue
            text = _field(signal, "text")
            cached = self._texts.get(text)
            if cached is not None:
                out[i] = cached
                self.from_cache += 1
            else:
                rest.setdefault(text, []).append(i)
        if rest:
            texts = list(rest)
            for text, vector in zip(texts, self.embedder.embed(texts)):
                vector = np.asarray(vector, dtype=np.float32)
                vector.flags.writeable = False  # shared by every row and batch that takes it
                for i in rest[text]:
                    out[i] = vector
                self._texts.put(text, vector)
            self.embedded += len(texts)
            self.from_cache += sum(len(rows) - 1 for rows in rest.values())  # repeats within the batch
        return np.stack(out) if out else np.zeros((0, self.embedder.dim), dtype=np.float32)
