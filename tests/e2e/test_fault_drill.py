"""The fault drill: faults injected into a running deployment, and what it answers meanwhile.

Two `philos serve` replicas behind nginx (the setup of test_replicas.py) share PostgreSQL,
Neo4j (reached through a TCP proxy that can delay bytes), the MongoDB-wire server and Redis —
the session's servers from tests/services, stopped and started again with the harness's own
classes. While a reader and a writer stream GraphQL through nginx and a scraper records both
replicas' /metrics, the drill in turn

1. SIGKILLs a replica, 2. stops PostgreSQL, 3. Neo4j, 4. the MongoDB-wire server, 5. Redis,
6. delays every byte to and from Neo4j, 7. fills the disk under an embedded SQLite deployment,

and records per step what the API answered (answers, typed error codes, /ready), which alerts
of deploy/helm/philos/files/alerts.yaml fire (promtool over the recorded metrics, durations
scaled: see tests/e2e/chaos.py) and, at the end, that every write answered with success is
readable. The table is printed and written to ``$PHILOS_DRILL_REPORT`` (``make chaos``).
``PHILOS_DRILL=long`` (``make chaos``) holds each fault longer and scales time less.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from neo4j import AsyncGraphDatabase
from redis.asyncio import Redis

from tests.e2e.chaos import DelayProxy, Recorder, firing, recording
from tests.e2e.test_replicas import JWT_SECRET, Nginx, Replica, _with_path
from tests.services.plugin import ServiceControl
from tests.services.servers import free_port, tail_file

LONG = os.environ.get("PHILOS_DRILL", "") == "long"
SCALE = 60 if LONG else 120  # a minute of the alert rules is 1/SCALE of a minute here
HOLD = 1.5 if LONG else 1.0  # faults are held this many times the longest `for:` they need
SCRAPE = 0.25
REDIS_DB = 10
ADMIN_EMAIL = "drill-admin@example.org"
ADMIN_PASSWORD = "drill-password-0123456789"
READ = (
    '{ concept(slug: "forms") { name relations { type } theses { statement } } '
    "concepts(first: 3) { totalCount } }"
)
CREATE_CONCEPT = (
    "mutation($slug: String!) { createConcept(input: {slug: $slug, name: $slug, "
    'summary: "Written during the fault drill."}) { __typename ... on ConceptSuccess '
    "{ concept { id slug } } } }"
)
CREATE_THESIS = (
    "mutation($concept: ID!, $text: String!) { createThesis(input: {conceptId: $concept, "
    "statement: $text, stance: AFFIRMS}) { __typename ... on ThesisSuccess { thesis { id } } } }"
)


def rules_seconds(minutes: float) -> float:
    """Real seconds for ``minutes`` of the alert rules."""
    return minutes * 60 / SCALE


# --- what the API answered ----------------------------------------------------------------------


def outcome(response: httpx.Response | None, error: str | None = None) -> str:
    """One word for an answer: ``ok``, a result type, ``CODE@path`` per error, or ``HTTP n``."""
    if response is None:
        return f"no answer ({error})"
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    body = response.json()
    errors = body.get("errors") or []
    if errors:
        parts = sorted(
            {
                f"{(e.get('extensions') or {}).get('code', '?')}@"
                + ".".join(str(p) for p in e.get("path") or [])
                for e in errors
            }
        )
        return " ".join(parts)
    data = body["data"]
    if len(data) == 1:  # a mutation: its result type
        (value,) = data.values()
        if isinstance(value, dict) and "__typename" in value:
            name = str(value["__typename"])
            return "ok" if name.endswith("Success") else name
    return "ok"


@dataclass
class Streams:
    """A reader and a writer through nginx; answers are tallied under the current step."""

    url: str
    token: str
    concept_id: str
    step: str = "baseline"
    reads: dict[str, Counter[str]] = field(default_factory=dict)
    writes: dict[str, Counter[str]] = field(default_factory=dict)
    acknowledged_concepts: dict[str, str] = field(default_factory=dict)  # slug -> id
    acknowledged_theses: dict[str, str] = field(default_factory=dict)  # id -> statement
    crashes: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        for target in (self._reader, self._writer):
            thread = threading.Thread(target=self._guard, args=(target,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _guard(self, target: Callable[[httpx.Client], None]) -> None:
        try:
            with httpx.Client(base_url=self.url, timeout=15) as client:
                target(client)
        except Exception as exc:  # a bug in the stream must not pass for an answer
            self.crashes.append(repr(exc))

    def _post(self, client: httpx.Client, query: str, variables: dict[str, str]) -> str:
        auth = {"Authorization": f"Bearer {self.token}"}
        try:
            response = client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=auth
            )
        except httpx.HTTPError as exc:
            return outcome(None, type(exc).__name__)
        return outcome(response)

    def _tally(self, table: dict[str, Counter[str]], step: str, what: str) -> None:
        with self._lock:
            table.setdefault(step, Counter())[what] += 1

    def _reader(self, client: httpx.Client) -> None:
        while not self._stop.is_set():
            step = self.step
            self._tally(self.reads, step, self._post(client, READ, {}))
            self._stop.wait(0.05)

    def _writer(self, client: httpx.Client) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            step = self.step
            slug = f"drill-{n}-{uuid.uuid4().hex[:6]}"
            auth = {"Authorization": f"Bearer {self.token}"}
            try:
                response = client.post(
                    "/graphql",
                    json={"query": CREATE_CONCEPT, "variables": {"slug": slug}},
                    headers=auth,
                )
                said = outcome(response)
                if said == "ok":
                    concept = response.json()["data"]["createConcept"]["concept"]
                    self.acknowledged_concepts[slug] = concept["id"]
            except httpx.HTTPError as exc:
                said = outcome(None, type(exc).__name__)
            self._tally(self.writes, step, f"createConcept {said}")
            text = f"Thesis {slug} was written during the fault drill."
            try:
                response = client.post(
                    "/graphql",
                    json={
                        "query": CREATE_THESIS,
                        "variables": {"concept": self.concept_id, "text": text},
                    },
                    headers=auth,
                )
                said = outcome(response)
                if said == "ok":
                    thesis = response.json()["data"]["createThesis"]["thesis"]
                    self.acknowledged_theses[thesis["id"]] = text
            except httpx.HTTPError as exc:
                said = outcome(None, type(exc).__name__)
            self._tally(self.writes, step, f"createThesis {said}")
            self._stop.wait(0.1)


# --- the deployment under test ------------------------------------------------------------------


@pytest.fixture(scope="module")
async def drill_stores(
    postgres_url: str, redis_url: str, neo4j_uri: str, mongodb_uri: str
) -> AsyncIterator[dict[str, str]]:
    """A fresh PostgreSQL database, an empty Neo4j, a MongoDB database and a Redis database of
    the drill's own on the session's servers."""
    name = f"philos_drill_{uuid.uuid4().hex[:10]}"
    admin_url = postgres_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    redis_db_url = _with_path(redis_url, f"/{REDIS_DB}")
    graph = AsyncGraphDatabase.driver(neo4j_uri, auth=None)
    await graph.execute_query("MATCH (n) DETACH DELETE n")  # other tests empty it before use
    try:
        yield {
            "DATABASE_URL": _with_path(admin_url, f"/{name}"),
            "REDIS_URL": redis_db_url,
            "NEO4J_URI": neo4j_uri,
            "MONGODB_URI": mongodb_uri,
            "PHILOS_MONGODB_DATABASE": name,
        }
    finally:
        await graph.execute_query("MATCH (n) DETACH DELETE n")
        await graph.close()
        redis = Redis.from_url(redis_db_url)
        with contextlib.suppress(Exception):
            await redis.flushdb()
        await redis.aclose()
        # PostgreSQL was restarted meanwhile: a new connection.
        admin = await asyncpg.connect(admin_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def base_env(data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PHILOS_")
        and k not in {"DATABASE_URL", "NEO4J_URI", "MONGODB_URI", "REDIS_URL"}
        and k not in {"ANTHROPIC_API_KEY", "JWT_SECRET"}
    }
    env.update(
        JWT_SECRET=JWT_SECRET,
        PHILOS_ENV="production",
        PHILOS_DATA_DIR=str(data_dir),
        PHILOS_RATE_LIMIT_IP="0",
        PHILOS_LOG_LEVEL="WARNING",
        PHILOS_RESPONSE_CACHE_TTL="0",  # every read reaches the stores
        PHILOS_STORE_TIMEOUT="1.5",
        PHILOS_BREAKER_RESET="2",
        PHILOS_BREAKER_THRESHOLD="3",
        PHILOS_OUTBOX_MAX_DELAY="1",
    )
    return env


def philos(env: dict[str, str], *args: str, stdin: str = "") -> None:
    out = subprocess.run(
        [sys.executable, "-m", "philos", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert out.returncode == 0, f"philos {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"


def sign_in(url: str) -> str:
    body = httpx.post(
        f"{url}/graphql",
        json={
            "query": "mutation($e: String!, $p: String!) { login(email: $e, password: $p) "
            "{ __typename ... on AuthSuccess { accessToken } } }",
            "variables": {"e": ADMIN_EMAIL, "p": ADMIN_PASSWORD},
        },
        timeout=15,
    ).json()
    assert body["data"]["login"]["__typename"] == "AuthSuccess", body
    return str(body["data"]["login"]["accessToken"])


def ready(replica: Replica) -> str:
    try:
        response = httpx.get(f"http://{replica.addr}/ready", timeout=3)
    except httpx.HTTPError as exc:
        return f"no answer ({type(exc).__name__})"
    body = response.json()
    down = sorted(k for k, v in body.get("stores", {}).items() if v != "ok")
    return f"{response.status_code} {body['status']}" + (
        f" ({', '.join(down)} down)" if down else ""
    )


@dataclass
class Step:
    name: str
    start: int  # scrape ticks
    end: int
    ready: list[str]
    recovered: int = 0  # the tick at which everything answered again
    alerts: set[str] = field(default_factory=set)


class Drill:
    def __init__(self, base: Path, stores: dict[str, str], control: ServiceControl) -> None:
        self.base = base
        self.control = control
        self.proxy = DelayProxy(int(stores["NEO4J_URI"].rsplit(":", 1)[1]))
        self.proxy.start()
        self.env = base_env(base)
        self.env.update(stores, NEO4J_URI=f"bolt://127.0.0.1:{self.proxy.port}")
        self.replicas = [Replica(f"replica-{n}", free_port(), self.env, base) for n in (1, 2)]
        self.nginx = Nginx(base, self.replicas)
        self.steps: list[Step] = []
        self.recorder: Recorder | None = None
        self.streams: Streams | None = None

    def start(self) -> None:
        philos(self.env, "seed")
        philos(self.env, "create-admin", "--email", ADMIN_EMAIL, "--password-stdin",
               stdin=ADMIN_PASSWORD + "\n")  # fmt: skip
        for replica in self.replicas:
            replica.start()
        for replica in self.replicas:
            replica.wait_ready(60)
        self.nginx.start()

    def stop(self) -> None:
        if self.streams is not None:
            self.streams.stop()
        self.nginx.stop()
        for replica in self.replicas:
            replica.stop()
        self.proxy.stop()

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[list[str]]:
        """Inside the block the fault is on; /ready is read at its end (before recovery)."""
        assert self.recorder is not None and self.streams is not None
        self.streams.step = name
        start = self.recorder.now
        readiness: list[str] = []
        yield readiness
        end = self.recorder.now
        self.steps.append(Step(name, start, end, readiness))

    def ready_all(self) -> list[str]:
        return [f"{r.name}: {ready(r)}" for r in self.replicas]

    def recovered(self, timeout: float = 60) -> None:
        """Until both replicas are ready with every store and reads answer without errors."""
        assert self.streams is not None and self.recorder is not None
        self.streams.step = "recovery"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(ready(r) == "200 ready" for r in self.replicas):
                body = httpx.post(f"{self.nginx.url}/graphql", json={"query": READ}, timeout=10)
                if outcome(body) == "ok":
                    self.steps[-1].recovered = self.recorder.now
                    return
            time.sleep(0.2)
        pytest.fail("no recovery within {timeout:.0f}s: " + "; ".join(self.ready_all()))

    def diagnostics(self) -> str:
        parts = [self.nginx.diagnostics()]
        for replica in self.replicas:
            parts.append(f"--- {replica.name} log ---\n" + tail_file(replica.log))
        return "\n".join(parts)


@pytest.fixture
def drill(
    drill_stores: dict[str, str],
    service_control: ServiceControl,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Drill]:
    drill = Drill(tmp_path_factory.mktemp("drill"), drill_stores, service_control)
    try:
        drill.start()
        yield drill
    except BaseException:
        print(drill.diagnostics())
        raise
    finally:
        drill.stop()


# --- the drill ----------------------------------------------------------------------------------


def concept_id(url: str, slug: str) -> str:
    body = httpx.post(
        f"{url}/graphql", json={"query": f'{{ concept(slug: "{slug}") {{ id }} }}'}, timeout=10
    ).json()
    return str(body["data"]["concept"]["id"])


def hold(seconds: float) -> None:
    time.sleep(seconds)


def test_fault_drill(drill: Drill, tmp_path: Path) -> None:
    url = drill.nginx.url
    streams = Streams(url, sign_in(url), concept_id(url, "forms"))
    drill.streams = streams
    control = drill.control
    # The longest `for:` each fault must outlast (rules' minutes), plus the rate window.
    breaker = rules_seconds(2) * HOLD + 1.5
    with recording({r.addr: f"http://{r.addr}" for r in drill.replicas}, SCRAPE) as recorder:
        drill.recorder = recorder
        streams.start()
        with drill.step("baseline") as readiness:
            hold(1.5)
            readiness += drill.ready_all()

        with drill.step("kill replica-2") as readiness:
            drill.replicas[1].kill()
            hold(rules_seconds(5) * HOLD + 1)
            readiness += drill.ready_all()
        drill.replicas[1].start()
        drill.replicas[1].wait_ready(60)
        drill.recovered()

        for backend, label in (
            ("postgres", "PostgreSQL"),
            ("neo4j", "Neo4j"),
            ("mongo", "MongoDB-wire"),
            ("redis", "Redis"),
        ):
            with drill.step(f"stop {label}") as readiness:
                control.stop(backend)
                hold(breaker)
                readiness += drill.ready_all()
            control.start(backend)
            drill.recovered()

        with drill.step("Neo4j +0.25 s per chunk") as readiness:
            drill.proxy.delay = 0.25
            hold(rules_seconds(10) * HOLD + rules_seconds(5))
            readiness += drill.ready_all()
        drill.proxy.delay = 0.0
        drill.recovered()
        drill.steps[0].recovered = drill.steps[0].end
        streams.stop()
    # Every alert that fired at some evaluation from the fault until the recovery (an alert
    # fires only once its condition has held for its `for:` time).
    windows = {s.name: range(s.start + 1, max(s.end, s.recovered) + 1) for s in drill.steps}
    fired = firing(recorder, sorted({t for w in windows.values() for t in w}), tmp_path, SCALE)
    for step in drill.steps:
        step.alerts = {
            name + "{" + ",".join(f"{k}={v}" for k, v in labels if k != "job") + "}"
            for t in windows[step.name]
            for name, labels in fired[t]
        }

    assert not streams.crashes, streams.crashes
    lost = unreadable(url, streams)
    disk = disk_full_step(tmp_path)
    report = render(drill.steps, streams, disk, lost)
    print(report)
    if path := os.environ.get("PHILOS_DRILL_REPORT"):
        Path(path).write_text(report)

    by_name = {s.name: s for s in drill.steps}
    reads = {name: streams.reads.get(name, Counter()) for name in by_name}
    writes = {name: streams.writes.get(name, Counter()) for name in by_name}
    # Nothing acknowledged is lost.
    assert not lost, lost
    assert len(streams.acknowledged_concepts) >= 10 and len(streams.acknowledged_theses) >= 5
    # Never a 500 or a broken connection through nginx: typed answers only.
    for table in (reads, writes):
        for name, counts in table.items():
            bad = [w for w in counts if "HTTP 5" in w or "no answer" in w or "INTERNAL" in w]
            assert not bad, f"{name}: {dict(counts)}"
    assert set(reads["baseline"]) == {"ok"}, reads["baseline"]
    assert by_name["baseline"].alerts == set()
    # A killed replica: nginx routes around it, every answer is right; PhilosApiDown fires.
    assert set(reads["kill replica-2"]) == {"ok"}, reads["kill replica-2"]
    assert any(a.startswith("PhilosApiDown") for a in by_name["kill replica-2"].alerts)
    # PostgreSQL down: not ready, the core store answers STORE_UNAVAILABLE, breaker alert.
    pg = by_name["stop PostgreSQL"]
    assert all("503 unavailable" in r for r in pg.ready), pg.ready
    assert any("STORE_UNAVAILABLE" in w for w in reads[pg.name]), reads[pg.name]
    assert "PhilosStoreBreakerOpen{store=sql}" in pg.alerts, pg.alerts
    # Neo4j / MongoDB down: still ready (degraded), their fields null with STORE_UNAVAILABLE.
    for name, field_path, store in (
        ("stop Neo4j", "concept.relations", "neo4j"),
        ("stop MongoDB-wire", "concept.theses", "mongo"),
    ):
        step = by_name[name]
        assert all("200 degraded" in r for r in step.ready), step.ready
        assert f"STORE_UNAVAILABLE@{field_path}" in " ".join(reads[name]), reads[name]
        assert f"PhilosStoreBreakerOpen{{store={store}}}" in step.alerts, step.alerts
    # Concepts are still written while the graph store is down (the outbox catches up).
    assert writes["stop Neo4j"]["createConcept ok"] > 0, writes["stop Neo4j"]
    # Latency: answers slow down (or time out as STORE_UNAVAILABLE); the p99 alert fires.
    assert any(
        a.startswith("PhilosHighLatencyP99") for a in by_name["Neo4j +0.25 s per chunk"].alerts
    )
    # A full disk: writes refused with STORE_UNAVAILABLE; the breaker they open refuses reads
    # too until it closes again, after space is freed.
    assert disk["reads"] <= {"ok", "STORE_UNAVAILABLE@concepts"}, disk
    assert disk["full"] and set(disk["full"]) == {"STORE_UNAVAILABLE@createConcept"}, disk
    assert disk["after"] == ["ok"] and not disk["lost"], disk


def unreadable(url: str, streams: Streams, timeout: float = 30) -> list[str]:
    """Acknowledged writes not readable (after ``timeout`` for the outbox to catch up)."""
    deadline = time.monotonic() + timeout
    while True:
        missing = []
        with httpx.Client(base_url=url, timeout=10) as client:
            for slug, cid in streams.acknowledged_concepts.items():
                q = f'{{ concept(slug: "{slug}") {{ id neighbours {{ distance }} }} }}'
                body = client.post("/graphql", json={"query": q}).json()
                got = (body.get("data") or {}).get("concept")
                if not got or got["id"] != cid or "errors" in body:
                    missing.append(f"concept {slug}: {body}")
            for tid, text in streams.acknowledged_theses.items():
                q = f'{{ thesis(id: "{tid}") {{ statement }} }}'
                body = client.post("/graphql", json={"query": q}).json()
                if ((body.get("data") or {}).get("thesis") or {}).get("statement") != text:
                    missing.append(f"thesis {tid}: {body}")
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(1)


# --- a full disk under SQLite -------------------------------------------------------------------


@contextlib.contextmanager
def small_filesystem(path: Path, megabytes: int) -> Iterator[Path]:
    """A tmpfs of ``megabytes`` mounted at ``path`` (needs root, as in CI)."""
    path.mkdir(parents=True, exist_ok=True)
    mount = shutil.which("mount") or "/bin/mount"
    done = subprocess.run(
        [mount, "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"cannot mount a {megabytes} MB tmpfs (the drill runs as root): {done.stderr}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    """Write a file until the filesystem says ENOSPC."""
    filler = directory / "filler"
    with filler.open("wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    return filler


def disk_full_step(tmp_path: Path) -> dict[str, Any]:
    """One replica on embedded SQLite whose data directory is a small filesystem: fill it,
    write, read, free it, write again."""
    with small_filesystem(tmp_path / "small-disk", 8) as data:
        env = base_env(data)
        replica = Replica("sqlite", free_port(), env, tmp_path)
        philos(env, "seed")
        philos(env, "create-admin", "--email", ADMIN_EMAIL, "--password-stdin",
               stdin=ADMIN_PASSWORD + "\n")  # fmt: skip
        replica.start()
        try:
            replica.wait_ready(60)
            url = f"http://{replica.addr}"
            auth = {"Authorization": f"Bearer {sign_in(url)}"}

            def write(n: int) -> tuple[str, str]:
                slug = f"disk-{n}-" + "x" * 40
                response = httpx.post(
                    f"{url}/graphql",
                    json={"query": CREATE_CONCEPT, "variables": {"slug": slug}},
                    headers=auth,
                    timeout=15,
                )
                return slug, outcome(response)

            acknowledged = [s for s, said in (write(n) for n in range(3)) if said == "ok"]
            filler = fill(data)
            full = [write(n)[1] for n in range(10, 16)]
            reads = {outcome(httpx.post(f"{url}/graphql", json={"query": READ}, timeout=15))}
            readiness = ready(replica)
            filler.unlink()
            freed = time.monotonic()
            while True:  # the breaker the failed writes opened lets calls through again
                slug, after = write(99)
                if after == "ok" or time.monotonic() > freed + 15:
                    break
                time.sleep(0.5)
            recovery = time.monotonic() - freed
            if after == "ok":
                acknowledged.append(slug)
            lost = [
                s
                for s in acknowledged
                if outcome(
                    httpx.post(
                        f"{url}/graphql",
                        json={"query": f'{{ concept(slug: "{s}") {{ id }} }}'},
                        timeout=15,
                    )
                )
                != "ok"
            ]
            return {
                "full": full,
                "reads": reads,
                "ready": readiness,
                "after": [after],
                "recovery": recovery,
                "lost": lost,
                "log": tail_file(replica.log, 15),
            }
        finally:
            replica.stop()


# --- the report ---------------------------------------------------------------------------------


def render(steps: list[Step], streams: Streams, disk: dict[str, Any], lost: list[str]) -> str:
    lines = [f"# Fault drill (time scale 1/{SCALE}: a minute of the alert rules is "
             f"{60 / SCALE:g} s)", ""]  # fmt: skip
    for step in steps:
        lines.append(
            f"## {step.name} (fault {(step.end - step.start) * SCRAPE:.1f} s, all answering "
            f"again {(step.recovered - step.end) * SCRAPE:.1f} s after it ended)"
        )
        lines.append(f"- reads: {dict(streams.reads.get(step.name, Counter()))}")
        lines.append(f"- writes: {dict(streams.writes.get(step.name, Counter()))}")
        lines.append(f"- /ready: {'; '.join(step.ready)}")
        lines.append(f"- alerts firing: {', '.join(sorted(step.alerts)) or 'none'}")
        lines.append("")
    lines.append("## SQLite, disk full")
    lines.append(f"- writes while full: {disk['full']}")
    lines.append(f"- reads while full: {sorted(disk['reads'])}; /ready: {disk['ready']}")
    lines.append(
        f"- write after freeing space: {disk['after']}, {disk['recovery']:.1f} s after freeing it"
    )
    lines.append("")
    lines.append(
        f"Acknowledged: {len(streams.acknowledged_concepts)} concepts, "
        f"{len(streams.acknowledged_theses)} theses; not readable after recovery: "
        f"{len(lost) + len(disk['lost'])}"
    )
    return "\n".join(lines) + "\n" + json.dumps({"lost": lost + disk["lost"]}) + "\n"
