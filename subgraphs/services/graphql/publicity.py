"""Publicity (公示公开: 许可公示, 备案公示) and notices (通知公告): public reads, no sign-in; notices are written by
the service hall's managers. The rules live in domain/publicity.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Self, cast

import strawberry
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import QueryableAttribute

from subgraphs.common.errors import bad_input
from subgraphs.common.paging import Connection, check_first, connection_from_rows, decode_cursor
from subgraphs.common.regions import in_subtree
from subgraphs.services import models
from subgraphs.services.applications import as_utc
from subgraphs.services.domain import publicity as rules
from subgraphs.services.types import BusinessItem, Info

strawberry.enum(rules.PublicityKind, name="PublicityKind",
                description="公示类型: LICENSING 许可公示, FILING 备案公示.")
strawberry.enum(
    rules.NoticeKind, name="NoticeKind",
    description="通知公告类型: HOLIDAY_SUSPENSION 放假暂停线上办理通知, ITEM_UPDATE 办理事项更新公告, SYSTEM_UPDATE "
                "系统更新通知, SERVICE_STOP 停服公告, MAINTENANCE 维护公告, UPGRADE 升级公告.")


@strawberry.type(description="公示: a published licensing or filing decision.")
class Publicity:
    id: strawberry.ID
    kind: rules.PublicityKind
    subject: str = strawberry.field(description="The applicant as published: organisations in full, persons masked.")
    decision: str = strawberry.field(description="The decision (准予决定书's title, or a text from the item).")
    decision_number: str | None = strawberry.field(description="决定书文号.")
    region_code: str | None
    published_at: datetime
    row: strawberry.Private[models.Publicity]

    @classmethod
    def from_row(cls, row: models.Publicity) -> Self:
        return cls(id=strawberry.ID(row.id), kind=rules.PublicityKind(row.kind), subject=row.subject,
                   decision=row.decision, decision_number=row.decision_number, region_code=row.region_code,
                   published_at=row.published_at, row=row)

    @strawberry.field(description="公示类型 in Chinese, e.g. 许可公示.")
    def kind_label(self) -> str:
        return "许可公示" if self.row.kind == rules.PublicityKind.LICENSING.value else "备案公示"

    @strawberry.field(description="业务办理项 decided.")
    async def business_item(self, info: Info) -> BusinessItem | None:
        row = await info.context.loaders.business_item.load(self.row.business_item_id)
        return BusinessItem.from_row(row) if row else None


@strawberry.type(description="通知公告.")
class Notice:
    id: strawberry.ID
    kind: rules.NoticeKind
    title: str
    content: str
    valid_from: datetime
    valid_to: datetime | None = strawberry.field(description="上下架时间: null while open-ended.")
    blocks_submission: bool = strawberry.field(description="Online submission is refused while it is in force.")
    created_at: datetime

    @classmethod
    def from_row(cls, row: models.Notice) -> Self:
        return cls(id=strawberry.ID(row.id), kind=rules.NoticeKind(row.kind), title=row.title, content=row.content,
                   valid_from=row.valid_from, valid_to=row.valid_to, blocks_submission=row.blocks_submission,
                   created_at=row.created_at)

    @strawberry.field(description="通知公告类型 in Chinese, e.g. 停服公告.")
    def kind_label(self) -> str:
        return rules.NOTICE_LABELS[self.kind]


@strawberry.input(description="A notice's content and period.")
class NoticeInput:
    kind: rules.NoticeKind
    title: str
    content: str
    valid_from: datetime
    valid_to: datetime | None = None
    blocks_submission: bool | None = strawberry.field(
        default=None, description="Stop online submission while in force (停服 always; 放假暂停 may; default: "
                                  "what the kind implies).")

    def to_domain(self) -> rules.NoticeInput:
        return rules.NoticeInput(kind=self.kind, title=self.title, content=self.content,
                                 valid_from=self.valid_from, valid_to=self.valid_to,
                                 blocks_submission=self.blocks_submission)


def _older_than(cursor: str) -> Any:
    published_text, publicity_id = decode_cursor(cursor, 2)
    try:
        published = as_utc(datetime.fromisoformat(published_text))
    except (TypeError, ValueError):
        raise bad_input("The cursor is not one this service issued.", argument="after") from None
    P = models.Publicity
    return or_(P.published_at < published, and_(P.published_at == published, P.id < str(publicity_id)))


@strawberry.type
class PublicityQueries:
    @strawberry.field(description="公示公开: published decisions, newest first (public).")
    async def publicities(
        self, info: Info, kind: rules.PublicityKind | None = None,
        region_code: str | None = None, published_from: datetime | None = None,
        published_to: datetime | None = None, first: int = 20, after: str | None = None,
    ) -> Connection[Publicity]:
        first = check_first(first)
        P = models.Publicity
        stmt = select(P)
        if kind is not None:
            stmt = stmt.where(P.kind == kind.value)
        if region_code:
            stmt = stmt.where(in_subtree(cast(QueryableAttribute[str], P.region_code), region_code.strip()))
        if published_from is not None:
            stmt = stmt.where(P.published_at >= published_from)
        if published_to is not None:
            stmt = stmt.where(P.published_at < published_to)
        if after is not None:
            stmt = stmt.where(_older_than(after))
        async with info.context.session() as session:
            rows = list((await session.scalars(
                stmt.order_by(P.published_at.desc(), P.id.desc()).limit(first + 1))).all())
        return connection_from_rows(rows, first, lambda r: [r.published_at.isoformat(), r.id], Publicity.from_row,
                                    has_previous=after is not None)

    @strawberry.field(description="通知公告 in force at a time (default: now), newest first (public).")
    async def notices(self, info: Info, active_on: datetime | None = None,
                      kind: rules.NoticeKind | None = None) -> list[Notice]:
        at = active_on or datetime.now(UTC)
        if at.tzinfo is None:
            raise bad_input("activeOn needs a time zone.", argument="activeOn")
        async with info.context.session() as session:
            rows = await rules.active_notices(session, at, kind)
        return [Notice.from_row(r) for r in rows]


@strawberry.type
class PublicityMutations:
    @strawberry.mutation(description="Publish a notice (managers).")
    async def create_notice(self, info: Info, notice: NoticeInput) -> Notice:
        async with info.context.transaction() as session:
            row = await rules.create_notice(session, info.context.caller, notice.to_domain(), datetime.now(UTC))
        return Notice.from_row(row)

    @strawberry.mutation(description="Correct a notice still in force or yet to come (managers).")
    async def update_notice(self, info: Info, id: strawberry.ID, notice: NoticeInput) -> Notice:
        async with info.context.transaction() as session:
            row = await rules.update_notice(session, info.context.caller, str(id), notice.to_domain(),
                                            datetime.now(UTC))
        return Notice.from_row(row)

    @strawberry.mutation(description="下架: end a notice now (managers).")
    async def withdraw_notice(self, info: Info, id: strawberry.ID) -> Notice:
        async with info.context.transaction() as session:
            row = await rules.withdraw_notice(session, info.context.caller, str(id), datetime.now(UTC))
        return Notice.from_row(row)


queries: list[type] = [PublicityQueries]
mutations: list[type] = [PublicityMutations]
