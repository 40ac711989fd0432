"""办件查询 at the window (5.1.2.5.7): "按区域、时间、事项、业务办理项、申请人" plus status, stage and channel,
newest first, within what the staff member's queues hold (access.staff_sees)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import QueryableAttribute

from subgraphs.common.caller import Caller
from subgraphs.common.errors import bad_input
from subgraphs.common.regions import in_subtree
from subgraphs.services import models
from subgraphs.services.access import Desk, check_desk, staff_sees
from subgraphs.services.status import STAGE_OF, ApplicationStage, ApplicationStatus

MAX_NAME = 100


@dataclass(frozen=True)
class CaseFilter:
    region_code: str | None = None  # the region and its subtree (受理地)
    created_from: datetime | None = None  # half-open ranges: from <= t < to
    created_to: datetime | None = None
    submitted_from: datetime | None = None
    submitted_to: datetime | None = None
    item_id: str | None = None
    business_item_id: str | None = None
    applicant_uid: str | None = None
    applicant_name: str | None = None  # exact, as filed
    statuses: tuple[ApplicationStatus, ...] = ()
    stage: ApplicationStage | None = None
    channel: str | None = None


def _range(column: Any, start: datetime | None, end: datetime | None, name: str) -> list[ColumnElement[bool]]:
    if start is not None and end is not None and end <= start:
        raise bad_input(f"{name}To must be after {name}From.", argument=f"{name}To")
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return conditions


def case_query(caller: Caller | None, f: CaseFilter) -> Select[models.Application]:
    """The statement of the window's case search (unordered; the caller pages it newest first)."""
    check_desk(caller, "办件查询", Desk.WINDOW, Desk.APPROVER, Desk.LEADER)
    Ap = models.Application
    conditions: list[ColumnElement[bool]] = [staff_sees(caller)]
    if f.region_code:
        conditions.append(in_subtree(cast(QueryableAttribute[str], Ap.region_code), f.region_code.strip()))
    conditions += _range(Ap.created_at, f.created_from, f.created_to, "created")
    conditions += _range(Ap.submitted_at, f.submitted_from, f.submitted_to, "submitted")
    if f.business_item_id:
        conditions.append(Ap.business_item_id == f.business_item_id)
    if f.item_id:
        conditions.append(Ap.business_item_id.in_(
            select(models.BusinessItem.id).where(models.BusinessItem.item_id == f.item_id)))
    if f.applicant_uid:
        conditions.append(Ap.applicant_uid == f.applicant_uid)
    if f.applicant_name is not None:
        name = f.applicant_name.strip()
        if not name or len(name) > MAX_NAME:
            raise bad_input(f"applicantName must be 1-{MAX_NAME} characters.", argument="applicantName")
        conditions.append(Ap.applicant_name == name)
    if f.statuses:
        conditions.append(Ap.status.in_([s.value for s in f.statuses]))
    if f.stage is not None:
        conditions.append(Ap.status.in_([s.value for s, stage in STAGE_OF.items() if stage is f.stage]))
    if f.channel:
        conditions.append(Ap.channel == f.channel)
    return select(Ap).where(*conditions)
