"""Keyword search over text columns, the same everywhere: case-insensitive, and a typed % or _ matches
itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_


def contains(column: Any, keyword: str) -> ColumnElement[bool]:
    # lower() on both sides: LIKE is case-sensitive on PostgreSQL and not on SQLite.
    return func.lower(column).contains(keyword.lower(), autoescape=True)


def matches_keyword(keyword: str | None, *columns: Any) -> ColumnElement[bool] | None:
    """A condition: one of `columns` contains the keyword (trimmed); None when there is no keyword."""
    word = (keyword or "").strip()
    if not word:
        return None
    return or_(*(contains(column, word) for column in columns))
