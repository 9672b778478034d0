"""Backward-compatibility checks between consecutive versions of each schema (the ``avro`` package's checker).

Backward compatible: a reader on version N can read data written with version N-1. ``interests schemas check``
runs this over every subject and exits non-zero on the first incompatible pair.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from schemas.registry import SchemaRegistry


@dataclass(frozen=True)
class CompatResult:
    subject: str
    reader_version: int
    writer_version: int
    compatible: bool
    detail: str


def check_pair(reader: dict, writer: dict) -> tuple[bool, str]:
    """Can data written with ``writer`` be read with ``reader``? Returns (ok, explanation)."""
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    ok = result.compatibility is SchemaCompatibilityType.compatible
    detail = "compatible" if ok else "; ".join(sorted(str(m) for m in result.messages)) or "incompatible"
    return ok, detail


def check_registry(registry: SchemaRegistry | None = None) -> list[CompatResult]:
    """Check every version of every subject against the version before it."""
    registry = registry or SchemaRegistry()
    results = []
    for subject in registry.subjects:
        versions = registry.versions(subject)
        for previous, current in zip(versions, versions[1:]):
            ok, detail = check_pair(current.raw, previous.raw)
            results.append(CompatResult(subject, current.version, previous.version, ok, detail))
    return results
