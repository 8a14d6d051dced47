"""Decoding request JSON (``philos.gateway.bodies``): any input is a value or a 400, never a
crash, and nesting is bounded."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from cross_web import HTTPException
from hypothesis import given
from hypothesis import strategies as st

from philos.gateway.bodies import MAX_DEPTH, check_body, check_request, decode_json, too_deep

scalars = st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.text(max_size=10)
json_values = st.recursive(
    scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


def depth(value: object) -> int:
    """Nesting of lists/objects, recursively: the reference ``too_deep`` is checked against."""
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def nested(levels: int, leaf: object = 1) -> object:
    value: object = leaf
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


@given(json_values)
def test_json_decodes_to_what_was_encoded(value: Any) -> None:
    text = json.dumps(value)
    assert decode_json(text) == value
    assert decode_json(text.encode()) == value
    assert decode_json(b"\xef\xbb\xbf" + text.encode()) == value  # a byte-order mark is ignored


@given(json_values, st.integers(0, 12))
def test_too_deep_agrees_with_a_recursive_count(value: Any, limit: int) -> None:
    assert too_deep(value, limit) == (depth(value) > limit)


@given(st.integers(1, 3 * MAX_DEPTH))
def test_nesting_past_the_limit_is_refused(levels: int) -> None:
    text = json.dumps(nested(levels))
    if levels <= MAX_DEPTH:
        assert decode_json(text) == nested(levels)
    else:
        with pytest.raises(HTTPException) as info:
            decode_json(text)
        assert info.value.status_code == 400
        assert info.value.reason == f"The JSON is nested deeper than {MAX_DEPTH} levels."


def test_nesting_deeper_than_the_decoder_can_go_is_a_400() -> None:
    with pytest.raises(HTTPException) as info:
        decode_json("[" * 100_000 + "]" * 100_000)
    assert info.value.status_code == 400
    assert "nested deeper" in info.value.reason


@given(st.binary())
def test_any_bytes_are_a_value_or_a_400(raw: bytes) -> None:
    try:
        decode_json(raw)
    except HTTPException as exc:
        assert exc.status_code == 400
        assert exc.reason in {
            "The request body is not valid UTF-8.",
            "Unable to parse the request body as JSON.",
            f"The JSON is nested deeper than {MAX_DEPTH} levels.",
        }


@given(st.text())
def test_any_query_string_value_is_a_value_or_a_400(text: str) -> None:
    try:
        decode_json(text)
    except HTTPException as exc:
        assert exc.status_code == 400
        assert "query-string value" in exc.reason or "nested deeper" in exc.reason


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "[NaN]"])
def test_non_json_constants_are_refused(constant: str) -> None:
    with pytest.raises(HTTPException) as info:
        decode_json(constant)
    assert info.value.reason == "Unable to parse the query-string value as JSON."


def test_an_integer_too_long_to_convert_is_a_400() -> None:
    with pytest.raises(HTTPException) as info:
        decode_json("1" * 5000)
    assert info.value.reason == "Unable to parse the query-string value as JSON."


@given(st.binary(min_size=1).filter(lambda b: not _utf8(b)))
def test_bytes_that_are_not_utf8_say_so(raw: bytes) -> None:
    with pytest.raises(HTTPException) as info:
        decode_json(raw)
    assert info.value.reason == "The request body is not valid UTF-8."


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return True


requests = st.fixed_dictionaries(
    {"query": st.text(max_size=10)}, optional={"operationName": st.none() | st.text(max_size=5)}
)
not_a_string = st.integers() | st.booleans() | st.lists(st.integers(), max_size=2) | st.floats()


@given(requests, st.booleans())
def test_a_request_object_passes(request: dict[str, Any], batching: bool) -> None:
    check_request(request)
    check_body(request, batching)
    check_body([request, request], True)


@given(requests, not_a_string)
def test_an_operation_name_that_is_not_a_string_is_refused(
    request: dict[str, Any], name: object
) -> None:
    bad = {**request, "operationName": name}
    calls: tuple[Callable[[], None], ...] = (
        lambda: check_request(bad),
        lambda: check_body(bad, False),
        lambda: check_body([bad], True),
    )
    for call in calls:
        with pytest.raises(HTTPException) as info:
            call()
        assert "`operationName` must be a string or null" in info.value.reason


@given(scalars, st.booleans())
def test_a_body_that_is_not_an_object_is_refused(body: object, batching: bool) -> None:
    with pytest.raises(HTTPException) as info:
        check_body(body, batching)
    assert info.value.reason.startswith("The request body must be a JSON object")


@given(st.lists(requests | scalars, min_size=1, max_size=4))
def test_a_batch_holds_only_objects(batch: list[object]) -> None:
    if all(isinstance(item, dict) for item in batch):
        check_body(batch, True)
    else:
        with pytest.raises(HTTPException) as info:
            check_body(batch, True)
        assert info.value.reason == "Each operation of a batch must be a JSON object."
    check_body(batch, False)  # left to Strawberry's own "batching is not enabled"
