"""Marriage events, children and newborns, reward and special support (placeholder, being built)."""

from __future__ import annotations

import strawberry


@strawberry.type
class PersonFamilyFields:
    """Person fields of this area (types.Person inherits them)."""


queries: list[type] = []
mutations: list[type] = []
