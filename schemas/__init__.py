"""Avro schemas of every event and record on Kafka, their registry, the single-object codec and compatibility checks.

Schemas live in ``schemas/avro/<subject>.v<N>.avsc``. Every message on Kafka uses Avro single-object encoding
(``C3 01`` + the 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema + the Avro body), so a reader
finds the writer's schema by fingerprint and resolves it against the newest version it knows.
"""

from schemas.codec import AvroCodec, DecodeError, EncodeError, UnknownSchemaError, default_codec
from schemas.registry import SchemaRegistry, SchemaVersion

__all__ = [
    "AvroCodec",
    "DecodeError",
    "EncodeError",
    "SchemaRegistry",
    "SchemaVersion",
    "UnknownSchemaError",
    "default_codec",
]
