"""The evaluation runner on a tiny hand-made benchmark folder (FAKE hashing embedder; no model)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models.embeddings import HashEmbedder
from training.evaluate import Benchmark, RecentTitles, evaluate, make_baseline, summarise
from training.report import bar_chart, table, write_json

T0 = 1_480_000_000_000  # Nov 2016
TITLES = {
    "a1": "Fed raises interest rates in December",
    "a2": "Fed signals more interest rate hikes next year",
    "a3": "Arsenal beat Chelsea in London derby",
    "a4": "Arsenal sign new striker in January window",
    "a5": "Paris climate agreement enters into force",
}


@pytest.fixture
def bench_dir(tmp_path):
    embedder = HashEmbedder()
    ids = list(TITLES)
    catalogue = pd.DataFrame({"article_id": ids, "title": [TITLES[i] for i in ids], "body": "", "category": "news",
                              "published_at": pd.Timestamp("2016-12-01", tz="UTC"), "url": "", "source": "test",
                              "topic": [0, 0, 1, 1, 2]})
    catalogue.to_parquet(tmp_path / "catalogue.parquet")
    np.save(tmp_path / "article_embeddings.npy", embedder.embed([TITLES[i] for i in ids]))
    events = [
        {"type": "click", "event_id": "e1", "user_id": "fin", "ts": T0, "article_id": "a1", "title": TITLES["a1"],
         "category": None, "dwell_ms": 60000},
        {"type": "search", "event_id": "e2", "user_id": "fin", "ts": T0 + 1000, "query": "fed interest rate hikes",
         "engine": None},
        {"type": "click", "event_id": "e3", "user_id": "foot", "ts": T0, "article_id": "a3", "title": TITLES["a3"],
         "category": None, "dwell_ms": 60000},
        {"type": "social", "event_id": "e4", "user_id": "foot", "ts": T0 + 1000, "action": "POST",
         "platform": "twitter", "text": "Arsenal need a new striker this January", "target_id": None},
    ]
    (tmp_path / "events.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    (tmp_path / "targets.json").write_text(json.dumps({"fin": ["a2"], "foot": ["a4"]}))
    (tmp_path / "users.json").write_text(json.dumps({
        "fin": {"interests": [{"topic": 0, "weight": 1.0}], "cold": False, "drift": None, "split": "test"},
        "foot": {"interests": [{"topic": 1, "weight": 1.0}], "cold": True, "drift": None, "split": "test"},
    }))
    return tmp_path


def test_benchmark_replays_histories_newest_first_and_records_reads(bench_dir):
    bench = Benchmark.load(bench_dir)
    assert [s["text"] for s in bench.histories["fin"]] == ["fed interest rate hikes", TITLES["a1"]]
    assert bench.clicked == {"fin": {"a1"}, "foot": {"a3"}}
    assert bench.eval_users() == ["fin", "foot"]
    assert bench.group_of("foot") == "cold" and bench.group_of("fin") == "warm"


@pytest.mark.parametrize("name", ["centroid", "recent-titles", "keyphrase"])
def test_each_baseline_finds_the_next_read_article_and_never_returns_a_read_one(bench_dir, name):
    bench = Benchmark.load(bench_dir)
    result = evaluate(bench, name, make_baseline(name), HashEmbedder(), bench.eval_users(), k=2, progress=False)
    by_user = {r["user_id"]: r for r in result.per_user}
    # two unread articles share each user's words; the target is one of them, the read article is excluded
    assert by_user["fin"]["recall@10"] == 1.0 and by_user["foot"]["recall@10"] == 1.0
    assert by_user["fin"]["mrr"] > 0 and by_user["foot"]["mrr"] > 0
    assert set(result.summary) == {"all", "cold", "warm"} and result.summary["all"]["users"] == 2


def test_summary_and_report_files(bench_dir, tmp_path):
    bench = Benchmark.load(bench_dir)
    result = evaluate(bench, "recent-titles", RecentTitles(), HashEmbedder(), bench.eval_users(), progress=False)
    data = [result.to_json()]
    text = table(data)
    assert "recent-titles" in text and "ndcg@10" in text
    write_json(data, {"seed": 0}, tmp_path / "out" / "eval.json")
    bar_chart(data, tmp_path / "out" / "eval.png")
    assert json.loads((tmp_path / "out" / "eval.json").read_text())["results"][0]["users"] == 2
    assert (tmp_path / "out" / "eval.png").read_bytes()[:4] == b"\x89PNG"


def test_summarise_skips_missing_values_and_empty_groups():
    rows = [{"group": "warm", **{m: 1.0 for m in ("recall@5", "recall@10", "ndcg@5", "ndcg@10", "mrr", "coverage",
                                                  "gen_ms")}, "ild": float("nan")}]
    summary = summarise(rows)
    assert set(summary) == {"all", "warm"}
    assert summary["all"]["ndcg@10"] == [1.0, 1.0, 1.0] and summary["all"]["ild"] == [None, None, None]


def test_noise_flags_are_kept_beside_the_classifier_and_read_back(bench_dir):
    class Spam:
        """FAKE noise filter: flags the search events and counts its calls (it embeds every text when real)."""

        calls = 0

        def predict(self, signals):
            Spam.calls += 1
            return [s["domain"] == "search" for s in signals]

    (bench_dir / "noise.joblib").write_bytes(b"classifier v1")
    first = Benchmark.load(bench_dir, noise_filter=Spam())
    again = Benchmark.load(bench_dir, noise_filter=Spam())
    assert Spam.calls == 1 and first.histories == again.histories
    assert all(s["domain"] != "search" for h in again.histories.values() for s in h)
    (bench_dir / "noise.joblib").write_bytes(b"classifier v2")  # another classifier: its own flags
    Benchmark.load(bench_dir, noise_filter=Spam())
    assert Spam.calls == 2


def test_measure_scores_generators_alone_and_beside_the_centroid(bench_dir):
    from training.benchmark import measure

    bench = Benchmark.load(bench_dir)
    bench.users["foot"]["split"] = "train"  # one user to choose the fusion on, one to report on
    run = measure(bench, ["centroid", "keyphrase"], HashEmbedder(), eval_users=10, train_users=10)
    assert run["test_users"] == 1 and run["train_users"] == 1
    assert set(run["channels"]) == {"centroid", "multi-centroid", "keyphrase", "centroid + keyphrase"}
    assert set(run["fusions"]) == {"keyphrase"} and "rule" in run["fusions"]["keyphrase"]
    assert [r["user_id"] for r in run["channel_per_user"]["centroid + keyphrase"]] == ["fin"]
    assert run["audit"] is None  # no served generator in this run


def test_measure_can_choose_the_fusion_on_another_simulations_test_users(bench_dir):
    from training.benchmark import measure

    bench = Benchmark.load(bench_dir)
    other = Benchmark.load(bench_dir)  # a second simulation: here the same folder, its users renamed
    other.users = {f"x-{u}": meta for u, meta in other.users.items()}
    other.histories = {f"x-{u}": h for u, h in other.histories.items()}
    other.targets = {f"x-{u}": t for u, t in other.targets.items()}
    bench.users["foot"]["split"] = "train"  # the measured simulation's training user is not used
    run = measure(bench, ["centroid", "keyphrase"], HashEmbedder(), eval_users=10, train_users=10, fusion_bench=other)
    assert run["train_users"] == 2 and run["fusion_users"].startswith("2 test users of ")  # both of the other's
    assert [r["user_id"] for r in run["channel_per_user"]["centroid + keyphrase"]] == ["fin"]  # reported on bench
