"""Turns a decoded event of any domain into one validated, normalised signal, and a decoded privacy record (consent
choice, deletion request) into a validated command, or says precisely why not."""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from schemas import AvroCodec, DecodeError

# subject of the Avro schema -> domain of the signal
SUBJECT_DOMAIN = {
    "click_event": "click",
    "search_event": "search",
    "social_event": "social",
    "browse_event": "browse",
}
PRIVACY_SUBJECTS = ("consent_event", "deletion_request")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ID_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # ids allow no control character at all (tab/newline included)
MAX_ID_CHARS = 128


class InvalidEvent(ValueError):
    """An event that decodes but breaks a rule. ``reason`` is a short tag used as the dead-letter reason."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class Signal:
    """One user signal, whatever its domain. ``text`` is user-facing text: data, never instructions."""

    event_id: str
    user_id: str
    domain: str  # click | search | social | browse
    kind: str  # click | search | like | share | post | comment | view
    text: str
    ts: int  # event time, epoch milliseconds
    item_id: str | None = None
    platform: str | None = None
    dwell_ms: int | None = None  # time spent on a clicked article or viewed page, when known

    def as_dict(self) -> dict:
        # every field is a scalar, so a shallow copy equals dataclasses.asdict, which deep-copies recursively and was
        # a visible share of the tracking agent's time per event
        return dict(vars(self))


@dataclass(frozen=True)
class ConsentChange:
    """A user's consent choice for some domains, made at event time ``ts``."""

    event_id: str
    user_id: str
    ts: int
    domains: tuple[str, ...]  # click | search | social | browse
    granted: bool


@dataclass(frozen=True)
class DeletionRequest:
    """A user asks for their history, interest vector and online features to be deleted (made at ``ts``)."""

    event_id: str
    user_id: str
    ts: int


Inbound = Signal | ConsentChange | DeletionRequest


@dataclass(frozen=True)
class Limits:
    max_text_chars: int = 2000
    max_future_skew_s: int = 24 * 3600
    min_event_time_ms: int = 946_684_800_000


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def epoch_ms(value) -> int:
    """Epoch milliseconds of a datetime (a decoded ``timestamp-millis``; naive = local time) or of a number."""
    if isinstance(value, dt.datetime):
        # exact integer arithmetic: int(value.timestamp() * 1000) loses a millisecond to float rounding
        aware = value if value.tzinfo is not None else value.astimezone()  # naive = local time, as timestamp()
        return (aware - _EPOCH) // dt.timedelta(milliseconds=1)
    return int(value)


def _text(record: dict, name: str, limits: Limits, required: bool = True) -> str | None:
    value = record.get(name)
    # blank once control characters are gone counts as missing ("\x00" alone is not a query)
    value = "" if value is None else _CONTROL.sub(" ", str(value)).strip()
    if not value:
        if required:
            raise InvalidEvent("missing_field", f"{name} is empty")
        return None
    if len(value) > limits.max_text_chars:
        raise InvalidEvent("oversized_text", f"{name} has {len(value)} characters (limit {limits.max_text_chars})")
    return value


def _id(record: dict, name: str) -> str:
    value = record.get(name)
    if value is None or not str(value).strip():
        raise InvalidEvent("missing_field", f"{name} is empty")
    value = str(value).strip()
    if len(value) > MAX_ID_CHARS or _ID_CONTROL.search(value):
        raise InvalidEvent("bad_id", f"{name} is longer than {MAX_ID_CHARS} characters or has control characters")
    return value


def _url_words(url: str) -> str:
    """A readable stand-in for a page without a title: the words of its path, or its host when the path has none.
    The site is who published the page, not what the reader looks for: kept beside the path's words it reached the
    model, which wrote "reuters" as a reader's interest."""
    parsed = urlparse(url)
    words = re.split(r"[/_\-.+]+", unquote(parsed.path))
    words = [w for w in words if w and not w.isdigit() and w not in {"html", "htm", "php", "index"}]
    return " ".join(words or [parsed.netloc.removeprefix("www.")]).strip()


def _event_time(record: dict, limits: Limits, now_ms: int | None) -> int:
    ts = epoch_ms(record.get("ts"))
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if ts < limits.min_event_time_ms or ts > now_ms + limits.max_future_skew_s * 1000:
        raise InvalidEvent("out_of_range_ts", f"event time {ts} ms is outside the accepted range")
    return ts


def to_signal(subject: str, record: dict, limits: Limits = Limits(), now_ms: int | None = None) -> Signal:
    """Validate a decoded record and normalise it. Raises :class:`InvalidEvent` with a reason."""
    domain = SUBJECT_DOMAIN.get(subject)
    if domain is None:
        raise InvalidEvent("wrong_subject", f"{subject} is not a user event")
    event_id, user_id = _id(record, "event_id"), _id(record, "user_id")
    ts = _event_time(record, limits, now_ms)
    item_id = platform = None
    if domain == "click":
        text, kind, item_id = _text(record, "title", limits), "click", _id(record, "article_id")
    elif domain == "search":
        text, kind = _text(record, "query", limits), "search"
    elif domain == "social":
        text, kind = _text(record, "text", limits), str(record["action"]).lower()
        platform = _text(record, "platform", limits)
        item_id = _text(record, "target_id", limits, required=False)
    else:
        url = _text(record, "url", limits)
        text = _text(record, "title", limits, required=False) or _url_words(url)
        kind, item_id = "view", url
        if not text:
            raise InvalidEvent("missing_field", "browse event has neither a title nor a readable url")
    dwell = record.get("dwell_ms")
    dwell = int(dwell) if dwell is not None and int(dwell) >= 0 else None
    return Signal(event_id, user_id, domain, kind, text, ts, item_id, platform, dwell)


def to_privacy(subject: str, record: dict, limits: Limits = Limits(),
               now_ms: int | None = None) -> ConsentChange | DeletionRequest:
    """Validate a decoded consent choice or deletion request. Raises :class:`InvalidEvent` with a reason."""
    if subject not in PRIVACY_SUBJECTS:
        raise InvalidEvent("wrong_subject", f"{subject} is not a privacy record")
    event_id, user_id = _id(record, "event_id"), _id(record, "user_id")
    ts = _event_time(record, limits, now_ms)
    if subject == "deletion_request":
        return DeletionRequest(event_id, user_id, ts)
    domains = tuple(dict.fromkeys(str(d).lower() for d in record.get("domains") or ()))
    if not domains:
        raise InvalidEvent("missing_field", "domains is empty")
    return ConsentChange(event_id, user_id, ts, domains, bool(record["granted"]))


def _decode(codec: AvroCodec, data: bytes) -> tuple[str, dict]:
    try:
        return codec.decode(data)
    except DecodeError as exc:
        raise InvalidEvent(exc.reason, str(exc)) from exc


def decode_signal(codec: AvroCodec, data: bytes, limits: Limits = Limits(), now_ms: int | None = None) -> Signal:
    """Bytes off Kafka -> validated signal. Raises :class:`InvalidEvent` (decode failures included) with a reason."""
    subject, record = _decode(codec, data)
    return to_signal(subject, record, limits, now_ms)


def decode_inbound(codec: AvroCodec, data: bytes, limits: Limits = Limits(), now_ms: int | None = None) -> Inbound:
    """Bytes off an event or privacy topic -> a validated signal, consent choice or deletion request. Raises
    :class:`InvalidEvent` (decode failures included) with a reason."""
    subject, record = _decode(codec, data)
    if subject in PRIVACY_SUBJECTS:
        return to_privacy(subject, record, limits, now_ms)
    return to_signal(subject, record, limits, now_ms)
