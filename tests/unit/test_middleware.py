"""Pure pieces of the ASGI middleware (``philos.gateway.middleware``): request ids and the
page CSP."""

from __future__ import annotations

import base64
import hashlib
import re
import string

from hypothesis import given
from hypothesis import strategies as st

from philos.gateway.middleware import _identity, page_csp, request_id_for

SANE = string.ascii_letters + string.digits + "._:-"


@given(st.text(SANE, min_size=1, max_size=128))
def test_a_sane_request_id_is_kept(value: str) -> None:
    assert request_id_for(value.encode("latin-1")) == value


# A trailing newline is the expected failure below.
@given(st.binary(max_size=200).filter(lambda b: not b.endswith(b"\n")))
def test_anything_else_gets_a_fresh_id(raw: bytes) -> None:
    text = raw.decode("latin-1")
    found = request_id_for(raw)
    if re.fullmatch(f"[{re.escape(SANE)}]{{1,128}}", text):
        assert found == text
    else:
        assert re.fullmatch("[0-9a-f]{32}", found)


def test_a_request_id_with_a_trailing_newline_is_replaced() -> None:
    assert request_id_for(b"abc\n") != "abc\n"


@given(st.lists(st.sampled_from([b"identity", b" IDENTITY ", b"", b"gzip", b"br"]), min_size=1))
def test_identity_means_no_coding_but_identity(codings: list[bytes]) -> None:
    value = b",".join(codings)
    assert _identity(value) == all(c.strip().lower() in (b"identity", b"") for c in codings)


scripts = st.lists(st.text("abc();= ", max_size=20), max_size=3)


@given(scripts, st.lists(st.sampled_from(["https://cdn.example", "https://x.test"]), max_size=2))
def test_each_inline_script_is_allowed_by_its_hash(bodies: list[str], sources: list[str]) -> None:
    html = "".join(f"<p>x</p><script>{b}</script>" for b in bodies).encode()
    csp = page_csp(html, *sources)
    script_src = next(d for d in csp.split("; ") if d.startswith("script-src "))
    for body in bodies:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src
    assert script_src.count("'sha256-") == len(bodies)
    assert all(s in script_src for s in sources)
    assert "'unsafe-inline'" not in script_src
    assert "frame-ancestors 'none'" in csp
