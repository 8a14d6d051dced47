"""Load the sample corpus, idempotently.

Concepts are matched by slug: one that exists is left alone, so seeding twice (or seeding a
database that users have edited) changes nothing already there. Relations are skipped when their
(source, target, type) exists; theses when the concept already has one with the same statement.
Ids are derived from the slugs and statements (UUID v5), so every installation gives the sample
records the same ids. Each store's part is loaded on its own (``seed_missing``), so a store that
is down at the first start does not keep the others from theirs, and gets its part later.
"""

from __future__ import annotations

import asyncio
import logging
import tomllib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from philos import domain
from philos.datasources.ports import Store
from philos.datasources.stores import Stores
from philos.domain import StoreUnavailableError
from philos.errors import (
    SeedIncomplete as SeedIncomplete,
)
from philos.timeouts import within
from philos.validation import SLUG_RE

logger = logging.getLogger("philos.seed")
NAMESPACE = uuid.UUID("5b0f4a52-6a0c-4f5e-9a57-2d4c0b6e8f31")
PART_TRIES = 3  # tries per store while it answers its ping
PING_TIMEOUT_SECONDS = 2.0


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


@dataclass(frozen=True)
class Corpus:
    concepts: list[domain.Concept]
    relations: list[domain.Relation]
    theses: list[domain.Thesis]


def read_corpus(text: str | None = None, bodies: Mapping[str, str] | None = None) -> Corpus:
    """Parse and check the corpus; raises ``ValueError`` naming the first bad entry.

    A concept's body is its ``body`` entry or, failing that, ``bodies[slug]``: the packaged
    corpus keeps each body as Markdown in ``bodies/<slug>.md``."""
    if text is None:
        root = resources.files("philos.seed")
        text = root.joinpath("corpus.toml").read_text("utf-8")
        if bodies is None:
            bodies = packaged_bodies()
    data = tomllib.loads(text)
    known = bodies or {}
    concepts = [
        _concept(i, raw, known.get(raw.get("slug", ""), ""))
        for i, raw in enumerate(data.get("concepts", []))
    ]
    by_slug = {c.slug: c for c in concepts}
    if len(by_slug) != len(concepts):
        raise ValueError("corpus: duplicate concept slug")
    relations = [_relation(i, raw, by_slug) for i, raw in enumerate(data.get("relations", []))]
    triples = {(r.source_id, r.target_id, r.type) for r in relations}
    if len(triples) != len(relations):
        raise ValueError("corpus: duplicate (source, target, type) relation")
    theses = [_thesis(i, raw, by_slug) for i, raw in enumerate(data.get("theses", []))]
    return Corpus(concepts=concepts, relations=relations, theses=theses)


def packaged_bodies() -> dict[str, str]:
    """Each ``bodies/<slug>.md`` shipped with the package, by slug."""
    folder = resources.files("philos.seed").joinpath("bodies")
    if not folder.is_dir():
        return {}
    return {
        entry.name.removesuffix(".md"): entry.read_text("utf-8").strip()
        for entry in folder.iterdir()
        if entry.name.endswith(".md")
    }


def _concept(i: int, raw: dict[str, Any], body: str = "") -> domain.Concept:
    slug = raw["slug"]
    if not SLUG_RE.match(slug) or len(raw["summary"]) > 500:
        raise ValueError(f"corpus: concept #{i} ({slug!r}) breaks the slug or summary rules")
    return domain.Concept(
        id=_uid("concept", slug),
        slug=slug,
        name=raw["name"],
        summary=raw["summary"],
        body=raw.get("body", body),
        tradition=raw.get("tradition"),
        era_from=raw.get("era_from"),
        era_to=raw.get("era_to"),
        tags=tuple(raw.get("tags", ())),
        aliases=tuple(raw.get("aliases", ())),
        wikidata_id=raw.get("wikidata_id"),
        sep_url=raw.get("sep_url"),
    )


def _relation(i: int, raw: dict[str, Any], by_slug: dict[str, domain.Concept]) -> domain.Relation:
    try:
        source, target = by_slug[raw["source"]], by_slug[raw["target"]]
    except KeyError as exc:
        raise ValueError(f"corpus: relation #{i} names an unknown concept {exc}") from exc
    if source.id == target.id:
        raise ValueError(f"corpus: relation #{i} relates {source.slug!r} to itself")
    kind = domain.RelationType(raw["type"])
    return domain.Relation(
        id=_uid("relation", source.slug, target.slug, kind.value),
        source_id=source.id,
        target_id=target.id,
        type=kind,
        weight=float(raw.get("weight", 0.5)),
        note=raw.get("note"),
    )


def _thesis(i: int, raw: dict[str, Any], by_slug: dict[str, domain.Concept]) -> domain.Thesis:
    concept = by_slug.get(raw["concept"])
    if concept is None:
        raise ValueError(f"corpus: thesis #{i} names an unknown concept {raw['concept']!r}")
    thesis_id = _uid("thesis", concept.slug, raw["statement"])
    return domain.Thesis(
        id=thesis_id,
        concept_id=concept.id,
        statement=raw["statement"],
        stance=domain.Stance(raw["stance"]),
        arguments=tuple(
            domain.Argument(
                id=_uid("argument", thesis_id, str(j)),
                polarity=domain.Polarity(a["polarity"]),
                text=a["text"],
                strength=float(a.get("strength", 0.5)),
            )
            for j, a in enumerate(raw.get("arguments", []))
        ),
        sources=tuple(
            domain.Source(author=s["author"], work=s["work"], year=s.get("year"), url=s.get("url"))
            for s in raw.get("sources", [])
        ),
        tags=tuple(raw.get("tags", ())),
    )


async def seed(stores: Stores, corpus: Corpus | None = None) -> dict[str, int]:
    """Insert whatever is missing, in every store; returns how many records of each kind were
    added. A store that is unavailable does not stop the others: ``SeedIncomplete`` names it
    once all were tried."""
    corpus = corpus or read_corpus()
    added, failures = await _seed(stores, corpus, only_missing_parts=False)
    if failures:
        raise SeedIncomplete(added, failures)
    return added


async def seed_missing(stores: Stores, corpus: Corpus | None = None) -> dict[str, int]:
    """At start-up: give each store the part of the corpus it has never received.

    The corpus has three parts, each kept by one store: the concepts (SQL), the relations
    (the graph store, with its copies of the concepts) and the theses (the thesis store). A
    part is due when its store holds none of the part's records, so a store that was
    unreachable at the first start gets its part at a later one, while records that users
    deleted from a store that has its part stay deleted. The records of the other parts
    need the corpus concepts, so only concepts that still exist in SQL get relations and
    theses. A store that fails is logged and tried again at the next start.
    """
    corpus = corpus or read_corpus()
    added, failures = await _seed(stores, corpus, only_missing_parts=True)
    for part, exc in failures.items():
        logger.warning("sample corpus: the %s were not loaded (next start retries): %s", part, exc)
    return added


async def _seed(
    stores: Stores, corpus: Corpus, *, only_missing_parts: bool
) -> tuple[dict[str, int], dict[str, StoreUnavailableError]]:
    added = {"concepts": 0, "relations": 0, "theses": 0}
    failures: dict[str, StoreUnavailableError] = {}
    # A concept part is due only in an empty database: an edited one keeps its deletions.
    if not only_missing_parts or not await _has_concepts(stores):
        added["concepts"] = await _seed_concepts(stores, corpus)
    # The SQL rows of the corpus concepts that exist (matched by slug and by id).
    by_slug = await stores.concepts.get_many_by_slug([c.slug for c in corpus.concepts])
    present = {c.id: by_slug[c.slug] for c in corpus.concepts if c.slug in by_slug}
    present = {cid: c for cid, c in present.items() if c.id == cid}
    relations = [r for r in corpus.relations if r.source_id in present and r.target_id in present]
    theses = [t for t in corpus.theses if t.concept_id in present]
    # One after the other: a store that fails stops only its own part. Whether a part is due
    # is decided once, before its first record: a retry goes on with a part it has begun.
    due: dict[str, bool] = {}

    async def load_relations() -> None:
        if "relations" not in due:
            due["relations"] = bool(relations) and not (
                only_missing_parts and await stores.graph.get_relations([r.id for r in relations])
            )
        if due["relations"]:
            await _seed_relations(stores, relations, present, added)

    async def load_theses() -> None:
        if "theses" not in due:
            due["theses"] = bool(theses) and not (
                only_missing_parts and await stores.theses.get_many([t.id for t in theses])
            )
        if due["theses"]:
            await _seed_theses(stores, theses, added)

    for part, store, load in (
        ("relations", stores.graph, load_relations),
        ("theses", stores.theses, load_theses),
    ):
        try:
            await _patiently(store, load)
        except StoreUnavailableError as exc:
            failures[part] = exc
    await stores.relay_now()  # carry the new concepts to a separate graph store, if any
    logger.info("seeded %s", added)
    return added, failures


async def _has_concepts(stores: Stores) -> bool:
    page = await stores.concepts.list(
        domain.ConceptFilter(), domain.ConceptOrder.NAME_ASC, domain.Page(limit=1)
    )
    return page.total > 0


async def _seed_concepts(stores: Stores, corpus: Corpus) -> int:
    added = 0
    existing = await stores.concepts.get_many_by_slug([c.slug for c in corpus.concepts])
    for concept in corpus.concepts:
        if concept.slug not in existing:
            await stores.concepts.create(concept)
            added += 1
    return added


async def _patiently(store: Store, load: Callable[[], Awaitable[None]]) -> None:
    """Run ``load``; while it fails but its store still answers a ping — a store that is cold
    or busy rather than down, its first queries slower than the store timeout — try again."""
    for attempt in range(PART_TRIES):
        try:
            await load()
            return
        except StoreUnavailableError:
            if attempt + 1 == PART_TRIES or not await _answers(store):
                raise
            await asyncio.sleep(1.0)


async def _answers(store: Store) -> bool:
    try:  # straight to the store: the guard lets pings through unwrapped
        await within(store.ping(), PING_TIMEOUT_SECONDS)
    except Exception:  # down: no point trying again now
        return False
    return True


async def _seed_relations(
    stores: Stores,
    relations: list[domain.Relation],
    concepts: dict[str, domain.Concept],
    added: dict[str, int],
) -> None:
    # A separate graph may not have the concepts' nodes yet (the outbox brings them, but it
    # may still be waiting for the store); the upsert is idempotent and uses SQL's names.
    await stores.graph.upsert_concepts(list(concepts.values()))
    present = await stores.graph.edges_of(list(concepts), domain.Direction.OUTGOING)
    have = {(r.source_id, r.target_id, r.type) for rels in present.values() for r in rels}
    for relation in relations:
        if (relation.source_id, relation.target_id, relation.type) not in have:
            await stores.graph.relate(relation)
            added["relations"] += 1


async def _seed_theses(stores: Stores, theses: list[domain.Thesis], added: dict[str, int]) -> None:
    current = await stores.theses.by_concepts(sorted({t.concept_id for t in theses}))
    statements = {(t.concept_id, t.statement) for ts in current.values() for t in ts}
    for thesis in theses:
        if (thesis.concept_id, thesis.statement) not in statements:
            await stores.theses.create(thesis)
            added["theses"] += 1


async def reset(stores: Stores) -> None:
    """Drop and recreate the SQL schema (the other stores follow concept deletions)."""
    await stores.database.drop_schema()
    await stores.database.create_schema()
