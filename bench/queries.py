"""The benchmark queries, written once for each server's schema, and their request streams.

Each query is written so that Philos and PostGraphile return the *same JSON* (PostGraphile's
auto-generated names are aliased to Philos's; its ``--simple-collections both`` lists stand in
for Philos's plain list fields; orderings spell out Philos's, tie-breakers included). The
harness checks that equality before it measures anything.

*Hot* repeats one request. *Cold* never sends the same request twice in a run (as far as the
dataset allows), so a response cache cannot answer it. A cold request is a template line
(one per page offset or slug) combined with a *cycle value*: a variable that changes the
request but not the answer, stepped once per pass over the lines:

- (a) the theses' ``first: $k`` for k from theses-per-concept to 100 (every concept has fewer
  theses than k, so the list is the same);
- (b) on Philos ``relations(types: $types)`` with a permutation of all ten relation types,
  on PostGraphile the relation list's ``first: $k`` (k ≥ relations per concept);
- (c) none: a slug is the only input, so (c) has as many distinct requests as concepts, and
  repeats after that (the table says how many requests that was);
- (d) ``{ __typename }`` has no input either; its cold variant is a new document every time
  (``{ t123: __typename }``), which also defeats parse/validation caches;
- (e) is (a) as a persisted query: Philos gets the hash alone (APQ, registered once before
  anything is measured, ``Query.register``), PostGraphile the same plain (a) request.

In a template the cycle value stands where ``@@CYCLE@@`` is (as a quoted JSON string it is
replaced with the raw JSON value); ``bench/wrk.lua`` substitutes it per request.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from philos.domain import ConceptOrder, RelationType
from philos.types.paging import concept_cursor

__all__ = [
    "CYCLE",
    "PAGE",
    "QUERIES",
    "SERVERS",
    "Cycle",
    "Pool",
    "Query",
    "Shape",
    "build_pool",
    "render",
]

SERVERS = ("philos", "postgraphile")
PAGE = 50
CYCLE = "@@CYCLE@@"
MAX_FIRST = 100
TYPE_PERMUTATIONS = 720
TYPENAME_COLD = 10**9

# A list page is (offset, cursor): PostGraphile pages by offset, Philos by the cursor of the
# row before the page.
Value = int | str | None | tuple[int, str | None]


@dataclass(frozen=True)
class Cycle:
    """The no-op variable's values: a numeric range ``low..high`` or explicit JSON texts."""

    low: int = 0
    high: int = 0
    values: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.values) if self.values else self.high - self.low + 1

    def __getitem__(self, index: int) -> str:
        if self.values:
            return self.values[index % len(self.values)]
        return str(self.low + index % len(self))

    def wrk_arg(self, path: str) -> str:
        """How wrk.lua gets it: ``range:LOW:HIGH`` or a file of one JSON text per line."""
        return path if self.values else f"range:{self.low}:{self.high}"


def render(template: str, cycle: str) -> bytes:
    """The request body: ``template`` with its cycle placeholder replaced (as wrk.lua does)."""
    return template.replace(f'"{CYCLE}"', cycle).replace(CYCLE, cycle).encode()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


def _after(page: Value) -> str | None:
    """Philos pages with opaque cursors: the cursor of item ``k-1`` starts the page at ``k``."""
    assert isinstance(page, tuple)
    return page[1]


def _offset(page: Value) -> int:
    assert isinstance(page, tuple)
    return page[0]


def _cursors(concepts: list[dict[str, Any]]) -> list[str]:
    """Each concept's cursor in the default order (NAME_ASC: lower-cased name, then id)."""
    ordered = sorted(concepts, key=lambda c: (c["name"].lower(), c["id"]))
    return [
        concept_cursor(ConceptOrder.NAME_ASC, SimpleNamespace(id=c["id"], name=c["name"]))
        for c in ordered
    ]


A_PHILOS = """query A($after: String, $k: Int!) {
  concepts(first: 50, after: $after) {
    nodes { name theses(first: $k) { statement } }
  }
}"""
A_POSTGRAPHILE = """query A($offset: Int, $k: Int!) {
  concepts: allConcepts(first: 50, offset: $offset, orderBy: [NAME_ASC, ID_ASC]) {
    nodes {
      name
      theses: thesesByConceptIdList(first: $k, orderBy: [CREATED_AT_DESC, ID_DESC]) {
        statement
      }
    }
  }
}"""

B_PHILOS = """query B($after: String, $types: [RelationType!]) {
  concepts(first: 50, after: $after) {
    nodes { name relations(direction: OUTGOING, types: $types) { type target { name } } }
  }
}"""
B_POSTGRAPHILE = """query B($offset: Int, $k: Int!) {
  concepts: allConcepts(first: 50, offset: $offset, orderBy: [NAME_ASC, ID_ASC]) {
    nodes {
      name
      relations: relationsBySourceIdList(first: $k, orderBy: [TYPE_ASC, WEIGHT_DESC, ID_ASC]) {
        type
        target: conceptByTargetId { name }
      }
    }
  }
}"""

C_PHILOS = """query C($slug: String!) {
  concept(slug: $slug) { id slug name summary tradition eraFrom eraTo }
}"""
C_POSTGRAPHILE = """query C($slug: String!) {
  concept: conceptBySlug(slug: $slug) { id slug name summary tradition eraFrom eraTo }
}"""

D_DOCUMENT = "{ __typename }"
D_COLD = "{ t" + CYCLE + ": __typename }"


@dataclass(frozen=True)
class Shape:
    """Sizes the cycle ranges depend on."""

    theses_per_concept: int = 5
    relations_per_concept: int = 3
    seed: int = 7


def _type_permutations(seed: int) -> tuple[str, ...]:
    rng = random.Random(f"{seed}-types")  # noqa: S311 (a reproducible order)
    canonical = [t.value for t in RelationType]
    seen = {tuple(canonical)}
    out = [json.dumps(canonical, separators=(",", ":"))]
    while len(out) < TYPE_PERMUTATIONS:
        perm = canonical[:]
        rng.shuffle(perm)
        if tuple(perm) not in seen:
            seen.add(tuple(perm))
            out.append(json.dumps(perm, separators=(",", ":")))
    return tuple(out)


@dataclass(frozen=True)
class Query:
    key: str
    title: str
    documents: dict[str, str]
    #: server -> line value -> JSON body text, possibly holding the cycle placeholder
    templates: dict[str, Callable[[Value], str]]
    #: server -> shape -> the cycle (its first value is the hot request's)
    cycles: dict[str, Callable[[Shape], Cycle]]
    #: server -> a JSON body to send once before the query's requests (APQ registration)
    register: dict[str, str] = field(default_factory=dict)

    def body(self, server: str, value: Value, cycle: str) -> bytes:
        return render(self.templates[server](value), cycle)


def _k_range(low: int) -> Cycle:
    low = max(1, low)
    return Cycle(low=low, high=max(low, MAX_FIRST))


def _hot_k(shape_low: int) -> Cycle:
    """``first: k`` for every k that returns all theses; the product default 20 first, as it
    is the hot request's."""
    low = max(1, shape_low)
    ks = list(range(low, max(low, MAX_FIRST) + 1))
    if 20 in ks:
        ks.remove(20)
        ks.insert(0, 20)
    return Cycle(values=tuple(str(k) for k in ks))


QUERIES: dict[str, Query] = {
    "a": Query(
        key="a",
        title="50 concepts × theses (statement)",
        documents={"philos": A_PHILOS, "postgraphile": A_POSTGRAPHILE},
        templates={
            "philos": lambda v: _json(
                {"query": A_PHILOS, "variables": {"after": _after(v), "k": CYCLE}}
            ),
            "postgraphile": lambda v: _json(
                {"query": A_POSTGRAPHILE, "variables": {"offset": _offset(v), "k": CYCLE}}
            ),
        },
        cycles={
            "philos": lambda s: _hot_k(s.theses_per_concept),
            "postgraphile": lambda s: _hot_k(s.theses_per_concept),
        },
    ),
    "b": Query(
        key="b",
        title="50 concepts × outgoing relations × target name",
        documents={"philos": B_PHILOS, "postgraphile": B_POSTGRAPHILE},
        templates={
            "philos": lambda v: _json(
                {"query": B_PHILOS, "variables": {"after": _after(v), "types": CYCLE}}
            ),
            "postgraphile": lambda v: _json(
                {"query": B_POSTGRAPHILE, "variables": {"offset": _offset(v), "k": CYCLE}}
            ),
        },
        cycles={
            "philos": lambda s: Cycle(values=_type_permutations(s.seed)),
            "postgraphile": lambda s: _k_range(s.relations_per_concept),
        },
    ),
    "c": Query(
        key="c",
        title="one concept by slug",
        documents={"philos": C_PHILOS, "postgraphile": C_POSTGRAPHILE},
        templates={
            "philos": lambda v: _json({"query": C_PHILOS, "variables": {"slug": v}}),
            "postgraphile": lambda v: _json({"query": C_POSTGRAPHILE, "variables": {"slug": v}}),
        },
        cycles={"philos": lambda s: Cycle(), "postgraphile": lambda s: Cycle()},
    ),
    "d": Query(
        key="d",
        title="{ __typename }",
        documents={"philos": D_DOCUMENT, "postgraphile": D_DOCUMENT},
        templates={
            "philos": lambda v: _json({"query": D_DOCUMENT if v is None else D_COLD}),
            "postgraphile": lambda v: _json({"query": D_DOCUMENT if v is None else D_COLD}),
        },
        cycles={
            "philos": lambda s: Cycle(low=0, high=TYPENAME_COLD),
            "postgraphile": lambda s: Cycle(low=0, high=TYPENAME_COLD),
        },
    ),
}


E_PERSISTED = {"persistedQuery": {"version": 1, "sha256Hash": _sha256(A_PHILOS)}}
QUERIES["e"] = Query(
    key="e",
    title="persisted (a): hash only",
    documents=QUERIES["a"].documents,
    templates={
        "philos": lambda v: _json(
            {"extensions": E_PERSISTED, "variables": {"after": _after(v), "k": CYCLE}}
        ),
        "postgraphile": QUERIES["a"].templates["postgraphile"],
    },
    cycles=QUERIES["a"].cycles,
    register={
        "philos": _json(
            {"query": A_PHILOS, "extensions": E_PERSISTED, "variables": {"after": None, "k": 20}}
        )
    },
)


@dataclass(frozen=True)
class Pool:
    """A query's requests: ``hot`` (with the cycle's first value) always, cold ones as
    ``lines`` × cycle values, lines varying fastest."""

    hot: Value
    lines: list[Value]

    def capacity(self, cycle: Cycle) -> int:
        """Distinct cold requests before one repeats."""
        return len(self.lines) * max(1, len(cycle))


def build_pool(key: str, concepts: list[dict[str, Any]], seed: int = 7) -> Pool:
    """Request values for query ``key`` over a dataset with these concept rows."""
    rng = random.Random(f"{seed}-{key}")  # noqa: S311 (a reproducible order)
    slugs = [c["slug"] for c in concepts]
    lines: list[Value]
    if key in ("a", "b", "e"):
        cursors = _cursors(concepts)
        lines = [(k, cursors[k - 1] if k else None) for k in range(max(1, len(slugs) - PAGE + 1))]
        hot: Value = (0, None)
    elif key == "c":
        lines = list(slugs)
        hot = slugs[0]
    elif key == "d":
        lines = [0]  # the template ignores it; the cycle makes each document new
        hot = None
    else:
        raise KeyError(f"unknown query {key!r}; choose from {', '.join(QUERIES)}")
    rng.shuffle(lines)
    return Pool(hot=hot, lines=lines)
