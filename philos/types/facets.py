"""Facets: how many concepts have each tradition, tag and period, for a filter."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from strawberry.types import Info

from philos import domain
from philos.types.context import Context
from philos.types.hints import store_cost
from philos.types.paging import check_range

MIN_BUCKET_YEARS, MAX_BUCKET_YEARS = 10, 1000


@strawberry.type(description="A value concepts share (a tradition, a tag) and how many have it.")
class Facet:
    name: str
    concept_count: int

    @classmethod
    def of(cls, facets: Sequence[domain.Facet]) -> list[Facet]:
        return [cls(name=f.name, concept_count=f.count) for f in facets]


@strawberry.type(description="A span of years and how many concepts' periods overlap it.")
class EraBucket:
    start_year: int = strawberry.field(description="First year of the span (negative: BCE).")
    end_year: int = strawberry.field(description="Last year of the span.")
    concept_count: int


def era_histogram(spans: Sequence[domain.EraSpan], bucket_years: int) -> list[EraBucket]:
    """Buckets of ``bucket_years`` from the earliest period to the latest, each counting the
    concepts whose period overlaps it (a period with no end is its first year)."""
    counts: dict[int, int] = {}
    for span in spans:
        last = span.era_from if span.era_to is None else max(span.era_from, span.era_to)
        first_bucket, last_bucket = span.era_from // bucket_years, last // bucket_years
        for bucket in range(first_bucket, last_bucket + 1):
            counts[bucket] = counts.get(bucket, 0) + 1
    if not counts:
        return []
    return [
        EraBucket(
            start_year=b * bucket_years,
            end_year=(b + 1) * bucket_years - 1,
            concept_count=counts.get(b, 0),
        )
        for b in range(min(counts), max(counts) + 1)
    ]


def check_bucket(bucket_years: int) -> int:
    return check_range("bucketYears", bucket_years, MIN_BUCKET_YEARS, MAX_BUCKET_YEARS)


async def traditions_of(ctx: Context, flt: domain.ConceptFilter) -> list[Facet]:
    return Facet.of((await ctx.loaders.facets.load(flt)).traditions)


async def tags_of(ctx: Context, flt: domain.ConceptFilter) -> list[Facet]:
    return Facet.of((await ctx.loaders.facets.load(flt)).tags)


async def eras_of(ctx: Context, flt: domain.ConceptFilter, bucket_years: int) -> list[EraBucket]:
    check_bucket(bucket_years)
    return era_histogram((await ctx.loaders.facets.load(flt)).eras, bucket_years)


@strawberry.type(description="What the concepts matching a filter have in common.")
class ConceptFacets:
    filter: strawberry.Private[domain.ConceptFilter]

    @strawberry.field(
        description="Traditions, most common first (at most 500).",
        metadata=store_cost(calls=1, items=50),
    )
    async def traditions(self, info: Info[Context, None]) -> list[Facet]:
        return await traditions_of(info.context, self.filter)

    @strawberry.field(
        description="Tags, most common first (at most 500).",
        metadata=store_cost(calls=1, items=50),
    )
    async def tags(self, info: Info[Context, None]) -> list[Facet]:
        return await tags_of(info.context, self.filter)

    @strawberry.field(
        description="A histogram of periods in spans of `bucketYears` (10–1000) years.",
        metadata=store_cost(calls=1, items=50),
    )
    async def eras(self, info: Info[Context, None], bucket_years: int = 100) -> list[EraBucket]:
        return await eras_of(info.context, self.filter, bucket_years)
