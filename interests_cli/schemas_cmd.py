"""``interests schemas check``: backward compatibility of every schema with its previous version."""

from __future__ import annotations

from interests_cli.base import command, group


def cmd_check(args) -> int:
    from schemas.compat import check_registry
    from schemas.registry import SchemaRegistry

    registry = SchemaRegistry()
    results = check_registry(registry)
    for subject in registry.subjects:
        latest = registry.latest(subject)
        print(f"{subject:<16} v{latest.version}  fingerprint {latest.fingerprint_bytes.hex()}")
    failed = 0
    for r in results:
        mark = "ok " if r.compatible else "FAIL"
        print(f"[{mark}] {r.subject} v{r.reader_version} reads v{r.writer_version}: {r.detail}")
        failed += not r.compatible
    return 1 if failed else 0


def add(sub) -> None:
    schemas = group(sub, "schemas", "schema checks")
    command(schemas, "check", cmd_check,
            "backward compatibility of every schema with its previous version (exit 1 when one fails)")
