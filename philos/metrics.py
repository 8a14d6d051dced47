"""The one Prometheus registry every layer records into; ``/metrics`` serves it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, disable_created_metrics

disable_created_metrics()  # type: ignore[no-untyped-call] # the *_created series only add noise to every scrape
REGISTRY = CollectorRegistry(auto_describe=True)
