"""all-MiniLM-L6-v2 on ONNX Runtime with int8 weights, against the torch model on varied news-like texts: the same
dimension, unit vectors, and the same directions within the cosines the benchmark reports (the real model, from the
installed package; the ONNX file is exported once into a temporary cache)."""

from __future__ import annotations

import numpy as np
import pytest

from models.embeddings import MiniLMEmbedder, make_embedder
from models.onnx_embedder import OnnxMiniLMEmbedder, export

TEXTS = [
    "Fed raises interest rates again", "mortgage rates forecast", "Great goal by Saka tonight",
    "Sabalenka ends year as world number one for third straight season", "best sourdough starter",
    "Blue Origin's New Glenn lands booster on barge", "Scotland independence referendum poll",
    "Ebola vaccine trial results", "room temperature butter for baking", "arsenal chelsea derby tickets",
    "How to fix a leaking tap", "Tesla Model Y price cut in China", "UN climate report warns of 2.7C warming",
    "crypto exchange collapse", "Wimbledon final highlights", "", "a", "x" * 3000,
]


@pytest.fixture(scope="module")
def onnx_folder(tmp_path_factory):
    return export(tmp_path_factory.mktemp("onnx") / "minilm-int8")


def test_int8_vectors_point_where_the_torch_models_do(onnx_folder):
    onnx = OnnxMiniLMEmbedder(folder=onnx_folder)
    torch_vectors = MiniLMEmbedder().embed(TEXTS)
    vectors = onnx.embed(TEXTS)
    assert vectors.shape == torch_vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    cosine = (vectors * torch_vectors).sum(axis=1)
    news, degenerate = cosine[:-3], cosine[-3:]  # "", "a" and 3,000 x's (truncated) point less surely
    assert news.mean() >= 0.99 and news.min() >= 0.98 and degenerate.min() >= 0.95, cosine
    assert onnx.name == "all-MiniLM-L6-v2-onnx-int8" and onnx.embed([]).shape == (0, 384)
    # one text at a time (the default): a text's vector never depends on what it is embedded with
    np.testing.assert_array_equal(onnx.embed(TEXTS[3:1:-1]), vectors[[3, 2]])
    # in a batch, activations are quantised over the batch: the vectors move a little, not far
    batched = OnnxMiniLMEmbedder(folder=onnx_folder, batch_size=64).embed(TEXTS[:15])
    assert ((batched * vectors[:15]).sum(axis=1) >= 0.98).all()


def test_the_export_is_made_once_and_reused(onnx_folder):
    before = (onnx_folder / "model.onnx").stat().st_mtime_ns
    assert export(onnx_folder) == onnx_folder and (onnx_folder / "model.onnx").stat().st_mtime_ns == before


def test_make_embedder_knows_the_onnx_one():
    with pytest.raises(ValueError, match="minilm-onnx"):
        make_embedder("nope")
