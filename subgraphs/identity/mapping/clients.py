"""应用 / API clients: validation of their settings, and their secrets.

A confidential client gets a random secret when created and when rotated; it is returned to the caller that
once and stored only as `hash_password(secret)` (scrypt), which the authorization server checks with
`verify_password`. A public client (a mobile app, a single-page app) has no secret and must use PKCE, so it
cannot have the client_credentials grant.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from router.ratelimit import parse_rate_limit
from subgraphs.common.errors import bad_input

GRANT_TYPES = ("authorization_code", "client_credentials", "refresh_token", "cas")
KINDS = ("WEB", "MOBILE", "SYSTEM")
STATUSES = ("ENABLED", "DISABLED")
SECRET_PREFIX = "jshs_"  # lets secret scanners (and people) recognise a leaked secret
MAX_REDIRECT_URIS = 20
MAX_SCOPES = 64
MAX_IP_RULES = 100
MAX_PERSISTED_OPERATIONS = 5000
TTL_MIN_HOURS, TTL_MAX_HOURS = 1, 24  # 令牌有效期 1–24 h (tender l.10064)
NAME_LENGTH = 128
# RFC 6749 §3.3 scope-token: printable ASCII except space, double quote and backslash.
_SCOPE = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]{1,128}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_DEV_HOSTS = ("localhost", "127.0.0.1", "::1")


def new_client_id(kind: str) -> str:
    return f"{kind.lower()}-{secrets.token_hex(10)}"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)  # 256 random bits


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_LENGTH:
        raise bad_input(f"The client name must have 1 to {NAME_LENGTH} characters.", argument="name")
    return name


def check_grant_types(values: Sequence[str], *, confidential: bool, redirect_uris: Sequence[str]) -> list[str]:
    grants = list(dict.fromkeys(values))
    if not grants:
        raise bad_input("A client needs at least one grant type.", argument="grantTypes")
    unknown = [g for g in grants if g not in GRANT_TYPES]
    if unknown:
        raise bad_input(f"Unknown grant types: {', '.join(unknown)}.", argument="grantTypes")
    if "client_credentials" in grants and not confidential:
        raise bad_input("A public client has no secret, so it cannot use client_credentials.",
                        argument="grantTypes")
    if "refresh_token" in grants and "authorization_code" not in grants:
        raise bad_input("refresh_token comes with authorization_code: refresh tokens are issued by that flow.",
                        argument="grantTypes")
    if any(g in grants for g in ("authorization_code", "cas")) and not redirect_uris:
        raise bad_input("authorization_code and cas need at least one redirect URI.", argument="redirectUris")
    return grants


def check_redirect_uri(uri: str) -> str:
    """An absolute https URL without a fragment (RFC 6749 §3.1.2) or wildcard; http only on the loopback
    host, for development."""
    uri = uri.strip()
    try:
        parts = urlsplit(uri)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise bad_input(f"The redirect URI {uri!r} is not a valid URL.", argument="redirectUris") from exc
    if not host or parts.fragment or "*" in uri or parts.username or parts.password:
        raise bad_input(f"The redirect URI {uri!r} must be an absolute URL with a host, and no fragment, "
                        "wildcard or user info.", argument="redirectUris")
    if parts.scheme == "https":
        return uri
    if parts.scheme == "http" and host in _DEV_HOSTS:
        return uri
    raise bad_input(f"The redirect URI {uri!r} must use https (http only for localhost or 127.0.0.1).",
                    argument="redirectUris")


def check_redirect_uris(values: Sequence[str]) -> list[str]:
    uris = list(dict.fromkeys(check_redirect_uri(v) for v in values))
    if len(uris) > MAX_REDIRECT_URIS:
        raise bad_input(f"At most {MAX_REDIRECT_URIS} redirect URIs.", argument="redirectUris")
    return uris


def check_scopes(values: Sequence[str]) -> list[str]:
    scopes = list(dict.fromkeys(v.strip() for v in values))
    bad = [s for s in scopes if not _SCOPE.fullmatch(s)]
    if bad:
        raise bad_input(f"Invalid scope tokens: {', '.join(repr(b) for b in bad[:5])}.", argument="scopes")
    if len(scopes) > MAX_SCOPES:
        raise bad_input(f"At most {MAX_SCOPES} scopes.", argument="scopes")
    return scopes


def check_ip_allow_list(values: Sequence[str]) -> list[str]:
    """IPv4 and IPv6 addresses or CIDRs, stored normalised; a CIDR with host bits set is refused rather than
    silently widened (10.1.2.3/8 is most likely a typo)."""
    networks: list[str] = []
    for raw in values:
        text = raw.strip()
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            hint = ""
            with contextlib.suppress(ValueError):
                hint = f"; did you mean {ipaddress.ip_network(text, strict=False)}?"
            raise bad_input(f"{text!r} is not an IPv4 or IPv6 address or CIDR{hint}",
                            argument="ipAllowList") from exc
        networks.append(str(network))
    networks = list(dict.fromkeys(networks))
    if len(networks) > MAX_IP_RULES:
        raise bad_input(f"At most {MAX_IP_RULES} IP rules.", argument="ipAllowList")
    return networks


def check_rate_limit(value: str | None) -> str | None:
    """The router's format (router/ratelimit.py), such as 600/60s; empty means none."""
    if value is None or not value.strip():
        return None
    try:
        parse_rate_limit(value)  # also refuses 0 requests and an empty period
    except ValueError as exc:
        raise bad_input(f"The rate limit {value!r} is refused: {exc} (expected N/PERIOD such as 600/60s).",
                        argument="rateLimit") from exc
    return value.strip()


def check_ttl_hours(hours: int | None) -> int | None:
    if hours is None:
        return None
    if not TTL_MIN_HOURS <= hours <= TTL_MAX_HOURS:
        raise bad_input(f"The access token lifetime is {TTL_MIN_HOURS} to {TTL_MAX_HOURS} hours.",
                        argument="accessTokenTtlHours", minimum=TTL_MIN_HOURS, maximum=TTL_MAX_HOURS)
    return hours * 3600


def check_persisted_operations(values: Sequence[str]) -> list[str]:
    """Operation ids are the sha256 of the operation text in hex (as Apollo's persisted queries); lower-cased."""
    ids = list(dict.fromkeys(v.strip().lower() for v in values))
    bad = [v for v in ids if not _SHA256_HEX.fullmatch(v)]
    if bad:
        raise bad_input(f"Not sha256 hex operation ids: {', '.join(repr(b[:16]) for b in bad[:5])}.",
                        argument="operationIds")
    if len(ids) > MAX_PERSISTED_OPERATIONS:
        raise bad_input(f"At most {MAX_PERSISTED_OPERATIONS} operations per client.", argument="operationIds")
    return ids
