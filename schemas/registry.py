"""Loads the ``.avsc`` files and indexes every version by subject and by fingerprint."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import fastavro
from fastavro.schema import to_parsing_canonical_form

SCHEMA_DIR = Path(__file__).parent / "avro"
_FILE = re.compile(r"^(?P<subject>[a-z_]+)\.v(?P<version>\d+)\.avsc$")

_CRC64_EMPTY = 0xC15D213AA4D7A795


def _crc64_table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_CRC64_EMPTY & -(fp & 1))
        table.append(fp)
    return table


_CRC64_TABLE = _crc64_table()


def crc64_avro(data: bytes) -> int:
    """The Avro spec's 64-bit Rabin fingerprint (CRC-64-AVRO) of ``data``."""
    fp = _CRC64_EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _CRC64_TABLE[(fp ^ byte) & 0xFF]
    return fp


@dataclass(frozen=True)
class SchemaVersion:
    subject: str
    version: int
    path: Path
    raw: dict
    parsed: dict  # fastavro's parsed schema
    canonical: str
    fingerprint: int

    @property
    def fingerprint_bytes(self) -> bytes:
        """Little-endian, as single-object encoding writes it."""
        return self.fingerprint.to_bytes(8, "little")


class SchemaRegistry:
    """Every version of every subject found in a folder of ``<subject>.v<N>.avsc`` files."""

    def __init__(self, directory: Path = SCHEMA_DIR):
        self.directory = Path(directory)
        self._by_subject: dict[str, list[SchemaVersion]] = {}
        self._by_fingerprint: dict[int, SchemaVersion] = {}
        for path in sorted(self.directory.glob("*.avsc")):
            match = _FILE.match(path.name)
            if not match:
                raise ValueError(f"{path}: schema files must be named <subject>.v<N>.avsc")
            raw = json.loads(path.read_text())
            parsed = fastavro.parse_schema(raw)
            canonical = to_parsing_canonical_form(parsed)
            version = SchemaVersion(
                subject=match["subject"],
                version=int(match["version"]),
                path=path,
                raw=raw,
                parsed=parsed,
                canonical=canonical,
                fingerprint=crc64_avro(canonical.encode()),
            )
            self._by_subject.setdefault(version.subject, []).append(version)
            self._by_fingerprint[version.fingerprint] = version
        for versions in self._by_subject.values():
            versions.sort(key=lambda v: v.version)
        if not self._by_subject:
            raise ValueError(f"no .avsc schemas found in {self.directory}")

    @property
    def subjects(self) -> list[str]:
        return sorted(self._by_subject)

    def versions(self, subject: str) -> list[SchemaVersion]:
        try:
            return list(self._by_subject[subject])
        except KeyError:
            raise KeyError(f"unknown schema subject {subject!r}; known: {', '.join(self.subjects)}") from None

    def latest(self, subject: str) -> SchemaVersion:
        return self.versions(subject)[-1]

    def by_fingerprint(self, fingerprint: int) -> SchemaVersion | None:
        return self._by_fingerprint.get(fingerprint)
