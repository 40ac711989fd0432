"""Error codes every subgraph uses, so that clients and the router can branch on `extensions.code`."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from graphql import GraphQLError


class ErrorCode(StrEnum):
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    FORBIDDEN = "FORBIDDEN"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    INVALID_STATE = "INVALID_STATE"
    INTERNAL = "INTERNAL_SERVER_ERROR"


def domain_error(code: ErrorCode, message: str, **details: Any) -> GraphQLError:
    """A GraphQL error with a stable code; details (field names, limits) go into extensions."""
    return GraphQLError(message, extensions={"code": code.value, **details})


def bad_input(message: str, **details: Any) -> GraphQLError:
    return domain_error(ErrorCode.BAD_USER_INPUT, message, **details)


def forbidden(message: str, **details: Any) -> GraphQLError:
    return domain_error(ErrorCode.FORBIDDEN, message, **details)
