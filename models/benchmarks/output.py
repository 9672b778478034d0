"""What both throughput benchmarks end with: the table of their rows on stdout and the JSON report on disk."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path


def print_and_write(header: str, rows: list[dict], row: Callable[[dict], str], report: dict, out: Path) -> None:
    """Print ``header`` and one ``row(r)`` line per row, then write ``report`` as indented JSON to ``out``."""
    print(header)
    for r in rows:
        print(row(r))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {out}")
