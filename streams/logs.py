"""Logging, configured once per process: plain text lines (default) or one JSON object per line
(``INTERESTS_LOG_FORMAT=json``), for the CLI and for the Faust worker (which would otherwise install its own
handlers). JSON lines carry ``ts`` (UTC, ISO-8601), ``level``, ``logger``, ``msg``, ``pid`` and any ``extra=``
fields, so a log shipper can index them without parsing text."""

from __future__ import annotations

import json
import logging
import logging.config
import os
import sys
from datetime import datetime, timezone

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
NOISY = ("kafka", "aiokafka", "urllib3", "httpx", "feast", "faust.transport", "faiss")  # kept at WARNING or above
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        out.update({k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS and not k.startswith("_")})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def log_format(env: dict[str, str] | None = None) -> str:
    """The format named by ``INTERESTS_LOG_FORMAT`` (``text`` or ``json``)."""
    value = (os.environ if env is None else env).get("INTERESTS_LOG_FORMAT", "text").strip().lower() or "text"
    if value not in FORMATS:
        raise ValueError(f"INTERESTS_LOG_FORMAT={value!r}: use 'text' or 'json'")
    return value


def logging_config(level: str = "info", fmt: str = "text") -> dict:
    """A ``logging.config.dictConfig`` dict: one stderr handler in the chosen format; noisy libraries quieter."""
    level = level.upper()
    formatter = {"()": JsonFormatter} if fmt == "json" else {"format": TEXT_FORMAT}
    quiet = logging.getLevelName(max(logging.WARNING, logging.getLevelName(level)))
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["default"]},
        "loggers": {name: {"level": quiet} for name in NOISY},
    }


def configure(level: str = "info", fmt: str | None = None) -> None:
    """Configure the process's logging; in JSON mode Python warnings and uncaught exceptions become records too,
    so nothing but JSON reaches stderr."""
    fmt = fmt or log_format()
    logging.config.dictConfig(logging_config(level, fmt))
    logging.captureWarnings(True)
    if fmt == "json":
        sys.excepthook = _log_uncaught


def _log_uncaught(kind, value, tb) -> None:
    logging.getLogger("interests").critical("uncaught %s: %s", kind.__name__, value, exc_info=(kind, value, tb))
