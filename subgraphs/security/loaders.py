"""Per-request DataLoaders: every lookup by key in one request becomes one SQL statement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from aiodataloader import DataLoader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased, defer

from subgraphs.common.caller import Caller
from subgraphs.common.loaders import ChildRows
from subgraphs.security.domain import incidents, protection
from subgraphs.security.models import (
    Asset,
    AssetChange,
    DisposalChangeRequest,
    DisposalReport,
    DrillFile,
    DrillViewer,
    IncidentRecipient,
    NoticeMaterial,
    OpsTicketEvent,
    ProtectionChangeRequest,
    ProtectionRecord,
    SecurityIncident,
)

L = TypeVar("L", bound=DataLoader[Any, Any])
NEWEST_INCIDENTS_FIRST = (SecurityIncident.issued_at.desc(), SecurityIncident.id.desc())


class AssetById(DataLoader[str, Asset | None]):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, ids: Sequence[str]) -> list[Asset | None]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(Asset).where(Asset.id.in_(ids)))).all()
        found = {row.id: row for row in rows}
        return [found.get(id_) for id_ in ids]


class AssetsByOwner(DataLoader[str, list[Asset]]):
    """Organization.assets: every asset of each organisation, in id order."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self.sessions = sessions

    async def batch_load_fn(self, owner_ids: Sequence[str]) -> list[list[Asset]]:
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    select(Asset).where(Asset.owner_id.in_(owner_ids)).order_by(Asset.owner_id, Asset.id)
                )
            ).all()
        by_owner: dict[str, list[Asset]] = defaultdict(list)
        for row in rows:
            by_owner[row.owner_id].append(row)
        return [by_owner.get(id_, []) for id_ in owner_ids]


class IncidentsByOrg(DataLoader[tuple[str, int], list[SecurityIncident]]):
    """Organization.incidents, keyed by (organisation id, first): each organisation's newest `first`
    incidents the caller may see. One statement for a page of organisations, and only the rows returned:
    each organisation's incidents are ranked in a window and cut at the largest `first` asked for."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], caller: Caller | None) -> None:
        super().__init__()
        self.sessions = sessions
        self.caller = caller

    async def batch_load_fn(self, keys: Sequence[tuple[str, int]]) -> list[list[SecurityIncident]]:
        org_ids = sorted({org for org, _ in keys})
        limit = max(first for _, first in keys)
        rank = func.row_number().over(partition_by=SecurityIncident.affected_org_id, order_by=NEWEST_INCIDENTS_FIRST)
        ranked = (select(SecurityIncident, rank.label("rank"))
                  .where(SecurityIncident.affected_org_id.in_(org_ids), incidents.visible_condition(self.caller))
                  .subquery())
        page = aliased(SecurityIncident, ranked)
        stmt = select(page).where(ranked.c.rank <= limit).order_by(ranked.c.affected_org_id, ranked.c.rank)
        async with self.sessions() as session:
            rows = (await session.scalars(stmt)).all()
        newest: dict[str, list[SecurityIncident]] = defaultdict(list)
        for row in rows:
            newest[row.affected_org_id].append(row)
        return [newest.get(org, [])[:first] for org, first in keys]


class Loaders:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.asset = AssetById(sessions)
        self.assets_by_owner = AssetsByOwner(sessions)
        self.asset_changes = ChildRows(sessions, AssetChange.asset_id, (AssetChange.at.desc(), AssetChange.id.desc()))
        self.ticket_events = ChildRows(sessions, OpsTicketEvent.ticket_id, (OpsTicketEvent.id,))
        # Drill.files (every phase: a phase asked for is picked from them) and Drill.viewers.
        self.drill_files = ChildRows(sessions, DrillFile.drill_id,
                                     (DrillFile.phase, DrillFile.uploaded_at, DrillFile.id),
                                     options=(defer(DrillFile.content, raiseload=True),))
        self.drill_viewers = ChildRows(sessions, DrillViewer.drill_id, (DrillViewer.principal,))
        # NoticeDelivery.materials, keyed by the delivery's (integer) id.
        self.notice_materials = ChildRows(sessions, NoticeMaterial.delivery_id,
                                          (NoticeMaterial.submitted_at, NoticeMaterial.id),
                                          options=(defer(NoticeMaterial.content, raiseload=True),))
        # An incident's recipients and reports, a report's change requests (the caller's share is picked
        # by the resolvers).
        self.incident_recipients = ChildRows(sessions, IncidentRecipient.incident_id, (IncidentRecipient.id,))
        self.incident_reports = ChildRows(sessions, DisposalReport.incident_id,
                                          (DisposalReport.incident_id, DisposalReport.id))
        self.disposal_changes = ChildRows(sessions, DisposalChangeRequest.report_id,
                                          (DisposalChangeRequest.requested_at, DisposalChangeRequest.id))
        self._of_caller: dict[tuple[str, Caller | None], DataLoader[Any, Any]] = {}

    def _scoped(self, name: str, caller: Caller | None, make: Callable[[], L]) -> L:
        """The loader `name` for what `caller` may see, made on first use (a request has one caller)."""
        key = (name, caller)
        if key not in self._of_caller:
            self._of_caller[key] = make()
        return cast(L, self._of_caller[key])

    def org_incidents(self, caller: Caller | None) -> IncidentsByOrg:
        """Organization.incidents: keyed by (organisation id, first)."""
        return self._scoped("org_incidents", caller, lambda: IncidentsByOrg(self.sessions, caller))

    def protection_records_of_asset(self, caller: Caller | None) -> ChildRows:
        """Asset.protectionRecords: the records linked to an asset within the caller's scope, in id order."""
        return self._scoped("protection_records_of_asset", caller, lambda: ChildRows(
            self.sessions, ProtectionRecord.asset_id, (ProtectionRecord.id,),
            where=(protection.visible_records(caller),)))

    def protection_change_requests(self, caller: Caller | None) -> ChildRows:
        """ProtectionRecord.changeRequests: a record's requests within the caller's scope, newest first."""
        return self._scoped("protection_change_requests", caller, lambda: ChildRows(
            self.sessions, ProtectionChangeRequest.record_id,
            (ProtectionChangeRequest.requested_at.desc(), ProtectionChangeRequest.id.desc()),
            where=(protection.visible_requests(caller),)))
