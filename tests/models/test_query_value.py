"""The query-value model's features on hand-computed cases, the choice of the best-scored candidates, the saved
model's round trip, and the chooser in a generator (models/query_value.py, models/generators/select.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.embeddings import HashEmbedder
from models.generators.base import Generation, QueryGenerator, UserContext
from models.generators.select import Selected, pool_of
from models.query_value import FEATURES, NOT_A_PHRASE, NO_SIGNAL_AGE_DAYS, Profile, QueryValueModel, choose, features

DAY = 86_400_000
HISTORY = [  # newest first
    {"domain": "search", "text": "fed rate decision", "ts": 10 * DAY},
    {"domain": "click", "text": "Arsenal beat Chelsea in the derby", "ts": 9 * DAY},
    {"domain": "social", "text": "The Fed rate decision shocked markets", "ts": 7 * DAY},
]
VECTORS = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])  # signal 2's is not unit: normalised


def row(values: np.ndarray) -> dict:
    return dict(zip(FEATURES, values))


def test_the_profile_weighs_signals_by_recency_and_domain():
    profile = Profile.of(HISTORY, VECTORS)
    assert profile.ages.tolist() == [0.0, 1.0, 3.0]
    assert profile.recency[2] == pytest.approx(0.5)  # three days: one half-life
    weights = np.array([1.3 * 1.0, 1.0 * 2 ** (-1 / 3), 0.8 * 0.5])  # domain weight x recency
    assert profile.centroid == pytest.approx(weights / np.linalg.norm(weights), abs=1e-6)
    assert np.linalg.norm(profile.vectors, axis=1) == pytest.approx([1, 1, 1])
    with pytest.raises(ValueError, match="at least one signal"):
        Profile.of([], np.zeros((0, 3)))


def test_features_count_the_signals_that_hold_a_query_whole_and_where_it_stands():
    profile = Profile.of(HISTORY, VECTORS)
    queries = ["fed rate decision", "arsenal chelsea", "tennis final"]
    rows = features(queries, np.array([[1.0, 0, 0], [0, 1.0, 0], [0.6, 0.8, 0]]), profile,
                    phrases=["arsenal chelsea", "fed rate decision"], from_model=[True, False, True])
    fed, arsenal, tennis = (row(r) for r in rows)
    assert fed["phrase_rank"] == 1 and arsenal["phrase_rank"] == 0 and tennis["phrase_rank"] == NOT_A_PHRASE
    assert (fed["is_model"], arsenal["is_model"]) == (1.0, 0.0)
    assert (fed["n_words"], fed["n_chars"]) == (3, len("fed rate decision"))
    # "fed rate decision" is held whole by the search (age 0) and the post (age 3 days)
    assert fed["support"] == 2 and fed["support_recent"] == pytest.approx(1.5)
    assert (fed["newest_age_days"], fed["oldest_age_days"], fed["first_signal"]) == (0.0, 3.0, 0)
    assert (fed["support_search"], fed["support_social"], fed["support_click"]) == (1, 1, 0)
    assert fed["word_support_mean"] == 2 and fed["word_support_min"] == 2
    assert arsenal["support"] == 1 and arsenal["first_signal"] == 1 and arsenal["newest_age_days"] == 1.0
    # nothing holds "tennis final": no support, the no-signal age, the first signal past the history
    assert tennis["support"] == 0 and tennis["newest_age_days"] == NO_SIGNAL_AGE_DAYS and tennis["first_signal"] == 3
    assert fed["history_len"] == 3 and fed["history_search"] == pytest.approx(1 / 3)
    assert fed["cos_newest"] == pytest.approx(1.0) and fed["cos_history_max"] == pytest.approx(1.0)
    assert fed["cos_history_mean"] == pytest.approx(1 / 3)
    assert tennis["cos_history_mean"] == pytest.approx((0.6 + 0.8) / 3)
    assert fed["cos_centroid"] == pytest.approx(float(profile.centroid[0]))
    with pytest.raises(ValueError, match="model flags"):
        features(queries, np.eye(3), profile, [], [True])


def test_choose_takes_the_best_scored_and_passes_over_a_query_inside_a_chosen_one():
    candidates = ["fed rate decision", "fed rate", "arsenal chelsea", "climate summit", "tennis"]
    # "fed rate" is inside the chosen "fed rate decision"; ties go to the earlier candidate
    assert choose(candidates, [0.9, 0.8, 0.1, 0.1, 0.5], 3) == [0, 4, 2]
    assert choose(candidates, [0.9, 0.8, 0.1, 0.1, 0.5], 10) == [0, 4, 2, 3]
    assert choose([], [], 5) == []
    # with embeddings: "chuck berry rock" is too close to the chosen "chuck berry music" (cosine 0.8 > 0.7)
    vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]])
    near = ["chuck berry music", "chuck berry rock", "fed rates", "arsenal derby"]
    assert choose(near, [0.9, 0.8, 0.5, 0.1], 3, vectors) == [0, 2]  # "arsenal derby" is 0.8 from "fed rates"
    assert choose(near, [0.9, 0.8, 0.5, 0.1], 3, vectors, max_cosine=0.85) == [0, 1, 2]
    assert choose(near, [0.9, 0.8, 0.5, 0.1], 3) == [0, 1, 2]
    with pytest.raises(ValueError, match="scores"):
        choose(candidates, [1.0], 2)


def trained(tmp_path, target: str = "phrase_rank") -> QueryValueModel:
    """A real LightGBM ranker on made-up rows whose label falls with one feature (a low key-phrase rank is best)."""
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    x = rng.random((400, len(FEATURES)))
    column = FEATURES.index(target)
    x[:, column] = np.tile(np.arange(20), 20)
    y = (x[:, column] < 5).astype(int) * 3
    ranker = lgb.LGBMRanker(n_estimators=20, min_child_samples=5, verbose=-1, random_state=0)
    ranker.fit(x, y, group=[20] * 20)
    return QueryValueModel(ranker.booster_, "value@test", {"made": "test"})


def test_a_saved_model_loads_and_scores_the_same_and_refuses_other_features(tmp_path):
    model = trained(tmp_path)
    folder = model.save(tmp_path / "qv")
    loaded = QueryValueModel.load(folder)
    x = np.random.default_rng(1).random((6, len(FEATURES)))
    assert loaded.version == "value@test" and loaded.meta["made"] == "test"
    assert loaded.scores(x) == pytest.approx(model.scores(x))
    assert loaded.scores(np.zeros((0, len(FEATURES)))).shape == (0,)
    meta = (folder / "meta.json").read_text().replace('"cos_history_max"', '"something_else"')
    (folder / "meta.json").write_text(meta)
    with pytest.raises(ValueError, match="other features"):
        QueryValueModel.load(folder)
    with pytest.raises(FileNotFoundError, match="interests train query-value"):
        QueryValueModel.load(tmp_path / "nothing")


def test_the_pool_keeps_the_model_queries_first_and_drops_phrases_inside_them():
    pool, from_model = pool_of(["fed rate decision", "arsenal derby"], ["fed rate", "climate summit", "arsenal",
                                                                        "Climate Summit"])
    assert pool == ["fed rate decision", "arsenal derby", "climate summit"]
    assert from_model == [True, True, False]


class Fixed(QueryGenerator):
    version = "fixed@1"

    def __init__(self, lists):
        self.lists = lists

    def generate(self, contexts):
        return [Generation(list(q)) for q, _ in zip(self.lists, contexts)]


class ByRank:
    """A stand-in value model: a key phrase scores minus its rank, a model's query ``model_score``."""

    version = "value@rank"

    def __init__(self, model_score: float):
        self.model_score = model_score

    def scores(self, rows):
        rank, is_model = rows[:, FEATURES.index("phrase_rank")], rows[:, FEATURES.index("is_model")]
        return np.where(is_model == 1, self.model_score, -rank)


HISTORY_2 = [{"domain": "search", "text": "climate summit coal deal", "ts": 3 * DAY},
             {"domain": "click", "text": "Arsenal sign new striker", "ts": 2 * DAY},
             {"domain": "click", "text": "Fed rate decision looms", "ts": 1 * DAY}]


def test_selected_writes_the_chosen_model_queries_first_and_counts_the_phrases_as_filled():
    from models.generators.keyphrase import key_phrases

    # the key phrases, best first; "fed rate decision looms" holds the model's "fed rate decision": not a candidate
    assert key_phrases(HISTORY_2, 20) == ["climate summit coal deal", "fed rate decision looms", "arsenal sign"]
    model = ["arsenal striker", "fed rate decision"]
    generator = Selected(Fixed([model, []]), ByRank(-1.5), HashEmbedder(), 3)
    chosen, empty = generator.generate([UserContext("u1", HISTORY_2), UserContext("u2", HISTORY_2)])
    # scores: climate 0, the model's -1.5 each, arsenal sign -2: the model's two (in its order), then one phrase
    assert chosen.queries == ["arsenal striker", "fed rate decision", "climate summit coal deal"]
    assert chosen.filled == 1 and chosen.version == f"fixed@1+keyphrase@1+{ByRank.version}"
    assert empty.queries == [] and empty.filled == 0  # the invalid-output policy decides for an empty list
    assert generator.version == "fixed@1"
    # the model's queries below every phrase: two phrases and then the better-placed of the model's (the first)
    low = Selected(Fixed([model]), ByRank(-5), HashEmbedder(), 3).generate([UserContext("u1", HISTORY_2)])[0]
    assert low.queries == ["arsenal striker", "climate summit coal deal", "arsenal sign"] and low.filled == 2
    # the model's queries above every phrase: nothing added, the model's own version
    high = Selected(Fixed([model]), ByRank(5), HashEmbedder(), 2).generate([UserContext("u1", HISTORY_2)])[0]
    assert high.queries == model and high.filled == 0 and high.version == "fixed@1"


def test_the_value_config_builds_the_chooser_and_an_unknown_choice_is_refused(tmp_path):
    from models.config import GeneratorConfig
    from models.generators.factory import make_generator

    with pytest.raises(ValueError, match="INTERESTS_GEN_SELECT"):
        GeneratorConfig(select="best")
    assert GeneratorConfig().select == "value"  # served by default
    assert QueryValueModel.load(GeneratorConfig().query_value_dir).version == "value@1"  # and shipped
    trained(tmp_path).save(tmp_path / "qv")
    cfg = GeneratorConfig(backend="smollm2", select="value", query_value_dir=tmp_path / "qv", embedder="hash",
                          on_invalid="stale")
    from models.generators import factory

    real_backend = factory.backend
    try:
        factory.backend = lambda name, cfg, n=1, temperature=0.8: Fixed([["fed rate decision"]])
        generator = make_generator(cfg)
    finally:
        factory.backend = real_backend
    assert isinstance(generator, Selected) and generator.value.version == "value@test"
    assert math.isfinite(float(generator.value.scores(np.zeros((1, len(FEATURES))))[0]))


def test_the_valued_phrases_are_the_best_key_phrases_without_a_model():
    from models.generators.select import ValuedPhrases

    generator = ValuedPhrases(ByRank(0.0), HashEmbedder(), 2)
    (g,), = [generator.generate([UserContext("u1", HISTORY_2)])]
    assert g.queries == ["climate summit coal deal", "fed rate decision looms"]
    assert generator.version == "keyphrase@1+value@rank"
    assert generator.generate([UserContext("u2", [{"domain": "click", "text": "the", "ts": 1}])])[0].queries == []
