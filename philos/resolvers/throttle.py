"""Sign-in throttling: back-off, then a lock-out, per account and per client.

Failures are counted per account (the email, whether or not an account has it, so the throttle
says nothing about which emails exist) and per client IP, in fixed windows of
``PHILOS_LOGIN_WINDOW`` seconds. Of an allowance of N failures the first half is free; each
failure after that blocks the next attempt for ``PHILOS_LOGIN_BACKOFF`` seconds, doubling each
time; the N-th locks out for ``PHILOS_LOGIN_LOCKOUT`` seconds, after which counting starts
over. While blocked, every attempt — the right password too — gets ``AuthRateLimitedError``
without its password being checked (argon2 is slow on purpose; a blocked client cannot spend
our CPU either).

* An account's block applies from every client (a distributed guesser gets no more tries);
  a client's block applies to every account (spraying one password over many accounts).
* An attempt counts against the client *before* its password is checked, and a success is
  subtracted afterwards (both counters share the window), so a burst of concurrent guesses
  cannot all pass the check before the first failure is recorded. The account's counter is
  simply cleared when its owner signs in.
* ``register`` is throttled per client by ``PHILOS_REGISTER_LIMIT`` attempts per window, and
  one that finds the email taken counts as a failed sign-in for the client: both tell an
  attacker whether an account exists, so they share one budget. A blocked client cannot
  register either, and a failed ``refreshToken`` also counts against the client.

Counters and blocks live in the cache port, so with ``REDIS_URL`` every replica shares them.
A block is stored as the wall-clock time it ends (replicas' clocks agree to well under a
second). If the cache fails, it fails open, like the request rate limits.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from philos.config import Settings
from philos.datasources.ports import Cache
from philos.domain import AuthRateLimitedError


def _email_key(email: str) -> str:
    # Hashed: the cache (perhaps a shared Redis) need not hold the emails people try.
    normalised = email.strip().lower().encode("utf-8", "surrogatepass")
    return hashlib.sha256(normalised).hexdigest()[:32]


def delay_after(failures: int, allowance: int, backoff: float, lockout: float) -> float:
    """Seconds to block after the ``failures``-th failure of an ``allowance`` (0: none)."""
    if failures >= allowance:
        return lockout
    past_free = failures - allowance // 2
    if past_free <= 0 or backoff <= 0:
        return 0.0
    return float(min(backoff * 2 ** (past_free - 1), lockout))


@dataclass
class _Counter:
    """One throttled dimension (an account or a client) within one window."""

    block: str  # key: when the current block ends
    failed: str  # key: attempts (or failures) in the window
    succeeded: str | None  # key: successes to subtract, for clients
    allowance: int

    @property
    def keys(self) -> list[str]:
        return [self.block, *([self.succeeded] if self.succeeded else [])]


@dataclass
class SignInAttempt:
    """A login under way: ``failed()`` or ``succeeded()`` once its password is checked."""

    throttle: SignInThrottle
    account: _Counter
    client: _Counter
    account_failures: int
    client_failures: int

    async def failed(self) -> None:
        await self.throttle._after_failure(self.account, self.account_failures)
        await self.throttle._after_failure(self.client, self.client_failures)

    async def succeeded(self) -> None:
        cache, window = self.throttle.cache, self.throttle.settings.login_window
        if self.account.allowance:
            await cache.delete([self.account.failed])
        if self.client.allowance and self.client.succeeded:
            await cache.incr(self.client.succeeded, ttl=window)


@dataclass
class SignInThrottle:
    cache: Cache
    settings: Settings

    def _slot(self, window: float, now: float) -> int:
        return int(now // window)

    def _account(self, email: str, now: float) -> _Counter:
        key, slot = _email_key(email), self._slot(self.settings.login_window, now)
        return _Counter(
            block=f"signin:block:account:{key}",
            failed=f"signin:failed:account:{key}:{slot}",
            succeeded=None,
            allowance=self.settings.login_account_failures,
        )

    def _client(self, ip: str, now: float) -> _Counter:
        slot = self._slot(self.settings.login_window, now)
        return _Counter(
            block=f"signin:block:client:{ip}",
            failed=f"signin:attempts:client:{ip}:{slot}",
            succeeded=f"signin:succeeded:client:{ip}:{slot}",
            allowance=self.settings.login_client_failures,
        )

    async def begin_login(self, email: str, ip: str) -> SignInAttempt:
        """Refuse (``AuthRateLimitedError``) if the account or the client is blocked; else
        count the attempt and hand it back to be settled."""
        now = time.time()
        account, client = self._account(email, now), self._client(ip, now)
        found = await self.cache.get_many([*account.keys, *client.keys])
        self._refuse_if_blocked(found, [account, client], now)
        account_failures = client_failures = 0
        if account.allowance:
            account_failures = await self.cache.incr(account.failed, ttl=self.settings.login_window)
        if client.allowance:
            attempts = await self.cache.incr(client.failed, ttl=self.settings.login_window)
            client_failures = attempts - int(_number(found.get(client.succeeded or "")))
        over = [
            (counter, n)
            for counter, n in ((account, account_failures), (client, client_failures))
            if counter.allowance and n > counter.allowance
        ]
        if over:
            # More attempts at once than the allowance leaves: refused unchecked, and locked.
            for counter, n in over:
                await self._after_failure(counter, n)
            raise AuthRateLimitedError(math.ceil(self.settings.login_lockout))
        return SignInAttempt(self, account, client, account_failures, client_failures)

    async def check_client(self, ip: str) -> None:
        """Refuse if the client is blocked (for ``register`` and ``refreshToken``)."""
        now = time.time()
        client = self._client(ip, now)
        if client.allowance:
            self._refuse_if_blocked(await self.cache.get_many([client.block]), [client], now)

    async def client_failed(self, ip: str) -> None:
        """A failure that is not a login's: a taken email at ``register``, a bad refresh
        token. Counted and settled at once."""
        client = self._client(ip, time.time())
        if not client.allowance:
            return
        found = await self.cache.get_many(client.keys)
        attempts = await self.cache.incr(client.failed, ttl=self.settings.login_window)
        succeeded = int(_number(found.get(client.succeeded or "")))
        await self._after_failure(client, attempts - succeeded)

    async def count_registration(self, ip: str) -> None:
        """Count a registration from ``ip``; refuse it past ``PHILOS_REGISTER_LIMIT``."""
        limit, window = self.settings.register_limit, self.settings.register_window
        if not limit:
            return
        now = time.time()
        slot = self._slot(window, now)
        if await self.cache.incr(f"signin:register:client:{ip}:{slot}", ttl=window) > limit:
            raise AuthRateLimitedError(max(1, math.ceil((slot + 1) * window - now)))

    def _refuse_if_blocked(
        self, found: dict[str, bytes], counters: list[_Counter], now: float
    ) -> None:
        until = max((_number(found.get(c.block)) for c in counters if c.allowance), default=0.0)
        if until > now:
            raise AuthRateLimitedError(max(1, math.ceil(until - now)))

    async def _after_failure(self, counter: _Counter, failures: int) -> None:
        if not counter.allowance or failures <= 0:
            return
        delay = delay_after(
            failures, counter.allowance, self.settings.login_backoff, self.settings.login_lockout
        )
        if delay <= 0:
            return
        until = time.time() + delay
        await self.cache.set_many({counter.block: repr(until).encode()}, ttl=delay)
        if failures >= counter.allowance:
            # Locked out: the lock-out is the penalty, and afterwards counting starts over.
            await self.cache.delete([k for k in (counter.failed, counter.succeeded) if k])


def _number(raw: bytes | None) -> float:
    if not raw:
        return 0.0
    try:
        return float(raw)
    except ValueError:
        return 0.0
