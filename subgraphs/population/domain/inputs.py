"""Free-text inputs of the population forms, cleaned and checked the same way in every area."""

from __future__ import annotations

from subgraphs.common.errors import bad_input


def text(value: str | None, field: str, limit: int, *, required: bool = False) -> str | None:
    """The trimmed text, or None when blank; BAD_USER_INPUT naming `field` when it is required and blank or
    longer than `limit` characters (the column's length)."""
    cleaned = value.strip() if value is not None else None
    if not cleaned:
        if required:
            raise bad_input(f"{field} must not be empty.", field=field)
        return None
    if len(cleaned) > limit:
        raise bad_input(f"{field} must be at most {limit} characters.", field=field, maximum=limit)
    return cleaned
