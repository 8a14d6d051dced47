"""The small test corpus (tests/fixtures/small_corpus.toml) the API suites are seeded with."""

from __future__ import annotations

from pathlib import Path

from philos.seed.loader import read_corpus

FIXTURES = Path(__file__).parent / "fixtures"
SMALL_CORPUS = read_corpus((FIXTURES / "small_corpus.toml").read_text("utf-8"))
