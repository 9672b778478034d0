"""Synthetic load for the stream worker: valid Avro events built from the shipped sample's texts (its 400 rows,
cycled) for a chosen user population, stamped at send time, and a producer that pre-fills topics as fast as it
can or sends at a fixed rate.

The sample's texts repeat (215 distinct ones in 400 rows), as popular searches and pages do, so once the worker's
text cache (``streams/catalogue.py``) has seen them it embeds nothing more. ``fresh_texts`` makes every event's text
one never seen before (its event number appended): the worst case, where every free text is embedded.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from schemas import default_codec
from streams.config import StreamsConfig
from streams.demo import SAMPLE
from streams.replay import TYPE_SUBJECT

PER_EVENT_FIELDS = ("type", "user_id", "event_id", "ts")


class EventMaker:
    """``make(user, ts_ms) -> (topic, key, Avro value)``, each event with a new id; the text and domain cycle
    through the sample's rows."""

    TEXT_FIELDS = ("title", "query", "text")  # the fields a signal's text is read from (streams/events.py)

    def __init__(self, cfg: StreamsConfig, prefix: str = "load", fresh_texts: bool = False):
        self.codec = default_codec()
        rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
        self.templates = [(TYPE_SUBJECT[r["type"]], cfg.event_topics[r["type"]],
                           {k: v for k, v in r.items() if k not in PER_EVENT_FIELDS}) for r in rows]
        self.prefix, self.fresh_texts = prefix, fresh_texts
        self.count = 0

    def make(self, user: str, ts_ms: int) -> tuple[str, bytes, bytes]:
        subject, topic, fields = self.templates[self.count % len(self.templates)]
        self.count += 1
        record = {**fields, "user_id": user, "event_id": f"{self.prefix}-{self.count}", "ts": ts_ms}
        if self.fresh_texts:
            for name in self.TEXT_FIELDS:
                if record.get(name):
                    record[name] = f"{record[name]} {self.prefix}{self.count}"
            if record.get("url") and not record.get("title"):  # a page read by its address: a new path word
                record["url"] = f"{record['url'].rstrip('/')}/{self.prefix}{self.count}"
        return topic, user.encode(), self.codec.encode(subject, record)


def write_sample_catalogue(folder: Path, embedder: str) -> Path:
    """The catalogue of the articles the sample's clicks name (``streams/catalogue.py``'s folder: ``catalogue.parquet``
    and ``article_embeddings.npy``), their titles embedded once by ``embedder`` (the stream's embedding model), as a
    catalogue job would before the stream starts. Page views stay free text: the sample's pages are other sites'."""
    import numpy as np
    import pandas as pd

    from models.embeddings import make_embedder

    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    titles = dict(sorted({r["article_id"]: r["title"] for r in rows if r["type"] == "click"}.items()))
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"article_id": list(titles), "title": list(titles.values())}).to_parquet(
        folder / "catalogue.parquet", index=False)
    np.save(folder / "article_embeddings.npy", make_embedder(embedder).embed(list(titles.values())))
    return folder


def producer(cfg: StreamsConfig):
    """A kafka-python producer tuned for volume (leader acks, 5 ms linger, large batches)."""
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=cfg.bootstrap_servers, acks=1, linger_ms=5, batch_size=512 * 1024,
                         max_request_size=4 * 1024 * 1024)


def send_all(sender, messages) -> None:
    """Send every ``(topic, key, value)`` with ``sender`` (a kafka-python producer), wait for all, close it."""
    try:
        for topic, key, value in messages:
            sender.send(topic, key=key, value=value)
        sender.flush()
    finally:
        sender.close()


def prefill(cfg: StreamsConfig, maker: EventMaker, n: int, user_of: Callable[[int], str]) -> dict:
    """Encode ``n`` events first, then send them as fast as the producer goes. Returns counts and rates."""
    now = int(time.time() * 1000)
    started = time.perf_counter()
    messages = [maker.make(user_of(i), now) for i in range(n)]
    encoded = time.perf_counter()
    send_all(producer(cfg), messages)
    done = time.perf_counter()
    return {"events": n, "encode_s": round(encoded - started, 2), "send_s": round(done - encoded, 2),
            "send_rate": round(n / max(done - encoded, 1e-9))}


@dataclass
class Paced:
    """Sends at ``rate`` events/s for ``seconds`` in a background thread; each event is stamped when it is made.
    ``sent`` grows as it goes; ``achieved`` is the rate it managed (the producer's own ceiling shows here)."""

    cfg: StreamsConfig
    maker: EventMaker
    rate: float
    seconds: float
    user_of: Callable[[int], str]
    offset: int = 0  # index of the first event (user_of sees offset + i)
    sent: int = 0
    elapsed: float = 0.0
    _thread: threading.Thread | None = field(default=None, repr=False)
    error: BaseException | None = None

    def start(self) -> "Paced":
        self._thread = threading.Thread(target=self._run, name=f"paced-{self.rate:g}", daemon=True)
        self._thread.start()
        return self

    def join(self) -> "Paced":
        assert self._thread is not None
        while self._thread.is_alive():  # in short waits, so a signal reaches the main thread promptly
            self._thread.join(0.5)
        if self.error is not None:
            raise self.error
        return self

    @property
    def achieved(self) -> float:
        return self.sent / self.elapsed if self.elapsed else 0.0

    def _run(self) -> None:
        try:
            sender = producer(self.cfg)
            total = int(self.rate * self.seconds)
            started = time.monotonic()
            try:
                while self.sent < total:
                    elapsed = time.monotonic() - started
                    if elapsed > self.seconds * 1.5:  # far behind schedule: the producer is the bottleneck
                        break
                    due = min(int(elapsed * self.rate) + 1, total) - self.sent
                    if due <= 0:
                        time.sleep(min(0.002, (self.sent + 1) / self.rate - elapsed))
                        continue
                    now = int(time.time() * 1000)
                    for _ in range(due):
                        topic, key, value = self.maker.make(self.user_of(self.offset + self.sent), now)
                        sender.send(topic, key=key, value=value)
                        self.sent += 1
                sender.flush()
                self.elapsed = time.monotonic() - started
            finally:
                sender.close()
        except BaseException as exc:  # reported by join()
            self.error = exc
