"""Text rules of the ranked search, shared by every store and by ``Concept.searchHighlight``.

A search is a few words. They are compared folded: lower-cased, accents removed ("Anattā"
and "anatta" are the same word). A stored word matches a searched word when it is equal, starts
with it, or is one or two edits away from it (a typo); see ``word_similarity``. The SQL stores
rank in the database (PostgreSQL full-text search and ``pg_trgm``; SQLite FTS5 and the
``philos_similarity`` and ``philos_text_score`` functions below, registered on every SQLite
connection).

The highlight marks matched words with ``«`` and ``»`` (plain characters, not markup: a client
that shows them as HTML must escape the text as it does every other field).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Sequence

MARK_OPEN = "«"
MARK_CLOSE = "»"
# Words of a search beyond these are ignored, and a word is at most this long.
MAX_WORDS = 12
MAX_WORD = 60
# A body match is shown as a window of about this many characters around its first word.
SNIPPET = 160

_WORD = re.compile(r"\w+", re.UNICODE)


def fold(text: str) -> str:
    """Lower-cased, without diacritics: what search compares."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order."""
    return _WORD.findall(fold(text))


def search_words(search: str) -> list[str]:
    """The words of a search, de-duplicated, at most ``MAX_WORDS`` of them."""
    return list(dict.fromkeys(w[:MAX_WORD] for w in words(search)))[:MAX_WORDS]


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or ``limit + 1`` once it is sure to exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def word_similarity(searched: str, stored: str) -> float:
    """How well a stored word matches a searched word (both folded), from 0 to 1: 1 when equal,
    0.9 when the stored word starts with it, ``1 - edits/length`` within one edit (two for
    words of eight letters or more; none for one-letter words), else 0."""
    if searched == stored:
        return 1.0
    if len(searched) >= 3 and stored.startswith(searched):
        return 0.9
    if len(searched) < 2:
        return 0.0
    limit = 2 if len(searched) >= 8 else 1
    edits = _distance(searched, stored, limit)
    if edits > limit:
        return 0.0
    return 1.0 - edits / max(len(searched), len(stored))


def similarity(terms: Sequence[str], text_words: Sequence[str]) -> float:
    """The mean over the searched words of their best match among ``text_words``, lowered by
    up to a quarter when the text has more words than the search (so a name the search
    covers ranks above a longer one that contains it)."""
    if not terms or not text_words:
        return 0.0
    candidates = set(text_words)
    total = 0.0
    for term in terms:
        total += max(word_similarity(term, w) for w in candidates)
    coverage = min(1.0, len(terms) / len(text_words))
    return total / len(terms) * (0.75 + 0.25 * coverage)


def text_score(search: str, weights: Sequence[float], fields: Sequence[str | None]) -> float:
    """``philos_text_score`` on SQLite: how well a row's fields hold the search, from 0 to 1.

    Each field adds its weight times the share of the searched words it holds (whole, or as
    the start of a word from three letters on, as the full-text match has it), damped by the
    field's length, so a short name holding every word outweighs a long body. It reads only the
    row, unlike bm25 (which weighs a word by how many rows hold it): a row's score stays put
    while other rows come and go, as the cursors of a searched list need (they carry it)."""
    terms = search_words(search)
    if not terms:
        return 0.0
    raw = 0.0
    for weight, text in zip(weights, fields, strict=True):
        held = set(words(text or ""))
        if not held:
            continue
        hits = sum(
            1
            for term in terms
            if term in held or (len(term) >= 3 and any(w.startswith(term) for w in held))
        )
        raw += weight * hits / len(terms) / (1.0 + math.log1p(len(held)) / 3.0)
    return raw / (1.0 + raw)


def alias_list(aliases: str | Sequence[str] | None) -> list[str]:
    """Aliases as stored (a JSON array on SQLite) or as a list."""
    if aliases is None:
        return []
    if isinstance(aliases, str):
        try:
            loaded = json.loads(aliases)
        except ValueError:
            return [aliases]
        return [str(a) for a in loaded] if isinstance(loaded, list) else [str(loaded)]
    return list(aliases)


def names_similarity(search: str, name: str, aliases: str | Sequence[str] | None) -> float:
    """``philos_similarity`` on SQLite: the search against the name and aliases; 1 when the
    name or an alias equals the search (folded)."""
    if is_exact(search, name, aliases):
        return 1.0
    terms = search_words(search)
    best = similarity(terms, words(name))
    for alias in alias_list(aliases):
        best = max(best, similarity(terms, words(alias)))
    return min(best, 0.99)


def is_exact(search: str, name: str, aliases: str | Sequence[str] | None) -> bool:
    """Whether the name or an alias is the search itself, ignoring case and accents."""
    wanted = " ".join(words(search))
    if not wanted:
        return False
    return any(" ".join(words(n)) == wanted for n in [name, *alias_list(aliases)])


def _matched_spans(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    spans = []
    for m in _WORD.finditer(text):
        word = fold(m.group())
        if any(word_similarity(term, word) > 0 for term in terms):
            spans.append((m.start(), m.end()))
    return spans


def _mark(text: str, spans: Sequence[tuple[int, int]]) -> str:
    out, at = [], 0
    for start, end in spans:
        out += [text[at:start], MARK_OPEN, text[start:end], MARK_CLOSE]
        at = end
    out.append(text[at:])
    return "".join(out)


def highlight(search: str, fields: Sequence[str]) -> str | None:
    """The first of ``fields`` (in rank order) with a matched word, the matched words marked;
    a long text is cut to a window around its first match, with "…" where it was cut. None
    when no field has a matched word."""
    terms = search_words(search)
    for text in fields:
        spans = _matched_spans(text, terms)
        if not spans:
            continue
        if len(text) <= SNIPPET * 2:
            return _mark(text, spans)
        start = max(0, spans[0][0] - SNIPPET // 2)
        end = min(len(text), start + SNIPPET * 2)
        inside = [(s - start, e - start) for s, e in spans if s >= start and e <= end]
        snippet = _mark(text[start:end], inside)
        return ("…" if start else "") + snippet + ("…" if end < len(text) else "")
    return None
