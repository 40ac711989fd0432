"""Data-quality check items (placeholder, being built)."""

from __future__ import annotations

import strawberry


@strawberry.type
class PersonCheckFields:
    """Person fields of this area (types.Person inherits them)."""


queries: list[type] = []
mutations: list[type] = []
