"""``interests kafka install|start|stop|status|topics``: the local Apache Kafka broker (KRaft) and the topics."""

from __future__ import annotations

import json

from interests_cli.base import command, group, streams_cfg


def cmd_install(args) -> int:
    from streams.broker import install

    print(f"Kafka jars in {install(quiet=not args.verbose)}")
    return 0


def cmd_start(args) -> int:
    from streams.broker import Broker, create_topics

    cfg = streams_cfg()
    broker = Broker.from_config(cfg)
    broker.start()
    print(f"Kafka ready on {broker.bootstrap} (logs: {broker.log_dir})")
    for topic, outcome in create_topics(cfg).items():
        print(f"  {topic}: {outcome}")
    return 0


def cmd_stop(args) -> int:
    from streams.broker import Broker

    print("Kafka stopped" if Broker.from_config(streams_cfg()).stop() else "Kafka was not running")
    return 0


def cmd_status(args) -> int:
    from streams.broker import Broker

    status = Broker.from_config(streams_cfg()).status()
    print(json.dumps(status, indent=2))
    return 0 if status["reachable"] else 1


def cmd_topics(args) -> int:
    from streams.broker import create_topics

    for topic, outcome in create_topics(streams_cfg()).items():
        print(f"{topic}: {outcome}")
    return 0


def add(sub) -> None:
    kafka = group(sub, "kafka", "the local Apache Kafka broker (KRaft) and the topics")
    install = command(kafka, "install", cmd_install, "download the Kafka jars (Maven) into the cache")
    install.add_argument("-v", "--verbose", action="store_true", help="show Maven's output")
    command(kafka, "start", cmd_start, "start the local broker and create the topics")
    command(kafka, "stop", cmd_stop, "stop the local broker")
    command(kafka, "status", cmd_status, "the broker's status as JSON (exit 1 when it is unreachable)")
    command(kafka, "topics", cmd_topics, "create the topics that are missing")
