"""Scratch directories of the servers, and sweeping the leftovers of runs whose Python
process died (servers still running, temp dirs still on disk).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

#: Parent of the servers' temp dirs (one per OS user, so permissions never clash).
SCRATCH_ROOT = Path(tempfile.gettempdir()) / f"philos-test-services-{os.getuid()}"
_swept = False


def _process_token(pid: int) -> str | None:
    """``"PID STARTTIME"`` identifying a live process (PIDs get reused; start times don't)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    if len(fields) <= 19 or fields[0] in ("Z", "X"):  # zombies are as good as gone
        return None
    return f"{pid} {fields[19]}"


def _token_alive(token: str) -> bool:
    parts = token.split()
    return len(parts) == 2 and parts[0].isdigit() and _process_token(int(parts[0])) == token


def _new_scratch_dir(name: str) -> Path:
    global _swept
    SCRATCH_ROOT.mkdir(mode=0o755, exist_ok=True)
    if not _swept:
        _swept = True
        sweep_leftovers()
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=SCRATCH_ROOT))
    (path / "owner").write_text(_process_token(os.getpid()) or "")
    return path


def sweep_leftovers() -> list[Path]:
    """Stop servers and delete temp dirs left by earlier runs whose Python process died
    (e.g. SIGKILLed pytest). Only processes recorded in those dirs are signalled, and only
    if their PID still has the recorded start time (or, for PostgreSQL, runs in that dir)."""
    removed: list[Path] = []
    if not SCRATCH_ROOT.is_dir():
        return removed
    for path in SCRATCH_ROOT.iterdir():
        owner = path / "owner"
        try:
            if not path.is_dir() or (
                time.time() - path.stat().st_mtime < 60 and not owner.exists()
            ):
                continue  # being created right now
            if owner.exists() and _token_alive(owner.read_text().strip()):
                continue
        except OSError:
            continue
        _stop_leftover(path)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _stop_leftover(path: Path) -> None:
    pidfile = path / "server.pid"
    with contextlib.suppress(OSError, ValueError):
        token = pidfile.read_text().strip()
        if token and _token_alive(token):
            os.kill(int(token.split()[0]), signal.SIGKILL)
            deadline = time.monotonic() + 10
            while _token_alive(token) and time.monotonic() < deadline:
                time.sleep(0.05)
    postmaster = path / "data" / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(postmaster.read_text().splitlines()[0])
        if Path(f"/proc/{pid}/cwd").resolve() == (path / "data").resolve():
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown of that postmaster
            deadline = time.monotonic() + 10
            while _process_token(pid) is not None and time.monotonic() < deadline:
                time.sleep(0.1)
