"""A second news corpus: the Lee corpus of Australian Broadcasting Corporation news articles, as gensim's wheel
ships it (``gensim/test/test_data/lee_background.cor`` and ``lee.cor``: 300 + 50 articles, one per line, from
2001-2002), written as an article file of the shape :func:`training.data.corpus.load_articles` reads.

The wheel is fetched once with ``pip download`` (gensim is never installed or imported) into
``cache_dir()/data/gensim``. The corpus has bodies only: an article's title is its first sentence (cut at
:data:`TITLE_MAX_WORDS` words) and its body the rest; it has no sections (category "general") and no dates, so the
articles get evenly spaced publication times over :data:`SPAN_DAYS` days from :data:`START`, in file order. The
dates are made up: the simulator's recency and its cutoff follow file order, not the news calendar.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd

from common.settings import cache_dir
from training.data.corpus import pypi_wheel

GENSIM_VERSION = "4.4.0"
MEMBERS = ("gensim/test/test_data/lee_background.cor", "gensim/test/test_data/lee.cor")
TITLE_MAX_WORDS = 14
START = pd.Timestamp("2002-01-01", tz="UTC")
SPAN_DAYS = 60
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"']?\s+(?=[\"'A-Z])")


def gensim_wheel(refresh: bool = False) -> Path:
    """Path of the cached gensim wheel (downloaded when missing)."""
    return pypi_wheel("gensim", GENSIM_VERSION, cache_dir() / "data" / "gensim", refresh)


def split_title(text: str, max_words: int = TITLE_MAX_WORDS) -> tuple[str, str]:
    """``(title, body)`` of an article given as one text: the first sentence (at most ``max_words`` words, "..."
    marking a cut) and the rest."""
    text = " ".join(text.split())
    parts = _SENTENCE_END.split(text, maxsplit=1)
    first, rest = parts[0], parts[1] if len(parts) > 1 else ""
    words = first.split()
    if len(words) > max_words:
        return " ".join(words[:max_words]) + " ...", text
    return first, rest


def lee_texts(wheel: Path | None = None) -> list[str]:
    """The corpus's articles in file order (background file first), blank lines left out."""
    with zipfile.ZipFile(wheel or gensim_wheel()) as archive:
        lines = [line for member in MEMBERS for line in _decode(archive.read(member)).splitlines()]
    return [line.strip() for line in lines if line.strip()]


def _decode(raw: bytes) -> str:
    """The files are Windows-1252 ("\xa3" is a pound sign), not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def lee_articles(texts: list[str] | None = None) -> pd.DataFrame:
    """The corpus as an article table: id ``lee-<n>``, title, body, category, published (see the module docstring)."""
    texts = lee_texts() if texts is None else texts
    if not texts:
        raise ValueError("no articles in the Lee corpus")
    step = pd.Timedelta(days=SPAN_DAYS) / len(texts)
    rows = []
    for i, text in enumerate(texts):
        title, body = split_title(text)
        rows.append({"article_id": f"lee-{i}", "title": title, "body": body, "category": "general",
                     "published_at": (START + i * step).floor("min").isoformat(), "source": "abc.net.au (Lee corpus)"})
    return pd.DataFrame(rows)


def write_lee(path: Path) -> tuple[Path, int]:
    """Write the corpus as a CSV article file; returns the path and the number of articles."""
    frame = lee_articles()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path, len(frame)
