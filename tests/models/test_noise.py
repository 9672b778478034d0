"""The behaviour-cleaning classifier on a small synthetic simulation (hashing embedder): it is trained on train users
only, beats chance on the test users, and the saved filter reloads and predicts the same."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.embeddings import HashEmbedder
from models.noise import NoiseFeatures, NoiseFilter, signal_from_event, train_noise_classifier
from tests.training.test_simulate import run_sim


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("noise")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERESTS_CACHE", str(out / "cache"))
        run_sim(out / "sim", n_users=80, events_per_user=50, noise_rate=0.1)
    model, report = train_noise_classifier(out / "sim", HashEmbedder(), seed=0)
    return out / "sim", model, report


def test_report_and_files(trained):
    sim, _, report = trained
    assert (sim / "noise.joblib").exists()
    assert json.loads((sim / "noise_report.json").read_text()) == report
    users = json.loads((sim / "users.json").read_text())
    n_test = sum(u["n_events"] for u in users.values() if u["split"] == "test")
    assert report["n_test"] == n_test and report["n_train"] + n_test == sum(u["n_events"] for u in users.values())
    assert set(report["recall_by_kind"]) == {"accidental_click", "navigational_search", "spam_post"}


def test_beats_chance_on_test_users(trained):
    _, _, report = trained
    clicks = report["by_domain"]["click"]
    assert clicks["n_noise"] >= 5
    assert report["recall_by_kind"]["accidental_click"]["recall"] >= 0.6
    assert clicks["precision"] >= 0.5
    overall = report["test"]
    base_rate = overall["n_noise"] / overall["n"]
    assert overall["recall"] >= 0.6 and overall["precision"] >= 2 * base_rate
    assert report["test_auc"] >= 0.8


def test_filter_reloads_and_flags_short_dwell_clicks(trained):
    sim, model, _ = trained
    loaded = NoiseFilter.load(sim / "noise.joblib")
    assert loaded.features.embedder.name == HashEmbedder.name
    events = [json.loads(line) for line in (sim / "events.jsonl").read_text().splitlines()[:200]]
    signals = [signal_from_event(e) for e in events]
    assert loaded.predict(signals) == model.predict(signals)
    assert np.allclose(loaded.predict_proba(signals), model.predict_proba(signals))
    title = next(e["title"] for e in events if e["type"] == "click")
    short, long = ({"domain": "click", "kind": "click", "text": title, "dwell_ms": d} for d in (800, 120_000))
    assert loaded.predict([short, long]) == [True, False]
    strict = NoiseFilter.load(sim / "noise.joblib", threshold=1.0)
    assert strict.predict([short, long]) == [False, False]
    assert loaded.predict([]) == []


def test_features_are_generic_and_shaped():
    feats = NoiseFeatures(HashEmbedder(dim=32))
    X = feats.transform([{"domain": "search", "kind": "search", "text": "mortgage rates"},
                         {"domain": "browse", "kind": "browse", "text": "https://x.example/a", "dwell_ms": 5000},
                         {"domain": "social", "kind": "SHARE", "text": ""}])
    assert X.shape == (3, feats.dim) and X.dtype == np.float32
    assert np.isfinite(X).all()


def test_signal_from_event_covers_every_type():
    rows = [{"type": "click", "title": "T", "dwell_ms": 5}, {"type": "search", "query": "q"},
            {"type": "social", "action": "LIKE", "text": "t"}, {"type": "browse", "url": "https://u", "title": None}]
    assert [signal_from_event(r)["domain"] for r in rows] == ["click", "search", "social", "browse"]
    assert signal_from_event(rows[3])["text"] == "https://u"
    with pytest.raises(ValueError):
        signal_from_event({"type": "video"})


def test_precomputed_embeddings_give_the_same_verdicts(trained):
    """The stream passes the embeddings it already computed; the verdicts must not change."""
    sim, model, _ = trained
    events = [json.loads(line) for line in (sim / "events.jsonl").read_text().splitlines()[:100]]
    signals = [signal_from_event(e) for e in events]
    vectors = HashEmbedder().embed([s["text"] for s in signals])
    assert model.predict(signals, vectors) == model.predict(signals)
