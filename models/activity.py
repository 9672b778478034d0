"""What a user's history looks like, as numbers a ranker can read beside the queries: how many signals it has and how
they split over the domains. Written with every query-feature row (the history the queries were made from), so a
ranker can, say, trust the query channel more for a reader with few clicks and many searches.

Pure: no Kafka, no Feast; the generator worker and the ranker benchmark both call :func:`activity`.
"""

from __future__ import annotations

DOMAINS = ("click", "search", "social", "browse")
SHARE_FIELDS = tuple(f"{d}_share" for d in DOMAINS)
FIELDS = ("history_length", *SHARE_FIELDS)  # the feature row's activity fields, in this order


def activity(history) -> dict:
    """``{"history_length": signals, "click_share": ..., ...}`` of a history (signals with a ``domain``, any case;
    the regeneration request's enum names or the stream's lower-case ones). Shares are fractions of the signals
    (summing to 1 when every signal is of a known domain); an empty history has length 0 and shares 0."""
    counts = dict.fromkeys(DOMAINS, 0)
    n = 0
    for signal in history:
        n += 1
        domain = str(signal["domain"]).lower()
        if domain in counts:
            counts[domain] += 1
    return {"history_length": n, **{name: (counts[d] / n if n else 0.0) for d, name in zip(DOMAINS, SHARE_FIELDS)}}
