"""The command line, run in-process on an empty data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from philos.cli import main
from philos.config import get_settings
from philos.schema.root import build_schema
from philos.seed.loader import read_corpus


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("DATABASE_URL", "NEO4J_URI", "MONGODB_URI", "REDIS_URL", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PHILOS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_export_schema_prints_the_sdl(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-schema"]) == 0
    assert capsys.readouterr().out == build_schema().as_str() + "\n"


def test_migrate_then_seed_twice(embedded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert (embedded / "philos.db").exists()
    assert main(["seed"]) == 0
    corpus = read_corpus()
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith(
            f"{len(corpus.concepts)} concepts added, {len(corpus.relations)} relations added, "
            f"{len(corpus.theses)} theses added"
        )
    )
    assert main(["seed"]) == 0
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith("0 concepts added, 0 relations added, 0 theses added")
    )
    assert main(["seed", "--reset"]) == 0
    assert f"{len(corpus.concepts)} concepts added" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_worker_without_separate_stores_says_so(
    embedded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["worker"]) == 0
    assert "nothing to relay" in capsys.readouterr().out
