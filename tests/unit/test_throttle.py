"""Sign-in back-off (``philos.resolvers.throttle``): free attempts, then doubling waits capped
by the lock-out, and the lock-out once the allowance is spent."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from philos.resolvers.throttle import _email_key, _number, delay_after

allowances = st.integers(1, 50)
seconds = st.floats(0.0, 3600.0)


@given(st.integers(0, 100), allowances, seconds, seconds)
def test_delay_is_never_past_the_lockout(
    failures: int, allowance: int, b: float, lock: float
) -> None:
    delay = delay_after(failures, allowance, b, lock)
    assert delay >= 0.0
    assert delay <= lock


@given(st.integers(0, 100), allowances, seconds, seconds)
def test_delay_never_falls_with_more_failures(
    failures: int, allowance: int, backoff: float, lockout: float
) -> None:
    before = delay_after(failures, allowance, backoff, lockout)
    assert before <= delay_after(failures + 1, allowance, backoff, lockout)


@given(allowances, seconds, seconds)
def test_the_first_half_of_the_allowance_is_free(
    allowance: int, backoff: float, lockout: float
) -> None:
    for failures in range(min(allowance, allowance // 2 + 1)):
        assert delay_after(failures, allowance, backoff, lockout) == 0.0


@given(st.integers(0, 200), allowances, seconds, seconds)
def test_spending_the_allowance_locks_out(
    extra: int, allowance: int, backoff: float, lockout: float
) -> None:
    assert delay_after(allowance + extra, allowance, backoff, lockout) == lockout


@given(st.integers(10, 40), st.floats(0.5, 10.0))
def test_waits_double_past_the_free_attempts(allowance: int, backoff: float) -> None:
    lockout = 10**9
    first = allowance // 2 + 1
    waits = [delay_after(n, allowance, backoff, lockout) for n in range(first, allowance)]
    assert waits[0] == backoff
    assert all(b == 2 * a for a, b in itertools.pairwise(waits))


@given(st.emails(), st.text(" \t", max_size=3))
def test_the_email_key_ignores_case_and_spacing(email: str, pad: str) -> None:
    key = _email_key(email)
    assert key == _email_key(pad + email.upper() + pad)
    assert len(key) == 32 and email.lower() not in key


@given(st.emails(), st.emails())
def test_different_emails_have_different_keys(a: str, b: str) -> None:
    assert (_email_key(a) == _email_key(b)) == (a.lower() == b.lower())


@given(st.none() | st.binary(max_size=12))
def test_a_stored_number_reads_as_a_float_or_zero(raw: bytes | None) -> None:
    value = _number(raw)
    try:
        expected = float(raw) if raw else 0.0
    except ValueError:
        expected = 0.0
    assert value == expected or (value != value and expected != expected)  # NaN
