"""Consent per domain: default policy, revocation, re-grant, stale choices."""

from __future__ import annotations

import pytest

from streams.consent import DENIED, GRANTED, allowed, apply, check_policy, granted

T = 1_790_000_000_000


def test_default_granted_allows_every_domain_without_a_choice():
    assert all(allowed({}, d, T, GRANTED) for d in ("click", "search", "social", "browse"))


def test_default_denied_allows_nothing_until_granted_and_nothing_from_before_the_grant():
    consent = {}
    assert not allowed(consent, "click", T, DENIED)
    assert apply(consent, ["click"], True, T + 10, DENIED) == []
    assert allowed(consent, "click", T + 10, DENIED) and allowed(consent, "click", T + 99, DENIED)
    assert not allowed(consent, "click", T + 9, DENIED)  # stamped before the grant
    assert not allowed(consent, "search", T + 99, DENIED)


def test_revocation_is_reported_once_and_blocks_the_domain():
    consent = {}
    assert apply(consent, ["search", "social"], False, T, GRANTED) == ["search", "social"]
    assert not allowed(consent, "search", T + 1, GRANTED) and allowed(consent, "click", T + 1, GRANTED)
    assert apply(consent, ["search"], False, T + 5, GRANTED) == []  # already revoked: nothing more to purge


def test_a_regrant_does_not_bring_back_signals_from_before_it():
    consent = {}
    apply(consent, ["click"], False, T, GRANTED)
    apply(consent, ["click"], True, T + 100, GRANTED)
    assert not allowed(consent, "click", T - 50, GRANTED)  # before the revocation
    assert not allowed(consent, "click", T + 50, GRANTED)  # while revoked
    assert allowed(consent, "click", T + 100, GRANTED)


def test_a_grant_while_granted_keeps_the_start_of_the_granted_period():
    consent = {}
    apply(consent, ["click"], True, T, GRANTED)
    assert allowed(consent, "click", T - 10**6, GRANTED)  # granted by default from the start, still is


def test_an_older_choice_than_the_recorded_one_is_ignored():
    consent = {}
    apply(consent, ["browse"], False, T + 10, GRANTED)
    assert apply(consent, ["browse"], True, T, GRANTED) == []  # a late grant made before the revocation
    assert not granted(consent, "browse", GRANTED)


def test_unknown_policy_is_refused_with_the_variable_named():
    assert check_policy("denied") == "denied"
    with pytest.raises(ValueError, match="INTERESTS_CONSENT_DEFAULT"):
        check_policy("maybe")
