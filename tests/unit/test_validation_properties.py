"""``philos.validation`` as properties: each check against a plain reference of its rule
(the examples live in test_validation.py)."""

from __future__ import annotations

import string
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from philos.domain import ValidationError
from philos.validation import MAX_TAGS, MIN_YEAR, WIKIDATA_RE, Checker, is_id, max_year

slug_chars = string.ascii_lowercase + string.digits


def is_slug(text: str) -> bool:
    """The slug rule spelled out: lowercase letters and digits, single hyphens between."""
    parts = text.split("-")
    return all(p and set(p) <= set(slug_chars) for p in parts)


@given(st.text(slug_chars + "-_A é", max_size=90))
def test_slug_agrees_with_the_rule(value: str) -> None:
    ck = Checker()
    assert ck.slug("slug", value) == value.strip()
    cleaned = value.strip()
    assert (not ck.problems) == (2 <= len(cleaned) <= 80 and is_slug(cleaned))


@given(st.none() | st.text(max_size=30), st.integers(0, 10), st.integers(0, 30), st.booleans())
def test_text_bounds(value: str | None, min_len: int, max_len: int, required: bool) -> None:
    ck = Checker()
    cleaned = ck.text("f", value, min_len=min_len, max_len=max_len, required=required)
    if value is None:
        assert cleaned is None
        assert bool(ck.problems) == required
        return
    assert cleaned == value.strip()
    ok = min_len <= len(cleaned) <= max_len and not (required and not cleaned)
    assert (not ck.problems) == ok
    assert len(ck.problems) <= 1  # one problem per field


@given(st.none() | st.integers(-(10**6), 10**6))
def test_year_bounds(value: int | None) -> None:
    ck = Checker()
    assert ck.year("year", value) == value
    assert (not ck.problems) == (value is None or MIN_YEAR <= value <= max_year())


@given(st.floats(allow_nan=False))
def test_unit_bounds(value: float) -> None:
    ck = Checker()
    ck.unit("weight", value)
    assert (not ck.problems) == (0.0 <= value <= 1.0)


@given(st.lists(st.text(slug_chars + "-A ", max_size=8), max_size=MAX_TAGS + 4))
def test_tags_are_normalised_deduplicated_and_idempotent(values: list[str]) -> None:
    ck = Checker()
    tags = ck.tags("tags", values)
    assert tags == tuple(dict.fromkeys(v.strip().lower() for v in values))
    assert len(set(tags)) == len(tags)
    again = Checker()
    assert again.tags("tags", tags) == tags
    if len(values) > MAX_TAGS:
        assert any(p.field == "tags" for p in ck.problems)
    bad = {p.field for p in ck.problems if p.field.startswith("tags[")}
    expected_bad = {
        f"tags[{i}]"
        for i, v in enumerate(values)
        if not (1 <= len(v.strip()) <= 40 and is_slug(v.strip().lower()))
    }
    assert bad == expected_bad


@given(st.uuids())
def test_lowercase_uuids_are_ids(value: uuid.UUID) -> None:
    assert is_id(str(value))
    ck = Checker()
    ck.id("id", str(value))
    ck.done()


@given(st.text(max_size=40).filter(lambda s: not _is_lower_uuid(s)))
def test_anything_else_is_not_an_id(value: str) -> None:
    assert not is_id(value)
    ck = Checker()
    ck.id("id", value)
    with pytest.raises(ValidationError) as info:
        ck.done()
    assert info.value.problems[0].message.startswith(f"'{value[:60]}' is not a valid id")


def _is_lower_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


@given(st.text(max_size=50))
def test_url_accepts_only_absolute_http_urls(value: str) -> None:
    ck = Checker()
    ck.url("url", value)
    cleaned = value.strip()
    if not ck.problems:
        assert cleaned.lower().startswith(("http://", "https://"))


@given(st.sampled_from(["http", "https"]), st.text(string.ascii_lowercase, min_size=1, max_size=20))
def test_http_urls_pass(scheme: str, host: str) -> None:
    ck = Checker()
    ck.url("url", f"  {scheme}://{host}.example/path  ")
    ck.done()


@given(st.uuids())
def test_an_id_with_a_trailing_newline_is_not_an_id(value: uuid.UUID) -> None:
    assert not is_id(f"{value}\n")
    ck = Checker()
    ck.id("id", f"{value}\n")
    assert ck.problems


@given(st.integers(1, 10**11))
def test_a_wikidata_id_with_a_trailing_newline_is_refused(number: int) -> None:
    assert WIKIDATA_RE.match(f"Q{number}")
    assert not WIKIDATA_RE.match(f"Q{number}\n")
