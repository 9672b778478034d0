"""Logging set-up: JSON lines with INTERESTS_LOG_FORMAT=json, a clear error on an unknown format."""

from __future__ import annotations

import io
import json
import logging

import pytest

from streams.logs import JsonFormatter, log_format, logging_config


def test_json_formatter_writes_one_object_with_the_message_and_extra_fields():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("interests.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("dead-lettered %d events", 3, extra={"reason": "bad_header"})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    first, second = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["msg"] == "dead-lettered 3 events" and first["level"] == "WARNING"
    assert first["reason"] == "bad_header" and first["logger"] == "interests.test.json"
    assert first["ts"].endswith("+00:00")
    assert "ValueError: boom" in second["exc"]


def test_log_format_reads_the_environment_and_rejects_unknown_values():
    assert log_format({}) == "text"
    assert log_format({"INTERESTS_LOG_FORMAT": "JSON"}) == "json"
    with pytest.raises(ValueError, match="INTERESTS_LOG_FORMAT"):
        log_format({"INTERESTS_LOG_FORMAT": "xml"})


def test_logging_config_quiets_noisy_libraries_but_not_below_the_chosen_level():
    config = logging_config("debug", "json")
    assert config["loggers"]["aiokafka"]["level"] == "WARNING"
    assert config["formatters"]["default"]["()"] is JsonFormatter
    assert logging_config("error")["loggers"]["kafka"]["level"] == "ERROR"
