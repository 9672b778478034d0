"""What the command modules share: the usage error, the two ways to add a command, option value types, the stream
settings, the time-range options of the jobs that read the event log. Nothing here imports the project's packages
at import time, so ``interests --help`` stays fast."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Callable, Iterable

Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A command line that parses but cannot run as given; ``main`` reports it through the command's parser (the
    usage, ``interests ...: error: MESSAGE``, exit 2)."""


def group(sub, name: str, help: str):
    """A command with subcommands (``interests NAME COMMAND ...``); returns the subparsers to add them to."""
    p = sub.add_parser(name, help=help, description=help)
    return p.add_subparsers(required=True)


def command(sub, name: str, handler: Handler, help: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A command that runs (a leaf): ``handler(args)`` returns the exit code; ``args.parser`` is this parser."""
    p = sub.add_parser(name, help=help, description=kwargs.pop("description", help), **kwargs)
    p.set_defaults(func=handler, parser=p)
    return p


def comma_list(choices: Iterable[str] | None = None) -> Callable[[str], tuple[str, ...]]:
    """An option type: ``"a,b"`` -> ``("a", "b")``; with ``choices``, an unknown item is a usage error."""
    known = tuple(choices) if choices is not None else None

    def parse(text: str) -> tuple[str, ...]:
        items = tuple(filter(None, (part.strip() for part in text.split(","))))
        unknown = [item for item in items if known is not None and item not in known]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(map(repr, unknown))}: choose from {', '.join(known)}")
        return items

    parse.__name__ = "comma list"  # argparse names the type in its "invalid ... value" message
    return parse


def floats(text: str) -> tuple[float, ...]:
    """An option type: ``"100,200.5"`` -> ``(100.0, 200.5)``."""
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma list of numbers") from None


def json_object(text: str) -> dict:
    """An option type: a JSON object."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("give a JSON object, e.g. '{\"ndcg@10\": 0.31}'")
    return value


def check_known(values: Iterable[str], known: Iterable[str], option: str) -> None:
    """A usage error when ``values`` (of ``option``) name something not in ``known``."""
    known = tuple(known)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise UsageError(f"{option}: unknown {', '.join(map(repr, unknown))}: choose from {', '.join(known)}")


def domain_errors() -> tuple[type[BaseException], ...]:
    """The errors a command reports as ``error: MESSAGE`` (exit 1) rather than a traceback: a broker or registry
    that refuses, a bad value met while running, a missing file, a backend that cannot do what was asked."""
    from feature_repo.server import FeatureServerError
    from models.registry import RegistryError
    from streams.broker import BrokerError

    return BrokerError, RegistryError, FeatureServerError, ValueError, FileNotFoundError, NotImplementedError


def streams_cfg():
    from streams.config import StreamsConfig

    return StreamsConfig.from_env()


def log_range_options(p) -> None:
    """The options of a job that reads a time range of the system's own event log: ``--from``, ``--events``,
    ``--bootstrap``, ``--since``, ``--until`` (read by :func:`log_range`)."""
    p.add_argument("--from", dest="source", choices=["kafka", "file"], default=None,
                   help="where the events are read: the Kafka event topics or --events (default: file when --events "
                        "is given, else kafka)")
    p.add_argument("--events", default=None, help="--from file: the logged events (JSON lines, as `interests replay` "
                                                  "reads them)")
    p.add_argument("--bootstrap", default=None,
                   help="--from kafka: the broker (default: INTERESTS_BOOTSTRAP_SERVERS, the stream's broker)")
    p.add_argument("--since", required=True, help="start of the time range (ISO time or epoch milliseconds)")
    p.add_argument("--until", required=True, help="end of the time range (ISO time or epoch milliseconds)")


def query_search_option(p, help: str) -> None:
    """``--query-search hybrid|dense`` (default hybrid): how queries search the news index
    (``models/retrieval.py``); ``help`` says what it changes for the command."""
    from models.retrieval import QUERY_SEARCHES

    p.add_argument("--query-search", default="hybrid", choices=QUERY_SEARCHES, help=help)


def log_range(args):
    """``(events, since_ms, until_ms)`` of :func:`log_range_options`: the event file, or the event topics' records,
    of the time range; usage errors for inputs that do not fit together."""
    from training.retrain import parse_time

    source = args.source or ("file" if args.events else "kafka")
    if source == "file" and not args.events:
        raise UsageError("--from file needs --events FILE (or read the topics: --from kafka)")
    if source == "kafka" and args.events:
        raise UsageError("--events is the input of --from file; --from kafka reads the event topics")
    if source == "file" and args.bootstrap:
        raise UsageError("--bootstrap is for --from kafka")
    try:
        since, until = parse_time(args.since), parse_time(args.until)
    except ValueError as exc:
        raise UsageError(f"--since/--until: {exc} (give an ISO time or epoch milliseconds)") from None
    if until <= since:
        raise UsageError(f"--until {args.until} is not after --since {args.since}")
    if source == "file":
        return Path(args.events), since, until
    from dataclasses import replace

    from training.eventlog import EventLog

    cfg = streams_cfg()
    if args.bootstrap:
        cfg = replace(cfg, bootstrap_servers=args.bootstrap)
    return EventLog(cfg, since, until), since, until
