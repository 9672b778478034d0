"""The history's activity written with each feature row: length and domain shares."""

from __future__ import annotations

import pytest

from feature_repo import offline
from models.activity import FIELDS, activity


def test_activity_counts_signals_per_domain_in_any_case():
    history = [{"domain": "CLICK"}, {"domain": "click"}, {"domain": "SEARCH"}, {"domain": "social"},
               {"domain": "pager"}]  # an unknown domain counts in the length, in no share
    got = activity(history)
    assert list(got) == list(FIELDS)
    assert got["history_length"] == 5
    assert got["click_share"] == pytest.approx(0.4) and got["search_share"] == pytest.approx(0.2)
    assert got["social_share"] == pytest.approx(0.2) and got["browse_share"] == 0.0


def test_an_empty_history_has_length_zero_and_no_shares():
    assert activity([]) == {"history_length": 0, "click_share": 0.0, "search_share": 0.0, "social_share": 0.0,
                            "browse_share": 0.0}
    assert offline.ACTIVITY == FIELDS  # the store packs them in this order (feature_repo cannot import models)
