"""Facets (``philos.types.facets`` and ``philos.datasources.sql.facets``): era histograms and
most-common values, against plain reference counts."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from philos import domain
from philos.datasources.sql.facets import most_common
from philos.types.facets import MAX_BUCKET_YEARS, MIN_BUCKET_YEARS, check_bucket, era_histogram
from philos.types.paging import UserInputError

spans = st.lists(
    st.builds(domain.EraSpan, st.integers(-3000, 2100), st.none() | st.integers(-3000, 2100)),
    max_size=8,
)


@given(spans, st.integers(MIN_BUCKET_YEARS, MAX_BUCKET_YEARS))
def test_each_bucket_counts_the_periods_overlapping_it(
    given_spans: list[domain.EraSpan], width: int
) -> None:
    buckets = era_histogram(given_spans, width)
    if not given_spans:
        assert buckets == []
        return
    # Contiguous, each `width` years, from the earliest period's bucket to the latest.
    for a, b in itertools.pairwise(buckets):
        assert b.start_year == a.end_year + 1
    for bucket in buckets:
        assert bucket.end_year - bucket.start_year + 1 == width
        assert bucket.start_year % width == 0
        expected = 0
        for s in given_spans:
            last = s.era_from if s.era_to is None else max(s.era_from, s.era_to)
            if s.era_from <= bucket.end_year and last >= bucket.start_year:
                expected += 1
        assert bucket.concept_count == expected
    earliest = min(s.era_from for s in given_spans)
    assert buckets[0].start_year <= earliest <= buckets[0].end_year
    assert buckets[0].concept_count > 0 and buckets[-1].concept_count > 0


@given(st.integers(-100, 3000))
def test_bucket_widths_are_bounded(width: int) -> None:
    if MIN_BUCKET_YEARS <= width <= MAX_BUCKET_YEARS:
        assert check_bucket(width) == width
    else:
        with pytest.raises(UserInputError):
            check_bucket(width)


@given(
    st.dictionaries(st.text("aAbB", min_size=1, max_size=3), st.integers(1, 5)), st.integers(0, 10)
)
def test_most_common_ranks_by_count_then_name(counts: dict[str, int], limit: int) -> None:
    found = most_common(Counter(counts), limit)
    assert len(found) == min(limit, len(counts))
    assert all(counts[f.name] == f.count for f in found)
    keys = [(-f.count, f.name.lower(), f.name) for f in found]
    assert keys == sorted(keys)
    # Nothing left out outranks what was kept.
    kept = {f.name for f in found}
    if found:
        worst = keys[-1]
        assert all(
            (-n, name.lower(), name) > worst for name, n in counts.items() if name not in kept
        )
