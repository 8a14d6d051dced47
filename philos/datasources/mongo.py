"""ThesisStore on MongoDB: Beanie documents on pymongo's async client.

One document per thesis in the ``theses`` collection; ``_id`` is the thesis id, and arguments,
sources and provenance are embedded. The same code runs on MongoDB 7 and on FerretDB v1 (SQLite
backend), so it uses nothing FerretDB lacks: no transactions, no ``$lookup`` (Beanie links), no
accumulators other than ``$sum``, no window stages, no text, TTL or partial indexes.

Writes that must not lose a concurrent change are a compare-and-set on ``version`` (filter on
``_id`` and ``version``, ``$set`` + ``$inc``), atomic on MongoDB. FerretDB v1's SQLite handler
reads the matching document and writes it back by ``_id`` outside any transaction, so two
writers of the same version can both succeed there and one change is lost. A store therefore
also serialises its own writes to one thesis; across processes only MongoDB is safe.

Timestamps: a BSON date holds milliseconds, the domain (and SQL) microseconds. Each timestamp is
therefore stored twice: ``created_at`` as a BSON date (readable, indexed) and ``created_at_us``
as integer microseconds since the epoch, which is what is read back. Cutting to milliseconds
keeps order, so sorting on (``created_at``, ``created_at_us``, ``_id``) is exactly SQL's
(``created_at``, ``id``) order.

The document layout and its conversion to and from ``Thesis`` are in ``mongo_documents``.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import re
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from beanie import Document, SortDirection, init_beanie
from pymongo import AsyncMongoClient, IndexModel, ReturnDocument, timeout
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.monitoring import CommandListener

from philos.config import STORE_IO_TIMEOUT
from philos.datasources.mongo_documents import (
    argument_value,
    document_class,
    thesis_projection,
    thesis_values,
    timestamp,
    to_thesis,
)
from philos.datasources.shared import without_argument
from philos.domain import (
    Argument,
    ConflictError,
    Keyset,
    NotFoundError,
    Page,
    PageResult,
    Stance,
    Thesis,
    ThesisFilter,
    utcnow,
)
from philos.errors import UserInputError
from philos.timeouts import time_left, uncancelled

__all__ = ["MongoThesisStore"]

_OPTIMISTIC_RETRIES = 5
_WRITE_LOCK_STRIPES = 64
_NEWEST_FIRST: builtins.list[tuple[str, SortDirection]] = [
    ("created_at", SortDirection.DESCENDING),
    ("created_at_us", SortDirection.DESCENDING),
    ("_id", SortDirection.DESCENDING),
]
_EXACT_CAP = 100  # statements equal to a search that are put first
# A cursor's batches: as many documents as the server puts in one reply (16 MiB), so a list
# level is one command (the default first batch is 101 documents, then a ``getMore``).
_ONE_BATCH = 1_000_000
_BY_CONCEPT_NEWEST_FIRST = [("concept_id", SortDirection.ASCENDING), *_NEWEST_FIRST]
# Theses of some concepts, newest first (``by_concepts``, ``count_by_concepts``, ``list`` by
# concept) and all theses newest first (``list``).
_INDEXES = (
    IndexModel(_BY_CONCEPT_NEWEST_FIRST, name="concept_id_newest_first"),
    IndexModel(_NEWEST_FIRST, name="newest_first"),
)


def _seek(after: Keyset, forward: bool = True) -> dict[str, Any]:
    """Theses after ``after`` newest first (``forward``: older, or as old and a smaller id), or
    at or before it. The microseconds decide (the BSON date is them cut to milliseconds); the
    date bounds the index scan."""
    (created_at,) = after.values
    if not isinstance(created_at, datetime):
        raise TypeError(f"a thesis key is its created_at, not {created_at!r}")
    us = timestamp("created_at", created_at)["created_at_us"]
    if forward:
        return {
            "created_at": {"$lte": created_at},
            "$or": [
                {"created_at_us": {"$lt": us}},
                {"created_at_us": us, "_id": {"$lt": after.id}},
            ],
        }
    return {
        "created_at": {"$gte": created_at},
        "$or": [
            {"created_at_us": {"$gt": us}},
            {"created_at_us": us, "_id": {"$gte": after.id}},
        ],
    }


def _filter(flt: ThesisFilter) -> dict[str, Any]:
    query: dict[str, Any] = {}
    if flt.concept_id:
        query["concept_id"] = flt.concept_id
    if flt.stance:
        query["stance"] = flt.stance.value
    if flt.search:
        # Case-insensitive substring; escaping makes every character of the needle literal.
        query["statement"] = {"$regex": re.escape(flt.search), "$options": "i"}
    return query


P = ParamSpec("P")
R = TypeVar("R")
_LEAST_TIMEOUT = 0.001


def _to_its_end(
    method: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """The store's operations are never cancelled half-way (``timeouts.uncancelled``): a
    caller that gives up (a deadline, a cancelled request) leaves at once, and the operation
    ends on its own. Cancelling pymongo inside its server selection can leave the client's
    topology lock held for good: every later call of the store, and its ``close``, would then
    wait forever.

    An operation ends by its caller's deadline (``timeouts.time_left``, as pymongo's own
    timeout): one its caller gave up on is not sent later, when what its caller held for it
    (a concept's rows, ``datasources/anchored.py``) is let go. Without a deadline, the
    client's timeouts bound it."""

    @functools.wraps(method)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return await uncancelled(_by(time_left(), method(*args, **kwargs)))

    return run


async def _by(left: float | None, call: Coroutine[Any, Any, R]) -> R:
    if left is None:
        return await call
    with timeout(max(left, _LEAST_TIMEOUT)):  # 0 would be no timeout at all
        return await call


class MongoThesisStore:
    name = "mongo"

    def __init__(
        self,
        uri: str,
        database: str = "philos_theses",
        *,
        event_listeners: Sequence[CommandListener] = (),
        io_timeout: float = STORE_IO_TIMEOUT,
    ) -> None:
        """``event_listeners`` see every command this store sends (tests count them).
        ``io_timeout`` bounds finding the server, connecting, waiting for a pooled
        connection and each read from its socket: a call a request gave up on
        (``timeouts.within``) cannot hold its connection, or a lock, for longer."""
        millis = int(io_timeout * 1000)
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            uri,
            tz_aware=True,
            tzinfo=UTC,
            event_listeners=event_listeners,
            serverSelectionTimeoutMS=millis,
            connectTimeoutMS=millis,
            socketTimeoutMS=millis,
            waitQueueTimeoutMS=millis,
        )
        self.database = database
        self._documents = document_class()
        self._ready = False
        self._setup_lock = asyncio.Lock()
        self._write_locks = [asyncio.Lock() for _ in range(_WRITE_LOCK_STRIPES)]

    @_to_its_end
    async def setup(self) -> None:
        """Bind the document class to the database and create the indexes (idempotent)."""
        async with self._setup_lock:
            # Beanie would send every declared index in one createIndexes on each start, and
            # FerretDB v1.24.2 drops the connection (a server panic) when such a command names
            # two or more indexes that all exist already. So: only the missing ones, one each.
            await init_beanie(
                database=self.client[self.database],
                document_models=[self._documents],
                skip_indexes=True,
            )
            collection = self._documents.get_pymongo_collection()
            existing = await collection.index_information()
            for index in _INDEXES:
                if index.document["name"] not in existing:
                    await collection.create_indexes([index])
            self._ready = True

    async def _docs(self) -> type[Document]:
        # The app starts even when MongoDB is down at boot (wiring logs the failed setup), so
        # the first call after it comes back finishes the setup.
        if not self._ready:
            await self.setup()
        return self._documents

    async def _raw(self) -> AsyncCollection[dict[str, Any]]:
        # Reads take the stored documents as they are: building Beanie's pydantic model per
        # document first cost more CPU than the query (``to_thesis`` reads the fields).
        collection: AsyncCollection[dict[str, Any]] = (await self._docs()).get_pymongo_collection()
        return collection

    def _write_lock(self, thesis_id: str) -> asyncio.Lock:
        return self._write_locks[hash(thesis_id) % _WRITE_LOCK_STRIPES]

    @_to_its_end
    async def ping(self) -> None:
        await self.client.admin.command("ping")

    async def aclose(self) -> None:
        await self.client.close()

    @_to_its_end
    async def get_many(self, ids: Sequence[str]) -> dict[str, Thesis]:
        if not ids:
            return {}
        found = (await self._raw()).find({"_id": {"$in": sorted(set(ids))}})
        docs = await found.batch_size(_ONE_BATCH).to_list()
        theses = (to_thesis(doc) for doc in docs)
        return {thesis.id: thesis for thesis in theses}

    @_to_its_end
    async def list(self, filter: ThesisFilter, page: Page) -> PageResult[Thesis]:
        docs_t = await self._raw()
        query = _filter(filter)
        if filter.search:
            return await self._search(docs_t, query, filter.search, page)
        seek = query
        has_previous = False
        if page.after is not None:
            seek = {"$and": [query, _seek(page.after)]}
            before = {"$and": [query, _seek(page.after, forward=False)]}
            has_previous = bool(await docs_t.find(before).limit(1).to_list())
        docs: builtins.list[dict[str, Any]] = (
            await docs_t.find(seek)
            .sort(_NEWEST_FIRST)
            .limit(page.limit + 1)  # one more: is there a next page
            .batch_size(_ONE_BATCH)
            .to_list()
        )
        if page.after is None and len(docs) <= page.limit:
            total = len(docs)  # the whole list: no need to count
        else:
            total = await docs_t.count_documents(query)
        return PageResult(
            items=[to_thesis(doc) for doc in docs[: page.limit]],
            total=total,
            has_next=len(docs) > page.limit,
            has_previous=has_previous,
        )

    async def _search(
        self, docs_t: Any, query: dict[str, Any], search: str, page: Page
    ) -> PageResult[Thesis]:
        """No ranking here: statements equal to the search (at most ``_EXACT_CAP``) come
        first, then the other matches, each part newest first. The key is (exact, created_at)
        and the id; a cursor of the exact part goes on there, then from the start of the rest."""
        exact_q = {**query, "statement": {"$regex": f"^{re.escape(search)}$", "$options": "i"}}
        exact = await docs_t.find(exact_q).sort(_NEWEST_FIRST).limit(_EXACT_CAP).to_list()
        exact_ids = [doc["_id"] for doc in exact]
        rest_q = {**query, "_id": {"$nin": exact_ids}} if exact_ids else query
        after = page.after
        if after is not None and (
            len(after.values) != 2 or after.values[0] not in (0, 1) or after.values[0] is True
        ):
            raise UserInputError(
                "`after` is a cursor of another search or order; pass an `endCursor` of this "
                "list, or start again without `after`."
            )
        found: builtins.list[tuple[int, dict[str, Any]]] = []
        if after is None or after.values[0] == 1:
            if after is not None:
                keyset = Keyset(values=(after.values[1],), id=after.id)
                exact_q = {"$and": [exact_q, _seek(keyset)]}
                exact = await docs_t.find(exact_q).sort(_NEWEST_FIRST).limit(_EXACT_CAP).to_list()
            found += [(1, doc) for doc in exact[: page.limit + 1]]
            after = None  # the rest from its start
        if len(found) <= page.limit:
            seek = rest_q
            if after is not None:
                keyset = Keyset(values=(after.values[1],), id=after.id)
                seek = {"$and": [rest_q, _seek(keyset)]}
            more = page.limit + 1 - len(found)
            rest = await docs_t.find(seek).sort(_NEWEST_FIRST).limit(more).to_list()
            found += [(0, doc) for doc in rest]
        total = await docs_t.count_documents(query)
        on_page = [(flag, to_thesis(doc)) for flag, doc in found[: page.limit]]
        return PageResult(
            items=[thesis for _, thesis in on_page],
            total=total,
            has_next=len(found) > page.limit,
            has_previous=page.after is not None,
            keys=[(flag, thesis.created_at) for flag, thesis in on_page],
        )

    @_to_its_end
    async def by_concepts(
        self,
        concept_ids: Sequence[str],
        stance: Stance | None = None,
        limit_per_concept: int | None = None,
        fields: frozenset[str] | None = None,
    ) -> dict[str, builtins.list[Thesis]]:
        result: dict[str, builtins.list[Thesis]] = {cid: [] for cid in concept_ids}
        if not concept_ids:
            return result
        projection, read = (None, to_thesis) if fields is None else thesis_projection(fields)
        query: dict[str, Any] = {"concept_id": {"$in": sorted(set(concept_ids))}}
        if stance:
            query["stance"] = stance.value
        # No window functions on FerretDB: read each concept's theses newest first in one
        # query and keep the first ``limit_per_concept`` of each.
        cap = None if limit_per_concept is None else max(limit_per_concept, 0)
        if cap == 0:
            return result
        found = (await self._raw()).find(query, projection).sort(_BY_CONCEPT_NEWEST_FIRST)
        async for doc in found.batch_size(_ONE_BATCH):
            kept = result[doc["concept_id"]]
            if cap is None or len(kept) < cap:
                kept.append(read(doc))
        return result

    @_to_its_end
    async def count_by_concepts(self, concept_ids: Sequence[str]) -> dict[str, int]:
        result = dict.fromkeys(concept_ids, 0)
        if not concept_ids:
            return result
        rows = (
            await (await self._docs())
            .find({"concept_id": {"$in": sorted(set(concept_ids))}})
            .aggregate([{"$group": {"_id": "$concept_id", "n": {"$sum": 1}}}])
            .to_list()
        )
        for row in rows:
            result[row["_id"]] = int(row["n"])
        return result

    @_to_its_end
    async def create(self, thesis: Thesis) -> Thesis:
        docs = await self._docs()
        await docs.model_validate({"id": thesis.id, **thesis_values(thesis)}).insert()
        return thesis

    @_to_its_end
    async def update(self, thesis: Thesis, expected_version: int | None) -> Thesis:
        values = thesis_values(thesis)
        for kept in ("created_at", "created_at_us", "author_id", "version"):
            del values[kept]
        match: dict[str, Any] = {"_id": thesis.id}
        if expected_version is not None:
            match["version"] = expected_version
        # One conditional write. It misses when the thesis is gone or, with an expected
        # version, when someone else wrote first: only then is the version read, for the error.
        async with self._write_lock(thesis.id):
            change = {"$set": values, "$inc": {"version": 1}}
            stored = await self._find_and_update(match, change)
            if stored is not None:
                return stored
            if expected_version is not None:
                current = await self._version_of(thesis.id)
                if current is not None:
                    raise _stale(current, expected_version)
        raise NotFoundError("thesis", thesis.id)

    @_to_its_end
    async def delete(self, thesis_id: str) -> bool:
        collection = (await self._docs()).get_pymongo_collection()
        result = await collection.delete_one({"_id": thesis_id})
        return result.deleted_count > 0

    @_to_its_end
    async def add_argument(self, thesis_id: str, argument: Argument) -> Thesis:
        return await self._edit_arguments(thesis_id, lambda args: [*args, argument])

    @_to_its_end
    async def remove_argument(self, thesis_id: str, argument_id: str) -> Thesis:
        return await self._edit_arguments(
            thesis_id, lambda args: without_argument(args, argument_id)
        )

    async def _edit_arguments(
        self, thesis_id: str, edit: Callable[[builtins.list[Argument]], builtins.list[Argument]]
    ) -> Thesis:
        # Read, edit, and write back only if nobody wrote in between (compare-and-set on the
        # version), retrying a few times, as the SQL adapter does.
        for _ in range(_OPTIMISTIC_RETRIES):
            async with self._write_lock(thesis_id):
                current = (await self.get_many([thesis_id])).get(thesis_id)
                if current is None:
                    raise NotFoundError("thesis", thesis_id)
                args = edit(list(current.arguments))
                stored = await self._find_and_update(
                    {"_id": thesis_id, "version": current.version},
                    {
                        "$set": {
                            "arguments": [argument_value(a) for a in args],
                            **timestamp("updated_at", utcnow()),
                        },
                        "$inc": {"version": 1},
                    },
                )
            if stored is not None:
                return stored
        raise ConflictError("The thesis is being changed by others right now; try again.")

    @_to_its_end
    async def remove_concept(self, concept_id: str) -> None:
        collection = (await self._docs()).get_pymongo_collection()
        await collection.delete_many({"concept_id": concept_id})

    async def _find_and_update(
        self, match: Mapping[str, Any], change: Mapping[str, Any]
    ) -> Thesis | None:
        """Apply ``change`` to the document ``match`` selects; the stored thesis, or None."""
        stored = await (await self._raw()).find_one_and_update(
            dict(match), dict(change), return_document=ReturnDocument.AFTER
        )
        return None if stored is None else to_thesis(stored)

    async def _version_of(self, thesis_id: str) -> int | None:
        collection = (await self._docs()).get_pymongo_collection()
        row = await collection.find_one({"_id": thesis_id}, {"version": 1})
        return None if row is None else int(row["version"])


def _stale(current: int, expected: int) -> ConflictError:
    return ConflictError(
        f"The thesis was changed by someone else: it is at version {current}, not {expected}. "
        "Reload it and apply your change again.",
        current_version=current,
    )
