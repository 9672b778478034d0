"""Scrubs personal data from user text before it reaches a model or a feature: emails (also written ``jane [at]
example [dot] com`` or ``jane at example dot com``), phone numbers (national and international forms), payment card
numbers, IBANs (checksum-verified), JSON web tokens, and secrets in URLs (credentials before the host, query or
fragment parameters named like a token, key, signature, session, password...). Pure regex; conservative (a false
positive costs a word, a miss leaks data), yet ordinary news text is left alone: scores ("3-1", "6-4 6-3"), years and
year lists, dates and times ("2026-05-01 10:30"), decimals, versions, money ("$4.5bn"), names like "COP31" or "5nm".
"""

from __future__ import annotations

import re

# --- emails -----------------------------------------------------------------------------------------------------
_LOCAL = r"[\w.%+\-]+"
_EMAIL = re.compile(_LOCAL + r"(?:@|\s@\s)[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,}")
_OPEN, _CLOSE = r"\s*[\[({<]\s*", r"\s*[\])}>]\s*"
_EMAIL_BRACKETED = re.compile(  # jane[at]example[dot]com, jane (at) example.com
    _LOCAL + _OPEN + r"at" + _CLOSE + r"[\w\-]+(?:(?:\." + "|" + _OPEN + r"dot" + _CLOSE + r")[\w\-]+)+",
    re.IGNORECASE)
_TLDS = r"(?:com|org|net|edu|gov|io|co|uk|de|fr|es|it|nl|eu|info|me|us|ca|au|in|jp|cn|ru|br)"
_EMAIL_SPELLED = re.compile(  # jane at example dot com (the spelled form only with a spelled "dot" and a known TLD)
    r"\b" + _LOCAL + r"\s+at\s+[\w\-]+(?:\s+dot\s+[\w\-]+)*\s+dot\s+" + _TLDS + r"\b", re.IGNORECASE)

# --- URLs and tokens ----------------------------------------------------------------------------------------------
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_USERINFO = re.compile(r"^((?:https?://)?)[^/@\s]+@", re.IGNORECASE)
_SECRET_WORDS = frozenset("""token key apikey sig signature secret password passwd pwd pass auth authorization
    session sessionid sid code jwt otp credential credentials""".split())
_SECRET_PARTS = ("token", "secret", "passw", "sessid", "sessionid", "apikey", "signature", "credential")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_JWT = re.compile(r"\beyJ[\w\-]{6,}\.[\w\-]{6,}\.[\w\-]{6,}")

# --- numbers ------------------------------------------------------------------------------------------------------
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b", re.IGNORECASE)
# 13-19 digits starting 1-9, contiguous or in groups of 3+ (4-4-4-4, 4-6-5), split by a space, dash or dot
_CARD = re.compile(r"(?<![\w+.,\-])[1-9]\d{2,}(?:(?:\s?[\-.]\s?|\s)\d{3,}){0,5}(?![\w]|[.,]\d)")
_SEP = r"[\s.\-]"
_PHONE = re.compile(
    r"(?<![\w+.,/$€£])(?<!\d-)"
    r"(?!\d{4}-\d{1,2}-\d{1,2}\b)(?!\d{1,2}[./\-]\d{1,2}[./\-]\d{2,4}\b)"  # dates are not phones
    r"(?:"
    rf"(?:\+|\b00)\d{{1,3}}{_SEP}?(?:\(0\){_SEP}?)?(?:\(\d{{1,4}}\){_SEP}?)?\d{{1,12}}"  # +44 (0) 20..., 0049 30
    rf"|\(\d{{2,5}}\){_SEP}?\d{{2,12}}"  # (555) 123
    r"|\d{2,12}"
    r")"
    rf"(?:{_SEP}\d{{2,12}}){{0,6}}"  # later groups have two digits or more: "6-4 6-3 7-6" is a score
    r"(?![\w]|[.,:]\d)"
)
_YEAR = re.compile(r"^(?:19|20)\d\d$")


def _is_secret_param(part: str) -> bool:
    for pair in re.split(r"[&;]", part):
        name = pair.split("=", 1)[0]
        words = re.split(r"[^a-z0-9]+", _CAMEL.sub("_", name).lower())
        compact = "".join(words)
        if "=" in pair and (set(words) & _SECRET_WORDS or any(s in compact for s in _SECRET_PARTS)):
            return True
    return False


def _clean_url(match: re.Match) -> str:
    url = _USERINFO.sub(r"\1", match.group(0))
    url, hash_, fragment = url.partition("#")
    base, question, query = url.partition("?")
    path, semicolon, params = base.partition(";")  # path parameters: /cart;jsessionid=...
    if params and _is_secret_param(params):
        base = path
    if query and _is_secret_param(query):
        question, query = "", ""
    if fragment and _is_secret_param(fragment):
        hash_, fragment = "", ""
    return base + question + query + hash_ + fragment


def _iban(match: re.Match) -> str:
    compact = match.group(0).replace(" ", "").upper()
    if len(compact) < 15 or sum(c.isdigit() for c in compact) < 8:
        return match.group(0)
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return "[iban]" if int(number) % 97 == 1 else match.group(0)


def _years(groups: list[str]) -> bool:
    """"2024 2025 2026", "1995-2005 2010-2020": year lists are not numbers of anyone."""
    return len(groups) > 1 and all(_YEAR.match(g) for g in groups)


def _card(match: re.Match) -> str:
    text = match.group(0)
    if _years(re.findall(r"\d+", text)) or not 13 <= sum(c.isdigit() for c in text) <= 19:
        return text
    return "[card]"


def _phone(match: re.Match) -> str:
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    groups = re.findall(r"\d+", text)
    if not 7 <= digits <= 15:
        return text
    if "." in text and " " in text:  # "9.58 10.49 19.19": decimals, a phone uses one kind of separator
        return text
    if _years(groups):
        return text
    if len(groups) == 2 and "-" in text and all(g.endswith("0") for g in groups) and int(groups[0]) < int(groups[1]):
        return text  # a range: "2000-2500 micrograms"
    if len(groups) > 2 and len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]):  # "1 200 000 000"
        return text
    return "[phone]"


def scrub(text: str) -> str:
    """Replace personal data with placeholders: ``[email]``, ``[iban]``, ``[card]``, ``[phone]``, ``[token]``;
    drop credentials and secret parameters from URLs (the rest of the URL stays). Repeated until nothing changes:
    one replacement can expose another match ("1000000 1000000000000": the first number read as a phone left the
    second to be read on its own), and what is scrubbed must read as clean."""
    for _ in range(8):
        cleaned = _scrub_once(text)
        if cleaned == text:
            return cleaned
        text = cleaned
    return text


def _scrub_once(text: str) -> str:
    text = _URL.sub(_clean_url, text)
    text = _JWT.sub("[token]", text)
    for pattern in (_EMAIL, _EMAIL_BRACKETED, _EMAIL_SPELLED):
        text = pattern.sub("[email]", text)
    text = _IBAN.sub(_iban, text)
    text = _CARD.sub(_card, text)
    return _PHONE.sub(_phone, text)


def contains_pii(text: str) -> bool:
    return scrub(text) != text
