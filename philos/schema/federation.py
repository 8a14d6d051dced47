"""The federated slices of the schema: one Apollo Federation 2 subgraph per service.

Each subgraph is the monolith's schema (the same types, resolvers and loaders) with only the
root fields, and the entity fields, that its service owns. ``Concept``, ``Thesis`` and
``User`` are entities keyed by ``id``: the subgraph an entity lives in owns its fields unless
``ENTITY_FIELDS`` gives one to another subgraph (the graph subgraph answers
``Concept.relations``, the theses subgraph ``Concept.theses``...). Every other object type is a
value type, printed ``@shareable``: it has the same fields wherever it appears.

``_entities`` resolves each representation with its entity type's async ``resolve_reference``
(``philos/types/objects.py``), all at once, through the request's DataLoaders: N concepts cost
one store call, whichever subgraph asks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal, cast

import strawberry
from graphql import (
    ConstArgumentNode,
    ConstDirectiveNode,
    DocumentNode,
    GraphQLError,
    GraphQLUnionType,
    NameNode,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
    StringValueNode,
    UnionTypeDefinitionNode,
    parse,
    print_ast,
)
from strawberry.annotation import StrawberryAnnotation
from strawberry.extensions import SchemaExtension
from strawberry.federation import Schema as FederationSchema
from strawberry.federation.schema import FederationAny
from strawberry.printer import print_schema
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import create_type, merge_types
from strawberry.types import Info
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField
from strawberry.types.union import StrawberryUnion

from philos import domain
from philos.schema.execution import PlainFieldsExecution
from philos.schema.root import MUTATIONS, Query
from philos.types.context import Context
from philos.types.hints import max_items
from philos.types.objects import Concept, Thesis, User
from philos.validation import is_id

# The seed's services, in the order of their ports (4001-4005).
SUBGRAPHS = ("users", "concepts", "graph", "theses", "ai")
SERVICE_NAMES = {
    "users": "user-service",
    "concepts": "concept-service",
    "graph": "graph-service",
    "theses": "thesis-service",
    "ai": "claude-service",
}
SERVICE_PORTS = {name: 4001 + i for i, name in enumerate(SUBGRAPHS)}
# Composition (@theguild/federation-composition 0.27) takes Federation up to 2.9.
FEDERATION_VERSION: Literal["2.9"] = "2.9"
FEDERATION_LINK = f"https://specs.apollo.dev/federation/v{FEDERATION_VERSION}"

# Who answers each root field. A root field missing here stops every subgraph from building.
ROOT_FIELDS: dict[str, dict[str, str]] = {
    "Query": {
        "me": "users",
        "concept": "concepts",
        "concepts": "concepts",
        "traditions": "concepts",
        "tags": "concepts",
        "eras": "concepts",
        "randomConcept": "concepts",
        "relations": "graph",
        "path": "graph",
        "graph": "graph",
        "thesis": "theses",
        "theses": "theses",
        "relationSuggestions": "ai",
        "aiJob": "ai",
        "users": "users",
    },
    "Mutation": {
        "createConcept": "concepts",
        "updateConcept": "concepts",
        "deleteConcept": "concepts",
        "relateConcepts": "graph",
        "removeRelation": "graph",
        "createThesis": "theses",
        "updateThesis": "theses",
        "deleteThesis": "theses",
        "addArgument": "theses",
        "removeArgument": "theses",
        "register": "users",
        "login": "users",
        "refreshToken": "users",
        "logout": "users",
        "setUserRole": "users",
        "generateTheses": "ai",
        "suggestRelations": "ai",
        "acceptRelationSuggestion": "ai",
        "analyzeConcept": "ai",
        "synthesizeTheses": "ai",
    },
}

# The entities, the subgraph that owns their fields, and the fields another subgraph owns.
ENTITY_HOMES = {"Concept": "concepts", "Thesis": "theses", "User": "users"}
ENTITY_KEY = "id"
# The union of the entity types a subgraph resolves, as ``_entities`` returns them.
ENTITY_UNION = "_Entity"
ENTITY_FIELDS: dict[str, dict[str, str]] = {
    "Concept": {
        "relations": "graph",
        "neighbours": "graph",
        "theses": "theses",
        "thesisCount": "theses",
        "author": "users",
    },
}
ENTITY_CLASSES: dict[str, type] = {"Concept": Concept, "Thesis": Thesis, "User": User}
# The domain records the entity types are served from, for ``_Entity``'s type resolution.
RECORD_TYPES: dict[type, str] = {
    domain.Concept: "Concept",
    domain.Thesis: "Thesis",
    domain.User: "User",
}
FEDERATION_FIELDS = ("_entities", "_service")
# The gateway sends every representation one step of its plan needs in one request (a page of
# 100 concepts with 25 relations each asks for 2,500 ends); the store-call budget and the
# response size limit bound the work.
MAX_REPRESENTATIONS = 5000
FEDERATION_TYPES = ("_Service", ENTITY_UNION, "_Any")


@strawberry.type(name="_Service", description="What the gateway composes: this subgraph's SDL.")
class ServiceSdl:
    sdl: str


class UnknownSubgraph(ValueError):
    pass


def owner(type_name: str, field_name: str) -> str | None:
    """The subgraph that answers ``type_name.field_name``; None for a value type's field (every
    subgraph where the type appears answers it) and for an entity's key (shared)."""
    if type_name in ROOT_FIELDS:
        return ROOT_FIELDS[type_name].get(field_name, "")
    if type_name in ENTITY_HOMES:
        if field_name == ENTITY_KEY:
            return None
        return ENTITY_FIELDS.get(type_name, {}).get(field_name, ENTITY_HOMES[type_name])
    return None


def contributed_entities(subgraph: str) -> list[str]:
    """The entities whose non-key fields ``subgraph`` answers (it must resolve them by key)."""
    return [
        name
        for name, home in ENTITY_HOMES.items()
        if home == subgraph or subgraph in ENTITY_FIELDS.get(name, {}).values()
    ]


PhilosInfo = Info[Context, None]


async def _resolve(info: PhilosInfo, slot: tuple[str, str] | None) -> object | None:
    """One representation through its entity type's ``resolve_reference``; None for an id
    that cannot name a record."""
    if slot is None or not is_id(slot[1]):
        return None
    entity: Any = ENTITY_CLASSES[slot[0]]
    found: object | None = await entity.resolve_reference(info, slot[1])
    return found


class _FilteredSchema(FederationSchema):
    """A federation schema that keeps only the fields its subgraph answers."""

    def __init__(self, subgraph: str, **options: Any) -> None:
        self.subgraph = subgraph
        super().__init__(federation_version=FEDERATION_VERSION, **options)

    def get_fields(self, type_definition: StrawberryObjectDefinition) -> list[StrawberryField]:
        fields = type_definition.fields
        type_name = type_definition.name
        if type_name not in ROOT_FIELDS and type_name not in ENTITY_HOMES:
            return fields
        kept = []
        for field in fields:
            name = self.config.name_converter.from_field(field)
            if name in FEDERATION_FIELDS or owner(type_name, name) in (None, self.subgraph):
                kept.append(field)
        return kept


def _check_owners() -> None:
    """Every root field of the monolith has exactly one owner among the subgraphs."""
    config = StrawberryConfig()
    roots = {"Query": Query, "Mutation": merge_types("Mutation", MUTATIONS)}
    for type_name, cls in roots.items():
        definition = cast(StrawberryObjectDefinition, cls.__strawberry_definition__)  # type: ignore[attr-defined]
        names = {config.name_converter.from_field(f) for f in definition.fields}
        owners = ROOT_FIELDS[type_name]
        unowned = sorted(names - owners.keys())
        if unowned:
            raise ValueError(f"{type_name} fields without a subgraph: {', '.join(unowned)}")
        for field, sub in owners.items():
            if sub not in SUBGRAPHS or field not in names:
                raise ValueError(f"{type_name}.{field} is assigned to {sub!r} but not served")


def _reachable_entities(subgraph: str, mutation: type) -> list[str]:
    """Entities the subgraph's own fields can return (it needs their keys)."""
    probe = _FilteredSchema(subgraph, query=Query, mutation=mutation)
    return [name for name in ENTITY_HOMES if probe._schema.get_type(name) is not None]


def build_subgraph_schema(
    subgraph: str,
    extensions: Iterable[Callable[[], SchemaExtension] | type[SchemaExtension]] = (),
    config: StrawberryConfig | None = None,
) -> strawberry.Schema:
    """The Federation 2 schema of one service: its slice of the monolith, ``_service`` and
    ``_entities``."""
    if subgraph not in SUBGRAPHS:
        raise UnknownSubgraph(f"unknown subgraph {subgraph!r}; one of {', '.join(SUBGRAPHS)}")
    _check_owners()
    mutation = merge_types("Mutation", MUTATIONS)
    reachable = _reachable_entities(subgraph, mutation)
    names = sorted(set(reachable) | set(contributed_entities(subgraph)))
    entity_union = StrawberryUnion(
        ENTITY_UNION,
        type_annotations=tuple(StrawberryAnnotation(ENTITY_CLASSES[n]) for n in names),
    )
    sdl_holder: list[str] = []

    async def entities(
        info: PhilosInfo,
        representations: Annotated[
            list[FederationAny],
            strawberry.argument(metadata=max_items(MAX_REPRESENTATIONS)),
        ],
    ) -> list[object | None]:
        # All at once: the DataLoaders batch the references of a type into one store call.
        slots = [_representation(rep, names) for rep in representations]
        return list(await asyncio.gather(*(_resolve(info, slot) for slot in slots)))

    entities.__annotations__["return"] = list[entity_union | None]  # type: ignore[valid-type]
    entities_field = cast(StrawberryField, strawberry.field(name="_entities", resolver=entities))

    def service() -> ServiceSdl:
        return ServiceSdl(sdl=sdl_holder[0])

    service_field = cast(StrawberryField, strawberry.field(name="_service", resolver=service))
    federation = create_type("FederationFields", fields=[entities_field, service_field])
    query = merge_types("Query", (federation, Query))
    schema = _FilteredSchema(
        subgraph,
        query=query,
        mutation=mutation,
        extensions=list(extensions),
        config=config,
        execution_context_class=PlainFieldsExecution,
    )
    union = schema._schema.get_type(ENTITY_UNION)
    assert isinstance(union, GraphQLUnionType)
    union.resolve_type = _entity_type_name
    sdl_holder.append(subgraph_sdl(print_schema(schema), names))
    return schema


def _representation(rep: object, names: Sequence[str]) -> tuple[str, str] | None:
    if not isinstance(rep, Mapping):
        raise GraphQLError("Each representation is an object with __typename and id.")
    type_name, key = rep.get("__typename"), rep.get(ENTITY_KEY)
    if type_name not in names:
        raise GraphQLError(f"This subgraph resolves no entity {type_name!r}.")
    return (str(type_name), key) if isinstance(key, str) else None


def _entity_type_name(value: object, _info: Any, _type: Any) -> str | None:
    return RECORD_TYPES.get(type(value)) or getattr(
        getattr(value, "__strawberry_definition__", None), "name", None
    )


def _directive(name: str, **arguments: str) -> ConstDirectiveNode:
    return ConstDirectiveNode(
        name=NameNode(value=name),
        arguments=tuple(
            ConstArgumentNode(name=NameNode(value=k), value=StringValueNode(value=v))
            for k, v in arguments.items()
        ),
    )


def subgraph_sdl(printed: str, entities: Sequence[str]) -> str:
    """The SDL composition reads: the printed schema without the federation plumbing, entities
    marked ``@key(fields: "id")``, value types ``@shareable``, and the Federation link."""
    document = parse(printed)
    definitions: list[Any] = []
    for node in document.definitions:
        name = getattr(getattr(node, "name", None), "value", None)
        if name in FEDERATION_TYPES and isinstance(
            node, ObjectTypeDefinitionNode | UnionTypeDefinitionNode | ScalarTypeDefinitionNode
        ):
            continue
        if isinstance(node, ObjectTypeDefinitionNode):
            if name == "Query":
                fields = tuple(
                    f for f in node.fields or () if f.name.value not in FEDERATION_FIELDS
                )
                node = ObjectTypeDefinitionNode(
                    name=node.name,
                    description=node.description,
                    interfaces=node.interfaces,
                    directives=node.directives,
                    fields=fields,
                )
            elif name != "Mutation":
                extra = (
                    _directive("key", fields=ENTITY_KEY)
                    if name in entities
                    else _directive("shareable")
                )
                node = ObjectTypeDefinitionNode(
                    name=node.name,
                    description=node.description,
                    interfaces=node.interfaces,
                    directives=(*(node.directives or ()), extra),
                    fields=node.fields,
                )
        definitions.append(node)
    link = f'extend schema @link(url: "{FEDERATION_LINK}", import: ["@key", "@shareable"])\n\n'
    return link + print_ast(DocumentNode(definitions=tuple(definitions))) + "\n"


def subgraph_sdl_of(subgraph: str) -> str:
    """What ``_service { sdl }`` answers for ``subgraph``."""
    result = build_subgraph_schema(subgraph).execute_sync("{ _service { sdl } }")
    assert result.data is not None and not result.errors, result.errors
    return str(result.data["_service"]["sdl"])
