"""Every method of every store port is declared a read or a write, next to the port.

The guard retries reads and bumps data versions after writes; a method declared neither would
be guarded as a write, flushing the response cache on every call.
"""

from __future__ import annotations

import inspect

from philos.datasources import ports
from philos.datasources.ports import ACCESS, LIFECYCLE, Store


def store_ports() -> list[type]:
    return [
        obj
        for _, obj in inspect.getmembers(ports, inspect.isclass)
        if obj is not Store and Store in obj.__mro__ and obj.__module__ == ports.__name__
    ]


def methods(port: type) -> set[str]:
    return {
        name
        for klass in port.__mro__
        if klass not in (Store, object) and klass.__module__ == ports.__name__
        for name, member in vars(klass).items()
        if callable(member) and not name.startswith("_") and name not in LIFECYCLE
    }


def test_there_are_ports_to_check() -> None:
    assert {p.__name__ for p in store_ports()} >= {
        "ConceptStore",
        "GraphStore",
        "ThesisStore",
        "UserStore",
        "RefreshTokenStore",
        "Cache",
        "SuggestionStore",
        "AiLedger",
        "JsonReader",
    }


def test_every_port_method_is_a_read_or_a_write() -> None:
    for port in store_ports():
        assert port in ACCESS, f"{port.__name__} declares no reads and writes"
        access = ACCESS[port]
        assert not access.reads & access.writes, port.__name__
        assert access.reads | access.writes == methods(port), port.__name__
