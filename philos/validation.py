"""Input validation at the boundary: every check a mutation's input must pass, with messages a
person can act on. Each function collects all problems before failing, so a client can fix a
form in one round trip.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlparse

from philos.domain import FieldProblem, ValidationError

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")
WIKIDATA_RE = re.compile(r"^Q[1-9][0-9]{0,11}\Z")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")

MIN_YEAR = -3000

# How many items each list input may hold. The schema states and enforces the same numbers
# (``types/hints.py``), so a request over a limit is refused before anything runs.
MAX_TAGS = 12
MAX_ALIASES = 10
MAX_ARGUMENTS = 20
MAX_SOURCES = 20
MAX_RELATED = 10


def max_year() -> int:
    return datetime.now(UTC).year


class Checker:
    """Accumulates field problems; ``done()`` raises them all at once."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []

    def add(self, field: str, message: str) -> None:
        self.problems.append(FieldProblem(field, message))

    def text(
        self,
        field: str,
        value: str | None,
        *,
        min_len: int = 0,
        max_len: int,
        required: bool = False,
    ) -> str | None:
        if value is None:
            if required:
                self.add(field, "is required.")
            return None
        cleaned = value.strip()
        if required and not cleaned:
            self.add(field, "must not be blank.")
        elif len(cleaned) < min_len:
            self.add(field, f"must be at least {min_len} characters (got {len(cleaned)}).")
        elif len(cleaned) > max_len:
            self.add(field, f"must be at most {max_len} characters (got {len(cleaned)}).")
        return cleaned

    def slug(self, field: str, value: str, *, max_len: int = 80) -> str:
        cleaned = value.strip()
        if not 2 <= len(cleaned) <= max_len:
            self.add(field, f"must be 2 to {max_len} characters (got {len(cleaned)}).")
        elif not SLUG_RE.match(cleaned):
            self.add(
                field,
                "may contain only lowercase letters, digits and single hyphens between them, "
                "e.g. 'categorical-imperative'.",
            )
        return cleaned

    def year(self, field: str, value: int | None) -> int | None:
        if value is not None and not MIN_YEAR <= value <= max_year():
            self.add(
                field, f"must be a year between {MIN_YEAR} and {max_year()} (BCE years negative)."
            )
        return value

    def unit(self, field: str, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            self.add(field, "must be between 0 and 1.")
        return value

    def url(self, field: str, value: str | None, *, max_len: int = 300) -> str | None:
        if value is None:
            return None
        cleaned = value.strip()
        parsed = urlparse(cleaned)
        if len(cleaned) > max_len:
            self.add(field, f"must be at most {max_len} characters.")
        elif parsed.scheme not in ("http", "https") or not parsed.netloc:
            self.add(field, "must be an absolute http(s) URL.")
        return cleaned

    def tags(
        self, field: str, values: Sequence[str], *, max_items: int = MAX_TAGS
    ) -> tuple[str, ...]:
        cleaned = [v.strip().lower() for v in values]
        if len(cleaned) > max_items:
            self.add(field, f"may hold at most {max_items} tags.")
        for i, tag in enumerate(cleaned):
            if not 1 <= len(tag) <= 40 or not SLUG_RE.match(tag):
                self.add(
                    f"{field}[{i}]",
                    "a tag is 1 to 40 lowercase letters, digits and hyphens, e.g. 'ethics'.",
                )
        return tuple(dict.fromkeys(cleaned))

    def id(self, field: str, value: str) -> str:
        if not UUID_RE.match(value):
            self.add(field, f"'{value[:60]}' is not a valid id (ids are lowercase UUIDs).")
        return value

    def done(self) -> None:
        if self.problems:
            raise ValidationError(self.problems)


def is_id(value: str) -> bool:
    return bool(UUID_RE.match(value))
