"""Revoked access tokens at the router. identity revokes tokens (RFC 7009 revocation, logout, a reused
refresh token revoking its family); the router verifies signatures locally, so without this list a revoked
token would keep working until it expires. The list holds revocation keys: a token's `jti`, its family
(`fam:` + the part of the jti before the first dot) and its session (`sid:` + the `sid` claim); identity
computes the same keys with `revocation_keys`, so one function decides what a revocation covers.
Refreshed from identity's /security/revoked-tokens every 2 s (router/polled.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from router.caller_token import CallerTokenMinter
from router.polled import HttpListSource, PolledList, Source


def revocation_keys(claims: Mapping[str, Any]) -> list[str]:
    """The keys under which revoking covers a token with these claims."""
    jti = str(claims.get("jti", ""))
    keys = [jti]
    if "." in jti:
        keys.append("fam:" + jti.split(".", 1)[0])
    if isinstance(claims.get("sid"), str):
        keys.append("sid:" + claims["sid"])
    return keys


class RevocationList(PolledList):
    what = "revoked-token list"

    def __init__(self, source: Source, *, refresh_seconds: float = 2.0) -> None:
        super().__init__(source, refresh_seconds=refresh_seconds)
        self.keys: frozenset[str] = frozenset()

    def apply(self, values: list[str]) -> None:
        self.keys = frozenset(values)

    def revoked(self, claims: Mapping[str, Any]) -> bool:
        return bool(self.keys) and any(key in self.keys for key in revocation_keys(claims) if key)


def http_source(url: str, minter: CallerTokenMinter | None) -> HttpListSource:
    return HttpListSource(url, "keys", minter)
