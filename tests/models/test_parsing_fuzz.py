"""Property-based fuzzing of the query parser and validator (``models/parsing.py``) and of the personal-data
scrubber: arbitrary model output never crashes them, and what they let through keeps their promises."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.parsing import InvalidOutput, parse_queries, query_problem, validate
from models.privacy import contains_pii, scrub

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORDS = ["arsenal", "chelsea", "inflation", "rates", "ECB", "ignore", "previous", "instructions", "system", ":",
         "http://x.io", "jane@example.com", "+44 20 7946 0958", "1.", "-", "*", '"', "\n", ",", "the", "über",
         "北京", "4111 1111 1111 1111", "<activity>", "query:", "5"]
# model-output-like text: bullets, numbering, quotes, newlines, injections and personal data among news words
OUTPUT = st.one_of(st.text(max_size=400), st.lists(st.sampled_from(WORDS), max_size=60).map(" ".join),
                   st.lists(st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join), max_size=8).map("\n".join))


@FUZZ
@given(OUTPUT, st.integers(1, 8))
def test_parse_returns_distinct_clean_queries_or_raises_invalid_output(text, n):
    try:
        queries = parse_queries(text, n)
    except InvalidOutput:
        return
    assert 1 <= len(queries) <= n
    assert len({q.lower() for q in queries}) == len(queries)
    assert all(query_problem(q) is None for q in queries)
    assert not any(contains_pii(q) for q in queries)


@FUZZ
@given(OUTPUT)
def test_query_problem_is_total(text):
    assert query_problem(text) is None or isinstance(query_problem(text), str)


@FUZZ
@given(st.lists(OUTPUT, max_size=6), st.lists(OUTPUT, max_size=6))
def test_validate_keeps_an_ordered_subset_of_clean_queries(queries, history):
    kept = validate(queries, history)
    remaining = iter(queries)
    assert all(any(k == q for q in remaining) for k in kept)  # a subsequence, in order
    assert all(query_problem(q) is None for q in kept)


@FUZZ
@given(OUTPUT)
def test_scrubbed_text_holds_no_personal_data(text):
    assert not contains_pii(scrub(text))
