"""The space the simulated users' topics are clusters of (``SimConfig.topics``): the retriever's own MiniLM
embeddings, or TF-IDF of title and body reduced by SVD (a ground truth the retriever does not define); and the
embedding cache the simulator uses."""

from __future__ import annotations

import hashlib
import logging

import numpy as np
import pandas as pd
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from common.settings import cache_dir
from models.embeddings import Embedder
from training.config import SimConfig

log = logging.getLogger(__name__)
TOKEN = r"(?u)\b[a-zA-Z][a-zA-Z]{2,}\b"  # the words of TF-IDF: letters only, three or more


def embed_cached(embedder: Embedder, texts: list[str], tag: str) -> np.ndarray:
    """``embedder.embed(texts)``, cached under ``cache_dir()/data/`` by a hash of the embedder and the texts."""
    digest = hashlib.sha256(f"{embedder.name}|{embedder.dim}\x00".encode())
    for text in texts:
        digest.update(text.encode("utf-8", "replace") + b"\x00")
    path = cache_dir() / "data" / f"{tag}-{digest.hexdigest()[:24]}.npy"
    if path.exists():
        log.info("embeddings of %d %s from the cache %s", len(texts), tag, path)
        return np.load(path)
    log.info("embedding %d %s with %s", len(texts), tag, embedder.name)
    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path.with_suffix(".tmp.npy"), vectors)
    path.with_suffix(".tmp.npy").replace(path)  # atomic: a half-written cache file is never read
    return vectors


TOPIC_SPACES = ("embedding", "lexical")


def topic_space(arts: pd.DataFrame, emb: np.ndarray, embedder: Embedder, cfg: SimConfig):
    """``(article vectors to cluster, texts -> vectors in the same space)`` for ``cfg.topics``."""
    if cfg.topics == "embedding":
        return emb.astype(np.float64), lambda texts, tag: embed_cached(embedder, texts, tag)
    if cfg.topics != "lexical":
        raise ValueError(f"unknown topic space {cfg.topics!r}; choose from {', '.join(TOPIC_SPACES)}")
    vec = TfidfVectorizer(stop_words="english", token_pattern=TOKEN, max_df=0.5, min_df=2, sublinear_tf=True)
    tfidf = vec.fit_transform((arts["title"] + " " + arts["body"]).tolist())
    svd = TruncatedSVD(n_components=cfg.lexical_dims, random_state=cfg.seed).fit(tfidf)

    def project(texts: list[str], tag: str = "") -> np.ndarray:
        z = svd.transform(vec.transform(texts))
        return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)

    return project((arts["title"] + " " + arts["body"]).tolist()), project
