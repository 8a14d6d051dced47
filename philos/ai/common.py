"""What the AI mutations share: input checks, record look-ups and building AI-written theses.

Each mutation lives in its own module (``generation``, ``suggestions``, ``analysis``,
``synthesis``); they return domain records (the schema layer turns them into GraphQL types) or
raise: ``PhilosError`` for bad input or missing records, ``LlmError`` for anything AI. Nothing
is written before a usable answer is in hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from philos import domain
from philos.ai import prompts
from philos.ai.answers import SynthesisAnswer, ThesisAnswer
from philos.ai.service import CallInfo
from philos.datasources.ports import ThesisStore
from philos.types.context import Context
from philos.validation import is_id


def check_range(field: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise domain.ValidationError(
            [domain.FieldProblem(field, f"must be between {low} and {high} (got {value}).")]
        )


async def get_concept(ctx: Context, concept_id: str) -> domain.Concept:
    found = (
        (await ctx.stores.concepts.get_many([concept_id])).get(concept_id)
        if is_id(concept_id)
        else None
    )
    if found is None:
        raise domain.NotFoundError("concept", concept_id)
    return found


async def candidates_for(ctx: Context, concept: domain.Concept) -> list[domain.Concept]:
    """Concepts the model may relate ``concept`` to, nearest first: its graph neighbourhood,
    its tradition, its tags, then the rest by name, up to ``prompts.MAX_CANDIDATES``."""
    stores = ctx.stores
    limit = prompts.MAX_CANDIDATES
    near = await stores.graph.neighbours(concept.id, 2)
    picked: dict[str, domain.Concept | None] = dict.fromkeys(
        sorted(near, key=lambda i: (near[i], i))
    )
    filters = []
    if concept.tradition:
        filters.append(domain.ConceptFilter(tradition=concept.tradition))
    filters += [domain.ConceptFilter(tags=(tag,)) for tag in concept.tags[:3]]
    filters.append(domain.ConceptFilter())
    for flt in filters:
        if len(picked) >= limit + 1:
            break
        page = await stores.concepts.list(
            flt, domain.ConceptOrder.NAME_ASC, domain.Page(limit=limit + 1)
        )
        for c in page.items:
            picked.setdefault(c.id, c)
    picked.pop(concept.id, None)
    missing = [i for i, c in picked.items() if c is None]
    found = await stores.concepts.get_many(missing) if missing else {}
    out = [c or found.get(i) for i, c in picked.items()]
    return [c for c in out if c is not None][:limit]


def thesis_from(
    answer: ThesisAnswer | SynthesisAnswer,
    *,
    new_id: Callable[[str], str],
    label: str,
    concept_id: str,
    call: CallInfo,
    author_id: str | None,
    related: tuple[str, ...] = (),
    synthesis_of: tuple[str, ...] = (),
) -> domain.Thesis:
    """A DRAFT thesis (provenance AI) made from one answer of the model; its id and its
    arguments' come from ``new_id`` (``AiSession.new_id``) for ``label``."""
    now = domain.utcnow()
    return domain.Thesis(
        id=new_id(label),
        concept_id=concept_id,
        statement=answer.statement,
        stance=domain.Stance(answer.stance),
        arguments=tuple(
            domain.Argument(
                id=new_id(f"{label}:argument:{n}"),
                polarity=domain.Polarity(a.polarity),
                text=a.text,
                strength=a.strength,
            )
            for n, a in enumerate(answer.arguments)
        ),
        sources=tuple(
            domain.Source(author=s.author, work=s.work, year=s.year, url=s.url)
            for s in answer.sources
        ),
        related_concept_ids=related,
        provenance=domain.Provenance(
            kind=domain.ProvenanceKind.AI, model=call.model, prompt_version=call.prompt_version
        ),
        status=domain.ThesisStatus.DRAFT,
        synthesis_of=synthesis_of,
        author_id=author_id,
        created_at=now,
        updated_at=now,
    )


async def create_theses(store: ThesisStore, theses: Sequence[domain.Thesis]) -> list[domain.Thesis]:
    """Create the theses not stored yet (a job run again finds its first run's, under the same
    ids, and keeps them); on an error part-way, remove those this call created."""
    present = await store.get_many([t.id for t in theses])
    created: list[domain.Thesis] = []
    try:
        for thesis in theses:
            if thesis.id not in present:
                created.append(await store.create(thesis))
    except BaseException:
        for thesis in created:
            await store.delete(thesis.id)
        raise
    made = {t.id: t for t in created}
    return [present.get(t.id) or made[t.id] for t in theses]


async def theses_in_order(ctx: Context, ids: Sequence[str]) -> list[domain.Thesis]:
    """The theses with these ids that still exist, in the order given."""
    found = await ctx.stores.theses.get_many(list(ids))
    return [found[i] for i in ids if i in found]
