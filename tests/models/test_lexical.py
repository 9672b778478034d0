"""The query channel's word search: BM25 over article texts, and the hybrid fusion with the vector search."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.lexical import BODY_CHARS, LexicalIndex, article_text
from models.retrieval import ArticleIndex, check_search, retrieve

DOCS = {"a1": "alcaraz wins wimbledon final", "a2": "wimbledon weather and rain delays at wimbledon",
        "a3": "fed holds interest rates", "a4": "the latest news"}  # a4: stop words only


@pytest.fixture
def index():
    return LexicalIndex(list(DOCS), list(DOCS.values()))


def bm25(tf: float, df: int, length: float, mean_length: float, n: int = 4) -> float:
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / mean_length))


def test_scores_are_okapi_bm25_by_hand(index):
    # indexed lengths (stop words out): a1 4, a2 5 (wimbledon twice), a3 4, a4 0; mean 13 / 4
    mean = 13 / 4
    assert index.terms("interest rates") == ["interest", "rates"]  # a news word, kept
    scores = index.scores("alcaraz wimbledon")
    expect_a1 = bm25(1, 1, 4, mean) + bm25(1, 2, 4, mean)
    expect_a2 = bm25(2, 2, 5, mean)
    assert scores[0] == pytest.approx(expect_a1, rel=1e-5) and scores[1] == pytest.approx(expect_a2, rel=1e-5)
    assert scores[2] == scores[3] == 0.0
    assert index.terms("The Wimbledon FINAL!") == ["wimbledon", "final"]  # lower case, stop words out


def test_search_ranks_skips_excluded_and_returns_nothing_for_unknown_words(index):
    [hits] = index.search(["wimbledon final"], k=5)
    assert [a for a, _ in hits] == ["a1", "a2"]  # only articles with a positive score
    assert hits[0][1] > hits[1][1] > 0
    assert index.search(["wimbledon final"], k=1, exclude={"a1"}) == [[("a2", pytest.approx(hits[1][1]))]]
    assert index.search(["quantum chromodynamics", "the and"], k=3) == [[], []]
    with pytest.raises(ValueError, match="k must be"):
        index.search(["x"], k=0)


def test_match_reads_candidates_scores_and_each_querys_best_from_the_scores(index):
    queries = ["alcaraz wimbledon", "interest rates", "quantum"]
    scores = np.stack([index.scores(q) for q in queries])
    matched, best = index.match(scores, ["a2", "zz", "a1", "a3"])  # "zz": not in the index
    assert matched.shape == (4, 3) and best.tolist() == pytest.approx([scores[0, 0], scores[1, 2], 0.0])
    assert matched[0, 0] == pytest.approx(scores[0, 1]) and matched[2, 0] == pytest.approx(scores[0, 0])
    assert matched[3, 1] == pytest.approx(scores[1, 2]) and (matched[1] == 0).all() and (matched[:, 2] == 0).all()
    # the search is the top of the same scores
    assert index.top(scores[0], 5) == index.search(["alcaraz wimbledon"], k=5)[0]


def test_building_checks_its_input_and_survives_an_empty_vocabulary():
    with pytest.raises(ValueError, match="ids but"):
        LexicalIndex(["a"], [])
    with pytest.raises(ValueError, match="unique"):
        LexicalIndex(["a", "a"], ["x y", "y z"])
    empty = LexicalIndex(["a"], ["the of"])
    assert empty.search(["the news"], k=3) == [[]] and len(empty) == 1


def test_the_catalogue_text_is_the_title_and_the_start_of_the_body():
    assert article_text("Title", "b" * (BODY_CHARS + 50)) == "Title " + "b" * BODY_CHARS
    assert article_text("Title", None) == article_text("Title", float("nan")) == "Title"
    catalogue = pd.DataFrame({"article_id": ["x", "y"], "title": ["Mars rover", "Budget vote"],
                              "body": ["lands on mars", None]})
    found = LexicalIndex.from_catalogue(catalogue).search(["mars"], k=2)
    assert [a for a, _ in found[0]] == ["x"]


def test_hybrid_retrieval_fuses_the_word_lists_with_the_vector_lists(index):
    vectors = np.eye(4, dtype=np.float32)
    dense = ArticleIndex(list(DOCS), vectors)
    query = vectors[2:3]  # by meaning: a3 first
    assert retrieve(dense, query, k=2)[0] == "a3"
    both = retrieve(dense, query, k=4, lexical=index, texts=["wimbledon final"])
    assert set(both[:3]) == {"a1", "a2", "a3"} and both.index("a1") < both.index("a2")
    # words the index lacks add no list: the result is the vector search's
    assert retrieve(dense, query, k=2, lexical=index, texts=["zzz"]) == retrieve(dense, query, k=2)
    assert retrieve(dense, np.zeros((0, 4)), k=2, lexical=index, texts=["wimbledon final"]) == ["a1", "a2"]
    assert check_search("hybrid") == "hybrid"
    with pytest.raises(ValueError, match="dense"):
        check_search("bm25")
