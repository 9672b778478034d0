"""The ranking latency benchmark's inputs: feature rows of the production shape with real words in their queries."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.ranking_latency import rows, title_words


def test_rows_have_the_production_shape_and_queries_of_catalogue_words(tmp_path):
    pd.DataFrame({"article_id": ["a", "b"], "title": ["Mars rover lands", "Budget vote in the senate"]}).to_parquet(
        tmp_path / "catalogue.parquet")
    words = title_words(tmp_path)
    assert words == sorted(["mars", "rover", "lands", "budget", "vote", "senate"])
    made = rows(3, dim=8, words=words)
    assert [r["user_id"] for r in made] == ["u000000", "u000001", "u000002"]
    for r in made:
        assert len(r["queries"]) == 5 and all(len(q.split()) == 3 and set(q.split()) <= set(words)
                                              for q in r["queries"])
        assert np.allclose(np.linalg.norm(r["query_embeddings"], axis=1), 1.0) and len(r["interest_vector"]) == 8
    assert rows(1, dim=8, words=words)[0]["queries"] == made[0]["queries"]  # seeded
    pd.DataFrame({"article_id": ["a"]}).to_parquet(tmp_path / "catalogue.parquet")
    assert title_words(tmp_path) == [] and rows(1, dim=8)[0]["queries"][0] == "query 0 of user 0"


def test_lookups_only_measures_the_sqlite_lookup_without_a_ranker(tmp_path, monkeypatch, capsys):
    import json
    import shutil

    import pytest

    from training.ranking_latency import main

    monkeypatch.setattr(shutil, "which", lambda name: None)  # no redis-server: the SQLite store alone
    out = tmp_path / "latency.json"
    assert main(["--users", "120", "--repeats", "20", "--lookups-only", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["command"].endswith("--lookups-only") and report["query_search"] is None
    sqlite = report["stores"]["sqlite"]
    for batch in ("1_users", "100_users"):
        assert set(sqlite[batch]) == {"lookup", "lookup_arrays"}
        for read in ("lookup", "lookup_arrays"):
            assert sqlite[batch][read]["n"] == 20
            assert 0 < sqlite[batch][read]["p50_ms"] <= sqlite[batch][read]["p99_ms"]
    printed = capsys.readouterr().out
    assert "sqlite 1_users" in printed and "lookup p50" in printed and "as arrays p50" in printed
    assert "not measured" in printed
    with pytest.raises(SystemExit):  # a ranker folder without a ranker: a clear error, not a traceback
        main(["--ranker", str(tmp_path), "--out", str(out)])
    assert "no trained ranker" in capsys.readouterr().err
