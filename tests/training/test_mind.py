"""training.data.mind on the synthetic MIND-format fixture (scripts/make_mind_fixture.py; no MIND row is used)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from schemas import default_codec
from streams.replay import to_message
from training.data.corpus import ARTICLE_COLUMNS
from training.data.mind import load_mind

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "mind_small"


def _fixture_rows():
    news = [line.split("\t") for line in (FIXTURE / "news.tsv").read_text().splitlines()]
    behaviors = [line.split("\t") for line in (FIXTURE / "behaviors.tsv").read_text().splitlines()]
    return news, behaviors


@pytest.fixture(scope="module")
def mind():
    return load_mind(FIXTURE)


def _ms(ts) -> int:
    return int(pd.Timestamp(ts).value // 1_000_000)


def test_fixture_is_regenerated_identically(tmp_path):
    script = Path(__file__).resolve().parents[2] / "scripts" / "make_mind_fixture.py"
    spec = importlib.util.spec_from_file_location("make_mind_fixture", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--out", str(tmp_path)])
    for name in ("news.tsv", "behaviors.tsv"):
        assert (tmp_path / name).read_bytes() == (FIXTURE / name).read_bytes()


def test_every_event_encodes_as_a_click_message(mind):
    codec = default_codec()
    assert mind.events
    for event in mind.events:
        assert set(event) == {"type", "event_id", "user_id", "ts", "article_id", "title", "category", "dwell_ms"}
        kind, user, value = to_message(codec, event)
        assert kind == "click" and user == event["user_id"] and value[:2] == b"\xc3\x01"
    assert len({e["event_id"] for e in mind.events}) == len(mind.events)
    assert [e["ts"] for e in mind.events] == sorted(e["ts"] for e in mind.events)


def test_counts_match_the_fixture(mind):
    news, behaviors = _fixture_rows()
    shown = [item for row in behaviors for item in row[4].split()]
    clicks = [item for item in shown if item.endswith("-1")]
    first_history = {}
    for row in behaviors:
        first_history.setdefault(row[1], row[3].split())  # rows are in time order
    assert len(mind.articles) == len(news) == 30
    assert len(mind.impressions) == len(shown)
    assert int(mind.impressions["clicked"].sum()) == len(clicks)
    history_events = [e for e in mind.events if e["event_id"].startswith("mind-h-")]
    assert len(history_events) == sum(len(h) for h in first_history.values())
    impression_clicks = len(mind.events) - len(history_events)
    assert impression_clicks + sum(len(t) for t in mind.targets.values()) == len(clicks)
    assert mind.impressions["user_id"].nunique() == 12


def test_default_cutoff_splits_impressions_80_20(mind):
    times = sorted({_ms(ts) for ts in mind.impressions["ts"]})
    before = sum(t < _ms(mind.cutoff) for t in times)
    assert before == int(len(times) * 0.8)


def test_events_precede_the_cutoff_and_targets_follow_it(mind):
    cutoff = _ms(mind.cutoff)
    assert all(e["ts"] < cutoff for e in mind.events)
    clicked = mind.impressions[mind.impressions["clicked"]]
    for user, targets in mind.targets.items():
        rows = clicked[(clicked["user_id"] == user) & (clicked["ts"] >= mind.cutoff)]
        assert targets == rows.sort_values("ts", kind="stable")["article_id"].tolist()
        assert rows["ts"].min() >= mind.cutoff


def test_history_clicks_come_first_one_minute_apart_in_history_order(mind):
    _, behaviors = _fixture_rows()
    first_seen = mind.impressions.groupby("user_id")["ts"].min()
    for user, group in pd.DataFrame(mind.events).groupby("user_id"):
        history = group[group["event_id"].str.startswith("mind-h-")]
        others = group[~group["event_id"].str.startswith("mind-h-")]
        if history.empty:
            continue
        expected = next(row[3].split() for row in behaviors if row[1] == user)
        assert history["article_id"].tolist() == expected
        assert (history["ts"].diff().dropna() == 60_000).all()
        assert history["ts"].max() == min(_ms(first_seen[user]), _ms(mind.cutoff)) - 60_000
        assert others.empty or history["ts"].max() < others["ts"].min()


def test_users_with_an_empty_history_only_have_impression_clicks(mind):
    _, behaviors = _fixture_rows()
    empty = {row[1] for row in behaviors if not row[3].strip()}
    assert empty == {"U3", "U8", "U12"}
    assert not [e for e in mind.events if e["user_id"] in empty and e["event_id"].startswith("mind-h-")]


def test_articles_have_the_shared_shape_and_first_appearance_times(mind):
    articles = mind.articles
    assert list(articles.columns) == ARTICLE_COLUMNS
    assert (articles["source"] == "mind").all() and articles["article_id"].is_unique
    assert str(articles["published_at"].dt.tz) == "UTC"
    assert set(articles["category"]) == {"sports", "finance", "health", "travel", "foodanddrink", "news"}
    published = dict(zip(articles["article_id"], articles["published_at"].map(_ms)))
    for event in mind.events:
        assert published[event["article_id"]] <= event["ts"]
    shown_first = mind.impressions.groupby("article_id")["ts"].min().map(_ms)
    assert all(published[a] <= t for a, t in shown_first.items())


def test_impressions_frame_has_labels_and_utc_times(mind):
    frame = mind.impressions
    assert {"user_id", "ts", "article_id", "clicked"} <= set(frame.columns)
    assert frame["clicked"].dtype == bool and str(frame["ts"].dt.tz) == "UTC"


def test_explicit_cutoff_moves_clicks_between_inputs_and_targets(mind):
    early = load_mind(FIXTURE, cutoff="2019-11-10")
    late = load_mind(FIXTURE, cutoff="2019-11-30T00:00:00Z")
    assert early.cutoff == pd.Timestamp("2019-11-10", tz="UTC")
    assert sum(map(len, early.targets.values())) > sum(map(len, mind.targets.values()))
    assert late.targets == {} and len(late.events) > len(mind.events)


def test_clicks_on_unknown_news_are_skipped(tmp_path):
    (tmp_path / "news.tsv").write_text("N1\tnews\tlocal\tBridge reopens\t\thttps://x.org/1\t[]\t[]\n")
    (tmp_path / "behaviors.tsv").write_text(
        "1\tU1\t11/9/2019 8:00:00 AM\tN1 N9\tN1-1 N9-1\n"
        "2\tU1\t11/10/2019 8:00:00 PM\t\tN9-1 N1-1\n"
    )
    data = load_mind(tmp_path, cutoff="2019-11-10")
    assert [e["article_id"] for e in data.events] == ["N1", "N1"]
    assert data.targets == {"U1": ["N1"]}
    assert data.stats["skipped_unknown_news"] == 3


def test_mind_fixture_becomes_a_benchmark_folder_the_evaluation_runs_on(tmp_path):
    from models.embeddings import HashEmbedder
    from training.data.folder import write_folder
    from training.evaluate import Benchmark, evaluate, make_baseline

    mind = load_mind(FIXTURE)
    summary = write_folder(mind.articles, mind.events, mind.targets, HashEmbedder(), tmp_path)
    assert summary["test_users"] == sum(1 for t in mind.targets.values() if t)
    bench = Benchmark.load(tmp_path)
    users = bench.eval_users()
    assert users and all(bench.targets[u] for u in users)
    result = evaluate(bench, "recent-titles", make_baseline("recent-titles"), HashEmbedder(), users, progress=False)
    assert result.summary["all"]["users"] == len(users)
    assert all(0.0 <= r["ndcg@10"] <= 1.0 for r in result.per_user)
