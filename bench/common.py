"""Paths, the harness's error and log line, and small helpers about processes and the machine
(CPU pinning, memory and CPU time from /proc, git, load average).
"""

# It runs git and other small tools with arguments it builds.
# ruff: noqa: S603, S607

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
LOOPBACK = "127.0.0.1"


class BenchError(RuntimeError):
    """Something the benchmark needs is missing or misbehaved; the message says what."""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _cpu_list(spec: str) -> set[int]:
    cpus: set[int] = set()
    for part in spec.split(","):
        if "-" in part:
            low, high = part.split("-", 1)
            cpus.update(range(int(low), int(high) + 1))
        elif part.strip():
            cpus.add(int(part))
    return cpus


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


def pin_tree(pid: int, cpus: set[int]) -> int:
    """Pin ``pid`` and its current children; later children inherit. Returns how many."""
    pinned = 0
    for target in [pid, *_children(pid)]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.sched_setaffinity(target, cpus)
            pinned += 1
    return pinned


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of ``pid`` in KiB, from /proc/PID/status."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def tree_rss(pid: int) -> int:
    """VmRSS (KiB) of ``pid`` and its children (PostgreSQL's backends are the postmaster's)."""
    return sum(memory_kib(p).get("VmRSS", 0) for p in [pid, *_children(pid)])


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (all its threads), from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def wait_idle(pid: int, timeout: float = 30.0, also: Sequence[int] = ()) -> None:
    """Wait until ``pid`` (and every process in ``also``: the stores it waits on) has used
    (almost) no CPU for 0.3 s: its queue is drained."""
    pids = [pid, *also]
    deadline = time.monotonic() + timeout
    last = [cpu_seconds(p) for p in pids]
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = [cpu_seconds(p) for p in pids]
        if all(b - a <= 0.02 for a, b in zip(last, now, strict=True)):
            return
        last = now


def post_json(url: str, body: bytes, timeout: float = 10.0) -> Any:
    request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read())


def npm_ci(folder: Path, needed: Path, what: str) -> None:
    """``npm ci`` in ``folder`` when ``needed`` (a file the install brings) is missing or its
    ``node_modules`` is older than the lock file; ``what`` names the install in messages."""
    lock = folder / "package-lock.json"
    stamp = folder / "node_modules" / ".package-lock.json"
    if needed.exists() and stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise BenchError(f"npm is needed to install {what} into {folder.name}/node_modules")
    log(f"installing {what} into {folder.name}/node_modules (npm ci)")
    proc = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(f"npm ci failed in {folder}:\n{proc.stdout}\n{proc.stderr}")


def _run_text(cmd: Sequence[str]) -> str:
    try:
        out = subprocess.run(list(cmd), capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""


def loadavg() -> str:
    """The machine's 1/5/15-minute load averages: other work competes for the same cores."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def git_info() -> tuple[str, bool]:
    sha = _run_text(["git", "-C", str(ROOT), "rev-parse", "--short=10", "HEAD"])
    status = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "philos", "pyproject.toml"],
        capture_output=True,
        text=True,
        check=False,
    )
    return sha or "unknown", bool(status.stdout.strip())


def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"
