"""Avro single-object encoding (spec: "Single-object encoding") with fastavro on the hot path.

A reader decodes with the writer's schema (found by fingerprint) resolved against the newest version of the same
subject, so producers and consumers can be upgraded independently as long as schemas stay backward compatible.
"""

from __future__ import annotations

import io
from functools import lru_cache

from fastavro import schemaless_reader, schemaless_writer

from schemas.registry import SchemaRegistry

MAGIC = b"\xc3\x01"
HEADER_LEN = 10


class DecodeError(ValueError):
    """The bytes are not a valid single-object-encoded Avro message. ``reason`` is a short machine-readable tag."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class UnknownSchemaError(DecodeError):
    def __init__(self, fingerprint: int):
        super().__init__("unknown_schema", f"no schema with fingerprint {fingerprint:#018x} is registered")
        self.fingerprint = fingerprint


class EncodeError(ValueError):
    """A record does not match the schema it is written with."""


class AvroCodec:
    def __init__(self, registry: SchemaRegistry | None = None):
        self.registry = registry or SchemaRegistry()

    def encode(self, subject: str, record: dict, version: int | None = None) -> bytes:
        """Encode ``record`` with the given (default: newest) version of ``subject``."""
        versions = self.registry.versions(subject)
        schema = versions[-1] if version is None else next((v for v in versions if v.version == version), None)
        if schema is None:
            raise KeyError(f"{subject} has no version {version}")
        buf = io.BytesIO()
        buf.write(MAGIC)
        buf.write(schema.fingerprint_bytes)
        try:
            schemaless_writer(buf, schema.parsed, record)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise EncodeError(f"record does not match {subject}.v{schema.version}: {exc}") from exc
        return buf.getvalue()

    def decode(self, data: bytes) -> tuple[str, dict]:
        """Return ``(subject, record)``; the record is in the shape of the subject's newest version."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DecodeError("not_bytes", f"expected bytes, got {type(data).__name__}")
        data = bytes(data)
        if len(data) < HEADER_LEN or data[:2] != MAGIC:
            raise DecodeError("bad_header", "missing the Avro single-object header (C3 01 + fingerprint)")
        fingerprint = int.from_bytes(data[2:HEADER_LEN], "little")
        writer = self.registry.by_fingerprint(fingerprint)
        if writer is None:
            raise UnknownSchemaError(fingerprint)
        reader = self.registry.latest(writer.subject)
        buf = io.BytesIO(data[HEADER_LEN:])
        try:
            record = schemaless_reader(buf, writer.parsed, reader.parsed)
        except Exception as exc:  # fastavro raises EOFError, ValueError, UnicodeDecodeError, IndexError...
            raise DecodeError("bad_body", f"cannot decode {writer.subject}.v{writer.version}: {exc!r}") from exc
        if buf.tell() != len(data) - HEADER_LEN:
            raise DecodeError("trailing_bytes", f"{len(data) - HEADER_LEN - buf.tell()} bytes after the record")
        return writer.subject, record


@lru_cache(maxsize=1)
def default_codec() -> AvroCodec:
    """The codec over the schemas shipped in this package (loaded once per process)."""
    return AvroCodec()
