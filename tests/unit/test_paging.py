"""Cursors and range checks (``philos.types.paging``), as properties over their whole input."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from philos.datasources.sql.keyset import CONCEPT_KEYS, THESIS_KEY
from philos.domain import ConceptOrder, Keyset
from philos.types.paging import (
    CONCEPT_CURSOR,
    MAX_PAGE,
    THESES,
    THESIS_CURSOR,
    UserInputError,
    check_range,
    concept_cursor,
    decode_cursor,
    thesis_cursor,
)

CURSOR_MESSAGE = "`after` is not a cursor this API issued"
ids = st.uuids(version=4).map(str)
# Names as the API takes them: any text without NUL (PostgreSQL text cannot hold it).
names = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=120)
eras = st.none() | st.integers(-10_000, 10_000)
moments = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2999, 1, 1), timezones=st.just(UTC)
)
rows = st.builds(
    SimpleNamespace, id=ids, name=names, era_from=eras, created_at=moments, updated_at=moments
)


def _decode_concept(order: ConceptOrder, cursor: str | None) -> Keyset | None:
    return decode_cursor(cursor, order.value, CONCEPT_CURSOR[order])


@given(st.sampled_from(ConceptOrder), rows)
def test_a_concept_cursor_decodes_to_its_rows_key(
    order: ConceptOrder, row: SimpleNamespace
) -> None:
    key = _decode_concept(order, concept_cursor(order, row))
    assert key == Keyset(values=tuple(getattr(row, c) for c in CONCEPT_CURSOR[order]), id=row.id)


@given(rows)
def test_a_thesis_cursor_decodes_to_its_rows_key(row: SimpleNamespace) -> None:
    assert decode_cursor(thesis_cursor(row), THESES, THESIS_CURSOR) == Keyset(
        values=(row.created_at,), id=row.id
    )


@given(st.sampled_from(ConceptOrder), rows)
def test_a_cursor_is_url_safe_ascii(order: ConceptOrder, row: SimpleNamespace) -> None:
    cursor = concept_cursor(order, row)
    assert cursor.isascii()
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


@given(st.sampled_from(ConceptOrder), rows, rows)
def test_cursors_of_different_keys_differ(
    order: ConceptOrder, a: SimpleNamespace, b: SimpleNamespace
) -> None:
    same = all(getattr(a, c) == getattr(b, c) for c in ("id", *CONCEPT_CURSOR[order]))
    assert (concept_cursor(order, a) == concept_cursor(order, b)) == same


def test_cursor_columns_are_the_sql_keys() -> None:
    for order, parts in CONCEPT_KEYS.items():
        assert tuple(p.column for p in parts) == (*CONCEPT_CURSOR[order], "id")
    assert tuple(p.column for p in THESIS_KEY) == (*THESIS_CURSOR, "id")


def test_no_cursor_starts_at_the_beginning() -> None:
    assert _decode_concept(ConceptOrder.NAME_ASC, None) is None


def _refusal(order: ConceptOrder, cursor: str) -> str:
    with pytest.raises(UserInputError) as info:
        _decode_concept(order, cursor)
    assert info.value.extensions == {"code": "BAD_USER_INPUT"}
    return info.value.message


@given(st.integers(min_value=0, max_value=10**12))
def test_an_offset_cursor_is_refused_with_its_own_message(offset: int) -> None:
    old = base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()
    message = _refusal(ConceptOrder.NAME_ASC, old)
    assert "offset cursors are no longer accepted; start again without `after`" in message


@given(st.sampled_from(ConceptOrder), st.sampled_from(ConceptOrder), rows)
def test_a_cursor_of_another_order_is_refused(
    issued: ConceptOrder, asked: ConceptOrder, row: SimpleNamespace
) -> None:
    cursor = concept_cursor(issued, row)
    if issued == asked:
        assert _decode_concept(asked, cursor) is not None
        return
    message = _refusal(asked, cursor)
    assert (
        f"this cursor was issued for orderBy {issued.value}, not orderBy {asked.value}" in message
    )


@given(rows)
def test_concept_and_thesis_cursors_are_not_interchangeable(row: SimpleNamespace) -> None:
    message = _refusal(ConceptOrder.CREATED_AT_DESC, thesis_cursor(row))
    assert "issued for `theses`" in message
    with pytest.raises(UserInputError) as info:
        decode_cursor(concept_cursor(ConceptOrder.NAME_ASC, row), THESES, THESIS_CURSOR)
    assert "issued for orderBy NAME_ASC, not `theses`" in info.value.message


@given(st.sampled_from(ConceptOrder), st.text())
def test_text_that_is_not_a_cursor_is_refused(order: ConceptOrder, text: str) -> None:
    """Anything that is not a cursor fails with one of the API's messages, never with another
    exception; whatever decodes is a genuine cursor of the order in another spelling."""
    try:
        key = _decode_concept(order, text)
    except UserInputError as exc:
        assert "`after`" in exc.message
    else:
        assert key is not None and uuid.UUID(key.id)


@given(st.sampled_from(ConceptOrder), st.text(min_size=1))
def test_base64_of_other_text_is_refused(order: ConceptOrder, raw: str) -> None:
    cursor = base64.urlsafe_b64encode(raw.encode()).decode()
    try:
        key = _decode_concept(order, cursor)
    except UserInputError as exc:
        assert "`after`" in exc.message
    else:  # the text happened to be a well-formed cursor of this order
        assert key is not None and raw.startswith(f"1 {order.value} ")


@given(st.binary().filter(lambda b: not _is_utf8(b)))
def test_base64_of_bytes_that_are_not_utf8_is_refused(raw: bytes) -> None:
    message = _refusal(ConceptOrder.NAME_ASC, base64.urlsafe_b64encode(raw).decode())
    assert CURSOR_MESSAGE in message and "endCursor" in message


def test_malformed_keys_are_refused() -> None:
    good = str(uuid.uuid4())
    for raw in (
        f"1 ERA_ASC {good} x Name",  # an era that is no number
        "1 NAME_ASC not-an-id Name",
        f"1 CREATED_AT_ASC {good} 2026-01-01T00:00:00",  # no time zone
        f"2 NAME_ASC {good} Name",  # a version this API does not write
        f"1 ERA_ASC {good}",  # values missing
    ):
        order = ConceptOrder(raw.split(" ")[1])
        message = _refusal(order, base64.urlsafe_b64encode(raw.encode()).decode())
        assert CURSOR_MESSAGE in message, raw


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


bounds = st.tuples(st.integers(-1000, 1000), st.integers(-1000, 1000)).map(sorted)


@given(bounds, st.integers(-2000, 2000))
def test_check_range_passes_exactly_the_values_in_bounds(pair: list[int], value: int) -> None:
    low, high = pair
    if low <= value <= high:
        assert check_range("first", value, low, high) == value
    else:
        with pytest.raises(UserInputError) as info:
            check_range("first", value, low, high)
        assert info.value.message == (f"`first` must be between {low} and {high} (got {value}).")
        assert info.value.extensions == {"code": "BAD_USER_INPUT"}


@given(st.integers(1, MAX_PAGE))
def test_every_page_size_up_to_the_maximum_is_accepted(first: int) -> None:
    assert check_range("first", first, 1, MAX_PAGE) == first
