"""The command line, run in-process on an empty data directory."""

from __future__ import annotations

import argparse
import importlib.metadata
from collections.abc import Iterator
from pathlib import Path

import pytest

from philos.cli import build_parser, main
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


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    found = {"philos": parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def test_every_option_says_its_default() -> None:
    """Walks the parser itself, so an option added later is held to the same rule."""
    commands = _commands()
    assert {"serve", "seed", "worker", "backup", "restore"} <= commands.keys()
    for name, command in commands.items():
        text = command.format_help().split("\noptions:\n", 1)[1]  # past the usage line
        for action in command._actions:
            if not action.option_strings or action.default is argparse.SUPPRESS:
                continue  # positionals, --help, --version
            assert action.help, f"{name} {action.option_strings[0]} has no help"
            flag = action.option_strings[-1]
            # What argparse prints after the flag, up to the next option.
            shown = " ".join(text.split(f" {flag}", 1)[1].split("\n  -", 1)[0].split())
            assert "(required)" in shown or "(default: " in shown, (name, flag, shown)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["--version"])
    assert ended.value.code == 0
    assert capsys.readouterr().out.strip() == f"philos {importlib.metadata.version('philos')}"
