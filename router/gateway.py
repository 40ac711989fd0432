"""One GraphQL request through the router: parse, validate against the API schema, plan (cached),
execute over the subgraphs, shape the response."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from random import Random
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    execute,
    parse,
    print_ast,
    validate,
)
from graphql.execution.values import VariableValues, get_variable_values

from router.auth import Claims
from router.authorization import AccessContext, AccessModel, GuardedSites, Policy, decide, filter_operation, find_sites
from router.cost import CostEstimationError, CostModel, check_cost, estimate
from router.executor import ExecutionResult, Executor, SubgraphClient
from router.limits import OperationLimits, check_shape, measure, tokens_exceed
from router.plan import PlanningError, QueryPlan
from router.planner import QueryPlanner, select_operation
from router.response import ResponseShaper
from router.supergraph import Supergraph

JSON = dict[str, Any]


@dataclass
class GraphQLRequest:
    query: str | None
    variables: Mapping[str, Any] | None = None
    operation_name: str | None = None
    extensions: Mapping[str, Any] | None = None
    # the verified bearer token's claims (set by the HTTP layer's auth guard); None: no token
    claims: Claims | None = None


@dataclass
class GraphQLResponse:
    body: JSON
    # "request" errors (the operation never ran) map to HTTP 400 under application/graphql-response+json.
    request_error: bool = False
    operation_kind: str | None = None
    fetches: int = 0
    plan: QueryPlan | None = field(default=None, repr=False)


def error_response(message: str, code: str, **extensions: Any) -> GraphQLResponse:
    return GraphQLResponse(
        body={"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}, request_error=True
    )


@dataclass
class _Prepared:
    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    plan: QueryPlan
    sites: GuardedSites | None = None  # elements guarded by authorization directives
    # plans of the operation with unauthorized parts removed, by (denied elements, override labels)
    filtered_plans: dict[tuple[frozenset[int], frozenset[str]], QueryPlan | None] = field(default_factory=dict)


@dataclass(frozen=True)
class _Authorized:
    plan: QueryPlan | None  # None: nothing left to fetch
    errors: list[JSON]
    nulled: frozenset[int]


@dataclass(frozen=True)
class Authorization:
    """How the router enforces the supergraph's authorization directives: the named policies, and
    whether an operation touching anything unauthorized is refused whole (`reject`) or runs without it."""

    policies: Mapping[str, Policy] = field(default_factory=dict)
    reject: bool = False
    enabled: bool = True


MAX_FILTERED_PLANS = 16
PERCENT_LABEL = re.compile(r"^percent\((\d+(?:\.\d+)?)\)$")


class Gateway:
    def __init__(
        self, supergraph: Supergraph, client: SubgraphClient, *, plan_cache_size: int = 1000,
        labels: frozenset[str] = frozenset(), random: Random | None = None, introspection: bool = True,
        limits: OperationLimits | None = None, max_cost: int | None = None,
        authorization: Authorization | None = None,
    ) -> None:
        self.introspection = introspection
        # Checked before any subgraph is called: the text's size before parsing, the operation's shape
        # before validation (linear, and it shields validation from alias and fragment bombs), its
        # estimated cost once the variables are known.
        self.limits = limits or OperationLimits()
        self.max_cost = max_cost
        self.cost_model = CostModel.from_supergraph(supergraph) if max_cost is not None else None
        self.supergraph = supergraph
        self.authorization = authorization or Authorization()
        self.access_model = AccessModel.from_supergraph(supergraph.document) if self.authorization.enabled \
            else AccessModel({}, {})
        self.planner = QueryPlanner(supergraph)
        self.executor = Executor(client)
        # Bounded LRU caches: by the text as sent (no parsing on a hit), and by the normalised document.
        self._cache: OrderedDict[tuple[str, str | None, frozenset[str]], _Prepared] = OrderedDict()
        self._normalised: OrderedDict[tuple[str, str | None, frozenset[str]], _Prepared] = OrderedDict()
        self._cache_size = plan_cache_size
        # Labels switched on by configuration; percent(N) labels are drawn per request.
        self.labels = labels
        self._random = random or Random()
        self._percent_labels = {
            label: float(match.group(1)) for label in supergraph.override_labels
            if (match := PERCENT_LABEL.match(label))
        }

    def draw_labels(self) -> frozenset[str]:
        """The progressive-override labels on for one request."""
        drawn = {label for label, percent in self._percent_labels.items() if self._random.random() * 100 < percent}
        return self.labels | drawn

    def prepare(
        self, query: str, operation_name: str | None, labels: frozenset[str] = frozenset()
    ) -> _Prepared | GraphQLResponse:
        # Only labels that occur in the supergraph change plans; the cache key holds just those.
        labels = labels & self.supergraph.override_labels
        cache_key = (query, operation_name, labels)
        cached = self._cache.get(cache_key)
        if cached is not None:
            self._cache.move_to_end(cache_key)
            return cached
        too_long = tokens_exceed(query, self.limits)
        if too_long is not None:
            return GraphQLResponse(body={"errors": [too_long.formatted]}, request_error=True)
        try:
            document = parse(query)
        except GraphQLError as exc:
            return GraphQLResponse(body={"errors": [_graphql_error(exc, "GRAPHQL_PARSE_FAILED")]}, request_error=True)
        try:
            shape = measure(document, select_operation(document, operation_name))
        except ValueError:
            shape = None  # no such operation: validation and operation selection below say so
        if shape is not None and (refused := check_shape(shape, self.limits)):
            return GraphQLResponse(body={"errors": [e.formatted for e in refused]}, request_error=True)
        errors = validate(self.supergraph.api_schema, document)
        if errors:
            return GraphQLResponse(
                body={"errors": [_graphql_error(e, "GRAPHQL_VALIDATION_FAILED") for e in errors]}, request_error=True
            )
        try:
            operation = select_operation(document, operation_name)
        except ValueError as exc:
            return error_response(str(exc), "OPERATION_RESOLUTION_FAILURE")
        # The same operation written differently (spacing, comments) shares one plan.
        normalised_key = (print_ast(document), operation_name, labels)
        prepared = self._normalised.get(normalised_key)
        if prepared is None:
            try:
                plan = self.planner.plan(document, operation_name, labels)
            except PlanningError as exc:
                return error_response(f"the router could not plan this operation: {exc}", "QUERY_PLANNING_FAILED")
            fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
            sites = find_sites(self.access_model, self.supergraph.api_schema, operation, fragments)
            prepared = _Prepared(document, operation, fragments, plan, sites)
            _remember(self._normalised, normalised_key, prepared, self._cache_size)
        _remember(self._cache, cache_key, prepared, self._cache_size)
        return prepared

    async def run(self, request: GraphQLRequest, headers: Mapping[str, str]) -> GraphQLResponse:
        if not request.query:
            return error_response("the request has no query", "BAD_REQUEST")
        labels = self.draw_labels()
        prepared = self.prepare(request.query, request.operation_name, labels)
        if isinstance(prepared, GraphQLResponse):
            return prepared
        raw_variables = dict(request.variables or {})
        coerced = get_variable_values(
            self.supergraph.api_schema, prepared.operation.variable_definitions or [], raw_variables
        )
        if isinstance(coerced, list):
            return GraphQLResponse(
                body={"errors": [_graphql_error(e, "BAD_USER_INPUT") for e in coerced]}, request_error=True
            )
        if self.cost_model is not None:
            try:
                cost = estimate(self.cost_model, self.supergraph.api_schema, prepared.document, prepared.operation,
                                coerced.coerced)
            except CostEstimationError as exc:
                return GraphQLResponse(body={"errors": [exc.formatted]}, request_error=True)
            too_expensive = check_cost(cost, self.max_cost)
            if too_expensive is not None:
                return GraphQLResponse(body={"errors": [too_expensive.formatted]}, request_error=True)
        plan: QueryPlan | None = prepared.plan
        if prepared.plan.introspection and not self.introspection:
            return error_response("introspection is disabled on this router", "INTROSPECTION_DISABLED")
        filtered = await self._authorize(prepared, request, headers, labels, coerced)
        if isinstance(filtered, GraphQLResponse):
            return filtered
        if filtered is not None:
            plan = filtered.plan
        result = ExecutionResult() if plan is None else await self.executor.execute(
            plan, raw_variables, headers, coerced.coerced)
        if filtered is not None:
            result.errors[:0] = filtered.errors
        if prepared.plan.introspection:
            local = execute(self.supergraph.api_schema, prepared.document, variable_values=raw_variables,
                            operation_name=request.operation_name)
            if isinstance(local, Awaitable):
                local = await local
            for key, value in (local.data or {}).items():
                if value is not None:
                    result.data[key] = value
        errors = list(result.errors)
        shaper = ResponseShaper(self.supergraph.api_schema, prepared.operation, prepared.fragments, coerced, errors,
                                nulled=filtered.nulled if filtered is not None else frozenset())
        data = shaper.shape(result.data)
        body: JSON = {}
        if errors:
            body["errors"] = errors
        body["data"] = data
        return GraphQLResponse(body=body, operation_kind=prepared.plan.kind, fetches=result.fetches, plan=plan)

    async def _authorize(
        self, prepared: _Prepared, request: GraphQLRequest, headers: Mapping[str, str], labels: frozenset[str],
        variables: VariableValues,
    ) -> _Authorized | GraphQLResponse | None:
        """None when the request may see the whole operation; otherwise what it runs instead (or, in
        reject mode, the refusal)."""
        sites = prepared.sites
        if sites is None:
            return None
        decision = await decide(sites, AccessContext(request.claims, headers), self.authorization.policies, variables)
        denied = decision.denied
        if not denied:
            return None
        filtered = filter_operation(prepared.document, prepared.operation, prepared.fragments, sites, denied)
        if self.authorization.reject:
            return GraphQLResponse(body={"errors": decision.errors}, request_error=True)
        plans = prepared.filtered_plans
        plan_key = (denied, labels & self.supergraph.override_labels)
        if plan_key not in plans:
            if len(plans) >= MAX_FILTERED_PLANS:
                plans.pop(next(iter(plans)))
            try:
                plans[plan_key] = None if filtered.document is None else self.planner.plan(
                    filtered.document, None, plan_key[1])
            except PlanningError as exc:
                return error_response(f"the router could not plan this operation: {exc}", "QUERY_PLANNING_FAILED")
        return _Authorized(plans[plan_key], decision.errors, filtered.nulled)


def _remember(cache: OrderedDict[Any, _Prepared], key: Any, prepared: _Prepared, size: int) -> None:
    cache[key] = prepared
    cache.move_to_end(key)
    if len(cache) > size:
        cache.popitem(last=False)


def _graphql_error(error: GraphQLError, code: str) -> JSON:
    formatted: JSON = dict(error.formatted)
    extensions = dict(formatted.get("extensions") or {})
    extensions.setdefault("code", code)
    formatted["extensions"] = extensions
    return formatted
