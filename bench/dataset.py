"""The benchmark dataset: generated deterministically, loaded in bulk into PostgreSQL.

The tables are created by Philos itself (``SqlDatabase.create_schema()``), so the benchmark
always runs on the schema the product ships. Rows are generated from a seeded RNG (the same
spec gives the same rows, ids included) and written with asyncpg's binary COPY.

``theses.concept_id``, ``relations.source_id`` and ``relations.target_id`` are real foreign
keys of Philos's schema (migration 0003); PostGraphile reads them to expose nested
connections, so the benchmark adds nothing of its own to the schema.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from sqlalchemy import JSON, Table

from philos.config import normalise_sql_url
from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.tables import concepts_t, relations_t, theses_t
from philos.domain import Polarity, RelationType, Stance

__all__ = [
    "Dataset",
    "DatasetSpec",
    "asyncpg_url",
    "generate",
    "integrity",
    "load",
    "with_database",
]

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

_ADJECTIVES = (
    "absolute", "practical", "radical", "transcendental", "moral", "natural", "formal",
    "empirical", "dialectical", "ontological", "aesthetic", "political", "logical", "tragic",
    "civic", "negative", "original", "pure", "hidden", "cosmic", "inner", "common", "final",
    "eternal", "critical", "relative", "sufficient", "noble", "ideal", "social",
)  # fmt: skip
_NOUNS = (
    "reason", "virtue", "will", "form", "substance", "freedom", "duty", "being", "spirit",
    "justice", "truth", "harmony", "becoming", "emptiness", "care", "knowledge", "cause",
    "good", "law", "self", "nature", "language", "mind", "time", "desire", "faith", "doubt",
    "order", "power", "sense",
)  # fmt: skip
_TRADITIONS = (
    "Platonism", "Aristotelianism", "Stoicism", "Confucianism", "Daoism", "Buddhism",
    "Rationalism", "Empiricism", "German idealism", "Phenomenology", "Existentialism",
    "Analytic philosophy", "Pragmatism", "Vedanta",
)  # fmt: skip
_TAGS = (
    "ethics", "metaphysics", "epistemology", "logic", "aesthetics", "politics", "mind",
    "language", "religion", "science",
)  # fmt: skip
_AUTHORS = (
    "Plato", "Aristotle", "Epictetus", "Zhuangzi", "Nagarjuna", "Descartes", "Spinoza",
    "Hume", "Kant", "Hegel", "Kierkegaard", "Nietzsche", "Husserl", "Heidegger", "Arendt",
)  # fmt: skip
_VERBS = (
    "is prior to", "cannot be reduced to", "presupposes", "is a species of", "undermines",
    "is the ground of", "is independent of", "is known through", "gives content to",
)  # fmt: skip


@dataclass(frozen=True)
class DatasetSpec:
    """How much data to generate; every count is per parent row."""

    concepts: int = 1000
    theses_per_concept: int = 5
    arguments_per_thesis: int = 2
    relations_per_concept: int = 3
    seed: int = 7

    def __post_init__(self) -> None:
        if self.concepts < 1:
            raise ValueError("concepts must be at least 1")
        for name in ("theses_per_concept", "arguments_per_thesis", "relations_per_concept"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.relations_per_concept > self.concepts - 1:
            raise ValueError(
                f"relations_per_concept={self.relations_per_concept} needs at least "
                f"{self.relations_per_concept + 1} concepts (no self-loops, distinct targets)"
            )

    @property
    def expected(self) -> dict[str, int]:
        theses = self.concepts * self.theses_per_concept
        return {
            "concepts": self.concepts,
            "theses": theses,
            "arguments": theses * self.arguments_per_thesis,
            "relations": self.concepts * self.relations_per_concept,
        }


@dataclass
class Dataset:
    """Rows keyed by Philos column name; JSON columns hold Python lists/dicts."""

    spec: DatasetSpec
    concepts: list[dict[str, Any]] = field(default_factory=list)
    theses: list[dict[str, Any]] = field(default_factory=list)
    relations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def slugs(self) -> list[str]:
        return [row["slug"] for row in self.concepts]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _sentence(rng: random.Random, subject: str, words: int) -> str:
    tail = " ".join(rng.choice(_NOUNS) for _ in range(words))
    return f"{subject} {rng.choice(_VERBS)} {tail}."


def generate(spec: DatasetSpec) -> Dataset:
    """The rows for ``spec``: the same spec always gives the same rows.

    Names are ``"Adjective noun 00042"`` (unique; with one leading capital, ordering by
    ``name`` and by ``lower(name)`` agree, so both servers page through the same order).
    Every timestamp is distinct, so "newest first" has no ties.
    """
    rng = random.Random(spec.seed)  # noqa: S311 (reproducible data, not secrets)
    data = Dataset(spec=spec)
    width = max(5, len(str(spec.concepts)))
    for i in range(spec.concepts):
        adjective, noun = rng.choice(_ADJECTIVES), rng.choice(_NOUNS)
        number = f"{i:0{width}d}"
        name = f"{adjective.capitalize()} {noun} {number}"
        era_from = rng.randint(-600, 2000)
        created = EPOCH + timedelta(seconds=i)
        tags = sorted(rng.sample(_TAGS, rng.randint(1, 3)))
        data.concepts.append(
            {
                "id": _uuid(rng),
                "slug": f"{adjective}-{noun}-{number}",
                "name": name,
                "summary": _sentence(rng, name, rng.randint(6, 18)),
                "body": " ".join(_sentence(rng, name, rng.randint(8, 20)) for _ in range(4)),
                "tradition": rng.choice(_TRADITIONS),
                "era_from": era_from,
                "era_to": era_from + rng.randint(0, 200),
                "tags": "|" + "|".join(tags) + "|",
                "aliases": [f"{noun} {adjective} {number}"] if rng.random() < 0.5 else [],
                "wikidata_id": f"Q{rng.randint(1000, 99_999_999)}",
                "sep_url": None,
                "author_id": None,
                "created_at": created,
                "updated_at": created,
                "version": 1,
            }
        )
    stances = list(Stance)
    polarities = list(Polarity)
    types = list(RelationType)
    stamp = 0
    for concept in data.concepts:
        for _ in range(spec.theses_per_concept):
            stamp += 1
            created = EPOCH + timedelta(days=30, seconds=stamp)
            data.theses.append(
                {
                    "id": _uuid(rng),
                    "concept_id": concept["id"],
                    "statement": _sentence(rng, concept["name"], rng.randint(5, 25)),
                    "stance": rng.choice(stances).value,
                    "arguments": [
                        {
                            "id": _uuid(rng),
                            "polarity": polarities[k % 2].value,
                            "text": _sentence(rng, "This", rng.randint(6, 30)),
                            "strength": round(rng.random(), 2),
                        }
                        for k in range(spec.arguments_per_thesis)
                    ],
                    "sources": [
                        {
                            "author": rng.choice(_AUTHORS),
                            "work": f"On {rng.choice(_NOUNS)}",
                            "year": rng.randint(-400, 2000),
                            "url": None,
                        }
                    ],
                    "related_concept_ids": [],
                    "synthesis_of": [],
                    "tags": "",
                    "provenance": "HUMAN",
                    "model": None,
                    "prompt_version": None,
                    "status": "PUBLISHED",
                    "author_id": None,
                    "created_at": created,
                    "updated_at": created,
                    "version": 1,
                }
            )
    ids = [c["id"] for c in data.concepts]
    for index, concept in enumerate(data.concepts):
        targets: set[int] = set()
        while len(targets) < spec.relations_per_concept:
            candidate = rng.randrange(len(ids))
            if candidate != index:
                targets.add(candidate)
        for target in sorted(targets):
            stamp += 1
            data.relations.append(
                {
                    "id": _uuid(rng),
                    "source_id": concept["id"],
                    "target_id": ids[target],
                    "type": rng.choice(types).value,
                    "weight": round(rng.random(), 2),
                    "note": None,
                    "provenance": "HUMAN",
                    "model": None,
                    "author_id": None,
                    "created_at": EPOCH + timedelta(days=60, seconds=stamp),
                }
            )
    return data


def asyncpg_url(url: str) -> str:
    """``postgresql+asyncpg://`` / ``postgres://`` → the ``postgresql://`` asyncpg accepts."""
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def _records(table: Table, rows: list[dict[str, Any]]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Rows as COPY records in the table's column order. A column the generator does not fill
    must be nullable (so a new NOT NULL column in Philos fails here, by name)."""
    columns = [c.name for c in table.columns if not rows or c.name in rows[0]]
    missing = [
        c.name
        for c in table.columns
        if rows and c.name not in rows[0] and not c.nullable and c.server_default is None
    ]
    if missing:
        raise RuntimeError(
            f"bench/dataset.py does not fill NOT NULL column(s) {missing} of {table.name}; "
            "teach generate() about them"
        )
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    records = [
        tuple(json.dumps(row[c]) if c in json_columns else row[c] for c in columns) for row in rows
    ]
    return columns, records


async def load(url: str, spec: DatasetSpec, data: Dataset | None = None) -> dict[str, float]:
    """Create Philos's schema in the database at ``url`` (through Philos), empty the three
    tables, COPY the generated rows in and ANALYZE. Returns the row counts and seconds taken."""
    data = data or generate(spec)
    started = datetime.now(UTC)
    db = SqlDatabase(normalise_sql_url(url))
    try:
        await db.create_schema()
    finally:
        await db.aclose()
    conn = await asyncpg.connect(asyncpg_url(url))
    try:
        async with conn.transaction():
            # CASCADE: every table that references concepts (suggestions too) starts empty.
            await conn.execute("TRUNCATE concepts, theses, relations CASCADE")
            for table, rows in (
                (concepts_t, data.concepts),
                (theses_t, data.theses),
                (relations_t, data.relations),
            ):
                columns, records = _records(table, rows)
                await conn.copy_records_to_table(table.name, records=records, columns=columns)
        await conn.execute("ANALYZE concepts, theses, relations")
    finally:
        await conn.close()
    seconds = (datetime.now(UTC) - started).total_seconds()
    return {
        "concepts": len(data.concepts),
        "theses": len(data.theses),
        "relations": len(data.relations),
        "seconds": seconds,
    }


_INTEGRITY_SQL = {
    "concepts": "SELECT count(*) FROM concepts",
    "theses": "SELECT count(*) FROM theses",
    "relations": "SELECT count(*) FROM relations",
    "arguments": "SELECT coalesce(sum(json_array_length(arguments)), 0) FROM theses",
    "orphan_theses": (
        "SELECT count(*) FROM theses t LEFT JOIN concepts c ON c.id = t.concept_id "
        "WHERE c.id IS NULL"
    ),
    "orphan_relation_sources": (
        "SELECT count(*) FROM relations r LEFT JOIN concepts c ON c.id = r.source_id "
        "WHERE c.id IS NULL"
    ),
    "orphan_relation_targets": (
        "SELECT count(*) FROM relations r LEFT JOIN concepts c ON c.id = r.target_id "
        "WHERE c.id IS NULL"
    ),
    "self_loops": "SELECT count(*) FROM relations WHERE source_id = target_id",
    "duplicate_triples": (
        "SELECT count(*) FROM (SELECT 1 FROM relations GROUP BY source_id, target_id, type "
        "HAVING count(*) > 1) d"
    ),
    "concepts_with_other_thesis_count": (
        "SELECT count(*) FROM concepts c WHERE "
        "(SELECT count(*) FROM theses t WHERE t.concept_id = c.id) <> $1"
    ),
    "concepts_with_other_relation_count": (
        "SELECT count(*) FROM concepts c WHERE "
        "(SELECT count(*) FROM relations r WHERE r.source_id = c.id) <> $1"
    ),
}


async def integrity(url: str, spec: DatasetSpec) -> dict[str, int]:
    """Row counts and referential checks; every ``orphan_*``, ``self_loops``,
    ``duplicate_*`` and ``*_with_other_*`` value is 0 for a sound load."""
    conn = await asyncpg.connect(asyncpg_url(url))
    try:
        report: dict[str, int] = {}
        for name, sql in _INTEGRITY_SQL.items():
            args: list[int] = []
            if name == "concepts_with_other_thesis_count":
                args = [spec.theses_per_concept]
            elif name == "concepts_with_other_relation_count":
                args = [spec.relations_per_concept]
            report[name] = int(await conn.fetchval(sql, *args))
        return report
    finally:
        await conn.close()
