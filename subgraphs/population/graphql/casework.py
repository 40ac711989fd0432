"""The death closed loop and dispatch between regions (placeholder, being built)."""

from __future__ import annotations

import strawberry


@strawberry.type
class PersonCaseworkFields:
    """Person fields of this area (types.Person inherits them)."""


queries: list[type] = []
mutations: list[type] = []
