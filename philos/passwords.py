"""Password rules for new accounts: a length, and a strength estimate.

Length alone lets ``aaaaaaaaaa``, ``1234567890`` or ten spaces through. zxcvbn (the estimator
Dropbox published, maintained for Python as ``zxcvbn``) scores a password 0–4 by how many
guesses an attacker who knows common passwords, dictionary words, names, keyboard walks,
repeats, sequences, dates and l33t substitutions would need; its feedback says what to change.
The account's own email and display name count as known words.

The estimator's work grows quickly with length, so it judges the first ``ESTIMATED_CHARS``
characters (the library's own cap); a longer password whose start is weak is refused too.
"""

from __future__ import annotations

import re

from zxcvbn import zxcvbn  # type: ignore[import-untyped]

MIN_PASSWORD = 10
MAX_PASSWORD = 256
ESTIMATED_CHARS = 72
# Score 3: about 10^8 guesses or more ("safely unguessable" for an online attack, some
# protection against an offline one on a slow hash such as argon2id).
DEFAULT_MIN_SCORE = 3

_WORDS = re.compile(r"[^\W_]+")


def password_problem(
    password: str, *, email: str = "", name: str = "", min_score: int = DEFAULT_MIN_SCORE
) -> str | None:
    """What is wrong with ``password`` for a new account, as a sentence; ``None`` if it will do.

    The account's ``email`` and ``name`` are what an attacker who targets it tries first."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters (got {len(password)})."
    lowered, email = password.lower(), email.strip().lower()
    local = email.split("@")[0]
    if email and (lowered in email or (len(local) >= 3 and local in lowered)):
        return "must not contain the email address."
    known = [w for w in _WORDS.findall(f"{email} {name}".lower()) if len(w) >= 3]
    result = zxcvbn(password[:ESTIMATED_CHARS], user_inputs=known)
    if int(result["score"]) >= min_score:
        return None
    feedback = result.get("feedback") or {}
    advice = [str(feedback.get("warning") or "").strip()]
    advice += [str(s).strip() for s in feedback.get("suggestions") or ()]
    said = " ".join(a if a.endswith(".") else a + "." for a in advice if a)
    return "is too easy to guess. " + (
        said or "Add another word or two; a few uncommon words make a strong passphrase."
    )
