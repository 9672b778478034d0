"""What the command modules share: the usage error, the two ways to add a command, option value types, the stream
settings. Nothing here imports the project's packages at import time, so ``interests --help`` stays fast."""

from __future__ import annotations

import argparse
import json
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
