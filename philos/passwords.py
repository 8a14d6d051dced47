"""Password rules for new accounts: a length, and a strength estimate.

Length alone lets ``aaaaaaaaaa``, ``1234567890`` or ten spaces through. zxcvbn (the estimator
Dropbox published, maintained for Python as ``zxcvbn``) scores a password 0–4 by how many
guesses an attacker who knows common passwords, dictionary words, names, keyboard walks,
repeats, sequences, dates and l33t substitutions would need; its feedback says what to change.
The account's own email and display name count as known words.

zxcvbn prices what none of its patterns match as 10 guesses a character, whatever characters
they are, so a random mix of spaces and tabs, or of two letters, scores as strong. Two rules
close that gap: a password of whitespace alone is refused, and the guesses are capped by a
brute force over the characters the password uses (``distinct ** length``). Runs of whitespace
count as one space, so padding does not make a weak password strong.

The estimator's work grows quickly with length, so it judges the first ``ESTIMATED_CHARS``
characters (the library's own cap); a longer password whose start is weak is refused too.
"""

from __future__ import annotations

import math
import re

from zxcvbn import zxcvbn  # type: ignore[import-untyped]

MIN_PASSWORD = 10
MAX_PASSWORD = 256
ESTIMATED_CHARS = 72
# Score 3: about 10^8 guesses or more ("safely unguessable" for an online attack, some
# protection against an offline one on a slow hash such as argon2id).
DEFAULT_MIN_SCORE = 3

_WORDS = re.compile(r"[^\W_]+")
# zxcvbn's scores by guesses: below 10^3, 10^6, 10^8 and 10^10 guesses, 0 to 3; else 4.
_SCORE_BOUNDS = (3, 6, 8, 10)


def _score_of(guesses_log10: float) -> int:
    return sum(guesses_log10 >= bound for bound in _SCORE_BOUNDS)


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
    if not password.strip():
        return "must not be only spaces or other whitespace; use a few uncommon words."
    known = [w for w in _WORDS.findall(f"{email} {name}".lower()) if len(w) >= 3]
    # Padding a weak password with whitespace is one of the first mangling rules crackers try.
    judged = " ".join(password.split())[:ESTIMATED_CHARS]
    result = zxcvbn(judged, user_inputs=known)
    if int(result["score"]) < min_score:
        feedback = result.get("feedback") or {}
        advice = [str(feedback.get("warning") or "").strip()]
        advice += [str(s).strip() for s in feedback.get("suggestions") or ()]
        said = " ".join(a if a.endswith(".") else a + "." for a in advice if a)
        return "is too easy to guess. " + (
            said or "Add another word or two; a few uncommon words make a strong passphrase."
        )
    distinct = len(set(judged))
    if _score_of(len(judged) * math.log10(max(distinct, 1))) < min_score:
        return (
            f"is too easy to guess: it uses only {distinct} different characters. Use more "
            "different characters, or a few uncommon words."
        )
    return None
