"""The router's HTTP surface: GraphQL over HTTP on /graphql (POST JSON, GET for queries), /health."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from router.gateway import Gateway, GraphQLRequest, GraphQLResponse, error_response
from router.graphiql import GRAPHIQL_HTML

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


def _json(body: Any, status: int, media_type: str) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=media_type)


def _media_type(request: Request) -> str:
    accept = request.headers.get("accept", "")
    if GRAPHQL_RESPONSE_JSON in accept:
        return GRAPHQL_RESPONSE_JSON
    return "application/json"


def _respond(result: GraphQLResponse, media_type: str, request_id: str) -> Response:
    status = 400 if result.request_error and media_type == GRAPHQL_RESPONSE_JSON else 200
    response = _json(result.body, status, media_type)
    response.headers["x-request-id"] = request_id
    return response


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


def create_router_app(gateway: Gateway, *, graphiql: bool = True, expose_plans: bool = True) -> Starlette:
    """`graphiql` and `expose_plans` are development aids: the GraphiQL page, and the query plan in
    `extensions.queryPlan` for requests sending the header `x-query-plan: 1`."""

    async def graphql(request: Request) -> Response:
        media_type = _media_type(request)
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        headers = {k.lower(): v for k, v in request.headers.items()}
        headers["x-request-id"] = request_id
        if request.method == "GET":
            params = request.query_params
            if "query" not in params:
                if graphiql and "text/html" in request.headers.get("accept", ""):
                    return HTMLResponse(GRAPHIQL_HTML)
                return _respond(error_response("GET /graphql needs a query parameter", "BAD_REQUEST"),
                                media_type, request_id)
            variables = _parse_variables(params.get("variables"))
            if isinstance(variables, GraphQLResponse):
                return _respond(variables, media_type, request_id)
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
        else:
            content_type = request.headers.get("content-type", "")
            if "application/json" not in content_type:
                return _json({"errors": [{"message": "POST bodies must be application/json",
                                          "extensions": {"code": "UNSUPPORTED_MEDIA_TYPE"}}]}, 415, media_type)
            try:
                body = orjson.loads(await request.body())
            except orjson.JSONDecodeError:
                return _respond(error_response("the body is not valid JSON", "BAD_REQUEST"), media_type, request_id)
            if not isinstance(body, dict):
                return _respond(error_response("the body must be a JSON object", "BAD_REQUEST"),
                                media_type, request_id)
            query = body.get("query")
            if query is not None and not isinstance(query, str):
                return _respond(error_response("query must be a string", "BAD_REQUEST"), media_type, request_id)
            variables = _parse_variables(body.get("variables"))
            if isinstance(variables, GraphQLResponse):
                return _respond(variables, media_type, request_id)
            operation_name = body.get("operationName")
            graphql_request = GraphQLRequest(query, variables, operation_name if isinstance(operation_name, str)
                                             else None, body.get("extensions"))
        result = await gateway.run(graphql_request, headers)
        if expose_plans and result.plan is not None and headers.get("x-query-plan") == "1":
            result.body.setdefault("extensions", {})["queryPlan"] = result.plan.describe()
        return _respond(result, media_type, request_id)

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok", "subgraphs": sorted(gateway.supergraph.graph_by_name)})

    return Starlette(routes=[
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/health", health),
    ])
