"""Password rules for new accounts (``philos.passwords``): length, the account's own words,
whitespace, and a strength estimate capped by a brute force over the characters used."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from philos.passwords import (
    DEFAULT_MIN_SCORE,
    ESTIMATED_CHARS,
    MAX_PASSWORD,
    MIN_PASSWORD,
    _score_of,
    password_problem,
)

STRONG = "violet quantum harbour marmalade"
printable = st.characters(codec="utf-8", categories=["L", "N", "P", "S"])
# zxcvbn's cost grows with length; the estimate only ever sees ESTIMATED_CHARS characters.
passwords = st.text(printable, min_size=MIN_PASSWORD, max_size=ESTIMATED_CHARS)


def test_a_strong_passphrase_passes() -> None:
    assert password_problem(STRONG) is None
    assert password_problem(STRONG, email="someone@example.org", name="Some One") is None


@given(st.text(max_size=MIN_PASSWORD - 1) | st.text(min_size=MAX_PASSWORD + 1, max_size=400))
def test_a_password_of_the_wrong_length_is_refused_with_its_length(password: str) -> None:
    assert password_problem(password) == (
        f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters (got {len(password)})."
    )


@given(st.text(" \t\n\r\u00a0\u2003", min_size=MIN_PASSWORD, max_size=MAX_PASSWORD))
def test_whitespace_alone_is_refused(password: str) -> None:
    assert password_problem(password) == (
        "must not be only spaces or other whitespace; use a few uncommon words."
    )


@given(
    st.text("abcdefghijklmnop", min_size=3, max_size=12),
    st.text(printable, max_size=8),
    st.text(printable, max_size=8),
)
def test_a_password_holding_the_email_local_part_is_refused(
    local: str, before: str, after: str
) -> None:
    password = (before + local.upper() + after + STRONG)[:MAX_PASSWORD]
    email = f"{local}@example.org"
    assert password_problem(password, email=email) == "must not contain the email address."


@given(st.emails())
def test_the_email_itself_is_refused(email: str) -> None:
    if MIN_PASSWORD <= len(email) <= MAX_PASSWORD:
        assert password_problem(email, email=email) == "must not contain the email address."


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 2).flatmap(
        lambda n: st.text(st.sampled_from("xq"[:n]), min_size=MIN_PASSWORD, max_size=26)
    )
)
def test_a_tiny_alphabet_is_refused(password: str) -> None:
    """Fewer guesses than score 3 by brute force over the characters used: refused, whatever
    the estimator makes of it."""
    distinct = len(set(password))
    assert len(password) * math.log10(max(distinct, 1)) < 8
    assert password_problem(password) is not None


@settings(max_examples=40, deadline=None)
@given(passwords, st.integers(0, 4), st.integers(0, 4))
def test_a_lower_bar_never_refuses_what_a_higher_one_lets_through(
    password: str, low: int, high: int
) -> None:
    low, high = sorted((low, high))
    if password_problem(password, min_score=high) is None:
        assert password_problem(password, min_score=low) is None


@settings(max_examples=40, deadline=None)
@given(passwords, st.text(" \t", max_size=6), st.text(" \t", max_size=6))
def test_padding_with_whitespace_changes_nothing(password: str, left: str, right: str) -> None:
    padded = left + password.replace(" ", "  ") + right
    assert password_problem(padded) == password_problem(password)


@settings(max_examples=40, deadline=None)
@given(passwords)
def test_every_verdict_is_a_sentence(password: str) -> None:
    problem = password_problem(password)
    assert problem is None or (problem.endswith(".") and problem[0].islower())


@given(st.floats(0, 20), st.floats(0, 20))
def test_score_of_is_monotonic_and_bounded(a: float, b: float) -> None:
    a, b = sorted((a, b))
    assert 0 <= _score_of(a) <= _score_of(b) <= 4


def test_score_of_matches_zxcvbns_bounds() -> None:
    assert [_score_of(x) for x in (0, 2.99, 3, 5.99, 6, 7.99, 8, 9.99, 10, 15)] == [
        0, 0, 1, 1, 2, 2, 3, 3, 4, 4,
    ]  # fmt: skip
    assert DEFAULT_MIN_SCORE == 3
