"""Throwaway test servers for the Philos test suite: PostgreSQL, Redis, Neo4j, FerretDB,
RabbitMQ, OpenSearch.

Plain Python (no pytest). Each server class picks a free loopback port on its first
``start()``, keeps data and logs under its own temporary directory, waits (bounded) until
the server really answers its protocol, and returns a URL. ``stop()`` ends it by PID;
a later ``start()`` reuses the same port and data directory, like a real restart.
Failures raise :class:`ServerError`, whose message ends with the last lines of the log.

Built artefacts (Neo4j launcher, FerretDB binary) are compiled on first use and cached;
see README.md in ``tests/services``.

Modules: ``base`` (the generic :class:`Server`, ports, logs), ``scratch`` (temp dirs and the
sweep of dead runs' leftovers), ``build`` (builds and caches), ``postgres``, ``redis``,
``neo4j``, ``ferretdb``, ``rabbitmq``, ``opensearch`` (one server each) and ``cli`` (``python -m tests.services.servers``).
"""

from __future__ import annotations

from tests.services.servers.base import (
    LOG_TAIL_LINES,
    LOOPBACK,
    Server,
    ServerError,
    free_port,
    port_is_open,
    tail_file,
)
from tests.services.servers.build import CACHE_DIR, build_ferretdb, build_neo4j, build_opensearch
from tests.services.servers.cli import SERVER_CLASSES, main
from tests.services.servers.ferretdb import FerretDBServer, mongo_hello
from tests.services.servers.neo4j import Neo4jServer, bolt_handshake
from tests.services.servers.opensearch import OpenSearchServer, cluster_is_up
from tests.services.servers.postgres import PostgresServer
from tests.services.servers.rabbitmq import RabbitMQServer
from tests.services.servers.redis import RedisServer
from tests.services.servers.scratch import SCRATCH_ROOT, sweep_leftovers

__all__ = [
    "CACHE_DIR",
    "LOG_TAIL_LINES",
    "LOOPBACK",
    "SCRATCH_ROOT",
    "SERVER_CLASSES",
    "FerretDBServer",
    "Neo4jServer",
    "OpenSearchServer",
    "PostgresServer",
    "RabbitMQServer",
    "RedisServer",
    "Server",
    "ServerError",
    "bolt_handshake",
    "build_ferretdb",
    "build_neo4j",
    "build_opensearch",
    "cluster_is_up",
    "free_port",
    "main",
    "mongo_hello",
    "port_is_open",
    "sweep_leftovers",
    "tail_file",
]
