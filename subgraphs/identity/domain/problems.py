"""The errors the identity API answers with, on the common codes (subgraphs/common/errors.py)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from subgraphs.common.errors import ErrorCode, bad_input, domain_error
from subgraphs.identity.domain.validation import FieldProblem


def not_found(what: str, id_: str, argument: str) -> GraphQLError:
    return domain_error(ErrorCode.NOT_FOUND, f"No {what} has id {id_}.", argument=argument)


def conflict(message: str, **details: Any) -> GraphQLError:
    return domain_error(ErrorCode.CONFLICT, message, **details)


def invalid_state(message: str, **details: Any) -> GraphQLError:
    return domain_error(ErrorCode.INVALID_STATE, message, **details)


def field_error(problem: FieldProblem) -> GraphQLError:
    return bad_input(problem.message, field=problem.field)
