"""Licences as records: one licence by id or number, licence lists, the per-type management list (数据列表 /
证照管理, newest upload first, with the search criteria of licences.md §1.1), revocation, invalidation and
restoration, and the operation log with its CSV export (日志留存)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import orjson
import strawberry
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, bad_input, domain_error
from subgraphs.common.paging import (
    Connection,
    Edge,
    PageInfo,
    PageRequest,
    check_first,
    connection_from_rows,
    decode_cursor,
    keyset_page,
)
from subgraphs.common.spreadsheet import csv_text
from subgraphs.licences import models
from subgraphs.licences.access import actor_of, check_manager, is_manager
from subgraphs.licences.codes import LICENCE_TYPES, LicenceOperation, LicenceTypeCode
from subgraphs.licences.domain.changes import licence_written
from subgraphs.licences.domain.statistics import day_bounds, status_condition
from subgraphs.licences.status import CHINA, LicenceStatus, today_in_china
from subgraphs.licences.types import (
    HEALTH_CERTIFICATE,
    Info,
    Licence,
    LicenceOperationCode,
    LicenceOperationEntry,
    View,
    audience_of,
)

L = models.Licence
LOG = models.LicenceOperationLog
MAX_REASON = 200
MAX_EXPORT_ROWS = 100_000
FIELD_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
# The management list's order: newest upload (入库时间) first; rows stored before ingestion kept that time
# fall back to when they were created.
UPLOADED = func.coalesce(L.ingested_at, L.created_at)


# --- paging newest first ---------------------------------------------------------------------------


def _moment(value: Any, argument: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise bad_input("The cursor is not one this service issued.", argument=argument) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def newest_first(session: AsyncSession, stmt: Select[Any], moment: Any, key: Any,
                       sort_key: Callable[[Any], list[Any]], to_node: Callable[[Any], Any],
                       page: PageRequest) -> Connection[Any]:
    """A keyset page in (moment, key) descending order: the newest first, stable under inserts."""
    first = check_first(page.first)
    if page.after is not None:
        at, last = decode_cursor(page.after, 2)
        at = _moment(at, "after")
        stmt = stmt.where(or_(moment < at, and_(moment == at, key < last)))
    rows = list((await session.scalars(stmt.order_by(moment.desc(), key.desc()).limit(first + 1))).all())
    return connection_from_rows(rows, first, sort_key, to_node, has_previous=page.after is not None)


def uploaded_key(row: models.Licence) -> list[Any]:
    return [(row.ingested_at or row.created_at).isoformat(), row.id]


# --- the management list ---------------------------------------------------------------------------


@strawberry.input(name="LicenceFieldEquals",
                  description="字段值等于: one of the type's own fields (Licence.fields), by its data-element code, "
                              "e.g. {code: \"bloodType\", value: \"A\"}. Text values only.")
class FieldEquals:
    code: str
    value: str


@strawberry.input(description="多条件组合查询 of the management list (licences.md §1.1). Conditions combine with "
                              "AND; names match by part, numbers exactly.")
class LicenceListFilter:
    holder_name: str | None = strawberry.field(default=None, description="持证人姓名 / 机构名称 (contains).")
    id_number: str | None = strawberry.field(default=None, description="身份证号 / 证件号码 (exact).")
    number: str | None = strawberry.field(default=None, description="证照编号 (exact).")
    issuer_name: str | None = strawberry.field(default=None, description="发证机关 (contains).")
    issuer_org_id: strawberry.ID | None = strawberry.field(default=None, description="发证机关 by organisation id.")
    validity_from: date | None = strawberry.field(
        default=None, description="有效期限: validity overlapping the days from this one (licences without an end "
                                  "date always do).")
    validity_to: date | None = strawberry.field(
        default=None, description="有效期限: validity overlapping the days up to this one.")
    issued_from: date | None = strawberry.field(default=None, description="核发日期 on or after.")
    issued_to: date | None = strawberry.field(default=None, description="核发日期 on or before.")
    status: LicenceStatus | None = strawberry.field(default=None, description="证照状态 today.")
    practice_institution_name: str | None = strawberry.field(
        default=None, description="执业地点 (contains).")
    employer_org_id: strawberry.ID | None = strawberry.field(default=None, description="用人单位 (健康证).")
    field_equals: list[FieldEquals] | None = strawberry.field(
        default=None, description="Type-specific fields, e.g. bloodType, honourLevel, physicianLevel.")


def contains(column: Any, text: str) -> ColumnElement[bool]:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


def clean_text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def list_conditions(where: LicenceListFilter, today: date) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if name := clean_text(where.holder_name):
        out.append(contains(L.holder_name, name))
    if id_number := clean_text(where.id_number):
        out.append(L.holder_id_number == id_number.upper())
    if number := clean_text(where.number):
        out.append(L.number == number)
    if issuer := clean_text(where.issuer_name):
        out.append(contains(L.issuer_name, issuer))
    if where.issuer_org_id:
        out.append(L.issuer_org_id == str(where.issuer_org_id))
    if where.validity_from is not None:
        out.append(or_(L.valid_until.is_(None), L.valid_until >= where.validity_from))
    if where.validity_to is not None:
        out.append(or_(L.valid_from.is_(None), L.valid_from <= where.validity_to))
    if where.issued_from is not None:
        out.append(L.issued_at >= where.issued_from)
    if where.issued_to is not None:
        out.append(L.issued_at <= where.issued_to)
    if where.status is not None:
        out.append(status_condition(where.status, today))
    if institution := clean_text(where.practice_institution_name):
        out.append(contains(L.practice_institution_name, institution))
    if where.employer_org_id:
        out.append(L.employer_org_id == str(where.employer_org_id))
    for item in where.field_equals or []:
        if not FIELD_CODE.match(item.code):
            raise bad_input(f"{item.code!r} is not a data-element code.", argument="filter", field="fieldEquals")
        out.append(L.fields[item.code].as_string() == item.value)
    return out


@strawberry.type(description="A page of the management list, with the number of licences matching the filter.")
class LicenceListPage:
    edges: list[Edge[Licence]]
    page_info: PageInfo
    total_count: int = strawberry.field(description="数据总量: all licences matching the filter.")

    @strawberry.field
    def nodes(self) -> list[Licence]:
        return [edge.node for edge in self.edges]


def visibility_condition(caller: Caller | None) -> ColumnElement[bool] | None:
    """SQL form of types.audience_of for lists: someone else's health certificate is left out."""
    if is_manager(caller):
        return None
    own = [L.type_code != HEALTH_CERTIFICATE]
    if caller is not None and not caller.anonymous:
        if caller.person_uid:
            own.append(L.holder_uid == caller.person_uid)
        if caller.organization_id:
            own += [L.employer_org_id == caller.organization_id, L.holder_org_id == caller.organization_id]
    return or_(*own)


# --- the operation log -----------------------------------------------------------------------------


@strawberry.input(description="操作日志 search: conditions combine with AND.")
class LicenceOperationLogFilter:
    type: LicenceTypeCode | None = None
    operation: LicenceOperationCode | None = None  # type: ignore[valid-type]
    operator: str | None = strawberry.field(default=None, description="操作人 (exact).")
    licence_id: strawberry.ID | None = None
    from_: date | None = strawberry.field(default=None, name="from", description="First China day (inclusive).")
    to: date | None = strawberry.field(default=None, description="Last China day (inclusive).")


def log_conditions(where: LicenceOperationLogFilter | None) -> list[ColumnElement[bool]]:
    if where is None:
        return []
    out: list[ColumnElement[bool]] = []
    if where.type is not None:
        out.append(LOG.type_code == where.type.value)
    if where.operation is not None:
        out.append(LOG.operation == LicenceOperation(where.operation).value)
    if operator := clean_text(where.operator):
        out.append(LOG.operator == operator)
    if where.licence_id:
        out.append(LOG.licence_id == str(where.licence_id))
    if where.from_ is not None or where.to is not None:
        start, end = day_bounds(where.from_ or date(1970, 1, 1), where.to or date(9998, 12, 31))
        if where.from_ is not None:
            out.append(LOG.operated_at >= start)
        if where.to is not None:
            out.append(LOG.operated_at < end)
    return out


@strawberry.type(description="A file for download, base64-encoded.")
class LicenceOperationLogFile:
    filename: str
    content_type: str
    content_base64: str
    row_count: int


CSV_HEADER = ["操作时间", "证照类型", "证照名称", "证照ID", "操作", "操作人", "详情"]


def log_csv(rows: list[models.LicenceOperationLog]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese text correctly; cells Excel would run
    as formulas are written as text."""
    return csv_text(CSV_HEADER, (
        [row.operated_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"), row.type_code,
         LICENCE_TYPES[LicenceTypeCode(row.type_code)].name, row.licence_id, row.operation, row.operator,
         orjson.dumps(row.detail or {}, option=orjson.OPT_SORT_KEYS).decode()] for row in rows)).encode()


# --- queries ---------------------------------------------------------------------------------------


def _type_order(row: models.Licence) -> int:
    return LICENCE_TYPES[LicenceTypeCode(row.type_code)].ordinal


@strawberry.type
class LicenceQueries:
    @strawberry.field(description="One licence by id (null if there is none, or it is someone else's 健康证).")
    async def licence(self, info: Info, id: strawberry.ID) -> Licence | None:
        row = await info.context.loaders.licence.load(str(id))
        if row is None or audience_of(info.context.caller, row, View.DIRECT) is None:
            return None
        return Licence.from_row(row)

    @strawberry.field(description="One licence by its 证照编号, optionally of one type. Numbers are unique within a "
                                  "type only: without a type, the match of the first type in the tender's order.")
    async def licence_by_number(self, info: Info, number: str, type: LicenceTypeCode | None = None) -> Licence | None:
        stmt = select(L).where(L.number == number.strip())
        if type is not None:
            stmt = stmt.where(L.type_code == type.value)
        async with info.context.session() as session:
            rows = sorted((await session.scalars(stmt)).all(), key=_type_order)
        caller = info.context.caller
        rows = [r for r in rows if audience_of(caller, r, View.DIRECT) is not None]
        return Licence.from_row(rows[0]) if rows else None

    @strawberry.field(description="Licences in id order, optionally only those one person holds.")
    async def licences(
        self, info: Info, holder_uid: strawberry.ID | None = None, first: int = 20, after: str | None = None
    ) -> Connection[Licence]:
        stmt = select(L)
        if holder_uid is not None:
            stmt = stmt.where(L.holder_uid == str(holder_uid))
        if (hidden := visibility_condition(info.context.caller)) is not None:
            stmt = stmt.where(hidden)
        async with info.context.session() as session:
            return await keyset_page(
                session,
                stmt,
                order_by=[L.id.expression],
                sort_key=lambda row: [row.id],
                to_node=Licence.from_row,
                page=PageRequest(first=first, after=after),
            )

    @strawberry.field(description="数据列表 / 证照管理: the licences of one type, newest upload (入库时间) first, "
                                  "with the multi-condition search and the total. For licence managers.")
    async def licence_list(self, info: Info, type: LicenceTypeCode, filter: LicenceListFilter | None = None,
                           first: int = 10, after: str | None = None) -> LicenceListPage:
        check_manager(info.context.caller, "The licence list")
        conditions = [L.type_code == type.value, *list_conditions(filter or LicenceListFilter(), today_in_china())]
        async with info.context.session() as session:
            total = int(await session.scalar(select(func.count()).select_from(L).where(*conditions)) or 0)
            page = await newest_first(session, select(L).where(*conditions), UPLOADED, L.id, uploaded_key,
                                      Licence.from_row, PageRequest(first=first, after=after))
        return LicenceListPage(edges=page.edges, page_info=page.page_info, total_count=total)

    @strawberry.field(description="日志留存: operations on licences, newest first. For licence managers.")
    async def licence_operation_log(self, info: Info, filter: LicenceOperationLogFilter | None = None,
                                    first: int = 20, after: str | None = None) -> Connection[LicenceOperationEntry]:
        check_manager(info.context.caller, "The operation log")
        async with info.context.session() as session:
            return await newest_first(
                session, select(LOG).where(*log_conditions(filter)), LOG.operated_at, LOG.id,
                lambda r: [r.operated_at.isoformat(), r.id], LicenceOperationEntry.from_row,
                PageRequest(first=first, after=after))

    @strawberry.field(description="日志导出: the operation log matching the filter as CSV (UTF-8 with BOM), newest "
                                  f"first, at most {MAX_EXPORT_ROWS} rows. For licence managers.")
    async def licence_operation_log_csv(self, info: Info,
                                        filter: LicenceOperationLogFilter | None = None) -> LicenceOperationLogFile:
        check_manager(info.context.caller, "The operation log")
        async with info.context.session() as session:
            rows = list((await session.scalars(
                select(LOG).where(*log_conditions(filter)).order_by(LOG.operated_at.desc(), LOG.id.desc())
                .limit(MAX_EXPORT_ROWS + 1))).all())
        if len(rows) > MAX_EXPORT_ROWS:
            raise bad_input(f"More than {MAX_EXPORT_ROWS} entries match: narrow the filter.", argument="filter")
        return LicenceOperationLogFile(filename="licence-operation-log.csv", content_type="text/csv; charset=utf-8",
                                       content_base64=base64.b64encode(log_csv(rows)).decode("ascii"),
                                       row_count=len(rows))


# --- management mutations --------------------------------------------------------------------------


def _reason(reason: str | None, *, required: bool) -> str | None:
    text = (reason or "").strip()
    if not text:
        if required:
            raise bad_input("A reason is required.", argument="reason")
        return None
    if len(text) > MAX_REASON:
        raise bad_input(f"The reason is longer than {MAX_REASON} characters.", argument="reason", maximum=MAX_REASON)
    return text


async def _locked(session: AsyncSession, id: strawberry.ID, expected_version: int | None) -> models.Licence:
    row = await session.get(L, str(id), with_for_update=True)
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No licence has id {id}.", argument="id")
    if expected_version is not None and row.version != expected_version:
        raise domain_error(ErrorCode.CONFLICT, f"Licence {id} has changed (version {row.version}, expected "
                                               f"{expected_version}): reload it.", argument="expectedVersion",
                           version=row.version)
    return row


async def _changed(info: Info, session: AsyncSession, row: models.Licence, operation: LicenceOperation,
                   detail: dict[str, Any]) -> Licence:
    row.version += 1
    await licence_written(session, row, operation=operation, operator=actor_of(info.context.caller), detail=detail)
    return Licence.from_row(row)


@strawberry.type
class LicenceMutations:
    @strawberry.mutation(description="证照废除: revoke a licence (the reason is required). Its status becomes INVALID "
                                     "for good; the face and the electronic licence stay as issued. For managers.")
    async def revoke_licence(self, info: Info, id: strawberry.ID, reason: str,
                             expected_version: int | None = None) -> Licence:
        check_manager(info.context.caller, "Revoking a licence")
        text = _reason(reason, required=True)
        async with info.context.transaction() as session:
            row = await _locked(session, id, expected_version)
            if row.revoked_at is not None:
                raise domain_error(ErrorCode.INVALID_STATE, f"Licence {id} was revoked on {row.revoked_at}.",
                                   argument="id")
            row.revoked_at, row.revoked_reason = today_in_china(), text
            return await _changed(info, session, row, LicenceOperation.REVOKED, {"reason": text})

    @strawberry.mutation(description="置为无效 (validFlag 0): the soft delete; nothing is ever deleted. The reason "
                                     "is required. For managers.")
    async def invalidate_licence(self, info: Info, id: strawberry.ID, reason: str,
                                 expected_version: int | None = None) -> Licence:
        check_manager(info.context.caller, "Invalidating a licence")
        text = _reason(reason, required=True)
        async with info.context.transaction() as session:
            row = await _locked(session, id, expected_version)
            if not row.valid_flag:
                raise domain_error(ErrorCode.INVALID_STATE, f"Licence {id} is invalidated already.", argument="id")
            row.valid_flag = False
            return await _changed(info, session, row, LicenceOperation.INVALIDATED, {"reason": text})

    @strawberry.mutation(description="恢复有效 (validFlag 1): undo an invalidation. A revocation is not undone. "
                                     "For managers.")
    async def restore_licence(self, info: Info, id: strawberry.ID, reason: str | None = None,
                              expected_version: int | None = None) -> Licence:
        check_manager(info.context.caller, "Restoring a licence")
        text = _reason(reason, required=False)
        async with info.context.transaction() as session:
            row = await _locked(session, id, expected_version)
            if row.valid_flag:
                raise domain_error(ErrorCode.INVALID_STATE, f"Licence {id} is not invalidated.", argument="id")
            row.valid_flag = True
            return await _changed(info, session, row, LicenceOperation.RESTORED, {"reason": text} if text else {})


queries: list[type] = [LicenceQueries]
mutations: list[type] = [LicenceMutations]
