"""Federation field sets (`@key(fields: "id org { id }")`) are selection sets without braces."""

from __future__ import annotations

from functools import lru_cache

from graphql import FieldNode, OperationDefinitionNode, SelectionSetNode, parse


@lru_cache(maxsize=4096)
def parse_fieldset(fields: str) -> SelectionSetNode:
    document = parse("{" + fields + "}", no_location=True)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return operation.selection_set


def top_level_fields(fields: str) -> list[str]:
    return [s.name.value for s in parse_fieldset(fields).selections if isinstance(s, FieldNode)]
