"""Operations: ``interests health`` (is the deployment healthy: broker, workers, lag, Feast?) and ``interests demo``
(the whole path on the sample events, then a table)."""

from __future__ import annotations

import json
from pathlib import Path

from interests_cli.base import check_known, command, comma_list


def cmd_health(args) -> int:
    from streams.health import CHECKS, DEFAULT_CHECKS, run_checks

    check_known(args.only or (), CHECKS, "--only")
    checks = run_checks(args.only or DEFAULT_CHECKS, stream_metrics=args.stream_metrics,
                        generator_metrics=args.generator_metrics, feature_server=args.feature_server,
                        max_lag=args.max_lag)
    if args.json:
        print(json.dumps([{"check": c.name, "ok": c.ok, "detail": c.detail} for c in checks], indent=2))
    else:
        print("\n".join(c.line() for c in checks))
    return 0 if all(c.ok for c in checks) else 1


def cmd_demo(args) -> int:
    from streams.demo import run_demo

    return run_demo(events=Path(args.events) if args.events else None, backend=args.backend, timeout=args.timeout)


def _add_health(sub) -> None:
    h = command(sub, "health", cmd_health, "check the broker, both workers (groups, lag, metrics) and the Feast "
                "store (exit 1 when a check fails)")
    h.add_argument("--only", type=comma_list(), default=None,
                   help="comma list of broker, stream-group, generator-group, stream-metrics, generator-metrics, "
                        "store, feature-server")
    h.add_argument("--stream-metrics", default="", help="the stream worker's metrics URL (default: its port on "
                                                        "127.0.0.1)")
    h.add_argument("--generator-metrics", default="", help="the generator worker's metrics URL")
    h.add_argument("--feature-server", default="", help="the feature server's base URL (checked only when given "
                                                        "or named in --only)")
    h.add_argument("--max-lag", type=int, default=None, help="fail a consumer group whose lag exceeds this")
    h.add_argument("--json", action="store_true", help="print the results as JSON")


def _add_demo(sub) -> None:
    d = command(sub, "demo", cmd_demo, "run the whole path on the sample events and print what rankers would read")
    d.add_argument("--events", default=None, help="event file (default: the shipped sample)")
    d.add_argument("--backend", choices=["smollm2", "keyphrase"], default="smollm2")
    d.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for every user's features")


def add(sub) -> None:
    _add_health(sub)
    _add_demo(sub)
