"""Shared fixtures: event builders. Integration fixtures (real broker) live in tests/integration/conftest.py."""

from __future__ import annotations

import itertools
import time

import pytest

from schemas import default_codec

_ids = itertools.count()
NOW_MS = int(time.time() * 1000)


def plain(obj):
    """``obj`` with every numpy array as a list of floats, so records holding vectors compare with ``==``."""
    import numpy as np

    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, dict):
        return {key: plain(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain(value) for value in obj)
    return obj


def click(user="u1", title="Fed raises interest rates again", ts=None, **extra) -> dict:
    return {"event_id": f"e{next(_ids)}", "user_id": user, "ts": ts or NOW_MS - 60_000, "article_id": "a1",
            "title": title, "category": "business", **extra}


def search(user="u1", query="mortgage rates forecast", ts=None) -> dict:
    return {"event_id": f"e{next(_ids)}", "user_id": user, "ts": ts or NOW_MS - 60_000, "query": query}


def social(user="u1", text="Great goal by Saka tonight", action="LIKE", platform="twitter", ts=None) -> dict:
    return {"event_id": f"e{next(_ids)}", "user_id": user, "ts": ts or NOW_MS - 60_000, "action": action,
            "platform": platform, "text": text}


def browse(user="u1", url="https://example.com/sport/arsenal-chelsea-report", title=None, ts=None) -> dict:
    return {"event_id": f"e{next(_ids)}", "user_id": user, "ts": ts or NOW_MS - 60_000, "url": url, "title": title}


@pytest.fixture
def codec():
    return default_codec()
