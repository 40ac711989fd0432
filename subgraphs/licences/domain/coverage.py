"""数据规模完整 (QC-SCALE-COMPLETE, 6.5.1.2): whether the library's records of a type cover the time and the
issuers they should, month by month.

The tender asks that collection have "明确时间、地域、持证主体覆盖范围，无遗漏". A record-by-record rule cannot
see an omission, so this is a report over what is stored: for each issuing authority (the region a licence
comes from), the licences collected per China month, and the months inside the authority's active span with
nothing collected — a source system that stopped sending. The other half of the rule ("无重复上传同一主体有效
证照") is QC-ONE-VALID-PER-SUBJECT at ingestion. Coverage against the whole population (every nurse in the
province holds a certificate) needs a reference register the library does not have.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.licences import models
from subgraphs.licences.codes import LicenceTypeCode

# Longest span a report covers: a decade of months is plenty for a screen and bounds the work.
MAX_MONTHS = 120


@dataclass(frozen=True)
class MonthCount:
    month: str  # YYYY-MM, China time
    count: int


@dataclass(frozen=True)
class IssuerCoverage:
    issuer_name: str
    months: list[MonthCount]  # months with records, in order
    missing_months: list[str]  # months between the issuer's first and last month with no record


def months_between(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:7])
    out: list[str] = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _china_month(session: AsyncSession) -> ColumnElement[str]:
    column = models.Licence.collected_at
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+8 hours")


async def coverage(session: AsyncSession, type_code: LicenceTypeCode, first_month: date,
                   last_month: date) -> list[IssuerCoverage]:
    first, last = f"{first_month:%Y-%m}", f"{last_month:%Y-%m}"
    if first > last:
        raise ValueError("The first month comes after the last.")
    if len(months_between(first, last)) > MAX_MONTHS:
        raise ValueError(f"A coverage report spans at most {MAX_MONTHS} months.")
    month = _china_month(session).label("month")
    L = models.Licence
    rows = (await session.execute(
        select(L.issuer_name, month, func.count()).where(L.type_code == type_code.value, L.collected_at.is_not(None))
        .group_by(L.issuer_name, month))).all()
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for issuer, m, n in rows:
        if first <= m <= last:
            counts[issuer][m] = int(n)
    report = []
    for issuer in sorted(counts):
        seen = counts[issuer]
        span = months_between(min(seen), max(seen))
        report.append(IssuerCoverage(issuer_name=issuer,
                                     months=[MonthCount(m, seen[m]) for m in sorted(seen)],
                                     missing_months=[m for m in span if m not in seen]))
    return report
