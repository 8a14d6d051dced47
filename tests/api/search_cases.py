"""Search cases drawn with hypothesis from the corpus concepts (for ``test_search.py``).

Each helper runs a hypothesis test that only records what it draws (derandomized, so every
run asks the same cases); the API test then asks them against one seeded app, which a
per-example fixture could not do in the time.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable, Sequence
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from philos.domain import Concept
from philos.domain.search import fold

T = TypeVar("T")
_WORD = re.compile(r"[^\W\d_]{2,}")
# Marks that fold away: acute, grave, macron, diaeresis, circumflex.
_MARKS = ("\u0301", "\u0300", "\u0304", "\u0308", "\u0302")


def letters(name: str) -> list[int]:
    """Positions of the letters of ``name``."""
    return [i for i, ch in enumerate(name) if ch.isalpha()]


def _collect(strategy: st.SearchStrategy[T], examples: int) -> list[T]:
    drawn: list[T] = []

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def record(case: T) -> None:
        drawn.append(case)

    record()
    return drawn


def _per_concept(
    concepts: Sequence[Concept], per: int, draw: Callable[[Concept], st.SearchStrategy[str]]
) -> list[tuple[Concept, str]]:
    cases: list[tuple[Concept, str]] = []
    for concept in concepts:
        found = list(dict.fromkeys(_collect(draw(concept), per * 4)))
        cases += [(concept, s) for s in found[:per]]
    return cases


@st.composite
def typo(draw: st.DrawFn, name: str) -> str:
    """``name`` with one letter substituted, deleted or inserted."""
    at = draw(st.sampled_from(letters(name)))
    letter = draw(st.sampled_from(string.ascii_lowercase))
    kind = draw(st.sampled_from(["substitute", "delete", "insert"]))
    if kind == "substitute":
        letter = letter if letter != name[at].lower() else ("a" if letter != "a" else "e")
        return name[:at] + letter + name[at + 1 :]
    if kind == "delete":
        return name[:at] + name[at + 1 :]
    return name[:at] + letter + name[at:]


def typos(concepts: Sequence[Concept], per_name: int) -> list[tuple[Concept, str]]:
    return _per_concept(concepts, per_name, lambda c: typo(c.name))


@st.composite
def pair(draw: st.DrawFn, concept: Concept) -> str:
    """Two different words of the concept's name or of its summary, in either order."""
    source = draw(st.sampled_from([concept.name, concept.summary]))
    words = list(dict.fromkeys(_WORD.findall(source)))
    if len(words) < 2:
        words = list(dict.fromkeys(_WORD.findall(concept.summary)))
    chosen = draw(st.lists(st.sampled_from(words), min_size=2, max_size=2, unique=True))
    return " ".join(chosen)


def two_words(concepts: Sequence[Concept], per_concept: int) -> list[tuple[Concept, str]]:
    return _per_concept(concepts, per_concept, lambda c: pair(c))


def accented(concepts: Sequence[Concept]) -> list[Concept]:
    """The concepts whose name has a letter with a diacritic."""
    return [c for c in concepts if fold(c.name) != c.name.casefold()]


@st.composite
def with_mark(draw: st.DrawFn, name: str) -> str:
    """``name`` with a diacritic on one of its ASCII letters."""
    at = draw(st.sampled_from([i for i in letters(name) if name[i].isascii()]))
    mark = draw(st.sampled_from(_MARKS))
    return name[:at] + unicodedata.normalize("NFC", name[at] + mark) + name[at + 1 :]


def marked(concepts: Sequence[Concept], per_name: int) -> list[tuple[Concept, str]]:
    plain = [c for c in concepts if c.name.isascii() and letters(c.name)]
    return _per_concept(plain, per_name, lambda c: with_mark(c.name))
