"""The bundle Philos serves is built from the sources in the repository: its build-info.json
holds the fingerprint of web/ and the README that the build saw (web/scripts/source-hash.ts),
and this test computes the same. After changing the explorer, `make web-build` (which
`make run` and `make test` do when needed)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from philos.gateway.explorer import STATIC

REPO = Path(__file__).resolve().parents[2]


def source_names() -> list[str]:
    names: list[str] = []

    def walk(folder: Path) -> None:
        for entry in folder.iterdir():
            if entry.name == "node_modules" or entry.name.startswith("."):
                continue
            if entry.is_dir():
                walk(entry)
            elif entry.is_file():
                names.append(entry.relative_to(REPO).as_posix())

    walk(REPO / "web")
    names.append("README.md")
    return sorted(names)


def source_hash() -> str:
    digest = hashlib.sha256()
    for name in source_names():
        digest.update(name.encode() + b"\0")
        digest.update((REPO / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def test_the_served_bundle_is_built_from_the_current_sources() -> None:
    info = STATIC / "build-info.json"
    if not info.is_file():
        pytest.fail("the explorer is not built: run `make web-build`")
    built = json.loads(info.read_text())["sources"]
    assert built == source_hash(), "the bundle is older than web/ or README.md: `make web-build`"


def test_the_fingerprint_covers_the_explorer_sources() -> None:
    names = source_names()
    for expected in (
        "web/package-lock.json",
        "web/src/main.tsx",
        "web/vite.config.ts",
        "README.md",
    ):
        assert expected in names
    assert not [n for n in names if "node_modules" in n]
