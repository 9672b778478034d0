"""The headers of a dead-lettered record: why it was refused and where it came from (both workers write them)."""

from __future__ import annotations

import time


def dlq_headers(reason: str, detail: str, topic: str | None, partition: int | None, offset: int | None) -> list:
    """Kafka headers (name, bytes) for a record sent to the dead-letter topic; ``detail`` is cut at 500 characters."""
    return [
        ("dlq.reason", reason.encode()),
        ("dlq.detail", detail[:500].encode("utf-8", "replace")),
        ("dlq.topic", (topic or "").encode()),
        ("dlq.partition", str(partition if partition is not None else -1).encode()),
        ("dlq.offset", str(offset if offset is not None else -1).encode()),
        ("dlq.at", str(int(time.time() * 1000)).encode()),
    ]
