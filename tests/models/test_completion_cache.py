"""The offline evaluation's completion cache: a rerun reads completions back by (version, prompt, settings)."""

from __future__ import annotations

from models.generators.cache import CompletionCache


def test_completions_are_read_back_by_version_prompt_and_settings(tmp_path):
    path = tmp_path / "c.jsonl"
    cache = CompletionCache(path)
    key = cache.key("m@1", "prompt one", temperature=0.0, n=1)
    assert cache.get(key) is None
    cache.put(key, ["a\nb"])
    again = CompletionCache(path)
    assert again.get(key) == ["a\nb"] and len(again) == 1
    assert again.get(again.key("m@2", "prompt one", temperature=0.0, n=1)) is None  # another model
    assert again.get(again.key("m@1", "prompt one", temperature=0.8, n=1)) is None  # other decoding


def test_a_line_cut_by_a_killed_run_is_skipped(tmp_path):
    path = tmp_path / "c.jsonl"
    cache = CompletionCache(path)
    cache.put("k1", ["x"])
    with path.open("a") as handle:
        handle.write('{"key": "k2", "compl')
    assert CompletionCache(path).get("k1") == ["x"] and CompletionCache(path).get("k2") is None
