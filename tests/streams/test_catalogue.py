"""Article vectors by id: clicks and page views on catalogue articles take the catalogue's vector, free text is
embedded (FAKE hashing embedder that records what it is asked to embed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from faust.types import TP

from models.embeddings import HashEmbedder
from schemas import default_codec
from streams import packing
from streams.agents import register
from streams.app import make_app
from streams.catalogue import Catalogue, SignalVectors
from streams.config import StreamsConfig
from streams.events import Signal
from tests.conftest import click, search


class Recording(HashEmbedder):
    def __init__(self, dim=16):
        super().__init__(dim)
        self.texts = []

    def embed(self, texts):
        self.texts += list(texts)
        return super().embed(texts)


def signal(domain, text, item_id=None):
    return Signal("e1", "u1", domain, domain, text, 0, item_id)


def test_known_articles_take_the_catalogue_vector_and_the_rest_one_embedder_call():
    embedder = Recording()
    catalogue = Catalogue(["a1", "a2"], np.eye(16, dtype=np.float32)[:2] * 3)
    vectors = SignalVectors(embedder, catalogue)
    batch = [signal("click", "Fed raises rates", "a1"), signal("search", "mortgage rates"),
             signal("browse", "Unknown page", "zz"), {"domain": "browse", "text": "A page", "item_id": "a2"},
             signal("social", "a post", "a1")]  # a post's item is not a catalogue article
    out = vectors.embed(batch)
    assert out.shape == (5, 16)
    np.testing.assert_allclose(out[0], np.eye(16)[0]) and np.testing.assert_allclose(out[3], np.eye(16)[1])
    assert embedder.texts == ["mortgage rates", "Unknown page", "a post"]
    np.testing.assert_allclose(out[1], HashEmbedder(16).embed(["mortgage rates"])[0])
    assert (vectors.from_catalogue, vectors.embedded) == (2, 3)
    assert SignalVectors(embedder).embed([signal("click", "x", "a1")]).shape == (1, 16)  # no catalogue: embedded
    assert vectors.embed([]).shape == (0, 16)


def test_a_catalogue_of_another_model_is_refused_and_a_folder_loads(tmp_path):
    with pytest.raises(ValueError, match="same model"):
        SignalVectors(HashEmbedder(8), Catalogue(["a1"], np.ones((1, 16))))
    with pytest.raises(ValueError, match="article ids"):
        Catalogue(["a1", "a2"], np.ones((1, 16)))
    pd.DataFrame({"article_id": ["a1", "a2"], "title": ["x", "y"]}).to_parquet(tmp_path / "catalogue.parquet")
    np.save(tmp_path / "article_embeddings.npy", np.ones((2, 16), dtype=np.float32))
    loaded = Catalogue.load(tmp_path)
    assert len(loaded) == 2 and "a2" in loaded and "a3" not in loaded
    np.testing.assert_allclose(np.linalg.norm(loaded.vector("a1")), 1.0, rtol=1e-6)


async def test_the_tracking_agent_uses_the_catalogue_for_a_known_click(tmp_path):
    cfg = StreamsConfig(state_dir=tmp_path, batch_size=2, batch_within_s=0.01, web_port=0, app_id="test-catalogue")
    app = make_app(cfg)
    app.finalize()
    app.flow_control.resume()
    embedder = Recording(dim=384)
    article = np.zeros(384, dtype=np.float32)
    article[7] = 1.0
    parts = register(app, cfg, embedder, catalogue=Catalogue(["a1"], article[None, :]))
    app.producer.key_partition = lambda topic, key: TP(topic, 0)
    codec = default_codec()
    async with parts.track.test_context() as agent:
        await agent.put(codec.encode("click_event", click(user="eve")), key=b"eve")  # article a1
    user = packing.unpack_user(parts.users[b"eve"])
    assert embedder.texts == [] and parts.vectors.from_catalogue == 1
    np.testing.assert_allclose(np.asarray(user["interest"]["vector"]), article, atol=1e-6)
    async with parts.track.test_context() as agent:
        await agent.put(codec.encode("search_event", search(user="eve")), key=b"eve")
    assert embedder.texts == ["mortgage rates forecast"] and parts.vectors.embedded == 1


def test_the_load_benchmarks_catalogue_holds_the_samples_clicked_articles(tmp_path):
    import json

    from streams.benchmarks.loadgen import write_sample_catalogue
    from streams.demo import SAMPLE

    folder = write_sample_catalogue(tmp_path / "cat", "hash")
    catalogue = Catalogue.load(folder)
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    clicks = {r["article_id"]: r["title"] for r in rows if r["type"] == "click"}
    assert len(catalogue) == len(clicks) == 85
    article, title = sorted(clicks.items())[7]
    np.testing.assert_allclose(catalogue.vector(article), HashEmbedder().embed([title])[0], atol=1e-6)
    assert not any(r["url"] in catalogue for r in rows if r["type"] == "browse")


def test_the_text_cache_embeds_a_text_once_while_it_is_among_the_last_n():
    embedder = Recording()
    vectors = SignalVectors(embedder, text_cache=2)
    first = vectors.embed([signal("search", "fed rates"), signal("search", "fed rates"), signal("social", "a post")])
    assert embedder.texts == ["fed rates", "a post"]  # a repeat within the batch is embedded once
    np.testing.assert_array_equal(first[0], first[1])
    again = vectors.embed([signal("search", "fed rates"), signal("browse", "a page")])
    assert embedder.texts == ["fed rates", "a post", "a page"]  # "fed rates" from the cache
    np.testing.assert_array_equal(again[0], first[0])
    vectors.embed([signal("social", "a post")])  # evicted by "a page" (the cache holds 2): embedded again
    assert embedder.texts[-1] == "a post"
    assert (vectors.embedded, vectors.from_cache) == (4, 2)
    out = vectors.embed([signal("search", "fed rates")])
    out[0, 0] += 1.0  # the batch's array is the caller's own: changing it leaves the cached vector as it was
    np.testing.assert_array_equal(vectors.embed([signal("search", "fed rates")])[0], first[0])


def test_without_a_text_cache_every_batch_embeds_its_texts():
    embedder = Recording()
    vectors = SignalVectors(embedder)
    vectors.embed([signal("search", "fed rates")])
    vectors.embed([signal("search", "fed rates")])
    assert embedder.texts == ["fed rates", "fed rates"]
