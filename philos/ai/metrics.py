"""Prometheus metrics of the AI mutations, on the gateway's registry."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from philos.metrics import REGISTRY

AI_CALLS = Counter(
    "philos_ai_calls",
    "AI mutation requests by mutation and outcome (ok, unavailable, rate_limited, failed, quota).",
    ["mutation", "outcome"],
    registry=REGISTRY,
)
AI_TOKENS = Counter(
    "philos_ai_tokens",
    "Tokens spent on model calls by mutation and direction (input, output).",
    ["mutation", "direction"],
    registry=REGISTRY,
)
AI_DURATION = Histogram(
    "philos_ai_call_duration_seconds",
    "Time a model call took, from the first request to the answer or failure.",
    ["mutation"],
    buckets=(0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0),
    registry=REGISTRY,
)
AI_REUSED = Counter(
    "philos_ai_results_reused",
    "AI results served without a model call, by mutation and source "
    "(cache, idempotency, job: the answer a job run again had kept).",
    ["mutation", "source"],
    registry=REGISTRY,
)
