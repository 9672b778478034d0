"""Model cards as the Hugging Face Hub reads them: YAML front-matter (base model, library, licence, tags, pipeline)
and the sections Intended use, Limitations and Evaluation, for the card ``training.runs.model_card`` writes and for
every card committed beside a shipped or kept adapter."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from training.runs import CARD_BASE_MODEL, model_card

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = sorted([*ROOT.glob("models/artifacts/*/README.md"), *ROOT.glob("training/artifacts/*/README.md")])
SECTIONS = ("## Intended use", "## Limitations", "## Evaluation")


def front_matter(card: str) -> dict:
    """The YAML block between the card's first two ``---`` lines, parsed."""
    assert card.startswith("---\n"), "a model card begins with YAML front-matter"
    block, sep, _ = card[4:].partition("\n---\n")
    assert sep, "the front-matter is closed by a --- line"
    meta = yaml.safe_load(block)
    assert isinstance(meta, dict)
    return meta


def check_hub_metadata(meta: dict, library_name: str) -> None:
    assert meta["base_model"] == CARD_BASE_MODEL == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert meta["library_name"] == library_name
    assert meta["license"] == "apache-2.0"
    assert meta["pipeline_tag"] == "text-generation"
    assert isinstance(meta["tags"], list) and all(isinstance(t, str) for t in meta["tags"])
    assert {"interest-queries", "news-recommendation", "lora"} <= set(meta["tags"])


def teacher_manifest(**extra) -> dict:
    return {"base": "smollm2-135m-instruct@base", "layers": None, "adapter": ".", "training_run": "runs/teacher",
            "description": "SmolLM2-135M-Instruct trained with Dr.GRPO.", **extra}


def test_model_card_begins_with_hub_front_matter_and_has_the_sections():
    card = model_card("Interest-query teacher (Dr.GRPO)", teacher_manifest(), {"seed": 0}, {"steps": 20})
    meta = front_matter(card)
    check_hub_metadata(meta, "peft")
    assert "dr-grpo" in meta["tags"] and "distillation" not in meta["tags"]
    body = card.split("\n---\n", 1)[1]
    assert body.lstrip().startswith("# Interest-query teacher (Dr.GRPO)")
    positions = [body.index(section) for section in (*SECTIONS, "## Config", "## Metrics")]
    assert positions == sorted(positions)
    # no evaluation in the run: the card says where it is measured instead of inventing numbers
    evaluation = body.split("## Evaluation", 1)[1].split("## Config", 1)[0]
    assert "interests train study" in evaluation and "interests benchmark" in evaluation


def test_model_card_of_a_student_and_its_evaluation():
    manifest = teacher_manifest(layers=[0, 1, 10, 11], teacher="models/artifacts/grpo-v1",
                                evaluation={"ndcg@10": 0.015, "users": 60})
    card = model_card("Interest-query student (sft distillation)", manifest, {"mode": "sft"})
    meta = front_matter(card)
    check_hub_metadata(meta, "peft")
    assert "distillation" in meta["tags"] and "dr-grpo" not in meta["tags"]
    evaluation = card.split("## Evaluation", 1)[1].split("## Config", 1)[0]
    assert "- ndcg@10: 0.015" in evaluation and "- users: 60" in evaluation
    assert "4 layers" in card.split("## Intended use", 1)[1]


def test_model_card_writes_the_cache_folder_portably(monkeypatch, tmp_path):
    monkeypatch.setenv("INTERESTS_CACHE", str(tmp_path))
    card = model_card("t", teacher_manifest(training_run=str(tmp_path / "train" / "teacher")),
                      {"policy": {"model": str(tmp_path / "models" / "smollm2-135m-instruct")}})
    assert str(tmp_path) not in card and "$INTERESTS_CACHE/train/teacher" in card
    front_matter(card)


def test_there_are_committed_cards():
    assert any("models/artifacts" in str(p) for p in COMMITTED) and any("training/artifacts" in str(p) for p in COMMITTED)


@pytest.mark.parametrize("card_path", COMMITTED, ids=lambda p: str(p.parent.relative_to(ROOT)))
def test_committed_card_has_hub_front_matter_and_sections(card_path):
    folder = card_path.parent
    card = card_path.read_text()
    library = "peft" if (folder / "adapter_config.json").exists() else "transformers"
    check_hub_metadata(front_matter(card), library)
    for section in SECTIONS:
        assert re.search(rf"^{re.escape(section)}$", card, re.M), f"{card_path}: no {section} section"
    evaluation = card.split("## Evaluation", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"\d\.\d", evaluation), "the committed cards carry their measured evaluation numbers"


@pytest.mark.parametrize("path", [p for card in COMMITTED for p in (card, card.parent / "manifest.json") if p.exists()],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_cards_and_manifests_name_no_machine_path(path):
    text = path.read_text()
    assert not re.search(r"/root\b|/tmp/|/home/", text), f"{path} names a path of the machine that wrote it"
    if path.name == "manifest.json":
        json.loads(text)
