"""The router's HTTP surface: GraphQL over HTTP on /graphql (POST JSON, GET for queries, batches when
enabled), /health; CORS, body-size limit and error masking as configured.

It follows the GraphQL over HTTP spec (and passes the `graphql-http` server audit, see
tests/router/test_graphql_http_audit.py):

- The response media type is negotiated from `accept`: application/graphql-response+json or
  application/json (also for `*/*`, `application/*` and a missing header); an `accept` that allows
  neither is refused with 406. Responses are UTF-8 and say so (`; charset=utf-8`).
- A request that is not a well-formed GraphQL-over-HTTP request (a body that is not JSON or not an
  object, no `query`, `query`/`operationName` not a string, `variables`/`extensions` not an object)
  gets 400 whatever the media type; a POST that is not `application/json` (or names a charset other
  than UTF-8) gets 415.
- A well-formed request whose operation never ran (parse, validation or variable errors, limits) gets
  200 under application/json and 400 under application/graphql-response+json.
- GET runs queries only: a mutation or subscription gets 405 with `allow: POST`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import orjson
from graphql import GraphQLError, OperationType, parse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from router.auth import Claims
from router.caller_token import CALLER
from router.config import LimitsConfig, ServerConfig
from router.gateway import GraphQLRequest, GraphQLResponse
from router.graphiql import GRAPHIQL_HTML
from router.planner import select_operation
from router.supergraph import Supergraph

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"

# Codes whose messages are meant for the client; anything else is masked outside dev.
CLIENT_FACING_CODES = frozenset({
    "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT", "BAD_REQUEST", "NOT_FOUND",
    "FORBIDDEN", "UNAUTHENTICATED", "UNAUTHORIZED_FIELD_OR_TYPE", "CONFLICT", "INVALID_STATE",
    "OPERATION_RESOLUTION_FAILURE", "PERSISTED_QUERY_NOT_FOUND", "INTROSPECTION_DISABLED", "RATE_LIMITED",
    "MAX_DEPTH_EXCEEDED", "MAX_ALIASES_EXCEEDED", "MAX_ROOT_FIELDS_EXCEEDED", "MAX_TOKENS_EXCEEDED",
    "MAX_DIRECTIVES_EXCEEDED", "BODY_TOO_LARGE", "COST_ESTIMATED_TOO_EXPENSIVE", "COST_QUERY_PARSE_FAILURE",
    "BATCHING_NOT_ENABLED", "AUTH_UNAVAILABLE",
})

# Called before a request is run; a Response refuses it (rate limits, for one).
Guard = Callable[[Request], Awaitable[Response | None]]


JSON_MEDIA_TYPE = "application/json"
UTF_8 = frozenset({"utf-8", "utf8"})


class Malformed(GraphQLResponse):
    """The answer to a request that is not a well-formed GraphQL-over-HTTP request: 400 under either
    media type (the operation was never looked at)."""


def _malformed(message: str, code: str = "BAD_REQUEST", **extensions: Any) -> Malformed:
    return Malformed(body={"errors": [{"message": message, "extensions": {"code": code, **extensions}}]},
                     request_error=True)


def _json(body: Any, status: int, media_type: str) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=f"{media_type}; charset=utf-8")


def _media_params(value: str) -> tuple[str, dict[str, str]]:
    """`type/subtype` (lower case) and the parameters (keys lower case) of a media type or range."""
    kind, *raw_params = value.split(";")
    params = {}
    for raw in raw_params:
        key, _, param = raw.partition("=")
        params[key.strip().lower()] = param.strip().strip('"')
    return kind.strip().lower(), params


def _acceptance(accept: str, ours: str) -> tuple[float, bool]:
    """The quality `accept` gives `ours` (from its most specific matching range; 0 when none matches or
    the range asks for a charset other than UTF-8) and whether it names `ours` outright."""
    quality, specificity = 0.0, -1
    for item in accept.split(","):
        kind, params = _media_params(item)
        charset = params.get("charset")
        if charset is not None and charset.lower() not in UTF_8:
            continue
        rank = 2 if kind == ours else 1 if kind == ours.split("/")[0] + "/*" else 0 if kind == "*/*" else -1
        if rank < 0 or rank < specificity:
            continue
        try:
            q = float(params.get("q", "1"))
        except ValueError:
            q = 1.0
        quality = q if rank > specificity else max(quality, q)
        specificity = rank
    return quality, specificity == 2


def _media_type(request: Request) -> str | None:
    """The response media type `accept` asks for, or None when it allows neither of ours.

    The better-liked one wins; on a tie application/graphql-response+json only when the client named
    it, so `*/*` (and a missing `accept`, as the spec says for legacy clients) means application/json.
    """
    accept = request.headers.get("accept", "").strip()
    if not accept:
        return JSON_MEDIA_TYPE
    strict, strict_named = _acceptance(accept, GRAPHQL_RESPONSE_JSON)
    legacy, _ = _acceptance(accept, JSON_MEDIA_TYPE)
    if strict <= 0 and legacy <= 0:
        return None
    if strict > legacy or (strict == legacy and strict_named):
        return GRAPHQL_RESPONSE_JSON
    return JSON_MEDIA_TYPE


def mask_errors(body: dict[str, Any], request_id: str) -> None:
    """Internal details (a subgraph's exception, a stack trace, a host name) become a generic message
    with the request id to find them in the logs; errors meant for the client stay."""
    for error in body.get("errors") or []:
        extensions = error.setdefault("extensions", {})
        if extensions.get("code") in CLIENT_FACING_CODES:
            continue
        error["message"] = f"Internal server error (request {request_id})"
        for key in list(extensions):
            if key not in ("code", "serviceName"):
                del extensions[key]
        extensions.setdefault("code", "INTERNAL_SERVER_ERROR")


def _json_object(raw: Any, name: str, *, encoded: bool) -> Mapping[str, Any] | Malformed | None:
    """`variables` or `extensions`: an object or null (in a GET, a URL-encoded JSON object; empty
    means absent)."""
    if encoded:
        if raw is None or raw == "":
            return None
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _malformed(f"{name} must be a JSON object")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        return _malformed(f"{name} must be a JSON object")
    return raw


def _graphql_request(
    query: Any, variables: Any, operation_name: Any, extensions: Any, *, encoded: bool
) -> GraphQLRequest | Malformed:
    if query is None or query == "":
        return _malformed("the request has no query")
    if not isinstance(query, str):
        return _malformed("query must be a string")
    if operation_name == "" and encoded:
        operation_name = None
    if operation_name is not None and not isinstance(operation_name, str):
        return _malformed("operationName must be a string")
    parsed_variables = _json_object(variables, "variables", encoded=encoded)
    if isinstance(parsed_variables, Malformed):
        return parsed_variables
    parsed_extensions = _json_object(extensions, "extensions", encoded=encoded)
    if isinstance(parsed_extensions, Malformed):
        return parsed_extensions
    return GraphQLRequest(query, parsed_variables, operation_name, parsed_extensions)


def _request_from_body(body: Any) -> GraphQLRequest | Malformed:
    if not isinstance(body, dict):
        return _malformed("each request must be a JSON object")
    return _graphql_request(body.get("query"), body.get("variables"), body.get("operationName"),
                            body.get("extensions"), encoded=False)


def _mutates(query: str, operation_name: str | None) -> bool:
    """Whether the operation `query` selects is a mutation or subscription (False when it cannot tell)."""
    try:
        operation = select_operation(parse(query), operation_name)
    except (GraphQLError, ValueError):
        return False
    return operation.operation is not OperationType.QUERY


def _content_type_refusal(content_type: str | None) -> str | None:
    """Why a POST body of this content type is refused (415), or None for JSON in UTF-8."""
    if not content_type:
        return "POST bodies must say their content type: application/json"
    kind, params = _media_params(content_type)
    if kind != JSON_MEDIA_TYPE:
        return "POST bodies must be application/json"
    charset = params.get("charset")
    if charset is not None and charset.lower() not in UTF_8:
        return f"POST bodies must be UTF-8, not {charset}"
    return None


class GraphQLService(Protocol):
    """What the HTTP layer needs of a gateway (a Gateway, or the holder that hot reload swaps)."""

    @property
    def supergraph(self) -> Supergraph: ...

    def prepare(
        self, query: str, operation_name: str | None, labels: frozenset[str] = frozenset()
    ) -> Any: ...

    async def run(self, request: GraphQLRequest, headers: Mapping[str, str]) -> GraphQLResponse: ...


def create_router_app(
    gateway: GraphQLService, server: ServerConfig | None = None, limits: LimitsConfig | None = None, *,
    guards: tuple[Guard, ...] = (), health_details: Callable[[], Mapping[str, Any]] | None = None,
) -> Starlette:
    server = server or ServerConfig()
    limits = limits or LimitsConfig()
    graphiql, expose_plans, masking = server.flag("graphiql"), server.flag("expose_plans"), server.flag("mask_errors")

    def respond(result: GraphQLResponse, media_type: str, request_id: str, headers: Mapping[str, str]) -> Response:
        body = finish(result, request_id, headers)
        if isinstance(result, Malformed):
            status = 400
        else:
            status = 400 if result.request_error and media_type == GRAPHQL_RESPONSE_JSON else 200
        return refuse(body, status, media_type, request_id)

    def refuse(body: Any, status: int, media_type: str, request_id: str) -> Response:
        response = _json(body, status, media_type)
        response.headers["x-request-id"] = request_id
        return response

    def finish(result: GraphQLResponse, request_id: str, headers: Mapping[str, str]) -> dict[str, Any]:
        body = result.body
        if expose_plans and result.plan is not None and headers.get("x-query-plan") == "1":
            body.setdefault("extensions", {})["queryPlan"] = result.plan.describe()
        if masking:
            mask_errors(body, request_id)
        return body

    async def graphql(request: Request) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        if (request.method == "GET" and graphiql and "query" not in request.query_params
                and "text/html" in request.headers.get("accept", "")):
            return HTMLResponse(GRAPHIQL_HTML)
        media_type = _media_type(request)
        if media_type is None:
            return refuse({"errors": [{"message": f"the response can be {GRAPHQL_RESPONSE_JSON} or {JSON_MEDIA_TYPE};"
                                                  " the accept header allows neither",
                                       "extensions": {"code": "NOT_ACCEPTABLE"}}]}, 406, JSON_MEDIA_TYPE, request_id)
        headers = {k.lower(): v for k, v in request.headers.items()}
        headers["x-request-id"] = request_id
        for guard in guards:
            refusal = await guard(request)
            if refusal is not None:
                return refusal
        claims = getattr(request.state, "claims", None)
        # What subgraph clients read to sign the caller token; set on every request, never inherited.
        CALLER.set(claims)
        if request.method == "GET":
            params = request.query_params
            graphql_request = _graphql_request(params.get("query"), params.get("variables"),
                                               params.get("operationName"), params.get("extensions"), encoded=True)
            if isinstance(graphql_request, Malformed):
                return respond(graphql_request, media_type, request_id, headers)
            if _get_mutates(graphql_request):
                response = refuse({"errors": [{"message": "only queries may be sent with GET; use POST",
                                               "extensions": {"code": "METHOD_NOT_ALLOWED"}}]},
                                  405, media_type, request_id)
                response.headers["allow"] = "POST"
                return response
            graphql_request.claims = claims
            return respond(await gateway.run(graphql_request, headers), media_type, request_id, headers)
        refused_type = _content_type_refusal(request.headers.get("content-type"))
        if refused_type is not None:
            return refuse({"errors": [{"message": refused_type, "extensions": {"code": "UNSUPPORTED_MEDIA_TYPE"}}]},
                          415, media_type, request_id)
        raw = await _read_body(request, limits.max_body_bytes)
        if raw is None:
            return refuse({"errors": [{"message": f"the body is larger than {limits.max_body_bytes} bytes",
                                       "extensions": {"code": "BODY_TOO_LARGE", "limit": limits.max_body_bytes}}]},
                          413, media_type, request_id)
        if not raw.strip():
            return respond(_malformed("the body is empty"), media_type, request_id, headers)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return respond(_malformed("the body is not valid JSON (in UTF-8)"), media_type, request_id, headers)
        if isinstance(body, list):
            return await batch(body, media_type, request_id, headers, claims)
        parsed = _request_from_body(body)
        if isinstance(parsed, Malformed):
            return respond(parsed, media_type, request_id, headers)
        parsed.claims = claims
        return respond(await gateway.run(parsed, headers), media_type, request_id, headers)

    def _get_mutates(graphql_request: GraphQLRequest) -> bool:
        """Whether a GET asks for a mutation or subscription (405), even one the schema cannot run."""
        query = graphql_request.query or ""
        prepared = gateway.prepare(query, graphql_request.operation_name)
        if not isinstance(prepared, GraphQLResponse):
            return prepared.plan.kind != "query"
        codes = {(error.get("extensions") or {}).get("code") for error in prepared.body.get("errors") or []}
        # Only a document that parsed within the limits is parsed again, to read its operation type.
        if codes & {"GRAPHQL_VALIDATION_FAILED", "OPERATION_RESOLUTION_FAILURE", "QUERY_PLANNING_FAILED"}:
            return _mutates(query, graphql_request.operation_name)
        return False

    async def batch(items: list[Any], media_type: str, request_id: str, headers: dict[str, str],
                    claims: Claims | None) -> Response:
        if server.max_batch <= 0 or not items or len(items) > server.max_batch:
            reason = ("batched requests are not enabled" if server.max_batch <= 0
                      else f"a batch holds 1 to {server.max_batch} requests, not {len(items)}")
            return respond(_malformed(reason, "BATCHING_NOT_ENABLED", limit=server.max_batch),
                           media_type, request_id, headers)
        bodies = []
        for item in items:
            graphql_request = _request_from_body(item)
            if not isinstance(graphql_request, GraphQLResponse):
                graphql_request.claims = claims
            result = graphql_request if isinstance(graphql_request, GraphQLResponse) else await gateway.run(
                graphql_request, headers)
            bodies.append(finish(result, request_id, headers))
        return refuse(bodies, 200, media_type, request_id)

    async def health(_request: Request) -> Response:
        details = dict(health_details()) if health_details else {}
        return JSONResponse({"status": "ok", "subgraphs": sorted(gateway.supergraph.graph_by_name), **details})

    middleware = []
    if server.cors_origins:
        middleware.append(Middleware(
            CORSMiddleware, allow_origins=list(server.cors_origins), allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["content-type", "authorization", "x-request-id", "traceparent", "apollographql-client-name"],
            expose_headers=["x-request-id", "retry-after"], max_age=600,
        ))
    return Starlette(routes=[
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/health", health),
    ], middleware=middleware)


async def _read_body(request: Request, limit: int | None) -> bytes | None:
    """The request body, or None once it grows past `limit` (read no further than that)."""
    declared = request.headers.get("content-length")
    if limit is not None and declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
