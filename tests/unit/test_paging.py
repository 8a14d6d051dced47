"""Cursors and range checks (``philos.types.paging``), as properties over their whole input."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from philos.types.paging import MAX_PAGE, UserInputError, check_range, decode_cursor, encode_cursor

CURSOR_MESSAGE = "`after` is not a cursor this API issued"
offsets = st.integers(min_value=0, max_value=10**12)


@given(offsets)
def test_a_cursor_decodes_to_the_offset_just_after_it(offset: int) -> None:
    assert decode_cursor(encode_cursor(offset)) == offset + 1


@given(offsets)
def test_a_cursor_is_url_safe_ascii(offset: int) -> None:
    cursor = encode_cursor(offset)
    assert cursor.isascii()
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


@given(offsets, offsets)
def test_cursors_of_different_offsets_differ(a: int, b: int) -> None:
    assert (encode_cursor(a) == encode_cursor(b)) == (a == b)


def test_no_cursor_starts_at_the_beginning() -> None:
    assert decode_cursor(None) == 0


def _assert_rejected(cursor: str) -> None:
    with pytest.raises(UserInputError) as info:
        decode_cursor(cursor)
    assert CURSOR_MESSAGE in info.value.message
    assert "endCursor" in info.value.message
    assert info.value.extensions == {"code": "BAD_USER_INPUT"}


@given(st.integers(max_value=-1))
def test_a_negative_offset_is_refused(offset: int) -> None:
    _assert_rejected(encode_cursor(offset))


@given(st.text())
def test_text_that_is_not_a_cursor_is_refused(text: str) -> None:
    """Anything but base64 of ``offset:<n>`` with n >= 0 fails with the API's message, and
    never with another exception."""
    try:
        offset = decode_cursor(text)
    except UserInputError as exc:
        assert CURSOR_MESSAGE in exc.message
    else:
        # Whatever decodes is a genuine cursor in another spelling (base64 allows some slack).
        assert offset >= 1
        assert base64.urlsafe_b64decode(text.encode()).decode().startswith("offset:")


@given(st.text(min_size=1).filter(lambda s: not s.startswith("offset:")))
def test_base64_of_another_prefix_is_refused(raw: str) -> None:
    _assert_rejected(base64.urlsafe_b64encode(raw.encode()).decode())


@given(st.text(alphabet="0123456789").map(lambda s: "x" + s))
def test_a_non_numeric_offset_is_refused(tail: str) -> None:
    _assert_rejected(base64.urlsafe_b64encode(f"offset:{tail}".encode()).decode())


@given(st.binary().filter(lambda b: not _is_utf8(b)))
def test_base64_of_bytes_that_are_not_utf8_is_refused(raw: bytes) -> None:
    _assert_rejected(base64.urlsafe_b64encode(raw).decode())


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
