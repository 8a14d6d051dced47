"""``philos backup`` and ``philos restore`` on the embedded SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from philos.cli import main
from philos.config import get_settings
from philos.seed.loader import read_corpus


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("DATABASE_URL", "NEO4J_URI", "MONGODB_URI", "REDIS_URL", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PHILOS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_backup_then_restore(embedded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = embedded / "philos.tar.gz"
    assert main(["seed"]) == 0
    assert main(["backup", "--out", str(archive)]) == 0
    assert f"{len(read_corpus().concepts)} concepts, 0 users" in capsys.readouterr().out
    assert main(["restore", str(archive)]) == 1
    assert "not empty" in capsys.readouterr().err
    cut = embedded / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[:2000])
    assert main(["restore", str(cut), "--replace"]) == 1
    assert "truncated or corrupted" in capsys.readouterr().err
    assert main(["restore", str(archive), "--replace"]) == 0
    assert "restored" in capsys.readouterr().out
    assert main(["backup", "--out", str(embedded / "missing" / "x.tar.gz")]) == 1
    assert "cannot write" in capsys.readouterr().err
