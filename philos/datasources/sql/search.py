"""Ranked, typo-tolerant search for the SQL concept and thesis stores.

A record matches a search when one of these holds:

- full-text: every word of the search is (the start of) a word of the record, in any field
  and any order (PostgreSQL ``websearch_to_tsquery``, or ``to_tsquery`` with ``:*`` prefixes,
  in the ``simple`` configuration over ``unaccent``-ed text; SQLite FTS5 prefix queries with
  ``unicode61 remove_diacritics 2``);
- typo: the search is close to the concept's name or an alias (PostgreSQL ``pg_trgm``
  ``word_similarity``; SQLite: candidates from an FTS5 ``trigram`` table, scored by
  ``philos_similarity``, see ``philos/domain/search.py``);
- substring: the search is text in the concept's name or an alias, or in the thesis's
  statement (ignoring case; on PostgreSQL also accents, through the trigram indexes).

Results come exact matches first (the name or an alias is the search, ignoring case and
accents), then by score (full-text rank weighted name > aliases > summary > body, plus the
name similarity), then by lower-cased name and id. The tables, indexes, triggers and SQL
functions used here are created by migration 0004.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Text,
    and_,
    any_,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.common import aware, contains_text, like_pattern
from philos.datasources.sql.keyset import beyond
from philos.datasources.sql.tables import concepts_t, theses_t
from philos.domain import Page, PageResult
from philos.domain.search import search_words, words
from philos.errors import UserInputError

T = TypeVar("T")

c = concepts_t.c
t = theses_t.c

# FTS5 column weights, in the columns' order: name, aliases, summary, body.
CONCEPT_WEIGHTS = (10.0, 5.0, 2.0, 1.0)
# statement, argument texts
THESIS_WEIGHTS = (4.0, 1.0)
# pg_trgm word_similarity at or above which a name is a typo match (PostgreSQL).
PG_TYPO_THRESHOLD = 0.4
# philos_similarity at or above which a name is a typo match (SQLite), and how many trigram
# candidates are scored at most.
SQLITE_TYPO_THRESHOLD = 0.6
SQLITE_TYPO_CANDIDATES = 200
SIMPLE: ColumnElement[Any] = literal_column(
    "'simple'::regconfig"
)  # no stop words, no stemming: any language


def fts5_query(search: str) -> str | None:
    """Every word of the search, quoted (FTS5 syntax cannot leak in), as a prefix from three
    letters on; None without words."""
    terms = search_words(search)
    if not terms:
        return None
    return " ".join('"' + term.replace('"', '""') + '"' + _star(term) for term in terms)


def _star(term: str, star: str = "*") -> str:
    """Words of three letters or more also match as prefixes; shorter ones only whole."""
    return star if len(term) >= 3 else ""


_OPERATORS = re.compile(r'"|(^|\s)-|\bor\b', re.IGNORECASE)


def tsquery_prefixes(search: str) -> str | None:
    """Every word of the search as a prefix (``to_tsquery`` syntax), unless the search uses
    ``websearch_to_tsquery``'s quotes, ``-`` or ``or``: then only that query applies."""
    terms = search_words(search)
    if not terms or _OPERATORS.search(search):
        return None
    return " & ".join(f"'{term}'{_star(term, ':*')}" for term in terms)  # \w+: no quote


def _pg_fulltext(tsv: Any, search: str) -> tuple[ColumnElement[bool], Any]:
    """The full-text match of the search (and of its words as prefixes) and its rank."""
    web = func.websearch_to_tsquery(SIMPLE, func.philos_unaccent(search))
    match: ColumnElement[bool] = tsv.op("@@")(web)
    rank: Any = func.ts_rank(tsv, web)
    prefixes = tsquery_prefixes(search)
    if prefixes is not None:
        query = func.to_tsquery(SIMPLE, prefixes)
        match = or_(match, tsv.op("@@")(query))
        rank = rank + func.ts_rank(tsv, query)
    return match, rank


def trigram_query(search: str) -> str | None:
    """Any trigram of any word (folded, and as typed), for the FTS5 trigram table."""
    grams: dict[str, None] = {}
    for word in {*search_words(search), *(w.lower() for w in search.split())}:
        for i in range(len(word) - 2):
            grams['"' + word[i : i + 3].replace('"', '""') + '"'] = None
    return " OR ".join(grams) if grams else None


# Whether each PostgreSQL database has pg_trgm (migration 0004 goes on without it).
_TRIGRAMS: weakref.WeakKeyDictionary[SqlDatabase, bool] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def search_connection(db: SqlDatabase) -> AsyncIterator[tuple[AsyncConnection, bool]]:
    """A connection for one search, and whether typos can be matched. On PostgreSQL a
    transaction whose ``pg_trgm`` threshold is ours, so the ``<%`` operator (and the trigram
    index) admits one-letter typos."""
    if db.is_sqlite:
        async with db.connect() as conn:
            yield conn, True
        return
    async with db.begin() as conn:
        trigrams = _TRIGRAMS.get(db)
        if trigrams is None:
            found = await conn.execute(
                text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")
            )
            trigrams = _TRIGRAMS[db] = bool(found.scalar_one())
        if trigrams:
            await conn.execute(
                text("SELECT set_config('pg_trgm.word_similarity_threshold', :v, true)"),
                {"v": str(PG_TYPO_THRESHOLD)},
            )
        yield conn, trigrams


class Ranked:
    """What a search adds to a list statement: the match condition and the ORDER BY keys."""

    def __init__(self, match: ColumnElement[bool], order: Sequence[Any], froms: Sequence[Any]):
        self.match = match
        self.order = list(order)
        self.froms = list(froms)  # outer joins the statement needs (SQLite FTS5 ranks)


def _pg_concepts(search: str, substring: ColumnElement[bool], trigrams: bool) -> Ranked:
    aliases = cast(c.aliases, Text)
    fulltext, rank = _pg_fulltext(
        func.philos_concept_tsv(c.name, aliases, c.summary, c.body), search
    )
    names = func.philos_concept_names(c.name, aliases)
    folded = func.lower(func.philos_unaccent(search))
    exact = func.philos_search_key(search) == any_(func.philos_concept_keys(c.name, aliases))
    if not trigrams:
        return Ranked(or_(fulltext, substring), [exact.desc(), rank.desc()], [])
    # word_similarity finds the name or alias part closest to the search; similarity with the
    # name alone ranks a name the search covers above longer ones containing it.
    closeness = func.word_similarity(folded, names) + func.similarity(
        folded, func.lower(func.philos_unaccent(c.name))
    )
    score = rank + closeness
    match = or_(fulltext, folded.op("<%")(names), substring)
    return Ranked(match, [exact.desc(), score.desc()], [])


# The FTS5 tables' columns, in the order of their weights (migration 0004).
_FTS5_COLUMNS = {
    "concepts_fts": ("name", "aliases", "summary", "body"),
    "theses_fts": ("statement", "arguments"),
}


def _fts5_scored(table: str, weights: Sequence[float], search: str, fq: str) -> Any:
    """The rows of an FTS5 table matching ``fq``, each with its ``philos_text_score`` (row by
    row, see ``domain/search.py``: bm25 would move a row's score as other rows change, and
    the cursors of a searched list carry scores)."""
    columns = ", ".join(_FTS5_COLUMNS[table])
    return (
        text(
            f"SELECT rowid AS rid, philos_text_score(:search, :weights, {columns}) AS r "  # noqa: S608  # nosec B608
            f"FROM {table} WHERE {table} MATCH :fq"
        )
        .bindparams(fq=fq, search=search, weights=",".join(str(w) for w in weights))
        .columns(rid=Integer, r=Float)
        .subquery("fts")
    )


def _sqlite_concepts(search: str, substring: ColumnElement[bool]) -> Ranked:
    rowid: ColumnElement[int] = literal_column("concepts.rowid")
    similarity = func.philos_similarity(search, c.name, c.aliases)
    conds: list[ColumnElement[bool]] = [substring]
    score: Any = similarity
    froms = []
    fq = fts5_query(search)
    if fq is not None:
        fts = _fts5_scored("concepts_fts", CONCEPT_WEIGHTS, search, fq)
        froms.append((fts, fts.c.rid == rowid))
        conds.append(fts.c.rid.is_not(None))
        # At most half: a name close to the search outweighs words found in a body.
        score = score + 0.5 * func.coalesce(fts.c.r, 0.0)
    tq = trigram_query(search)
    if tq is not None:
        candidates = text(
            "SELECT rowid FROM concepts_trgm WHERE concepts_trgm MATCH :tq "  # noqa: S608  # nosec B608
            f"ORDER BY rank LIMIT {SQLITE_TYPO_CANDIDATES}"
        ).bindparams(tq=tq)
        conds.append(and_(rowid.in_(candidates), similarity >= SQLITE_TYPO_THRESHOLD))
    exact = case((similarity >= 1.0, 1), else_=0)
    return Ranked(or_(*conds), [exact.desc(), score.desc()], froms)


def _pg_contains(folded_column: ColumnElement[str], search: str) -> ColumnElement[bool]:
    """The search as text in an unaccented, lower-cased column (a trigram index serves it)."""
    pattern = func.lower(func.philos_unaccent(like_pattern(search)))
    return folded_column.like(pattern, escape="\\")


def rank_concepts(sqlite: bool, search: str, trigrams: bool) -> Ranked:
    """The match and order of a concept search."""
    if sqlite:
        return _sqlite_concepts(search, contains_text([c.name, c.aliases], search))
    names = func.philos_concept_names(c.name, cast(c.aliases, Text))
    return _pg_concepts(search, _pg_contains(names, search), trigrams)


def _pg_theses(search: str, substring: ColumnElement[bool], trigrams: bool) -> Ranked:
    fulltext, rank = _pg_fulltext(
        func.philos_thesis_tsv(t.statement, cast(t.arguments, Text)), search
    )
    folded = func.lower(func.philos_unaccent(search))
    statement = func.lower(func.philos_unaccent(t.statement))
    exact = func.philos_search_key(search) == func.philos_search_key(t.statement)
    if not trigrams:
        return Ranked(or_(fulltext, substring), [exact.desc(), rank.desc()], [])
    score = rank + func.word_similarity(folded, statement)
    match = or_(fulltext, folded.op("<%")(statement), substring)
    return Ranked(match, [exact.desc(), score.desc()], [])


def _sqlite_theses(search: str, substring: ColumnElement[bool]) -> Ranked:
    rowid: ColumnElement[int] = literal_column("theses.rowid")
    conds: list[ColumnElement[bool]] = [substring]
    froms = []
    score: Any = literal_column("0.0")
    fq = fts5_query(search)
    if fq is not None:
        fts = _fts5_scored("theses_fts", THESIS_WEIGHTS, search, fq)
        froms.append((fts, fts.c.rid == rowid))
        conds.append(fts.c.rid.is_not(None))
        score = func.coalesce(fts.c.r, 0.0)
    exact = case((func.philos_search_key(t.statement) == " ".join(words(search)), 1), else_=0)
    return Ranked(or_(*conds), [exact.desc(), score.desc()], froms)


def rank_theses(sqlite: bool, search: str, trigrams: bool) -> Ranked:
    """The match and order of a thesis search (statement and argument texts)."""
    if sqlite:
        return _sqlite_theses(search, contains_text([t.statement], search))
    statement = func.lower(func.philos_unaccent(t.statement))
    return _pg_theses(search, _pg_contains(statement, search), trigrams)


Rank = Callable[[bool, str, bool], Ranked]


def matching(table: Any, ranked: Ranked) -> Any:
    """``table`` with the joins the search's condition reads (SQLite's FTS5 ranks)."""
    joined = table
    for target, on in ranked.froms:
        joined = joined.outerjoin(target, on)
    return joined


def _key(value: Any) -> Any:
    """A ranking key's value as a cursor carries it: timestamps in UTC (SQLite's are naive)."""
    return aware(value) if isinstance(value, datetime) else value


async def ranked_page(
    db: SqlDatabase,
    table: Any,
    conds: Sequence[ColumnElement[bool]],
    search: str,
    rank: Rank,
    order: Sequence[Any] | None,
    tie: Sequence[Any],
    page: Page,
    decode: Callable[[Row[Any]], T],
) -> PageResult[T]:
    """One page of the rows of ``table`` that match ``search`` and ``conds``, with how many
    match: in ``order``, or best match first (then ``tie``, which ends on the id) when
    ``order`` is None. The page starts after ``page.after``, whose values are the ranking
    key's as ``keys`` of an earlier page gave them (a cursor carries them): a row added or
    removed elsewhere does not shift the next page."""
    async with search_connection(db) as (conn, trigrams):
        ranked = rank(db.is_sqlite, search, trigrams)
        joined = matching(table, ranked)
        keys = [*ranked.order, *tie] if order is None else list(order)
        key_columns = [k.element.label(f"_key{i}") for i, k in enumerate(keys[:-1])]
        # Not correlated with the page's rows: evaluated once, over every match.
        total = (
            select(func.count())
            .select_from(joined)
            .where(ranked.match, *conds)
            .scalar_subquery()
            .correlate(None)
        )
        seeking = []
        if page.after is not None:
            values = [*page.after.values, page.after.id]
            if len(values) != len(keys):
                raise UserInputError(
                    "`after` is a cursor of another search or order; pass an `endCursor` of "
                    "this list, or start again without `after`."
                )
            seeking.append(beyond(keys, values))
        stmt = (
            select(table, *key_columns, total.label("_total"))
            .select_from(joined)
            .where(ranked.match, *conds, *seeking)
            .order_by(*keys)
            .limit(page.limit + 1)  # one more: is there a next page
        )
        rows: list[Any] = list((await conn.execute(stmt)).all())
        count = rows[0]._total if rows else (await conn.execute(select(total))).scalar_one()
    on_page = rows[: page.limit]
    return PageResult(
        items=[decode(row) for row in on_page],
        total=int(count),
        has_next=len(rows) > page.limit,
        # The cursor's row precedes the page (unless it was deleted since).
        has_previous=page.after is not None,
        keys=[tuple(_key(row._mapping[c.name]) for c in key_columns) for row in on_page],
    )
