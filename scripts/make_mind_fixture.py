"""Write a small synthetic fixture in Microsoft MIND's format (news.tsv + behaviors.tsv) for the loader's tests.

Every title, category and user is invented here (no MIND row is used): 30 news items in six categories, 12 users
(three with an empty history), 60 impressions over a week of November 2019, each showing 3 to 6 items with 1 or 2
clicks. Deterministic (fixed seed, stdlib only):

    python scripts/make_mind_fixture.py --out tests/fixtures/mind_small
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from pathlib import Path

SEED = 20191109
N_USERS = 12
N_IMPRESSIONS = 60
EMPTY_HISTORY_USERS = {"U3", "U8", "U12"}
TOPICS = {  # category -> (subcategory, invented headline subjects)
    "sports": ("football_nfl", ["Harbor City Gulls", "the Northfield marathon", "a rookie quarterback",
                                "the county cricket final", "the lakeside regatta"]),
    "finance": ("markets", ["regional bank shares", "the copper price", "a pension fund merger",
                            "small business loans", "the quarterly bond auction"]),
    "health": ("medical", ["a new flu vaccine trial", "hospital waiting lists", "sleep and memory research",
                           "a school nutrition scheme", "rural clinic funding"]),
    "travel": ("travelnews", ["night trains to the coast", "a mountain hut network", "budget airline routes",
                              "the old harbour ferry", "winter festival tickets"]),
    "foodanddrink": ("recipes", ["one-pan autumn dinners", "a sourdough starter guide", "pumpkin soup variations",
                                 "the village cheese fair", "weeknight noodle bowls"]),
    "news": ("newspolitics", ["the city council budget", "a bridge repair vote", "new bus lane plans",
                              "the library reopening", "a local election recount"]),
}
VERBS = ["What to know about", "Inside", "Why everyone is talking about", "A closer look at", "The latest on"]


def make_news() -> list[list[str]]:
    """30 rows: news_id, category, subcategory, title, abstract, url, title_entities, abstract_entities."""
    rows = []
    n = 0
    for category, (subcategory, subjects) in TOPICS.items():
        for i, subject in enumerate(subjects):
            n += 1
            title = f"{VERBS[(n + i) % len(VERBS)]} {subject}"
            abstract = f"An invented {category} story about {subject}, written for a test fixture."
            rows.append([f"N{n}", category, subcategory, title, abstract, f"https://example.org/mind/N{n}.html",
                         "[]", "[]"])
    return rows


def make_behaviors(news: list[list[str]], rng: random.Random) -> list[list[str]]:
    """60 rows: impression_id, user_id, time, history, impressions; a user's history is fixed, as in MIND."""
    ids = [row[0] for row in news]
    by_category: dict[str, list[str]] = {}
    for row in news:
        by_category.setdefault(row[1], []).append(row[0])
    users = [f"U{u}" for u in range(1, N_USERS + 1)]
    favourite = {u: rng.sample(sorted(by_category), 2) for u in users}
    history = {u: [] if u in EMPTY_HISTORY_USERS else rng.sample(by_category[favourite[u][0]], 3)
               + rng.sample(ids, rng.randint(0, 3)) for u in users}
    start = dt.datetime(2019, 11, 9, 6, 0, 0)
    times = sorted(start + dt.timedelta(seconds=rng.randint(0, 6 * 24 * 3600)) for _ in range(N_IMPRESSIONS))
    owners = users + [rng.choice(users) for _ in range(N_IMPRESSIONS - N_USERS)]  # every user at least once
    rng.shuffle(owners)
    rows = []
    for number, (when, user) in enumerate(zip(times, owners), 1):
        shown = rng.sample(ids, rng.randint(3, 6))
        liked = [i for i in shown if any(i in by_category[c] for c in favourite[user])]
        clicked = set(liked[:2]) or {shown[0]}
        items = " ".join(f"{i}-{1 if i in clicked else 0}" for i in shown)
        rows.append([str(number), user, mind_time(when), " ".join(history[user]), items])
    return rows


def mind_time(when: dt.datetime) -> str:
    """MIND's time format, without zero padding of month, day and hour: "11/9/2019 8:05:03 AM"."""
    hour = when.hour % 12 or 12
    return f"{when.month}/{when.day}/{when.year} {hour}:{when:%M:%S} {'AM' if when.hour < 12 else 'PM'}"


def write_tsv(path: Path, rows: list[list[str]]) -> None:
    path.write_text("".join("\t".join(row) + "\n" for row in rows), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/mind_small"))
    args = parser.parse_args(argv)
    rng = random.Random(SEED)
    news = make_news()
    behaviors = make_behaviors(news, rng)
    args.out.mkdir(parents=True, exist_ok=True)
    write_tsv(args.out / "news.tsv", news)
    write_tsv(args.out / "behaviors.tsv", behaviors)
    clicks = sum(item.endswith("-1") for row in behaviors for item in row[4].split())
    print(f"wrote {len(news)} news and {len(behaviors)} impressions ({clicks} clicks) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
