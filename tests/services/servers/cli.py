"""``python -m tests.services.servers [postgres redis neo4j mongo opensearch]``: start servers by hand."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Sequence

from tests.services.servers.base import Server, ServerError
from tests.services.servers.ferretdb import FerretDBServer
from tests.services.servers.neo4j import Neo4jServer
from tests.services.servers.opensearch import OpenSearchServer
from tests.services.servers.postgres import PostgresServer
from tests.services.servers.rabbitmq import RabbitMQServer
from tests.services.servers.redis import RedisServer

SERVER_CLASSES: dict[str, Callable[[], Server]] = {
    "postgres": PostgresServer,
    "redis": RedisServer,
    "neo4j": Neo4jServer,
    "mongo": FerretDBServer,
    "rabbitmq": RabbitMQServer,
    "opensearch": OpenSearchServer,
}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tests.services.servers [postgres redis neo4j mongo opensearch]``: start them, print
    their URLs and wait for Ctrl-C (handy for running the API against real servers by hand)."""
    names = list(argv if argv is not None else sys.argv[1:]) or list(SERVER_CLASSES)
    unknown = [n for n in names if n not in SERVER_CLASSES]
    if unknown:
        print(
            f"unknown server(s): {', '.join(unknown)}; choose from {', '.join(SERVER_CLASSES)}",
            file=sys.stderr,
        )
        return 2
    servers: list[Server] = []
    try:
        for name in names:
            server = SERVER_CLASSES[name]()
            servers.append(server)
            url = server.start()
            build = (
                f", build/check {server.build_seconds:.1f}s"
                if server.build_seconds is not None
                else ""
            )
            print(
                f"{name}: {url}  (started in {server.last_start_seconds:.1f}s{build}; "
                f"log {server.log_path})",
                flush=True,
            )
        print("Press Ctrl-C to stop.", flush=True)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    except ServerError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        for server in reversed(servers):
            server.cleanup()
    return 0
