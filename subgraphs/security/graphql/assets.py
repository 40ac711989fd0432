"""Internet assets (互联网资产): reads within the caller's data scope, registration, changes with their history,
status moves (one or a batch), owner changes, verification and the 僵尸资产 list (domain/assets.py has the rules)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from sqlalchemy import select

from subgraphs.common.paging import Connection, PageRequest, keyset_page
from subgraphs.security import access, models
from subgraphs.security.domain import assets as domain
from subgraphs.security.types import Asset, AssetKind, AssetStatus, Info


@strawberry.type(description="One field of a change: its value before and after (as text; null: empty).")
class AssetFieldChange:
    field: str
    before: str | None
    after: str | None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@strawberry.type(description="变更记录: one change of an asset (变更内容, 变更时间, 变更人, 变更原因).")
class AssetChange:
    id: strawberry.ID
    action: str = strawberry.field(description="REGISTERED, UPDATED, STATUS, OWNER or VERIFIED.")
    fields: list[AssetFieldChange] = strawberry.field(description="变更内容")
    reason: str | None = strawberry.field(description="变更原因")
    actor: str = strawberry.field(description="变更人")
    at: datetime = strawberry.field(description="变更时间")

    @classmethod
    def from_row(cls, row: models.AssetChange) -> AssetChange:
        return cls(
            id=strawberry.ID(str(row.id)), action=row.action, reason=row.reason, actor=row.actor, at=row.at,
            fields=[AssetFieldChange(field=name, before=_text(v.get("before")), after=_text(v.get("after")))
                    for name, v in row.changes.items()],
        )


async def asset_history(info: Info, asset_id: str) -> list[AssetChange]:
    """Asset.history: the rows of one asset (the Asset was already checked against the data scope)."""
    return [AssetChange.from_row(r) for r in await info.context.loaders.asset_changes.load(asset_id)]


@strawberry.input(description="The descriptive fields of an asset; on update, a field left out stays as it is.")
class AssetInput:
    name: str | None = None
    host: str | None = strawberry.field(default=None, description="Domain or IP address, validated by kind.")
    icp_filing_number: str | None = None
    ip_segment: str | None = strawberry.field(default=None, description="CIDR, e.g. 10.1.2.0/24")
    location: str | None = None
    online_date: date | None = None
    department: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None

    def fields(self) -> domain.AssetFields:
        return domain.AssetFields(
            name=self.name, host=self.host, icp_filing_number=self.icp_filing_number, ip_segment=self.ip_segment,
            location=self.location, online_date=self.online_date, department=self.department,
            contact_name=self.contact_name, contact_phone=self.contact_phone,
        )


@strawberry.input(description="资产查询: every condition given must hold.")
class AssetSearchInput:
    keyword: str | None = strawberry.field(default=None, description="Part of the name, host (IP or domain), "
                                                                      "department or person in charge.")
    kinds: list[AssetKind] | None = None
    statuses: list[AssetStatus] | None = strawberry.field(
        default=None, description="Default: in use and disabled (报废 assets are managed apart).")
    owner_id: strawberry.ID | None = None
    region_code: str | None = strawberry.field(default=None, description="A region code; matched by its city.")
    online_from: date | None = None
    online_to: date | None = None
    include_scrapped: bool = False


def _page(stmt: Any, first: int, after: str | None) -> Any:
    return dict(
        stmt=stmt,
        # keyset_page is typed for column expressions; .expression is the same column.
        order_by=[models.Asset.id.expression],
        sort_key=lambda row: [row.id],
        to_node=Asset.from_row,
        page=PageRequest(first=first, after=after),
    )


@strawberry.type
class AssetQueries:
    @strawberry.field(description="One asset by id; null when it does not exist or is outside the caller's scope.")
    async def asset(self, info: Info, id: strawberry.ID) -> Asset | None:
        row = await info.context.loaders.asset.load(str(id))
        if row is None or not access.sees_org(info.context.caller, row.owner_id, row.region_code):
            return None
        return Asset.from_row(row)

    @strawberry.field(description="Assets in id order within the caller's scope (every status, 报废 included), "
                                  "optionally of one organisation and in one status.")
    async def assets(
        self,
        info: Info,
        owner_id: strawberry.ID | None = None,
        status: AssetStatus | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Asset]:
        stmt = select(models.Asset).where(domain.visible(info.context.caller))
        if owner_id is not None:
            stmt = stmt.where(models.Asset.owner_id == str(owner_id))
        if status is not None:
            stmt = stmt.where(models.Asset.status == status.name)
        async with info.context.session() as session:
            return await keyset_page(session, **_page(stmt, first, after))

    @strawberry.field(description="资产查询 by keyword, type, status, unit, region and go-live date, in id order.")
    async def search_assets(self, info: Info, filter: AssetSearchInput | None = None, first: int = 20,
                            after: str | None = None) -> Connection[Asset]:
        f = filter or AssetSearchInput()
        search = domain.AssetSearch(
            keyword=f.keyword, kinds=[k.name for k in f.kinds or ()], statuses=[s.name for s in f.statuses or ()],
            owner_id=None if f.owner_id is None else str(f.owner_id), region_code=f.region_code,
            online_from=f.online_from, online_to=f.online_to, include_scrapped=f.include_scrapped,
        )
        stmt = domain.search_statement(info.context.caller, search)
        async with info.context.session() as session:
            return await keyset_page(session, **_page(stmt, first, after))

    @strawberry.field(description="僵尸资产: assets in use or disabled not verified (nor registered) for `days`.")
    async def stale_assets(self, info: Info, days: int = 365, first: int = 20,
                           after: str | None = None) -> Connection[Asset]:
        stmt = domain.stale_statement(info.context.caller, days, domain.now_utc())
        async with info.context.session() as session:
            return await keyset_page(session, **_page(stmt, first, after))

    @strawberry.field(description="变更记录 of an asset, newest first.")
    async def asset_history(self, info: Info, id: strawberry.ID) -> list[AssetChange]:
        async with info.context.session() as session:
            row = await domain.get_visible(session, info.context.caller, str(id))
            return [AssetChange.from_row(r) for r in await domain.history(session, row.id)]


@strawberry.type
class AssetMutations:
    @strawberry.mutation(description="资产登记 (a unit for itself, or an administrator): IN_USE; a host registered "
                                     "before is refused (CONFLICT, 重复登记) naming the existing asset. regionCode: "
                                     "the owner's region when the owner id does not carry it.")
    async def register_asset(self, info: Info, kind: AssetKind, owner_id: strawberry.ID, input: AssetInput,
                             region_code: str | None = None) -> Asset:
        async with info.context.transaction() as session:
            row = await domain.register(session, info.context.caller, kind=kind.name, owner_id=str(owner_id),
                                        fields=input.fields(), region_code=region_code)
        return Asset.from_row(row)

    @strawberry.mutation(description="Change an asset's fields; recorded as one change with before and after.")
    async def update_asset(self, info: Info, id: strawberry.ID, input: AssetInput,
                           reason: str | None = None) -> Asset:
        async with info.context.transaction() as session:
            row = await domain.update(session, info.context.caller, str(id), input.fields(), reason)
        return Asset.from_row(row)

    @strawberry.mutation(description="在用 ↔ 停用, either → 报废 (final); a reason is required.")
    async def change_asset_status(self, info: Info, id: strawberry.ID, status: AssetStatus, reason: str) -> Asset:
        async with info.context.transaction() as session:
            row = await domain.change_status(session, info.context.caller, str(id), status.name, reason)
        return Asset.from_row(row)

    @strawberry.mutation(description="批量状态变更: all the assets move, or none does (the refusal names the asset).")
    async def change_asset_statuses(self, info: Info, ids: list[strawberry.ID], status: AssetStatus,
                                    reason: str) -> list[Asset]:
        async with info.context.transaction() as session:
            rows = await domain.change_statuses(session, info.context.caller, [str(i) for i in ids], status.name,
                                                reason)
        return [Asset.from_row(r) for r in rows]

    @strawberry.mutation(description="负责人变更 / 归属单位变更 (administrators, with a reason).")
    async def change_asset_owner(self, info: Info, id: strawberry.ID, reason: str,
                                 owner_id: strawberry.ID | None = None, region_code: str | None = None,
                                 contact_name: str | None = None, contact_phone: str | None = None) -> Asset:
        async with info.context.transaction() as session:
            row = await domain.change_owner(
                session, info.context.caller, str(id), reason,
                owner_id=None if owner_id is None else str(owner_id), region_code=region_code,
                contact_name=contact_name, contact_phone=contact_phone,
            )
        return Asset.from_row(row)

    @strawberry.mutation(description="定期核查: confirm the asset's information is current.")
    async def verify_asset(self, info: Info, id: strawberry.ID, note: str | None = None) -> Asset:
        async with info.context.transaction() as session:
            row = await domain.verify(session, info.context.caller, str(id), note)
        return Asset.from_row(row)


queries: list[type] = [AssetQueries]
mutations: list[type] = [AssetMutations]
