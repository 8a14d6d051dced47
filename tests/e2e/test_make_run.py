"""`make run` as a newcomer meets it: it serves on the HOST and PORT given, prints no
deprecation banner, and Ctrl-C (SIGINT to the terminal's whole process group) stops it
without make reporting an error."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.serve import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_serves_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "NEO4J_URI", "MONGODB_URI", "REDIS_URL", "ANTHROPIC_API_KEY"}
        and not k.startswith("MAKE")
    }
    env.update(PHILOS_DATA_DIR=str(tmp_path), HOST="127.0.0.1", PORT=str(port))
    log_path = tmp_path / "make.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, as a terminal's foreground job
        )
    try:
        deadline = time.monotonic() + 180  # may (re)install or build first
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail("make run did not serve:\n" + log_path.read_text()[-3000:])
        answer = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": "{ concepts(first: 1) { totalCount } }"},
        )
        assert answer.status_code == 200 and answer.json()["data"]["concepts"]["totalCount"] > 0
        explorer = httpx.get(f"http://127.0.0.1:{port}/app/")
        assert explorer.status_code == 200 and "/app/assets/" in explorer.text
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    output = log_path.read_text()
    assert code in (0, -signal.SIGINT), output[-3000:]
    assert not re.search(r"^make(\[\d+\])?: \*\*\*", output, re.M), output[-3000:]
    assert "deprecat" not in output.lower(), output[-3000:]
