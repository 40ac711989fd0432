"""The router as its own process: `uvicorn --factory router.app:app` (or `python -m router serve`).

Configuration comes from router/config.py: a TOML file (ROUTER_CONFIG) and environment overrides; the
subgraph URLs come from the supergraph's join__graph directives unless configured otherwise.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from router.auth import AuthenticationError, JwtSettings, JwtVerifier, bearer_token
from router.authorization import AccessModel, PolicyError, load_policies
from router.caller_token import CallerTokenClient, CallerTokenMinter
from router.config import ConfigError, RouterConfig, check_against_supergraph, load_config, parse_rate
from router.gateway import Authorization, Gateway
from router.ipblock import IpBlocklist, http_source, ip_guard
from router.ratelimit import MemoryRateLimiter, RateLimitMiddleware, RedisRateLimiter
from router.reload import GatewayHolder, SupergraphWatcher
from router.resilience import BreakerSettings, ProtectedClient
from router.revocation import RevocationList
from router.revocation import http_source as revocation_source
from router.server import Guard, create_router_app
from router.supergraph import Supergraph, SupergraphError
from router.transport import FORWARDED_HEADERS, DeduplicatingClient, HttpSubgraphClient


def protect(inner: Any, config: RouterConfig) -> ProtectedClient:
    """Bounded concurrency and a circuit breaker per subgraph, as configured."""
    concurrency: dict[str, int] = {"*": config.breaker.max_concurrency}
    for name, settings in config.subgraphs.items():
        if settings.max_concurrency is not None:
            concurrency[name] = settings.max_concurrency
    return ProtectedClient(
        inner, max_concurrency=concurrency, queue_timeout_seconds=config.breaker.queue_timeout_seconds,
        breaker=BreakerSettings(failure_threshold=config.breaker.failure_threshold,
                                cool_down_seconds=config.breaker.cool_down_seconds,
                                half_open_probes=config.breaker.half_open_probes),
    )


def rate_limiter(config: RouterConfig) -> MemoryRateLimiter | RedisRateLimiter | None:
    """In memory for one router; in Redis when replicas must share one budget."""
    settings = config.rate_limit
    if not settings.per_client and not settings.per_ip:
        return None
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url, settings.prefix)
    return MemoryRateLimiter()


ROUTER_JWKS_PATH = "/.well-known/router-jwks.json"


def caller_token_minter(config: RouterConfig) -> CallerTokenMinter | None:
    settings = config.caller_token
    if not settings.enabled:
        return None
    if settings.key_file is None:
        return CallerTokenMinter(lifetime_seconds=settings.lifetime_seconds)
    try:
        return CallerTokenMinter.from_pem(settings.key_file, lifetime_seconds=settings.lifetime_seconds)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"caller_token.key_file: {exc}") from exc


def jwks_endpoint(minter: CallerTokenMinter) -> Callable[[Request], Awaitable[Response]]:
    """The public key subgraphs verify caller tokens with."""
    async def jwks(_request: Request) -> Response:
        return JSONResponse(minter.jwks, headers={"cache-control": "public, max-age=300"})

    return jwks


def auth_guard(verifier: JwtVerifier, mode: str, revocation: RevocationList | None = None) -> Guard:
    """Refuses a request whose bearer token does not verify or was revoked (401, or 503 when the issuer's
    keys cannot be had); without a token, refuses it only in `require` mode. The claims go on
    request.state."""

    async def guard(request: Request) -> Response | None:
        try:
            token = bearer_token(request.headers)
            if token is None:
                if mode == "require":
                    raise AuthenticationError("UNAUTHENTICATED", "a bearer token is required", reason="missing")
                request.state.claims = None
                return None
            claims = await verifier.verify(token)
            if revocation is not None and revocation.revoked(claims.raw):
                raise AuthenticationError("UNAUTHENTICATED", "invalid access token: revoked", reason="revoked")
            request.state.claims = claims
            return None
        except AuthenticationError as exc:
            response = JSONResponse({"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]},
                                    status_code=exc.status)
            response.headers["www-authenticate"] = exc.www_authenticate
            return response

    return guard


def authorization(config: RouterConfig) -> Authorization:
    """The authorization settings with the configured policy functions imported."""
    try:
        policies = load_policies(config.authorization.policy_references())
    except PolicyError as exc:
        raise ConfigError(f"authorization.policies: {exc}") from exc
    return Authorization(policies=policies, reject=config.authorization.mode == "reject",
                         enabled=config.authorization.enabled)


def check_policies(supergraph: Supergraph, settings: Authorization) -> None:
    """Every policy the supergraph names must be registered: an unregistered one would deny silently."""
    if not settings.enabled:
        return
    missing = sorted(AccessModel.from_supergraph(supergraph.document).policy_names - set(settings.policies))
    if missing:
        raise ConfigError(f"authorization.policies: the supergraph's @policy names {', '.join(missing)}, "
                          "which the configuration does not register")


def build(config: RouterConfig) -> Starlette:
    try:
        with open(config.supergraph_path, encoding="utf-8") as handle:
            supergraph = Supergraph(handle.read())
    except OSError as exc:
        raise SupergraphError(f"cannot read the supergraph {config.supergraph_path}: {exc}") from exc
    check_against_supergraph(config, set(supergraph.graph_by_name))
    urls = {g.name: g.url for g in supergraph.graphs.values()}
    timeouts: dict[str, float] = {}
    for name, settings in config.subgraphs.items():
        if settings.url:
            urls[name] = settings.url
        if settings.timeout_seconds is not None:
            timeouts[name] = settings.timeout_seconds
    forward = FORWARDED_HEADERS + tuple(h.lower() for h in config.forward_headers if h.lower() not in FORWARDED_HEADERS)
    http = HttpSubgraphClient(urls, forward_headers=forward, timeouts=timeouts)
    minter = caller_token_minter(config)
    protected = protect(http if minter is None else CallerTokenClient(http, minter), config)
    # Deduplication outside the protection: requests sharing one fetch take one concurrency slot.
    client = DeduplicatingClient(protected)
    access = authorization(config)

    def make_gateway(loaded: Supergraph) -> Gateway:
        check_against_supergraph(config, set(loaded.graph_by_name))
        check_policies(loaded, access)
        for graph in loaded.graphs.values():
            configured = config.subgraphs.get(graph.name)
            http.urls[graph.name] = configured.url if configured and configured.url else graph.url
        return Gateway(loaded, client, introspection=config.server.flag("introspection"),
                       limits=config.limits.operation_limits(), max_cost=config.limits.max_cost,
                       authorization=access)

    holder = GatewayHolder(make_gateway(supergraph))
    watcher = SupergraphWatcher(config.supergraph_path, holder, make_gateway)
    verifier: JwtVerifier | None = None
    revocation: RevocationList | None = None
    guards: tuple[Guard, ...] = ()
    if config.auth.mode != "off":
        try:
            verifier = JwtVerifier(JwtSettings(
                issuer=str(config.auth.issuer), audience=config.auth.audience, jwks_url=config.auth.jwks_url,
                algorithms=config.auth.algorithms, leeway_seconds=config.auth.leeway_seconds,
                scope_claim=config.auth.scope_claim))
        except ValueError as exc:
            raise ConfigError(f"auth: {exc}") from exc
        if config.revocation.url is not None:
            revocation = RevocationList(revocation_source(config.revocation.url, minter),
                                        refresh_seconds=config.revocation.refresh_seconds)
        guards = (auth_guard(verifier, config.auth.mode, revocation),)
    blocklist: IpBlocklist | None = None
    if config.ip_blacklist.url is not None:
        blocklist = IpBlocklist(http_source(config.ip_blacklist.url, minter),
                                refresh_seconds=config.ip_blacklist.refresh_seconds)
        # First: a blocked address gets nothing, not even a token check.
        guards = (ip_guard(blocklist, trusted_proxy_hops=config.rate_limit.trusted_proxy_hops), *guards)

    def health_details() -> dict[str, Any]:
        details: dict[str, Any] = {"circuits": protected.breaker_states(),
                                   "supergraph": {"generation": holder.generation, "reload_error": watcher.last_error}}
        if blocklist is not None:
            details["ip_blacklist"] = blocklist.health()
        if revocation is not None:
            details["revocation"] = revocation.health()
        return details

    inner = create_router_app(holder, config.server, config.limits, guards=guards, health_details=health_details)
    limiter = rate_limiter(config)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # The schema, plans and caches built so far live as long as the process: moved out of the
        # collector's reach, full collections stop re-walking them (~1.5 ms per deep request; bench/RESULTS.md).
        gc.collect()
        gc.freeze()
        watcher.start()
        if blocklist is not None:
            # Not awaited here: identity verifies the router's token against this router's JWKS, which
            # answers only once the router listens.
            blocklist.start(initial_delay=0.2)
        if revocation is not None:
            revocation.start(initial_delay=0.2)
        try:
            yield
        finally:
            await watcher.stop()
            if blocklist is not None:
                await blocklist.stop()
            if revocation is not None:
                await revocation.stop()
            await client.close()
            if verifier is not None:
                await verifier.close()
            if limiter is not None:
                await limiter.close()

    outer = Starlette(lifespan=lifespan)
    if minter is not None:
        outer.add_route(ROUTER_JWKS_PATH, jwks_endpoint(minter))
    outer.mount("/", inner)
    if limiter is not None:
        outer.add_middleware(
            RateLimitMiddleware, limiter=limiter, trusted_proxy_hops=config.rate_limit.trusted_proxy_hops,
            per_client=parse_rate(config.rate_limit.per_client, "rate_limit.per_client")
            if config.rate_limit.per_client else None,
            per_ip=parse_rate(config.rate_limit.per_ip, "rate_limit.per_ip") if config.rate_limit.per_ip else None,
        )
    outer.state.gateway = holder
    outer.state.watcher = watcher
    outer.state.config = config
    return outer


def app() -> Starlette:
    try:
        return build(load_config())
    except ConfigError as exc:
        raise SystemExit(f"router configuration: {exc}") from exc
