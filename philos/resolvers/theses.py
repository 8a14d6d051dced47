"""Thesis and argument mutations."""

from __future__ import annotations

import strawberry

from philos import domain
from philos.resolvers.concepts import require_concepts
from philos.resolvers.permissions import require_editor, require_owner_or_admin
from philos.types.context import Context
from philos.types.inputs import (
    AddArgumentInput,
    ArgumentInput,
    CreateThesisInput,
    SourceInput,
    UpdateThesisInput,
)
from philos.types.objects import Thesis
from philos.types.payloads import (
    CHANGES,
    DELETES,
    DeleteFailure,
    DeleteSuccess,
    Failure,
    ThesisSuccess,
    attempt,
)
from philos.validation import MAX_ARGUMENTS, MAX_RELATED, MAX_SOURCES, Checker, is_id

UNSET = strawberry.UNSET


def _argument(ck: Checker, path: str, a: ArgumentInput | AddArgumentInput) -> domain.Argument:
    text = ck.text(f"{path}text", a.text, min_len=10, max_len=1000, required=True) or ""
    ck.unit(f"{path}strength", a.strength)
    return domain.Argument(
        id=domain.new_id(), polarity=domain.Polarity(a.polarity), text=text, strength=a.strength
    )


def _sources(ck: Checker, sources: list[SourceInput]) -> tuple[domain.Source, ...]:
    if len(sources) > MAX_SOURCES:
        ck.add("sources", f"may hold at most {MAX_SOURCES} sources.")
    out = []
    for i, s in enumerate(sources):
        author = ck.text(f"sources[{i}].author", s.author, max_len=200, required=True) or ""
        work = ck.text(f"sources[{i}].work", s.work, max_len=300, required=True) or ""
        ck.year(f"sources[{i}].year", s.year)
        url = ck.url(f"sources[{i}].url", s.url)
        out.append(domain.Source(author=author, work=work, year=s.year, url=url))
    return tuple(out)


def _related(ck: Checker, ids: list[strawberry.ID]) -> tuple[str, ...]:
    if len(ids) > MAX_RELATED:
        ck.add("relatedConceptIds", f"may name at most {MAX_RELATED} concepts.")
    return tuple(dict.fromkeys(ck.id(f"relatedConceptIds[{i}]", str(v)) for i, v in enumerate(ids)))


async def _owned_thesis(ctx: Context, thesis_id: str, action: str) -> domain.Thesis:
    require_editor(ctx.principal, action)
    current = (
        (await ctx.stores.theses.get_many([thesis_id])).get(thesis_id) if is_id(thesis_id) else None
    )
    if current is None:
        raise domain.NotFoundError("thesis", thesis_id)
    require_owner_or_admin(ctx.principal, current.author_id, action)
    return current


async def create_thesis(ctx: Context, data: CreateThesisInput) -> ThesisSuccess | Failure:
    async def run() -> ThesisSuccess:
        require_editor(ctx.principal, "write theses")
        ck = Checker()
        concept_id = str(data.concept_id)
        statement = ck.text("statement", data.statement, min_len=10, max_len=1000, required=True)
        if len(data.arguments) > MAX_ARGUMENTS:
            ck.add("arguments", f"may hold at most {MAX_ARGUMENTS} arguments.")
        arguments = tuple(
            _argument(ck, f"arguments[{i}].", a) for i, a in enumerate(data.arguments)
        )
        sources = _sources(ck, data.sources)
        related = _related(ck, data.related_concept_ids)
        tags = ck.tags("tags", data.tags)
        ck.done()
        await require_concepts(
            ctx, {"conceptId": concept_id, **{f"r{i}": r for i, r in enumerate(related)}}
        )
        now = domain.utcnow()
        thesis = domain.Thesis(
            id=domain.new_id(),
            concept_id=concept_id,
            statement=statement or "",
            stance=domain.Stance(data.stance),
            arguments=arguments,
            sources=sources,
            related_concept_ids=related,
            tags=tags,
            status=domain.ThesisStatus(data.status),
            author_id=ctx.principal.user_id,
            created_at=now,
            updated_at=now,
        )
        stored = await ctx.stores.theses.create(thesis)
        return ThesisSuccess(thesis=Thesis.from_domain(stored))

    return await attempt(run, CHANGES)


async def update_thesis(ctx: Context, data: UpdateThesisInput) -> ThesisSuccess | Failure:
    async def run() -> ThesisSuccess:
        require_editor(ctx.principal, "change theses")
        thesis_id = str(data.id)
        current = (
            (await ctx.stores.theses.get_many([thesis_id])).get(thesis_id)
            if is_id(thesis_id)
            else None
        )
        if current is None:
            raise domain.NotFoundError("thesis", thesis_id)
        require_owner_or_admin(ctx.principal, current.author_id, "change this thesis")
        ck = Checker()
        statement = current.statement
        if data.statement is not UNSET:
            statement = (
                ck.text("statement", data.statement, min_len=10, max_len=1000, required=True) or ""
            )
        stance = current.stance
        if data.stance is not UNSET:
            if data.stance is None:
                ck.add("stance", "cannot be cleared.")
            else:
                stance = domain.Stance(data.stance)
        status = current.status
        if data.status is not UNSET:
            if data.status is None:
                ck.add("status", "cannot be cleared.")
            else:
                status = domain.ThesisStatus(data.status)
        sources = current.sources if data.sources is UNSET else _sources(ck, data.sources or [])
        related = (
            current.related_concept_ids
            if data.related_concept_ids is UNSET
            else _related(ck, data.related_concept_ids or [])
        )
        tags = current.tags if data.tags is UNSET else ck.tags("tags", data.tags or [])
        ck.done()
        if related != current.related_concept_ids:
            await require_concepts(ctx, {f"r{i}": r for i, r in enumerate(related)})
        changed = domain.Thesis(
            id=current.id,
            concept_id=current.concept_id,
            statement=statement,
            stance=stance,
            arguments=current.arguments,
            sources=sources,
            related_concept_ids=related,
            tags=tags,
            provenance=current.provenance,
            status=status,
            author_id=current.author_id,
            created_at=current.created_at,
            updated_at=domain.utcnow(),
            version=current.version,
        )
        stored = await ctx.stores.theses.update(changed, data.version)
        return ThesisSuccess(thesis=Thesis.from_domain(stored))

    return await attempt(run, CHANGES)


async def delete_thesis(ctx: Context, thesis_id: str) -> DeleteSuccess | DeleteFailure:
    async def run() -> DeleteSuccess:
        await _owned_thesis(ctx, thesis_id, "delete this thesis")
        if not await ctx.stores.theses.delete(thesis_id):
            raise domain.NotFoundError("thesis", thesis_id)
        return DeleteSuccess(id=strawberry.ID(thesis_id))

    return await attempt(run, DELETES)


async def add_argument(ctx: Context, data: AddArgumentInput) -> ThesisSuccess | Failure:
    async def run() -> ThesisSuccess:
        thesis_id = str(data.thesis_id)
        require_editor(ctx.principal, "add arguments")
        ck = Checker()
        argument = _argument(ck, "", data)
        ck.done()
        current = await _owned_thesis(ctx, thesis_id, "add arguments to this thesis")
        if len(current.arguments) >= MAX_ARGUMENTS:
            raise domain.ValidationError(
                [
                    domain.FieldProblem(
                        "thesisId", f"a thesis holds at most {MAX_ARGUMENTS} arguments."
                    )
                ]
            )
        stored = await ctx.stores.theses.add_argument(thesis_id, argument)
        return ThesisSuccess(thesis=Thesis.from_domain(stored))

    return await attempt(run, CHANGES)


async def remove_argument(
    ctx: Context, thesis_id: str, argument_id: str
) -> ThesisSuccess | Failure:
    async def run() -> ThesisSuccess:
        await _owned_thesis(ctx, thesis_id, "remove arguments from this thesis")
        if not is_id(argument_id):
            raise domain.NotFoundError("argument", argument_id)
        stored = await ctx.stores.theses.remove_argument(thesis_id, argument_id)
        return ThesisSuccess(thesis=Thesis.from_domain(stored))

    return await attempt(run, CHANGES)
