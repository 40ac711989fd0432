"""Reading bundle cases: who may see one, the operators' list filters (代办/完结/废止查询 and the department
queries by 办理状态), newest-first keyset pages, and the steps of many cases in one statement."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from subgraphs.common.caller import Caller
from subgraphs.common.errors import bad_input
from subgraphs.common.paging import Connection, check_first, connection_from_rows, decode_cursor
from subgraphs.common.regions import in_subtree
from subgraphs.common.scope import region_scope
from subgraphs.services import models
from subgraphs.services.access import Desk, is_manager, works_at
from subgraphs.services.applications import as_utc

T = TypeVar("T")
C = models.BundleCase
NEWEST_FIRST = (C.created_at.desc(), C.id.desc())
STAFF_DESKS = (Desk.WINDOW, Desk.APPROVER, Desk.LEADER)
STEP_SCOPE = "services:bundle:"


def step_scope(step: str) -> str:
    """The scope a department system holds to report on a step, e.g. services:bundle:hukou."""
    return STEP_SCOPE + step.lower()


def is_owner(caller: Caller | None, case: models.BundleCase) -> bool:
    return caller is not None and caller.person_uid is not None and caller.person_uid == case.applicant_uid


def is_staff(caller: Caller | None) -> bool:
    return caller is not None and not caller.anonymous and works_at(caller, *STAFF_DESKS)


def operates(caller: Caller | None, case: models.BundleCase) -> bool:
    """分发系统 operators: managers, and staff whose data scope holds the case's region."""
    if is_manager(caller):
        return True
    return is_staff(caller) and region_scope(caller).allows(case.region_code)


def may_see(caller: Caller | None, case: models.BundleCase, steps: Sequence[str] = ()) -> bool:
    """The applicant, the operators, and a department system holding the scope of one of the case's steps."""
    if is_owner(caller, case) or operates(caller, case):
        return True
    return caller is not None and any(step_scope(s) in caller.scopes for s in steps)


def staff_condition(caller: Caller | None) -> ColumnElement[bool]:
    if is_manager(caller):
        return true()
    if not is_staff(caller):
        return false()
    return region_scope(caller).condition(cast(QueryableAttribute[str], C.region_code))


@dataclass(frozen=True)
class CaseFilter:
    statuses: Sequence[str] = ()
    bundle: str | None = None
    region_code: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    business_id: str | None = None
    step: str | None = None
    step_statuses: Sequence[str] = ()

    def conditions(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.statuses:
            out.append(C.status.in_(list(self.statuses)))
        if self.bundle:
            out.append(C.bundle_code == self.bundle)
        if self.region_code:
            out.append(in_subtree(cast(QueryableAttribute[str], C.region_code), self.region_code))
        if self.created_from:
            out.append(C.created_at >= self.created_from)
        if self.created_to:
            out.append(C.created_at < self.created_to)
        if self.business_id:
            out.append(C.business_id == self.business_id)
        if self.step or self.step_statuses:
            S = models.BundleSubCase
            sub = [S.case_id == C.id]
            if self.step:
                sub.append(S.step_code == self.step)
            if self.step_statuses:
                sub.append(S.status.in_(list(self.step_statuses)))
            out.append(exists().where(*sub))
        return out


def _older_than(cursor: str) -> ColumnElement[bool]:
    created_text, case_id = decode_cursor(cursor, 2)
    try:
        created = as_utc(datetime.fromisoformat(created_text))
    except (TypeError, ValueError):
        raise bad_input("The cursor is not one this service issued.", argument="after") from None
    if not isinstance(case_id, str):
        raise bad_input("The cursor is not one this service issued.", argument="after")
    return or_(C.created_at < created, and_(C.created_at == created, C.id < case_id))


def _sort_key(row: models.BundleCase) -> Sequence[Any]:
    return [row.created_at.isoformat(), row.id]


async def newest_first(session: AsyncSession, stmt: Select[Any],
                       to_node: Callable[[models.BundleCase], T], first: int, after: str | None) -> Connection[T]:
    first = check_first(first)
    if after is not None:
        stmt = stmt.where(_older_than(after))
    rows: list[models.BundleCase] = list((await session.scalars(stmt.order_by(*NEWEST_FIRST).limit(first + 1))).all())
    return connection_from_rows(rows, first, _sort_key, to_node, has_previous=after is not None)


async def steps_of_cases(session: AsyncSession, case_ids: Sequence[str]
                         ) -> dict[str, list[tuple[models.BundleSubCase, models.BundleStep]]]:
    """Each case's sub-cases with their step definitions, in the bundle's step order."""
    S, D = models.BundleSubCase, models.BundleStep
    stmt = (select(S, D).join(C, C.id == S.case_id)
            .join(D, and_(D.bundle_code == C.bundle_code, D.code == S.step_code))
            .where(S.case_id.in_(list(case_ids))).order_by(S.case_id, D.ordinal))
    out: dict[str, list[tuple[models.BundleSubCase, models.BundleStep]]] = {i: [] for i in case_ids}
    for sub, step in await session.execute(stmt):
        out[sub.case_id].append((sub, step))
    return out
