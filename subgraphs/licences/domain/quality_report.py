"""数据校验日报 (6.5.3, L11625): the quality of one China day's ingestion: batches passed and rejected,
records received, stored and updated, issues by rule, type and issuer, tickets opened, closed and open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.china_time import CHINA as CHINA  # re-exported
from subgraphs.common.china_time import china_day_bounds as china_day_bounds
from subgraphs.licences import models
from subgraphs.licences.codes import BatchStatus
from subgraphs.licences.domain.rectification import OPEN


@dataclass(frozen=True)
class Count:
    key: str
    outcome: str | None
    count: int


@dataclass(frozen=True)
class QualityReport:
    day: date
    batches_passed: int
    batches_rejected: int  # rejected on arrival, resubmitted since or not
    records_received: int
    records_stored: int  # new licences
    records_updated: int  # overwritten by primary key
    issues: int
    by_rule: list[Count]
    by_type: list[Count]
    by_issuer: list[Count]
    tickets_opened: int
    tickets_closed: int
    open_tickets: int  # open now, whatever day they were opened


async def daily_report(session: AsyncSession, day: date) -> QualityReport:
    start, end = china_day_bounds(day)
    B, Q, T = models.IngestionBatch, models.QualityIssue, models.RectificationTicket
    batches = (await session.execute(
        select(B.status, func.count(), func.coalesce(func.sum(B.record_count), 0),
               func.coalesce(func.sum(B.stored_count), 0), func.coalesce(func.sum(B.updated_count), 0))
        .where(B.submitted_at >= start, B.submitted_at < end).group_by(B.status))).all()
    passed = sum(int(n) for status, n, *_ in batches if status == BatchStatus.PASSED.value)
    rejected = sum(int(n) for status, n, *_ in batches if status != BatchStatus.PASSED.value)
    on_day = Q.detected_on == day

    async def grouped(column: object, with_outcome: bool) -> list[Count]:
        cols = [column, Q.outcome] if with_outcome else [column]
        rows = (await session.execute(select(*cols, func.count()).where(on_day).group_by(*cols))).all()  # type: ignore[call-overload]
        counts = [Count(str(r[0]) if r[0] is not None else "", str(r[1]) if with_outcome else None, int(r[-1]))
                  for r in rows]
        return sorted(counts, key=lambda c: (-c.count, c.key))

    by_rule = await grouped(Q.rule_code, True)
    return QualityReport(
        day=day, batches_passed=passed, batches_rejected=rejected,
        records_received=sum(int(r[2]) for r in batches), records_stored=sum(int(r[3]) for r in batches),
        records_updated=sum(int(r[4]) for r in batches), issues=sum(c.count for c in by_rule), by_rule=by_rule,
        by_type=await grouped(Q.type_code, False), by_issuer=await grouped(Q.issuer_name, False),
        tickets_opened=int(await session.scalar(select(func.count()).select_from(T).where(
            T.opened_at >= start, T.opened_at < end)) or 0),
        tickets_closed=int(await session.scalar(select(func.count()).select_from(T).where(
            T.closed_at >= start, T.closed_at < end)) or 0),
        open_tickets=int(await session.scalar(select(func.count()).select_from(T).where(T.status == OPEN)) or 0),
    )
