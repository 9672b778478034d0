"""training.data.lee: the Lee corpus (gensim's wheel) as an article file; training.benchmark's corpus sizing."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from training.benchmark import ARTICLES_PER_TOPIC, sized_for
from training.config import SimConfig
from training.data import lee
from training.data.corpus import ARTICLE_COLUMNS, load_articles


def test_the_title_is_the_first_sentence_and_the_body_the_rest():
    title, body = lee.split_title("Storm closes the harbour.  Ferries stop at noon. More tomorrow.")
    assert (title, body) == ("Storm closes the harbour.", "Ferries stop at noon. More tomorrow.")
    assert lee.split_title("U.S. troops leave Kabul. Talks go on.") == ("U.S. troops leave Kabul.", "Talks go on.")


def test_a_long_first_sentence_is_cut_and_the_body_keeps_the_whole_text():
    text = " ".join(f"w{i}" for i in range(30)) + ". Second."
    title, body = lee.split_title(text, max_words=5)
    assert title == "w0 w1 w2 w3 w4 ..."
    assert body == text


def test_articles_get_ids_made_up_dates_in_file_order_and_load_as_an_article_file(tmp_path, monkeypatch):
    texts = [f"Story {i} happened in town {i}. It was news." for i in range(10)]
    frame = lee.lee_articles(texts)
    assert frame["article_id"].tolist() == [f"lee-{i}" for i in range(10)]
    dates = pd.to_datetime(frame["published_at"])
    assert dates.is_monotonic_increasing and dates.iloc[0] == lee.START
    assert dates.iloc[-1] - dates.iloc[0] < pd.Timedelta(days=lee.SPAN_DAYS)
    monkeypatch.setattr(lee, "lee_texts", lambda: texts)
    path, n = lee.write_lee(tmp_path / "lee.csv")
    loaded = load_articles(path)
    assert n == 10 and list(loaded.columns) == ARTICLE_COLUMNS and len(loaded) == 10
    assert loaded["title"].iloc[3] == "Story 3 happened in town 3." and set(loaded["category"]) == {"general"}


def test_no_text_is_an_error():
    with pytest.raises(ValueError, match="no articles"):
        lee.lee_articles([])


def test_the_files_are_read_as_windows_1252_when_they_are_not_utf8(tmp_path):
    wheel = tmp_path / "fake.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(lee.MEMBERS[0], "Prices rose \xa35 today. More.\n\n".encode("cp1252"))
        archive.writestr(lee.MEMBERS[1], "Second story here.\n".encode("utf-8"))
    assert lee.lee_texts(wheel) == ["Prices rose \u00a35 today. More.", "Second story here."]


def test_the_real_corpus_from_gensims_wheel():
    try:
        wheel = lee.gensim_wheel()
    except RuntimeError as exc:  # no PyPI: the real-corpus test cannot run here
        pytest.skip(str(exc))
    frame = lee.lee_articles(lee.lee_texts(wheel))
    assert len(frame) == 350  # 300 background articles and 50 test articles
    assert frame["title"].str.len().gt(10).all()
    assert "bushfire" in frame["body"].iloc[0]


def test_a_small_corpus_gets_fewer_topics_and_the_default_corpus_keeps_them():
    cfg = SimConfig()
    assert sized_for(cfg, 3_824).n_topics == cfg.n_topics
    assert sized_for(cfg, 340).n_topics == 340 // ARTICLES_PER_TOPIC
    assert sized_for(cfg, 10).n_topics == 2


def test_a_benchmark_over_an_article_file_is_cached_by_the_files_name_and_content(tmp_path, monkeypatch):
    import json
    from dataclasses import asdict

    import models.embeddings
    import training.data.corpus
    import training.simulate
    from training import benchmark

    made = []

    def fake_simulate(articles, tweets, embedder, cfg, out):
        made.append((len(articles), cfg.n_topics))
        (out / "meta.json").write_text(json.dumps({"config": asdict(cfg)}, default=str))

    monkeypatch.setattr(benchmark, "cache_dir", lambda: tmp_path)
    monkeypatch.setattr(training.simulate, "simulate", fake_simulate)
    monkeypatch.setattr(training.data.corpus, "load_tweets", lambda: None)
    monkeypatch.setattr(models.embeddings, "MiniLMEmbedder", lambda: None)
    texts = [f"Story number {i} about topic {i % 3}. Body." for i in range(60)]
    path = tmp_path / "corpus.csv"
    lee.lee_articles(texts).to_csv(path, index=False)
    out = benchmark.simulated(0, 10, "lexical", path)
    assert out.name == "sim-seed0-users10-lexical-corpus" and made == [(60, 2)]
    assert benchmark.simulated(0, 10, "lexical", path) == out and len(made) == 1  # reused
    lee.lee_articles(texts[:-1]).to_csv(path, index=False)  # the file changed: simulated again
    assert benchmark.simulated(0, 10, "lexical", path) == out and made[-1] == (59, 2)
