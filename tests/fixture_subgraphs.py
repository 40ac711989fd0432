"""Fixture subgraphs: a Federation v2 subgraph from its SDL plus plain-Python resolvers, served over HTTP.

Built on graphql-core directly (not strawberry) so a fixture states its federation directives exactly as
written: @interfaceObject, @provides on abstract fields, @override(label:), composite and nested keys.

    products = FixtureSubgraph(
        "products",
        FED + 'type Query { products: [Product!]! } type Product @key(fields: "id") { id: ID! name: String! }',
        resolvers={"Query": {"products": lambda _parent, _info: PRODUCTS}},
        references={"Product": lambda rep: BY_ID.get(rep["id"])},
    )
    with serve_fixture([products, reviews]) as urls:   # {"products": "http://127.0.0.1:PORT/graphql", ...}
        ...

Objects are plain dicts; a field without a resolver reads the dict key of its name. A resolver is
`fn(parent, info, **arguments)` (graphql-core's convention; `parent` is None on root fields). A reference
resolver is `fn(representation) -> dict | None`; its answer is laid over the representation (so key and
@requires'd fields are there for field resolvers) and `__typename` defaults to the representation's. An
entity interface (`interface X @key`) must answer with the concrete `__typename`.

The operations fixture cases run through a router are `Operation`s: the expected data is worked out by
hand from the fixture data and is the oracle; `max_subgraph_calls` is what a good plan needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import uvicorn
from graphql import (
    DirectiveDefinitionNode,
    DocumentNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    ListValueNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ObjectValueNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    StringValueNode,
    TypeDefinitionNode,
    build_ast_schema,
    graphql,
    parse,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

JSON = dict[str, Any]
Resolver = Callable[..., Any]
ReferenceResolver = Callable[[JSON], Any]

FEDERATION_URL = "https://specs.apollo.dev/federation/"
FED2_HEADER = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: [{imports}])\n'

# Federation v2.7 definitions; {FieldSet} and friends are replaced by the names the schema uses.
_DIRECTIVES = {
    "key": "(fields: {FieldSet}!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE",
    "requires": "(fields: {FieldSet}!) on FIELD_DEFINITION",
    "provides": "(fields: {FieldSet}!) on FIELD_DEFINITION",
    "external": "(reason: String) on OBJECT | FIELD_DEFINITION",
    "shareable": " repeatable on OBJECT | FIELD_DEFINITION",
    "extends": " on OBJECT | INTERFACE",
    "override": "(from: String!, label: String) on FIELD_DEFINITION",
    "inaccessible": " on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM "
                    "| ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION",
    "tag": "(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION "
           "| SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION",
    "interfaceObject": " on OBJECT",
    "composeDirective": "(name: String!) repeatable on SCHEMA",
    "authenticated": " on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    "requiresScopes": "(scopes: [[{Scope}!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    "policy": "(policies: [[{Policy}!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    "context": "(name: String!) repeatable on INTERFACE | OBJECT | UNION",
    "fromContext": "(field: {ContextFieldValue}) on ARGUMENT_DEFINITION",
    "cost": "(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT "
            "| SCALAR",
    "listSize": "(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], "
                "requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION",
}
_SCALARS = ("FieldSet", "Scope", "Policy", "ContextFieldValue")


def fed2(*imports: str) -> str:
    """The `extend schema @link(...)` line of a Federation v2.7 subgraph importing `imports`."""
    return FED2_HEADER.format(imports=", ".join(f'"{name}"' for name in imports))


@dataclass(frozen=True)
class Operation:
    """One client operation of a fixture case and what a correct router answers.

    expected_data: the `data` of the response, worked out by hand from the fixture data.
    max_subgraph_calls: the number of subgraph requests a good plan needs (the router may use fewer).
    expect_errors: whether the response carries `errors`; error_paths: response paths that must be among
    the errors' paths. down: subgraphs failing during this operation, name -> "503" or "close".
    delays: artificial latency per subgraph, in seconds.
    """

    name: str
    query: str
    variables: Mapping[str, Any] | None
    expected_data: JSON | None
    max_subgraph_calls: int
    expect_errors: bool = False
    error_paths: tuple[tuple[str | int, ...], ...] = ()
    down: Mapping[str, str] = field(default_factory=dict)
    delays: Mapping[str, float] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class EntityExample:
    """A representation `_entities` must resolve, the selection asked on it and the expected answer
    (`__typename` defaults to the representation's)."""

    representation: JSON
    selection: str
    expected: JSON


class FixtureError(Exception):
    """The fixture itself is wrong (bad SDL, missing reference resolver); never a router problem."""


@dataclass
class _FederationNames:
    directives: dict[str, str]  # spec name -> name in this schema
    scalars: dict[str, str]
    link_defined: bool


def _import_list(link: Any) -> list[tuple[str, str]]:
    imports: list[tuple[str, str]] = []
    for argument in link.arguments or []:
        if argument.name.value != "import" or not isinstance(argument.value, ListValueNode):
            continue
        for item in argument.value.values:
            if isinstance(item, StringValueNode):
                imports.append((item.value, item.value))
            elif isinstance(item, ObjectValueNode):
                fields = {f.name.value: getattr(f.value, "value", None) for f in item.fields}
                name = str(fields.get("name"))
                imports.append((name, str(fields.get("as") or name)))
    return imports


def _federation_names(document: DocumentNode) -> _FederationNames:
    prefix = "federation"
    imported: dict[str, str] = {}
    for definition in document.definitions:
        if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            continue
        for directive in definition.directives or []:
            if directive.name.value != "link":
                continue
            arguments = {a.name.value: a.value for a in directive.arguments or []}
            url = arguments.get("url")
            if not isinstance(url, StringValueNode) or not url.value.startswith(FEDERATION_URL):
                continue
            alias = arguments.get("as")
            if isinstance(alias, StringValueNode):
                prefix = alias.value
            for name, local in _import_list(directive):
                imported[name.lstrip("@")] = local.lstrip("@")
    directives = {name: imported.get(name, f"{prefix}__{name}") for name in _DIRECTIVES}
    scalars = {name: imported.get(name, f"{prefix}__{name}") for name in _SCALARS}
    link_defined = any(isinstance(d, DirectiveDefinitionNode) and d.name.value == "link"
                       for d in document.definitions)
    return _FederationNames(directives, scalars, link_defined)


def _has_directive(node: Any, name: str) -> bool:
    return any(d.name.value == name for d in getattr(node, "directives", None) or [])


def _resolvable_keys(node: Any, key_name: str) -> bool:
    for directive in getattr(node, "directives", None) or []:
        if directive.name.value != key_name:
            continue
        resolvable = next((a.value for a in directive.arguments or [] if a.name.value == "resolvable"), None)
        if getattr(resolvable, "value", True) is not False:
            return True
    return False


def build_subgraph_schema(sdl: str) -> tuple[GraphQLSchema, list[str]]:
    """The executable schema of a Federation v2 subgraph SDL (federation definitions added) and the
    names of its entity types (the members of `_Entity`)."""
    try:
        document = parse(sdl)
    except GraphQLError as exc:
        raise FixtureError(f"the SDL does not parse: {exc.message}") from exc
    names = _federation_names(document)
    defined = {d.name.value for d in document.definitions if isinstance(d, TypeDefinitionNode)}
    defined_directives = {d.name.value for d in document.definitions if isinstance(d, DirectiveDefinitionNode)}
    key = names.directives["key"]
    entities: list[str] = []
    has_query = False
    for definition in document.definitions:
        if isinstance(definition, ObjectTypeDefinitionNode | ObjectTypeExtensionNode):
            name = definition.name.value
            has_query = has_query or name == "Query"
            if _resolvable_keys(definition, key) and name not in entities:
                entities.append(name)
    extra: list[str] = ["scalar _Any"]
    substitutions = dict(names.scalars)
    for scalar in names.scalars.values():
        if scalar not in defined:
            extra.append(f"scalar {scalar}")
    if not names.link_defined:
        extra += [
            "scalar link__Import" if "link__Import" not in defined else "",
            "enum link__Purpose { SECURITY EXECUTION }" if "link__Purpose" not in defined else "",
            "directive @link(url: String!, as: String, for: link__Purpose, import: [link__Import]) "
            "repeatable on SCHEMA",
        ]
    for spec_name, signature in _DIRECTIVES.items():
        local = names.directives[spec_name]
        if local not in defined_directives:
            extra.append(f"directive @{local}{signature.format(**substitutions)}")
    extra.append("type _Service { sdl: String! }")
    root_fields = ["_service: _Service!"]
    if entities:
        extra.append("union _Entity = " + " | ".join(entities))
        root_fields.insert(0, "_entities(representations: [_Any!]!): [_Entity]!")
    query = "extend type Query" if has_query else "type Query"
    extra.append(f"{query} {{ {' '.join(root_fields)} }}")
    try:
        schema = build_ast_schema(parse(sdl + "\n" + "\n".join(e for e in extra if e)))
    except (GraphQLError, TypeError) as exc:
        raise FixtureError(f"the SDL does not build into a schema: {exc}") from exc
    return schema, entities


def _typename_of(value: Any, _info: Any, abstract: Any) -> str | None:
    if isinstance(value, Mapping) and isinstance(value.get("__typename"), str):
        return str(value["__typename"])
    raise FixtureError(f"an object returned for {abstract.name} has no __typename: {value!r}")


class FixtureSubgraph:
    """One subgraph: SDL, resolvers by type and field, reference resolvers by entity type.

    `requests` records every operation received (query, variables, operationName), also while down;
    `events` is a free list for resolvers (reach the subgraph as `info.context["subgraph"]`); `delay`
    (seconds) and `down` (None, "503" or "close") may be changed while it is served.
    """

    def __init__(
        self,
        name: str,
        sdl: str,
        resolvers: Mapping[str, Mapping[str, Resolver]] | None = None,
        references: Mapping[str, ReferenceResolver] | None = None,
        *,
        entity_examples: Sequence[EntityExample] = (),
        delay: float = 0.0,
        down: str | None = None,
    ) -> None:
        self.name = name
        self.sdl = sdl
        self.resolvers = {t: dict(fields) for t, fields in (resolvers or {}).items()}
        self.references = dict(references or {})
        self.entity_examples = list(entity_examples)
        self.delay = delay
        self.down = down
        self.requests: list[JSON] = []
        self.events: list[Any] = []
        self._lock = threading.Lock()
        self.schema, self.entity_types = build_subgraph_schema(sdl)
        self._attach()

    def __repr__(self) -> str:
        return f"FixtureSubgraph({self.name!r})"

    # schema ----------------------------------------------------------------------------------------

    def _attach(self) -> None:
        for type_name, fields in self.resolvers.items():
            graphql_type = self.schema.type_map.get(type_name)
            if not isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
                raise FixtureError(f"[{self.name}] resolvers name {type_name}, not an object type of the SDL")
            for field_name, resolver in fields.items():
                if field_name not in graphql_type.fields:
                    raise FixtureError(f"[{self.name}] resolvers name {type_name}.{field_name}, not in the SDL")
                graphql_type.fields[field_name].resolve = resolver
        for type_name in self.references:
            if type_name not in self.schema.type_map:
                raise FixtureError(f"[{self.name}] a reference resolver names {type_name}, not in the SDL")
        for graphql_type in self.schema.type_map.values():
            if isinstance(graphql_type, GraphQLInterfaceType | GraphQLUnionType):
                graphql_type.resolve_type = _typename_of
        query = self.schema.query_type
        assert query is not None
        query.fields["_service"].resolve = lambda _parent, _info: {"sdl": self.sdl}
        if "_entities" in query.fields:
            query.fields["_entities"].resolve = self._resolve_entities

    def _resolve_entities(self, _parent: Any, _info: Any, representations: list[Any]) -> list[Any]:
        answers: list[Any] = []
        for representation in representations:
            try:
                answers.append(self._resolve_reference(representation))
            except Exception as exc:
                answers.append(exc)  # graphql-core reports it at ["_entities", i] and nulls that entity
        return answers

    def _resolve_reference(self, representation: Any) -> JSON | None:
        if not isinstance(representation, dict) or not isinstance(representation.get("__typename"), str):
            raise GraphQLError(f"a representation must be an object with a __typename: {representation!r}")
        typename = representation["__typename"]
        graphql_type = self.schema.type_map.get(typename)
        entity_interface = isinstance(graphql_type, GraphQLInterfaceType)
        if typename not in self.entity_types and not entity_interface:
            raise GraphQLError(f"{self.name} does not resolve entities of type {typename}")
        resolver = self.references.get(typename)
        found = resolver(representation) if resolver is not None else {}
        if found is None:
            return None
        if not isinstance(found, Mapping):
            raise FixtureError(f"[{self.name}] the reference resolver of {typename} returned {found!r}")
        entity = {**representation, **found}
        if entity_interface and entity.get("__typename") == typename:
            raise FixtureError(f"[{self.name}] the reference resolver of entity interface {typename} must "
                               "answer with the concrete __typename")
        return entity

    # execution -------------------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.events.clear()

    async def execute(self, query: str, variables: Mapping[str, Any] | None = None,
                      operation_name: str | None = None) -> JSON:
        """Run an operation in-process (no recording, no delay, no failure switch)."""
        result = await graphql(self.schema, query, variable_values=dict(variables or {}),
                               operation_name=operation_name, context_value={"subgraph": self})
        body: JSON = {}
        if result.errors:
            body["errors"] = [error.formatted for error in result.errors]
        body["data"] = result.data
        return body

    def app(self) -> Starlette:
        async def endpoint(request: Request) -> Response:
            try:
                payload = orjson.loads(await request.body())
            except orjson.JSONDecodeError:
                return JSONResponse({"errors": [{"message": "the body is not JSON"}]}, status_code=400)
            if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
                return JSONResponse({"errors": [{"message": "the body needs a query"}]}, status_code=400)
            with self._lock:
                self.requests.append({
                    "query": payload["query"],
                    "variables": payload.get("variables"),
                    "operationName": payload.get("operationName"),
                })
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.down == "close":
                return _ClosingResponse()
            if self.down is not None:
                return JSONResponse({"errors": [{"message": f"{self.name} is down"}]}, status_code=503)
            try:
                body = await self.execute(payload["query"], payload.get("variables"), payload.get("operationName"))
            except Exception:
                return JSONResponse({"errors": [{"message": f"fixture {self.name} crashed",
                                                 "extensions": {"trace": traceback.format_exc()}}]},
                                    status_code=500)
            return Response(orjson.dumps(body), media_type="application/json")

        async def health(_request: Request) -> Response:
            return JSONResponse({"status": "ok", "subgraph": self.name})

        return Starlette(routes=[Route("/graphql", endpoint, methods=["POST"]), Route("/health", health)])


class _ClosingResponse(Response):
    """Starts a response and drops the connection before its body: a subgraph dying mid-request."""

    def __init__(self) -> None:
        super().__init__(b"", status_code=200)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")]})
        # Returning without the body makes uvicorn close the connection (the client sees it cut short).


@contextlib.contextmanager
def serve_fixture(
    subgraphs: Sequence[FixtureSubgraph], *, host: str = "127.0.0.1", startup_timeout: float = 10.0
) -> Iterator[dict[str, str]]:
    """Serve every subgraph on its own free loopback port, all from one background thread running one
    event loop; yields name -> URL of its /graphql endpoint once each answers; stops them at exit."""
    names = [s.name for s in subgraphs]
    if len(set(names)) != len(names):
        raise FixtureError(f"subgraph names must be unique: {names}")
    sockets: list[socket.socket] = []
    servers: list[uvicorn.Server] = []
    for subgraph in subgraphs:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        sockets.append(sock)
        config = uvicorn.Config(subgraph.app(), lifespan="off", log_level="critical", access_log=False,
                                timeout_graceful_shutdown=1)
        servers.append(uvicorn.Server(config))
    failure: list[BaseException] = []

    def run() -> None:
        async def main() -> None:
            await asyncio.gather(*(server.serve(sockets=[sock]) for server, sock in zip(servers, sockets,
                                                                                         strict=True)))
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, name="fixture-subgraphs", daemon=True)
    thread.start()
    urls = {s.name: f"http://{host}:{sock.getsockname()[1]}/graphql" for s, sock in zip(subgraphs, sockets,
                                                                                         strict=True)}
    try:
        deadline = time.monotonic() + startup_timeout
        while not all(server.started for server in servers):
            if failure or not thread.is_alive():
                raise FixtureError(f"the fixture subgraphs did not start: {failure!r}")
            if time.monotonic() > deadline:
                raise FixtureError("the fixture subgraphs did not start in time")
            time.sleep(0.01)
        with httpx.Client(timeout=5.0) as client:
            for name, url in urls.items():
                response = client.get(url.removesuffix("/graphql") + "/health")
                if response.status_code != 200:
                    raise FixtureError(f"fixture subgraph {name} answers HTTP {response.status_code}")
        yield urls
    finally:
        for server in servers:
            server.should_exit = True
        thread.join(timeout=10.0)
        for sock in sockets:
            sock.close()


def entity_query(typename: str, selection: str) -> str:
    """The `_entities` query a router sends for `selection` on `typename`."""
    return (f"query($representations: [_Any!]!) {{ _entities(representations: $representations) "
            f"{{ __typename ... on {typename} {{ {selection} }} }} }}")


def index(rows: Sequence[JSON], *keys: str) -> dict[Any, JSON]:
    """Rows by one key field, or by a tuple of key fields."""
    if len(keys) == 1:
        return {row[keys[0]]: row for row in rows}
    return {tuple(row[k] for k in keys): row for row in rows}


__all__ = [
    "EntityExample",
    "FixtureError",
    "FixtureSubgraph",
    "Operation",
    "build_subgraph_schema",
    "entity_query",
    "fed2",
    "index",
    "serve_fixture",
]
