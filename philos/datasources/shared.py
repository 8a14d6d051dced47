"""Small pieces of store logic that every adapter of a port must do the same way."""

from __future__ import annotations

from collections.abc import Iterable

from philos.domain import Argument, Direction, NotFoundError, Relation


def group_edges(
    relations: Iterable[Relation], concept_ids: Iterable[str], direction: Direction
) -> dict[str, list[Relation]]:
    """``edges_of``'s answer: each concept's relations in the given direction, in the order
    given, every asked-for concept present (a self-loop counted once)."""
    result: dict[str, list[Relation]] = {cid: [] for cid in concept_ids}
    for rel in relations:
        outgoing = direction is not Direction.INCOMING and rel.source_id in result
        if outgoing:
            result[rel.source_id].append(rel)
        # A self-loop already listed as outgoing is not listed again as incoming.
        if (
            direction is not Direction.OUTGOING
            and rel.target_id in result
            and not (outgoing and rel.target_id == rel.source_id)
        ):
            result[rel.target_id].append(rel)
    return result


def without_argument(arguments: list[Argument], argument_id: str) -> list[Argument]:
    """The arguments less one; ``NotFoundError`` when it is not there."""
    kept = [a for a in arguments if a.id != argument_id]
    if len(kept) == len(arguments):
        raise NotFoundError("argument", argument_id)
    return kept
