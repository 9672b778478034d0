"""models.privacy: personal data is scrubbed, ordinary news text is left alone."""

from __future__ import annotations

import pytest

from models.privacy import contains_pii, scrub


@pytest.mark.parametrize("email", ["jane.doe@example.com", "a+tag@mail.co.uk", "first_last%x@sub.domain.org"])
def test_scrub_replaces_emails_with_placeholder(email):
    out = scrub(f"contact {email} today")
    assert out == "contact [email] today"
    assert email not in out


@pytest.mark.parametrize("phone", ["+44 20 7946 0958", "07700 900461", "(555) 123-4567", "555-123-4567",
                                   "+1 555 123 4567"])
def test_scrub_replaces_phone_numbers(phone):
    out = scrub(f"call me on {phone} tonight")
    assert out == "call me on [phone] tonight"


@pytest.mark.parametrize("card", ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111",
                                  "5500 0000 0000 0004"])
def test_scrub_replaces_card_numbers(card):
    out = scrub(f"my card {card} expires soon")
    assert out == "my card [card] expires soon"
    assert not any(c.isdigit() for c in out)


@pytest.mark.parametrize("param", ["token", "key", "sig", "signature", "secret", "password", "auth", "session",
                                   "code", "TOKEN"])
def test_scrub_drops_query_string_of_urls_with_secret_params(param):
    url = f"https://news.example.com/article/42?utm=x&{param}=s3cr3tvalue"
    out = scrub(f"read {url} now")
    assert out == "read https://news.example.com/article/42 now"
    assert "s3cr3tvalue" not in out


@pytest.mark.parametrize("url", ["https://www.bbc.co.uk/news/world", "https://example.com/search?q=ev+chargers",
                                 "http://example.org/a/b?page=2&sort=new"])
def test_scrub_keeps_plain_urls(url):
    assert scrub(f"see {url} please") == f"see {url} please"


@pytest.mark.parametrize("text", [
    "Arsenal beat Chelsea 3-1",
    "ECB holds rates at 2% in 2026",
    "iPhone 17 review",
    "COP31",
    "5nm chips",
    "8,000,000 people",
])
def test_scrub_leaves_ordinary_news_text_untouched(text):
    assert scrub(text) == text
    assert not contains_pii(text)


def test_scrub_handles_several_kinds_in_one_text():
    text = "mail bob@x.io or ring 07700 900461, card 4111 1111 1111 1111, https://x.io/p?sig=abc"
    out = scrub(text)
    assert out == "mail [email] or ring [phone], card [card], https://x.io/p"


def test_scrub_of_empty_text_is_empty():
    assert scrub("") == ""


def test_contains_pii_detects_each_kind():
    assert contains_pii("reach me at jane@example.com")
    assert contains_pii("07700 900461")
    assert contains_pii("4111 1111 1111 1111")
    assert contains_pii("https://x.com/reset?token=abc")
    assert not contains_pii("https://x.com/news?page=2")


def test_short_digit_runs_are_not_phones_or_cards():
    # fewer than 7 digits is never a phone; fewer than 13 never a card
    assert scrub("won 12 34 in the final") == "won 12 34 in the final"
    assert scrub("score 1-0 at 45 minutes") == "score 1-0 at 45 minutes"
