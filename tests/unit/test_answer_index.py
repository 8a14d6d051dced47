"""The raw-request index of cached answers and the verified-token cache: both bounded, both
keep only what the normal path would answer the same way."""

from __future__ import annotations

import time

import jwt
import pytest
from starlette.responses import Response

from philos.domain import AuthError, Role
from philos.gateway.answers import AnswerIndex, framed, raw_digest
from philos.gateway.response_cache import CachedAnswer, encode_entry, fresh_data
from philos.tokens import Tokens, VerifiedTokens

SECRET = "unit-secret-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789"


def _token(**overrides: object) -> str:
    now = int(time.time())
    claims = {
        "iss": "philos",
        "aud": "philos-api",
        "sub": "u1",
        "iat": now,
        "exp": now + 60,
        "role": "EDITOR",
    }
    claims.update(overrides)
    return jwt.encode(claims, SECRET, algorithm="HS256")


def _answered(data: bytes) -> Response:
    return Response(b'{"data":' + data + b"}", media_type="application/json")


def _start(status: int = 200, *extra: tuple[bytes, bytes]) -> dict[str, object]:
    """An ``http.response.start`` as the outer middleware sends it."""
    headers = [
        (b"content-length", b"40"),
        (b"content-type", b"application/json"),
        (b"x-request-id", b"first-id"),
        (b"x-content-type-options", b"nosniff"),
        *extra,
    ]
    return {"type": "http.response.start", "status": status, "headers": headers}


def test_only_exact_framings_are_noted() -> None:
    data = b'{"concept":{"name":"Ataraxia"}}'
    note = CachedAnswer("rc2:1", data, "One")
    assert framed(note, _answered(data)) is note
    assert framed(None, _answered(data)) is None
    assert framed(note, Response(b'[{"data":' + data + b"}]")) is None
    assert framed(note, Response(b'{"data":' + data + b',"errors":[]}')) is None
    assert framed(note, Response(b'{"data":' + data + b"}", status_code=400)) is None
    assert framed(note, Response(b'{"data":' + data[:-1] + b"]}")) is None


def test_index_keeps_what_was_sent_and_is_bounded() -> None:
    index = AnswerIndex(max_entries=2)
    note = CachedAnswer("rc2:1", b"{}", "One")
    index.record((b"a", "READER"), note, _start(429))
    index.record((b"a", "READER"), note, _start(200, (b"connection", b"close")))
    index.record((b"a", "READER"), note, _start(200, (b"content-length", b"40")))
    index.record((b"a", "READER"), note, _start(200, (b"x-request-id", b"other")))
    index.record((b"a", "READER"), None, _start())
    assert len(index) == 0
    index.record((b"a", "READER"), note, _start())
    index.record((b"b", "READER"), note, _start())
    assert index.get((b"a", "READER")) is not None  # now the most recently used
    index.record((b"c", "READER"), note, _start())
    assert len(index) == 2
    assert index.get((b"b", "READER")) is None
    found = index.get((b"a", "READER"))
    assert found is not None and found.cache_key == "rc2:1"
    assert found.response_headers(12, "rid") == [
        (b"content-length", b"12"),
        (b"content-type", b"application/json"),
        (b"x-content-type-options", b"nosniff"),
        (b"x-request-id", b"rid"),
    ]


def test_raw_digest_separates_every_part() -> None:
    parts = (b"POST", b"application/json", b"*/*", b"https://a.example", b"", b"{}")
    base = raw_digest(*parts)
    assert base == raw_digest(*parts)
    for i in range(len(parts) - 1):  # each part moved into its neighbour's place
        moved = list(parts)
        moved[i], moved[i + 1] = parts[i + 1], parts[i]
        assert raw_digest(*moved) != base
    for i in range(len(parts)):
        changed = list(parts)
        changed[i] = parts[i] + b"x"
        assert raw_digest(*changed) != base


def test_entries_answer_only_at_their_stamp() -> None:
    entry = encode_entry(b"1,0,2,0", b'{"a":1}')
    assert fresh_data(entry, b"1,0,2,0") == b'{"a":1}'
    assert fresh_data(entry, b"1,0,3,0") is None
    assert fresh_data(None, b"1,0,2,0") is None
    assert fresh_data(b'{"v":{},"d":{}}', b"1,0,2,0") is None  # not this format


def test_verified_tokens_are_kept_until_exp_only() -> None:
    verified = VerifiedTokens(Tokens(SECRET.encode()), max_entries=2)
    token = _token()
    assert verified.principal(token).role is Role.EDITOR
    assert verified.principal(token).user_id == "u1"
    assert len(verified._verified) == 1
    # Past exp but inside the 5 s leeway: accepted, as before, but never kept.
    late = _token(exp=int(time.time()) - 1)
    assert verified.principal(late).user_id == "u1"
    assert late not in verified._verified
    for bad in (_token(exp=int(time.time()) - 60), _token() + "x", _token(aud="other")):
        with pytest.raises(AuthError):
            verified.principal(bad)
        assert bad not in verified._verified
    for n in range(3):
        verified.principal(_token(sub=f"u{n + 2}"))
    assert len(verified._verified) == 2
