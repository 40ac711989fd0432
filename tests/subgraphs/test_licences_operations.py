"""The third-party operations of operations/licences/ are valid against the licences schema and answer as
their systems expect."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import parse, validate
from sqlalchemy import select
from support import execute, make_runtime

from subgraphs.licences import models
from subgraphs.licences.app import definition
from subgraphs.licences.schema import schema

OPERATIONS = Path(__file__).resolve().parents[2] / "operations" / "licences"


def operation(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", sorted(OPERATIONS.glob("*.graphql")), ids=lambda p: p.stem)
def test_each_operation_is_valid_against_the_schema(path: Path) -> None:
    document = parse(path.read_text(encoding="utf-8"))
    assert validate(schema._schema, document) == []
    [definition_node] = document.definitions
    assert definition_node.name is not None and definition_node.name.value == path.stem  # type: ignore[attr-defined]


async def test_verify_licence_answers_authentic_and_status_only(tmp_path: Path) -> None:
    # A database of its own: every verification appends to the verification records.
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 'l.db'}")
    async with runtime.sessions() as session:
        row = (await session.scalars(select(models.Licence).where(
            models.Licence.type_code == "NURSE_PRACTICE", models.Licence.valid_flag.is_(True),
            models.Licence.revoked_at.is_(None)).order_by(models.Licence.id).limit(1))).one()
    query = operation("VerifyLicence")
    genuine = await execute(runtime, query, {"type": "NURSE_PRACTICE", "number": row.number,
                                             "idNumber": row.holder_id_number})
    assert genuine["verifyLicence"]["authentic"] is True
    assert set(genuine["verifyLicence"]) == {"authentic", "status"}
    forged = await execute(runtime, query, {"type": "NURSE_PRACTICE", "number": row.number,
                                            "idNumber": "11010519491231002X"})
    assert forged["verifyLicence"] == {"authentic": False, "status": None}
    await runtime.engine.dispose()
