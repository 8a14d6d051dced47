"""Concept and relation mutations: validate, check references, write, answer a payload."""

from __future__ import annotations

import strawberry

from philos import domain
from philos.resolvers.permissions import (
    concept_delete_check,
    require_editor,
    require_owner_or_admin,
)
from philos.types.context import Context
from philos.types.inputs import CreateConceptInput, RelateConceptsInput, UpdateConceptInput
from philos.types.objects import Concept, Relation
from philos.types.payloads import (
    CHANGES,
    CREATES,
    DELETES,
    ConceptSuccess,
    CreateFailure,
    DeleteFailure,
    DeleteSuccess,
    Failure,
    RelationSuccess,
    attempt,
)
from philos.validation import MAX_ALIASES, WIKIDATA_RE, Checker, is_id

UNSET = strawberry.UNSET


def _check_concept_fields(
    ck: Checker,
    *,
    name: str | None,
    summary: str | None,
    body: str | None,
    tradition: str | None,
    era_from: int | None,
    era_to: int | None,
    aliases: list[str],
    wikidata_id: str | None,
    sep_url: str | None,
) -> dict[str, object]:
    out: dict[str, object] = {
        "name": ck.text("name", name, max_len=120, required=True),
        "summary": ck.text("summary", summary, max_len=500, required=True),
        "body": ck.text("body", body or "", max_len=20_000) or "",
        "tradition": ck.text("tradition", tradition, max_len=60) or None,
        "era_from": ck.year("eraFrom", era_from),
        "era_to": ck.year("eraTo", era_to),
        "sep_url": ck.url("sepUrl", sep_url),
    }
    if era_from is not None and era_to is not None and era_to < era_from:
        ck.add("eraTo", f"must not be before eraFrom ({era_from}).")
    if len(aliases) > MAX_ALIASES:
        ck.add("aliases", f"may hold at most {MAX_ALIASES} aliases.")
    cleaned_aliases = []
    for i, alias in enumerate(aliases):
        cleaned_aliases.append(ck.text(f"aliases[{i}]", alias, max_len=120, required=True) or "")
    out["aliases"] = tuple(dict.fromkeys(cleaned_aliases))
    if wikidata_id is not None and not WIKIDATA_RE.match(wikidata_id):
        ck.add("wikidataId", "must look like 'Q12345'.")
    out["wikidata_id"] = wikidata_id
    return out


async def create_concept(ctx: Context, data: CreateConceptInput) -> ConceptSuccess | CreateFailure:
    async def run() -> ConceptSuccess:
        require_editor(ctx.principal, "create concepts")
        ck = Checker()
        slug = ck.slug("slug", data.slug)
        fields = _check_concept_fields(
            ck,
            name=data.name,
            summary=data.summary,
            body=data.body,
            tradition=data.tradition,
            era_from=data.era_from,
            era_to=data.era_to,
            aliases=data.aliases,
            wikidata_id=data.wikidata_id,
            sep_url=data.sep_url,
        )
        tags = ck.tags("tags", data.tags)
        ck.done()
        now = domain.utcnow()
        concept = domain.Concept(
            id=domain.new_id(),
            slug=slug,
            tags=tags,
            author_id=ctx.principal.user_id,
            created_at=now,
            updated_at=now,
            **fields,  # type: ignore[arg-type]
        )
        stored = await ctx.stores.concepts.create(concept)
        await ctx.stores.relay_now()
        return ConceptSuccess(concept=Concept.from_domain(stored))

    return await attempt(run, CREATES)


async def update_concept(ctx: Context, data: UpdateConceptInput) -> ConceptSuccess | Failure:
    async def run() -> ConceptSuccess:
        require_editor(ctx.principal, "change concepts")
        concept_id = str(data.id)
        current = (await ctx.stores.concepts.get_many([concept_id])).get(concept_id)
        if current is None:
            raise domain.NotFoundError("concept", concept_id)
        require_owner_or_admin(ctx.principal, current.author_id, "change this concept")
        ck = Checker()
        slug = current.slug if data.slug is UNSET else ck.slug("slug", data.slug or "")
        fields = _check_concept_fields(
            ck,
            name=current.name if data.name is UNSET else data.name,
            summary=current.summary if data.summary is UNSET else data.summary,
            body=current.body if data.body is UNSET else data.body,
            tradition=current.tradition if data.tradition is UNSET else data.tradition,
            era_from=current.era_from if data.era_from is UNSET else data.era_from,
            era_to=current.era_to if data.era_to is UNSET else data.era_to,
            aliases=list(current.aliases) if data.aliases in (UNSET, None) else data.aliases,
            wikidata_id=current.wikidata_id if data.wikidata_id is UNSET else data.wikidata_id,
            sep_url=current.sep_url if data.sep_url is UNSET else data.sep_url,
        )
        tags = (
            current.tags if data.tags is UNSET or data.tags is None else ck.tags("tags", data.tags)
        )
        ck.done()
        changed = domain.Concept(
            id=current.id,
            slug=slug,
            tags=tags,
            author_id=current.author_id,
            created_at=current.created_at,
            updated_at=domain.utcnow(),
            version=data.version,
            **fields,  # type: ignore[arg-type]
        )
        stored = await ctx.stores.concepts.update(changed, data.version)
        await ctx.stores.relay_now()
        return ConceptSuccess(concept=Concept.from_domain(stored))

    return await attempt(run, CHANGES)


async def delete_concept(ctx: Context, concept_id: str) -> DeleteSuccess | DeleteFailure:
    async def run() -> DeleteSuccess:
        # Who may delete is decided inside the delete, on the locked concept and every record
        # that would go with it, so nothing can slip in between the check and the delete.
        check = concept_delete_check(ctx.principal, "delete this concept")
        if not is_id(concept_id) or not await ctx.stores.delete_concept(concept_id, check):
            raise domain.NotFoundError("concept", concept_id)
        return DeleteSuccess(id=strawberry.ID(concept_id))

    return await attempt(run, DELETES)


async def require_concepts(ctx: Context, ids: dict[str, str]) -> None:
    """Raise NotFound for the first of ``{field: id}`` that names no concept."""
    wanted = [i for i in ids.values() if is_id(i)]
    found = await ctx.stores.concepts.get_many(wanted)
    for ident in ids.values():
        if ident not in found:
            raise domain.NotFoundError("concept", ident)


async def relate_concepts(ctx: Context, data: RelateConceptsInput) -> RelationSuccess | Failure:
    async def run() -> RelationSuccess:
        require_editor(ctx.principal, "relate concepts")
        source_id, target_id = str(data.source_id), str(data.target_id)
        ck = Checker()
        ck.unit("weight", data.weight)
        note = ck.text("note", data.note, max_len=300) or None
        if source_id == target_id:
            ck.add("targetId", "a concept cannot be related to itself.")
        ck.done()
        await require_concepts(ctx, {"sourceId": source_id, "targetId": target_id})
        relation = domain.Relation(
            id=domain.new_id(),
            source_id=source_id,
            target_id=target_id,
            type=domain.RelationType(data.type),
            weight=data.weight,
            note=note,
            author_id=ctx.principal.user_id,
        )
        stored = await ctx.stores.graph.relate(relation)
        return RelationSuccess(relation=Relation.from_domain(stored))

    return await attempt(run, CHANGES)


async def remove_relation(ctx: Context, relation_id: str) -> DeleteSuccess | DeleteFailure:
    async def run() -> DeleteSuccess:
        require_editor(ctx.principal, "remove relations")
        current = (await ctx.stores.graph.get_relations([relation_id])).get(relation_id)
        if current is None or not is_id(relation_id):
            raise domain.NotFoundError("relation", relation_id)
        require_owner_or_admin(ctx.principal, current.author_id, "remove this relation")
        if not await ctx.stores.graph.remove_relation(relation_id):
            raise domain.NotFoundError("relation", relation_id)
        return DeleteSuccess(id=strawberry.ID(relation_id))

    return await attempt(run, DELETES)
