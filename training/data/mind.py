"""Microsoft MIND (news.tsv + behaviors.tsv) as articles, replayable click events, held-out targets and impressions.

``news.tsv`` (tab-separated, no header): news_id, category, subcategory, title, abstract, url, title_entities,
abstract_entities. ``behaviors.tsv``: impression_id, user_id, time ("11/15/2019 10:22:32 AM", read as UTC), history
(space-separated news ids, possibly empty), impressions (space-separated "N123-1" / "N456-0"; 1 = clicked).

The split is by time: everything before the cutoff is input (click events in the project's replay format, see
``streams/replay.py`` and ``schemas/avro/click_event.v2.avsc``), clicks at or after it are the targets. A user's
history (clicks from before the log period) becomes click events one minute apart, in history order, ending one
minute before the user's first impression, or before the cutoff when that comes first, so inputs always precede it.
MIND is licensed for research only: never commit its rows (the tests use a synthetic fixture).
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from training.data.corpus import ARTICLE_COLUMNS, normalise_category

log = logging.getLogger(__name__)

MIND_TIME_FORMAT = "%m/%d/%Y %I:%M:%S %p"
NEWS_COLUMNS = ["news_id", "category", "subcategory", "title", "abstract", "url", "title_entities",
                "abstract_entities"]
BEHAVIOR_COLUMNS = ["impression_id", "user_id", "time", "history", "impressions"]
IMPRESSION_COLUMNS = ["impression_id", "user_id", "ts", "article_id", "clicked"]
HISTORY_STEP_MS = 60_000  # history clicks are spaced one minute apart
TRAIN_SHARE = 0.8  # default cutoff: the impression time that splits the impressions 80/20


@dataclass
class MindData:
    """A MIND folder split at ``cutoff``: inputs (``events``) strictly before it, ``targets`` at or after it."""

    articles: pd.DataFrame  # ARTICLE_COLUMNS, source "mind"
    events: list[dict]  # click events in replay format, sorted by ts
    targets: dict[str, list[str]]  # user_id -> article ids clicked at/after the cutoff, in time order
    impressions: pd.DataFrame  # IMPRESSION_COLUMNS: every shown article with its label, all times
    cutoff: pd.Timestamp
    stats: dict[str, int] = field(default_factory=dict)


def load_mind(folder: Path, cutoff: str | None = None) -> MindData:
    """Load ``folder/news.tsv`` and ``folder/behaviors.tsv`` and split them at ``cutoff``.

    ``cutoff`` is any date-time string pandas reads (no offset means UTC); None takes the time that splits the
    impressions 80/20 by time. Clicks on news ids missing from news.tsv (or without a title) are skipped and counted.
    """
    folder = Path(folder)
    news = read_news(folder / "news.tsv")
    behaviors = read_behaviors(folder / "behaviors.tsv")
    if behaviors.empty:
        raise ValueError(f"{folder / 'behaviors.tsv'} has no impressions")
    cut = _parse_cutoff(cutoff) if cutoff is not None else _default_cutoff(behaviors["ts"])
    impressions = explode_impressions(behaviors)
    history = _history_clicks(behaviors, cut)
    titles = dict(zip(news["news_id"], news["title"]))
    categories = dict(zip(news["news_id"], news["category"].map(normalise_category)))

    articles = _articles(news, impressions, history, behaviors["ts"].min())
    clicks = impressions[impressions["clicked"]]
    before = clicks[clicks["ts"] < cut]
    after = clicks[clicks["ts"] >= cut]
    inputs = pd.concat([history, before.assign(order=1)], ignore_index=True)
    inputs = inputs.sort_values(["ts", "user_id", "order", "impression_id", "position"], kind="stable")
    unknown = ~inputs["article_id"].isin(set(titles))
    events = [_click_event(row, titles, categories) for row in inputs[~unknown].itertuples(index=False)]
    missing_targets = ~after["article_id"].isin(set(titles))
    after = after[~missing_targets].sort_values(["ts", "impression_id", "position"], kind="stable")
    targets = {user: list(ids) for user, ids in after.groupby("user_id", sort=True)["article_id"]}

    stats = {
        "news": len(news), "behaviors": len(behaviors), "impressions": len(impressions),
        "clicks": len(clicks), "history_events": int((~unknown[inputs["order"] == 0]).sum()),
        "impression_events": int((~unknown[inputs["order"] == 1]).sum()), "events": len(events),
        "target_users": len(targets), "targets": sum(len(v) for v in targets.values()),
        "skipped_unknown_news": int(unknown.sum() + missing_targets.sum()),
    }
    log.info("MIND %s: cutoff %s; %s", folder, cut.isoformat(), ", ".join(f"{k} {v}" for k, v in stats.items()))
    return MindData(articles=articles, events=events, targets=targets,
                    impressions=impressions[IMPRESSION_COLUMNS].reset_index(drop=True), cutoff=cut, stats=stats)


def read_news(path: Path) -> pd.DataFrame:
    """news.tsv as text columns (:data:`NEWS_COLUMNS`), stripped, duplicate news ids and empty titles dropped."""
    frame = _read_tsv(path, NEWS_COLUMNS)
    for column in ("news_id", "category", "subcategory", "title", "abstract", "url"):
        frame[column] = frame[column].map(lambda t: " ".join(str(t).split()))
    total = len(frame)
    frame = frame[frame["news_id"].ne("") & frame["title"].ne("")]
    frame = frame.drop_duplicates("news_id", keep="first").reset_index(drop=True)
    log.info("%s: %d rows, kept %d (dropped duplicate ids and empty titles)", path, total, len(frame))
    return frame


def read_behaviors(path: Path) -> pd.DataFrame:
    """behaviors.tsv with ``ts`` (UTC Timestamp) parsed from ``time``; rows with an unreadable time are dropped."""
    frame = _read_tsv(path, BEHAVIOR_COLUMNS)
    for column in BEHAVIOR_COLUMNS:
        frame[column] = frame[column].str.strip()
    frame["ts"] = pd.to_datetime(frame["time"], format=MIND_TIME_FORMAT, errors="coerce", utc=True)
    bad = frame["ts"].isna() | frame["user_id"].eq("")
    if bad.any():
        log.warning("%s: dropped %d rows with an unreadable time or no user", path, int(bad.sum()))
    return frame[~bad].reset_index(drop=True)


def explode_impressions(behaviors: pd.DataFrame) -> pd.DataFrame:
    """One row per shown article: impression_id, user_id, ts, article_id, clicked (bool), position in the list.

    Unlabelled entries (MIND's test split writes bare news ids) count as not clicked, with a warning.
    """
    items = behaviors[["impression_id", "user_id", "ts"]].assign(item=behaviors["impressions"].str.split())
    items = items.explode("item").dropna(subset=["item"])
    items = items[items["item"].ne("")]
    items["position"] = items.groupby(level=0).cumcount()
    parts = items["item"].str.rsplit("-", n=1, expand=True).reindex(columns=[0, 1])
    unlabelled = ~parts[1].isin(["0", "1"])
    if unlabelled.any():
        log.warning("%d impression entries have no 0/1 label; counted as not clicked", int(unlabelled.sum()))
    items["article_id"] = parts[0].where(~unlabelled, items["item"])
    items["clicked"] = parts[1].eq("1")
    items = items.sort_values(["ts", "impression_id", "position"], kind="stable")
    return items[IMPRESSION_COLUMNS + ["position"]].reset_index(drop=True)


def _read_tsv(path: Path, names: list[str]) -> pd.DataFrame:
    if not Path(path).exists():
        raise FileNotFoundError(f"no MIND file at {path}")
    return pd.read_csv(path, sep="\t", header=None, names=names, dtype=str, quoting=csv.QUOTE_NONE,
                       keep_default_na=False, na_filter=False, usecols=range(len(names)))


def _parse_cutoff(value: str) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _default_cutoff(times: pd.Series) -> pd.Timestamp:
    """The impression time with 80 % of the impressions before it (ties may move a few more after it)."""
    ordered = times.sort_values().reset_index(drop=True)
    return ordered.iloc[min(int(len(ordered) * TRAIN_SHARE), len(ordered) - 1)]


def _history_clicks(behaviors: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Each user's history (from their first impression row) as clicks one minute apart, ending before
    min(first impression, cutoff)."""
    first = behaviors.sort_values(["ts", "impression_id"], kind="stable").drop_duplicates("user_id")
    rows = []
    cutoff_ms = _ms(cutoff)
    for user, ts, history in zip(first["user_id"], first["ts"], first["history"]):
        ids = history.split()
        anchor = min(_ms(ts), cutoff_ms)
        for i, news_id in enumerate(ids):
            rows.append((user, anchor - (len(ids) - i) * HISTORY_STEP_MS, news_id, i))
    frame = pd.DataFrame(rows, columns=["user_id", "ts_ms", "article_id", "position"])
    frame["ts"] = pd.to_datetime(frame["ts_ms"], unit="ms", utc=True)
    frame["impression_id"] = "h"
    frame["order"] = 0
    return frame.drop(columns="ts_ms")


def _articles(news: pd.DataFrame, impressions: pd.DataFrame, history: pd.DataFrame,
              earliest: pd.Timestamp) -> pd.DataFrame:
    """news.tsv in ARTICLE_COLUMNS; published_at = first appearance (impression or history click), else earliest."""
    seen = pd.concat([impressions[["article_id", "ts"]], history[["article_id", "ts"]]])
    first_seen = seen.groupby("article_id")["ts"].min()
    published = news["news_id"].map(first_seen)
    frame = pd.DataFrame({
        "article_id": news["news_id"],
        "title": news["title"],
        "body": news["abstract"],
        "category": news["category"].map(normalise_category),
        "published_at": pd.to_datetime(published, utc=True).fillna(earliest).astype("datetime64[ns, UTC]"),
        "url": news["url"],
        "source": "mind",
    })
    return frame.sort_values(["published_at", "article_id"], kind="stable").reset_index(drop=True)[ARTICLE_COLUMNS]


def _click_event(row, titles: dict[str, str], categories: dict[str, str]) -> dict:
    """One click in the replay format of ``streams/replay.py`` (click_event v2)."""
    if row.order == 0:
        event_id = f"mind-h-{row.user_id}-{row.position}"
    else:
        event_id = f"mind-{row.impression_id}-{row.position}"
    return {
        "type": "click",
        "event_id": event_id,
        "user_id": row.user_id,
        "ts": _ms(row.ts),
        "article_id": row.article_id,
        "title": titles[row.article_id],
        "category": categories[row.article_id],
        "dwell_ms": None,
    }


def _ms(ts: pd.Timestamp) -> int:
    return int(pd.Timestamp(ts).value // 1_000_000)
