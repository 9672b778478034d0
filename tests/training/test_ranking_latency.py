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
