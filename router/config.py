"""Router configuration: one TOML file (ROUTER_CONFIG, default router.toml when present) plus
environment overrides, validated at start with errors that name the setting.

    [server]     listen, dev, introspection, graphiql, expose_plans, mask_errors, cors_origins, max_batch
    [supergraph] path
    [subgraphs.<name>] url, timeout_seconds, max_concurrency
    [headers]    forward
    [limits]     max_depth, max_aliases, max_root_fields, max_tokens, max_directives, max_body_bytes, max_cost
    [rate_limit] per_client, per_ip, redis_url, prefix, trusted_proxy_hops
    [breaker]    failure_threshold, cool_down_seconds, half_open_probes, max_concurrency, queue_timeout_seconds
    [auth]       mode (off | optional | require), issuer, audience, jwks_url, algorithms, leeway_seconds, scope_claim
    [ip_blacklist] url (identity's /security/ip-blacklist), refresh_seconds
    [revocation] url (identity's /security/revoked-tokens), refresh_seconds
    [caller_token] enabled, key_file (ES256 private key, PEM; shared by replicas), lifetime_seconds
    [authorization] enabled, mode (filter | reject), policies (a table: name = "package.module:function")

Environment: ROUTER_<SECTION>_<KEY> (ROUTER_LIMITS_MAX_DEPTH=10, ROUTER_SERVER_DEV=false); the older
single variables stay: ROUTER_SUPERGRAPH, ROUTER_SUBGRAPH_URLS, ROUTER_SUBGRAPH_TIMEOUTS,
ROUTER_FORWARD_HEADERS, ROUTER_DEV.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from router.limits import OperationLimits
from router.ratelimit import RateLimit, parse_rate_limit


class ConfigError(Exception):
    """The configuration cannot be used; the message names the setting and what is wrong."""


@dataclass(frozen=True)
class ServerConfig:
    listen: str = "127.0.0.1:4000"
    dev: bool = True
    introspection: bool | None = None  # default: on in dev
    graphiql: bool | None = None
    expose_plans: bool | None = None
    mask_errors: bool | None = None  # default: on outside dev
    cors_origins: tuple[str, ...] = ()
    max_batch: int = 0  # batched (array) requests: 0 refuses them

    def flag(self, name: str) -> bool:
        value = getattr(self, name)
        if value is not None:
            return bool(value)
        return not self.dev if name == "mask_errors" else self.dev


@dataclass(frozen=True)
class SubgraphConfig:
    url: str | None = None
    timeout_seconds: float | None = None
    max_concurrency: int | None = None


@dataclass(frozen=True)
class LimitsConfig:
    # GraphiQL's introspection query alone is 15 deep.
    max_depth: int | None = 20
    max_aliases: int | None = 30
    max_root_fields: int | None = 20
    max_tokens: int | None = 15000
    max_directives: int | None = 50
    max_body_bytes: int | None = 2_000_000
    max_cost: int | None = None


    def operation_limits(self) -> OperationLimits:
        return OperationLimits(max_depth=self.max_depth, max_aliases=self.max_aliases,
                               max_root_fields=self.max_root_fields, max_tokens=self.max_tokens,
                               max_directives=self.max_directives, max_body_bytes=self.max_body_bytes)


@dataclass(frozen=True)
class RateLimitConfig:
    per_client: str | None = None  # "600/60s" (or "600/60s:50" with a burst): per client id; unset: none
    per_ip: str | None = None
    redis_url: str | None = None  # one budget shared by every router replica; in memory when unset
    prefix: str = "jshealth:ratelimit"
    trusted_proxy_hops: int = 0  # proxies in front of the router that append X-Forwarded-For


@dataclass(frozen=True)
class AuthConfig:
    """Bearer tokens from an OAuth 2.0 / OIDC issuer, verified against its JWKS."""

    mode: str = "off"  # off | optional (a token, when sent, must be valid) | require
    issuer: str | None = None
    audience: tuple[str, ...] = ()
    jwks_url: str | None = None
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    leeway_seconds: int = 60
    scope_claim: str = "scope"


@dataclass(frozen=True)
class AuthorizationConfig:
    """Enforcement of the supergraph's @authenticated, @requiresScopes and @policy."""

    enabled: bool = True
    mode: str = "filter"  # filter: run the rest of the operation | reject: refuse the whole operation
    policies: tuple[str, ...] = ()  # "name=package.module:function", one per policy the supergraph names

    def policy_references(self) -> dict[str, str]:
        return _pairs(",".join(self.policies), "authorization.policies")


@dataclass(frozen=True)
class IpBlacklistConfig:
    """identity's IP blacklist, enforced on every request (router/ipblock.py)."""

    url: str | None = None  # e.g. http://identity:4101/security/ip-blacklist; unset: no blacklist
    refresh_seconds: float = 2.0


@dataclass(frozen=True)
class RevocationConfig:
    """identity's revoked tokens, refused by the auth guard (router/revocation.py)."""

    url: str | None = None  # e.g. http://identity:4101/security/revoked-tokens; unset: signatures only
    refresh_seconds: float = 2.0


@dataclass(frozen=True)
class CallerTokenConfig:
    """The token the router signs for each subgraph fetch (router/caller_token.py)."""

    enabled: bool = True
    key_file: str | None = None  # unset: a key made at start (one router; replicas must share a file)
    lifetime_seconds: int = 60


@dataclass(frozen=True)
class BreakerConfig:
    """Subgraph protection: the circuit breaker, and the wait for a concurrency slot."""

    failure_threshold: int = 5
    cool_down_seconds: float = 5.0
    half_open_probes: int = 1
    max_concurrency: int = 100  # per subgraph, unless [subgraphs.<name>] says otherwise
    queue_timeout_seconds: float | None = 1.0


@dataclass(frozen=True)
class RouterConfig:
    server: ServerConfig = ServerConfig()
    supergraph_path: str = "schema.graphql"
    subgraphs: Mapping[str, SubgraphConfig] = field(default_factory=dict)
    forward_headers: tuple[str, ...] = ()
    limits: LimitsConfig = LimitsConfig()
    rate_limit: RateLimitConfig = RateLimitConfig()
    breaker: BreakerConfig = BreakerConfig()
    auth: AuthConfig = AuthConfig()
    authorization: AuthorizationConfig = AuthorizationConfig()
    caller_token: CallerTokenConfig = CallerTokenConfig()
    ip_blacklist: IpBlacklistConfig = IpBlacklistConfig()
    revocation: RevocationConfig = RevocationConfig()


SECTIONS: dict[str, type] = {
    "server": ServerConfig, "limits": LimitsConfig, "rate_limit": RateLimitConfig, "breaker": BreakerConfig,
    "auth": AuthConfig, "authorization": AuthorizationConfig, "caller_token": CallerTokenConfig,
    "ip_blacklist": IpBlacklistConfig,
    "revocation": RevocationConfig,
}


def parse_rate(text: str, where: str) -> RateLimit:
    """'600/60s', '100/1m', '1000/h:50' -> a RateLimit, or a ConfigError naming the setting."""
    try:
        return parse_rate_limit(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _coerce(value: Any, annotation: str, where: str) -> Any:
    if value is None:
        return None
    base = annotation.replace(" | None", "")
    try:
        if base == "bool":
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError
                return lowered in ("1", "true", "yes", "on")
            if not isinstance(value, bool):
                raise ValueError
            return value
        if base == "int":
            if isinstance(value, bool):
                raise ValueError
            number = int(value)
            if number < 0:
                raise ConfigError(f"{where}: must not be negative, got {value!r}")
            return number
        if base == "float":
            number_f = float(value)
            if number_f < 0:
                raise ConfigError(f"{where}: must not be negative, got {value!r}")
            return number_f
        if base == "str":
            if not isinstance(value, str):
                raise ValueError
            return value
        if base == "tuple[str, ...]":
            items = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
            if not all(isinstance(v, str) for v in items):
                raise ValueError
            return tuple(v for v in items if v)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: expected {base}, got {value!r}") from exc
    raise ConfigError(f"{where}: unsupported setting type {annotation}")


def _section(cls: type, raw: Mapping[str, Any], where: str, base: Any = None) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"[{where}] has unknown settings: {', '.join(unknown)} (known: {', '.join(known)})")
    values = {name: _coerce(value, str(known[name].type), f"{where}.{name}") for name, value in raw.items()}
    return replace(base if base is not None else cls(), **values)


def load_config(path: str | None = None, environ: Mapping[str, str] | None = None) -> RouterConfig:
    environ = os.environ if environ is None else environ
    path = path or environ.get("ROUTER_CONFIG")
    raw: dict[str, Any] = {}
    if path is not None or Path("router.toml").exists():
        file = Path(path or "router.toml")
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read the router configuration {file}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file} is not valid TOML: {exc}") from exc
    unknown = sorted(set(raw) - {*SECTIONS, "supergraph", "subgraphs", "headers"})
    if unknown:
        raise ConfigError(f"unknown configuration sections: {', '.join(unknown)}")
    authorization = dict(raw.get("authorization", {}))
    if isinstance(authorization.get("policies"), Mapping):  # the table form: name = "module:function"
        authorization["policies"] = [f"{name}={ref}" for name, ref in authorization["policies"].items()]
        raw = {**raw, "authorization": authorization}
    sections = {name: _section(cls, raw.get(name, {}), name) for name, cls in SECTIONS.items()}
    supergraph = raw.get("supergraph", {})
    if set(supergraph) - {"path"}:
        raise ConfigError(f"[supergraph] has unknown settings: {', '.join(sorted(set(supergraph) - {'path'}))}")
    subgraphs = {
        name: _section(SubgraphConfig, settings, f"subgraphs.{name}")
        for name, settings in raw.get("subgraphs", {}).items()
    }
    headers = raw.get("headers", {})
    if set(headers) - {"forward"}:
        raise ConfigError(f"[headers] has unknown settings: {', '.join(sorted(set(headers) - {'forward'}))}")
    config = RouterConfig(
        server=sections["server"], supergraph_path=str(supergraph.get("path", "schema.graphql")),
        subgraphs=subgraphs,
        forward_headers=_coerce(headers.get("forward", ()), "tuple[str, ...]", "headers.forward"),
        limits=sections["limits"], rate_limit=sections["rate_limit"], breaker=sections["breaker"],
        auth=sections["auth"], authorization=sections["authorization"], caller_token=sections["caller_token"],
        ip_blacklist=sections["ip_blacklist"], revocation=sections["revocation"],
    )
    return _apply_environment(config, environ)


def _apply_environment(config: RouterConfig, environ: Mapping[str, str]) -> RouterConfig:
    for section, cls in SECTIONS.items():
        prefix = f"ROUTER_{section.upper()}_"
        overrides = {key[len(prefix):].lower(): value for key, value in environ.items() if key.startswith(prefix)}
        if overrides:
            current = getattr(config, section)
            config = replace(config, **{section: _section(cls, overrides, f"{section} (environment)", current)})
    if "ROUTER_DEV" in environ:
        dev = _coerce(environ["ROUTER_DEV"], "bool", "ROUTER_DEV")
        config = replace(config, server=replace(config.server, dev=dev))
    if "ROUTER_SUPERGRAPH" in environ:
        config = replace(config, supergraph_path=environ["ROUTER_SUPERGRAPH"])
    subgraphs = dict(config.subgraphs)
    for name, url in _pairs(environ.get("ROUTER_SUBGRAPH_URLS", ""), "ROUTER_SUBGRAPH_URLS").items():
        subgraphs[name] = replace(subgraphs.get(name, SubgraphConfig()), url=url)
    for name, seconds in _pairs(environ.get("ROUTER_SUBGRAPH_TIMEOUTS", ""), "ROUTER_SUBGRAPH_TIMEOUTS").items():
        subgraphs[name] = replace(subgraphs.get(name, SubgraphConfig()),
                                  timeout_seconds=_coerce(seconds, "float", f"ROUTER_SUBGRAPH_TIMEOUTS {name}"))
    config = replace(config, subgraphs=subgraphs)
    if "ROUTER_FORWARD_HEADERS" in environ:
        config = replace(config, forward_headers=_coerce(environ["ROUTER_FORWARD_HEADERS"], "tuple[str, ...]",
                                                         "ROUTER_FORWARD_HEADERS"))
    auth = config.auth
    if auth.mode not in ("off", "optional", "require"):
        raise ConfigError(f"auth.mode: {auth.mode!r} is not off, optional or require")
    if auth.mode != "off" and (not auth.issuer or not auth.audience or not auth.jwks_url):
        raise ConfigError("auth: issuer, audience and jwks_url are needed unless mode is off")
    if config.authorization.mode not in ("filter", "reject"):
        raise ConfigError(f"authorization.mode: {config.authorization.mode!r} is not filter or reject")
    config.authorization.policy_references()
    for name in ("ip_blacklist", "revocation"):
        polled = getattr(config, name)
        if polled.url is not None and not polled.url.startswith(("http://", "https://")):
            raise ConfigError(f"{name}.url: an http(s) URL, not {polled.url!r}")
        if not 0.1 <= polled.refresh_seconds <= 300:
            raise ConfigError(f"{name}.refresh_seconds: between 0.1 and 300")
    if not 1 <= config.caller_token.lifetime_seconds <= 300:
        raise ConfigError("caller_token.lifetime_seconds: between 1 and 300 (a subgraph token lives briefly)")
    for setting in ("per_client", "per_ip"):
        rate = getattr(config.rate_limit, setting)
        if rate is not None:
            parse_rate(rate, f"rate_limit.{setting}")
    return config


def _pairs(raw: str, where: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ConfigError(f"{where}: {item!r} is not name=value")
        pairs[name.strip()] = value.strip()
    return pairs


def check_against_supergraph(config: RouterConfig, graph_names: set[str]) -> None:
    unknown = sorted(set(config.subgraphs) - graph_names)
    if unknown:
        raise ConfigError(f"[subgraphs] names subgraphs the supergraph does not have: {', '.join(unknown)}")
