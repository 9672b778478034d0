"""Backward compatibility between consecutive schema versions (a reader on vN reads data written with vN-1)."""

from __future__ import annotations

import json

import pytest

from schemas import AvroCodec, DecodeError, SchemaRegistry
from schemas.compat import CompatResult, check_pair, check_registry

BASE_FIELDS = [{"name": "id", "type": "string"}, {"name": "count", "type": "long"}]


def _record(*extra_fields, name="Thing") -> dict:
    return {"type": "record", "name": name, "namespace": "test", "fields": [*BASE_FIELDS, *extra_fields]}


def _enum_record(symbols) -> dict:
    return _record({"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": list(symbols)}})


def _folder(tmp_path, *versions: dict, subject: str = "thing"):
    for number, schema in enumerate(versions, start=1):
        (tmp_path / f"{subject}.v{number}.avsc").write_text(json.dumps(schema))
    return SchemaRegistry(tmp_path)


def test_shipped_registry_is_all_compatible():
    results = check_registry()
    assert results, "the shipped schemas have at least one subject with two versions"
    assert all(r.compatible for r in results), [r for r in results if not r.compatible]
    assert all(r.detail == "compatible" for r in results)


def test_shipped_click_event_v2_reads_v1():
    results = {(r.subject, r.reader_version, r.writer_version): r for r in check_registry()}
    assert results[("click_event", 2, 1)].compatible


def test_check_registry_defaults_to_the_shipped_schemas():
    assert check_registry() == check_registry(SchemaRegistry())


def test_single_version_subjects_produce_no_results(tmp_path):
    assert check_registry(_folder(tmp_path, _record())) == []


def test_adding_a_required_field_without_default_is_incompatible(tmp_path):
    registry = _folder(tmp_path, _record(), _record({"name": "score", "type": "double"}))
    [result] = check_registry(registry)
    assert result == CompatResult("thing", 2, 1, False, result.detail)
    assert "score" in result.detail


def test_adding_a_field_with_a_default_is_compatible(tmp_path):
    registry = _folder(tmp_path, _record(), _record({"name": "score", "type": "double", "default": 0.0}))
    [result] = check_registry(registry)
    assert result.compatible and result.detail == "compatible"
    assert (result.reader_version, result.writer_version) == (2, 1)


def test_adding_an_optional_nullable_field_is_compatible(tmp_path):
    registry = _folder(tmp_path, _record(), _record({"name": "note", "type": ["null", "string"], "default": None}))
    assert [r.compatible for r in check_registry(registry)] == [True]


def test_removing_a_field_is_compatible(tmp_path):
    registry = _folder(tmp_path, _record({"name": "note", "type": "string"}), _record())
    assert [r.compatible for r in check_registry(registry)] == [True]


def test_removing_an_enum_symbol_is_incompatible(tmp_path):
    registry = _folder(tmp_path, _enum_record(["A", "B", "C"]), _enum_record(["A", "B"]))
    [result] = check_registry(registry)
    assert not result.compatible
    assert result.detail != "compatible"


def test_adding_an_enum_symbol_is_compatible(tmp_path):
    registry = _folder(tmp_path, _enum_record(["A", "B"]), _enum_record(["A", "B", "C"]))
    assert [r.compatible for r in check_registry(registry)] == [True]


def test_changing_a_field_type_incompatibly_is_reported(tmp_path):
    changed = {"type": "record", "name": "Thing", "namespace": "test",
               "fields": [{"name": "id", "type": "string"}, {"name": "count", "type": "string"}]}
    registry = _folder(tmp_path, _record(), changed)
    assert [r.compatible for r in check_registry(registry)] == [False]


def test_promoting_int_to_long_is_compatible():
    writer = {"type": "record", "name": "P", "fields": [{"name": "n", "type": "int"}]}
    reader = {"type": "record", "name": "P", "fields": [{"name": "n", "type": "long"}]}
    assert check_pair(reader, writer) == (True, "compatible")
    ok, detail = check_pair(writer, reader)  # narrowing long -> int is not
    assert not ok and detail


def test_every_consecutive_pair_is_checked_in_order(tmp_path):
    v1 = _record()
    v2 = _record({"name": "a", "type": "int", "default": 0})
    v3 = _record({"name": "a", "type": "int", "default": 0}, {"name": "b", "type": "int"})
    results = check_registry(_folder(tmp_path, v1, v2, v3))
    assert [(r.reader_version, r.writer_version, r.compatible) for r in results] == [(2, 1, True), (3, 2, False)]


def test_results_cover_every_subject_with_several_versions(tmp_path):
    _folder(tmp_path, _record(), _record({"name": "x", "type": "int", "default": 1}), subject="alpha")
    registry = _folder(tmp_path, _record(name="B"), _record({"name": "y", "type": "int"}, name="B"), subject="beta")
    results = check_registry(registry)
    assert [(r.subject, r.compatible) for r in results] == [("alpha", True), ("beta", False)]


def test_compatible_pair_really_decodes_old_data_with_the_default(tmp_path):
    registry = _folder(tmp_path, _record(), _record({"name": "score", "type": "double", "default": 0.5}))
    assert all(r.compatible for r in check_registry(registry))
    codec = AvroCodec(registry)
    subject, record = codec.decode(codec.encode("thing", {"id": "x", "count": 3}, version=1))
    assert (subject, record) == ("thing", {"id": "x", "count": 3, "score": 0.5})


def test_incompatible_pair_fails_to_decode_old_data(tmp_path):
    registry = _folder(tmp_path, _record(), _record({"name": "score", "type": "double"}))
    assert not any(r.compatible for r in check_registry(registry))
    codec = AvroCodec(registry)
    with pytest.raises(DecodeError) as info:
        codec.decode(codec.encode("thing", {"id": "x", "count": 3}, version=1))
    assert info.value.reason == "bad_body"
