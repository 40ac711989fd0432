"""The router's HTTP surface: GraphQL over HTTP on /graphql (POST JSON, GET for queries, batches when
enabled), /health; CORS, body-size limit and error masking as configured."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from router.config import LimitsConfig, ServerConfig
from router.gateway import Gateway, GraphQLRequest, GraphQLResponse, error_response
from router.graphiql import GRAPHIQL_HTML

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"

# Codes whose messages are meant for the client; anything else is masked outside dev.
CLIENT_FACING_CODES = frozenset({
    "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT", "BAD_REQUEST", "NOT_FOUND",
    "FORBIDDEN", "UNAUTHENTICATED", "UNAUTHORIZED_FIELD_OR_TYPE", "CONFLICT", "INVALID_STATE",
    "OPERATION_RESOLUTION_FAILURE", "PERSISTED_QUERY_NOT_FOUND", "INTROSPECTION_DISABLED", "RATE_LIMITED",
    "MAX_DEPTH_EXCEEDED", "MAX_ALIASES_EXCEEDED", "MAX_ROOT_FIELDS_EXCEEDED", "MAX_TOKENS_EXCEEDED",
    "MAX_DIRECTIVES_EXCEEDED", "BODY_TOO_LARGE", "COST_ESTIMATED_TOO_EXPENSIVE", "COST_QUERY_PARSE_FAILURE",
    "BATCHING_NOT_ENABLED",
})

# Called before a request is run; a Response refuses it (rate limits, for one).
Guard = Callable[[Request], Awaitable[Response | None]]


def _json(body: Any, status: int, media_type: str) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=media_type)


def _media_type(request: Request) -> str:
    accept = request.headers.get("accept", "")
    if GRAPHQL_RESPONSE_JSON in accept:
        return GRAPHQL_RESPONSE_JSON
    return "application/json"


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


def _parse_variables(raw: Any) -> Mapping[str, Any] | GraphQLResponse | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return error_response("variables must be a JSON object", "BAD_REQUEST")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        return error_response("variables must be a JSON object", "BAD_REQUEST")
    return raw


def _request_from_body(body: Any) -> GraphQLRequest | GraphQLResponse:
    if not isinstance(body, dict):
        return error_response("each request must be a JSON object", "BAD_REQUEST")
    query = body.get("query")
    if query is not None and not isinstance(query, str):
        return error_response("query must be a string", "BAD_REQUEST")
    variables = _parse_variables(body.get("variables"))
    if isinstance(variables, GraphQLResponse):
        return variables
    operation_name = body.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        return error_response("operationName must be a string", "BAD_REQUEST")
    extensions = body.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        return error_response("extensions must be a JSON object", "BAD_REQUEST")
    return GraphQLRequest(query, variables, operation_name, extensions)


def create_router_app(
    gateway: Gateway, server: ServerConfig | None = None, limits: LimitsConfig | None = None, *,
    guards: tuple[Guard, ...] = (), health_details: Callable[[], Mapping[str, Any]] | None = None,
) -> Starlette:
    server = server or ServerConfig()
    limits = limits or LimitsConfig()
    graphiql, expose_plans, masking = server.flag("graphiql"), server.flag("expose_plans"), server.flag("mask_errors")

    def respond(result: GraphQLResponse, media_type: str, request_id: str, headers: Mapping[str, str]) -> Response:
        body = finish(result, request_id, headers)
        status = 400 if result.request_error and media_type == GRAPHQL_RESPONSE_JSON else 200
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
        media_type = _media_type(request)
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        headers = {k.lower(): v for k, v in request.headers.items()}
        headers["x-request-id"] = request_id
        for guard in guards:
            refusal = await guard(request)
            if refusal is not None:
                return refusal
        if request.method == "GET":
            params = request.query_params
            if "query" not in params:
                if graphiql and "text/html" in request.headers.get("accept", ""):
                    return HTMLResponse(GRAPHIQL_HTML)
                return respond(error_response("GET /graphql needs a query parameter", "BAD_REQUEST"),
                               media_type, request_id, headers)
            variables = _parse_variables(params.get("variables"))
            if isinstance(variables, GraphQLResponse):
                return respond(variables, media_type, request_id, headers)
            graphql_request = GraphQLRequest(params.get("query"), variables, params.get("operationName"))
            prepared = gateway.prepare(graphql_request.query or "", graphql_request.operation_name)
            if not isinstance(prepared, GraphQLResponse) and prepared.plan.kind != "query":
                response = _json(
                    {"errors": [{"message": "only queries may be sent with GET; use POST",
                                 "extensions": {"code": "METHOD_NOT_ALLOWED"}}]},
                    405, media_type,
                )
                response.headers["allow"] = "POST"
                return response
            return respond(await gateway.run(graphql_request, headers), media_type, request_id, headers)
        content_type = request.headers.get("content-type", "")
        if "application/json" not in content_type:
            return _json({"errors": [{"message": "POST bodies must be application/json",
                                      "extensions": {"code": "UNSUPPORTED_MEDIA_TYPE"}}]}, 415, media_type)
        raw = await _read_body(request, limits.max_body_bytes)
        if raw is None:
            return _json({"errors": [{"message": f"the body is larger than {limits.max_body_bytes} bytes",
                                      "extensions": {"code": "BODY_TOO_LARGE", "limit": limits.max_body_bytes}}]},
                         413, media_type)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return respond(error_response("the body is not valid JSON", "BAD_REQUEST"), media_type, request_id, headers)
        if isinstance(body, list):
            return await batch(body, media_type, request_id, headers)
        parsed = _request_from_body(body)
        if isinstance(parsed, GraphQLResponse):
            return respond(parsed, media_type, request_id, headers)
        return respond(await gateway.run(parsed, headers), media_type, request_id, headers)

    async def batch(items: list[Any], media_type: str, request_id: str, headers: dict[str, str]) -> Response:
        if server.max_batch <= 0 or not items or len(items) > server.max_batch:
            reason = ("batched requests are not enabled" if server.max_batch <= 0
                      else f"a batch holds 1 to {server.max_batch} requests, not {len(items)}")
            return respond(error_response(reason, "BATCHING_NOT_ENABLED", limit=server.max_batch),
                           media_type, request_id, headers)
        bodies = []
        for item in items:
            graphql_request = _request_from_body(item)
            result = graphql_request if isinstance(graphql_request, GraphQLResponse) else await gateway.run(
                graphql_request, headers)
            bodies.append(finish(result, request_id, headers))
        response = _json(bodies, 200, media_type)
        response.headers["x-request-id"] = request_id
        return response

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
