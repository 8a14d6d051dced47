"""Tools of the fault drill (tests/e2e/test_fault_drill.py): a TCP proxy that delays bytes, a
scraper that records the replicas' /metrics as Prometheus would, and the evaluation of the
project's alert rules over what was recorded, with promtool.

Time scale: the drill cannot wait the minutes the rules' `for:` clauses and rate windows ask
for, so the rules are evaluated with every duration divided by ``scale`` (60: a minute of the
rules is a second of the drill). Rates stay per second of real time, so every threshold is
compared as written; only how long a condition must hold shrinks.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)
from prometheus_client.parser import text_string_to_metric_families

RULES = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "philos" / "files" / "alerts.yaml"
_DURATION = re.compile(r"(\d+)(ms|h|m|s)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def duration_ms(text: str) -> int:
    """A Prometheus duration (``5m``, ``2s500ms``) in milliseconds."""
    parts = _DURATION.findall(text)
    assert parts and "".join(n + u for n, u in parts) == text, f"not a duration: {text!r}"
    return sum(int(n) * _UNIT_MS[u] for n, u in parts)


# --- latency ----------------------------------------------------------------------------------


class DelayProxy:
    """A loopback TCP proxy in its own thread; ``delay`` seconds are added to every chunk of
    bytes in either direction (0: a plain pass-through). Stores are reached through it."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.delay = 0.0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="delay-proxy", daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(10), "the delay proxy did not start"

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._accept, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                if self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(chunk)
                await writer.drain()
        finally:
            with contextlib.suppress(OSError):
                writer.close()


# --- metrics, as Prometheus would scrape them ----------------------------------------------------


@dataclass
class Recorder:
    """Scrapes every target's /metrics each ``interval`` seconds in a thread. Tick ``k`` is at
    ``k * interval`` seconds after the start; a failed scrape records ``up 0`` and no samples."""

    targets: dict[str, str]  # instance -> base URL
    interval: float = 0.25
    ticks: int = 0
    up: dict[str, dict[int, float]] = field(default_factory=dict)
    # (series text with labels) -> {tick: value}
    samples: dict[str, dict[int, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="scraper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def now(self) -> int:
        """The current tick."""
        with self._lock:
            return self.ticks

    def _run(self) -> None:
        started = time.monotonic()
        with httpx.Client(timeout=self.interval * 0.9) as client:
            while not self._stop.is_set():
                tick = self.ticks
                for instance, url in self.targets.items():
                    self._scrape(client, tick, instance, url)
                with self._lock:
                    self.ticks = tick + 1
                pause = started + (tick + 1) * self.interval - time.monotonic()
                if pause > 0:
                    self._stop.wait(pause)

    def _scrape(self, client: httpx.Client, tick: int, instance: str, url: str) -> None:
        try:
            text = client.get(f"{url}/metrics").raise_for_status().text
        except httpx.HTTPError:
            self.up.setdefault(instance, {})[tick] = 0.0
            return
        self.up.setdefault(instance, {})[tick] = 1.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = {**sample.labels, "job": "philos", "instance": instance}
                inner = ", ".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
                self.samples.setdefault(f"{sample.name}{{{inner}}}", {})[tick] = sample.value

    def series(self) -> list[dict[str, str]]:
        """promtool ``input_series``: one value per tick, ``_`` where there was no sample."""
        with self._lock:
            ticks = self.ticks
        out = []
        for instance, values in self.up.items():
            out.append(
                {
                    "series": f'up{{instance="{instance}", job="philos"}}',
                    "values": _values(values, ticks),
                }
            )
        for name, values in self.samples.items():
            out.append({"series": name, "values": _values(values, ticks)})
        return out


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _values(values: dict[int, float], ticks: int) -> str:
    return " ".join(repr(values[t]) if t in values else "_" for t in range(ticks))


# --- alerts -------------------------------------------------------------------------------------


def scaled_rules(scale: int) -> dict[str, object]:
    """The project's rules with every duration divided by ``scale``, annotations dropped
    (their wording is tested by deploy/prometheus/alerts.test.yaml)."""
    groups = yaml.safe_load(RULES.read_text())["groups"]

    def shrink(match: re.Match[str]) -> str:
        return f"[{duration_ms(match.group(1)) // scale}ms]"

    for group in groups:
        for rule in group["rules"]:
            rule.pop("annotations", None)
            rule["expr"] = re.sub(r"\[([0-9smh]+)\]", shrink, rule["expr"])
            if "for" in rule:
                rule["for"] = f"{duration_ms(rule['for']) // scale}ms"
    return {"groups": groups}


def alert_names() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]


_LABELS = re.compile(r"Labels:\{(.*)\}")
_HEADER = re.compile(r"alertname: (\w+), time: ([0-9smh]+),")


def firing(
    recorder: Recorder, eval_ticks: list[int], workdir: Path, scale: int
) -> dict[int, set[tuple[str, tuple[tuple[str, str], ...]]]]:
    """Which alerts fire at each of ``eval_ticks``, evaluated by ``promtool test rules`` over the
    recorded series: every alert is expected quiet, and promtool reports what fired instead.
    Returns tick -> {(alertname, sorted labels without alertname and severity)}."""
    interval_ms = round(recorder.interval * 1000)
    (workdir / "rules.yaml").write_text(yaml.safe_dump(scaled_rules(scale), sort_keys=False))
    tests = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": f"{interval_ms}ms",
        "tests": [
            {
                "interval": f"{interval_ms}ms",
                "input_series": recorder.series(),
                "alert_rule_test": [
                    {"eval_time": f"{tick * interval_ms}ms", "alertname": name, "exp_alerts": []}
                    for tick in eval_ticks
                    for name in alert_names()
                ],
            }
        ],
    }
    (workdir / "drill.test.yaml").write_text(yaml.safe_dump(tests, sort_keys=False, width=1 << 20))
    result = subprocess.run(
        ["promtool", "test", "rules", "drill.test.yaml"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    fired: dict[int, set[tuple[str, tuple[tuple[str, str], ...]]]] = {t: set() for t in eval_ticks}
    current: tuple[str, int] | None = None
    for line in output.splitlines():
        if header := _HEADER.search(line):
            current = (header.group(1), duration_ms(header.group(2)) // interval_ms)
        elif (labels := _LABELS.search(line)) and current is not None:
            pairs = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels.group(1)))
            pairs.pop("alertname", None)
            pairs.pop("severity", None)
            fired[current[1]].add((current[0], tuple(sorted(pairs.items()))))
    if result.returncode != 0:
        assert "FAILED" in output and current is not None, f"promtool failed:\n{output[:3000]}"
    return fired


@contextlib.contextmanager
def recording(targets: dict[str, str], interval: float) -> Iterator[Recorder]:
    recorder = Recorder(targets, interval)
    recorder.start()
    try:
        yield recorder
    finally:
        recorder.stop()
