"""The SQL stores' shared helpers (``philos.datasources.sql.common``): tag columns and LIKE
patterns, against a reference LIKE matcher."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from philos.datasources.sql.common import aware, join_tags, like_pattern, split_tags, tag_pattern

tags = st.text(st.characters(codec="utf-8", exclude_characters="|"), min_size=1, max_size=8)


def like(pattern: str, text: str) -> bool:
    """SQL ``text LIKE pattern ESCAPE '\\'``: % any run, _ one character, \\ escapes."""
    out, chars = [], iter(pattern)
    for c in chars:
        if c == "\\":
            out.append(re.escape(next(chars)))
        elif c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        else:
            out.append(re.escape(c))
    return re.fullmatch("".join(out), text, re.DOTALL) is not None


@given(st.lists(tags, max_size=6))
def test_tags_survive_the_column(values: list[str]) -> None:
    assert split_tags(join_tags(values)) == tuple(values)
    assert join_tags(tuple(values)) == join_tags(values)


plain_tags = tags.filter(lambda t: not any(c in t for c in "%_\\"))


@given(st.lists(tags, max_size=6), plain_tags)
def test_a_tag_pattern_matches_exactly_the_rows_holding_the_tag(
    values: list[str], tag: str
) -> None:
    assert like(tag_pattern(tag), join_tags(values)) == (tag in values)


alphabet = st.sampled_from("aB%_\\x é")


@given(st.text(alphabet, max_size=6), st.text(alphabet, max_size=12))
def test_like_pattern_is_a_case_insensitive_substring_match(needle: str, haystack: str) -> None:
    assert like(like_pattern(needle), haystack.lower()) == (needle.lower() in haystack.lower())


@given(st.datetimes())
def test_aware_reads_naive_times_as_utc(value: datetime) -> None:
    assert aware(value) == value.replace(tzinfo=UTC)
    assert aware(aware(value)) == aware(value)


@given(st.datetimes(timezones=st.timezones()))
def test_aware_keeps_aware_times(value: datetime) -> None:
    assert aware(value) is value
