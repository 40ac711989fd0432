"""Applications (办件): one by id, and lists."""

from __future__ import annotations

import strawberry
from sqlalchemy import select

from subgraphs.common.paging import Connection
from subgraphs.services import models
from subgraphs.services.applications import newest_first_page
from subgraphs.services.status import ApplicationStatus
from subgraphs.services.types import Application, Info


@strawberry.type
class ApplicationQueries:
    @strawberry.field(description="One application (办件) by id.")
    async def application(self, info: Info, id: strawberry.ID) -> Application | None:
        row = await info.context.loaders.application.load(str(id))
        return Application.from_row(row) if row else None

    @strawberry.field(description="Applications, newest first, optionally of one applicant, in one status.")
    async def applications(
        self,
        info: Info,
        applicant_uid: strawberry.ID | None = None,
        status: ApplicationStatus | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Application]:
        stmt = select(models.Application)
        if applicant_uid is not None:
            stmt = stmt.where(models.Application.applicant_uid == str(applicant_uid))
        if status is not None:
            stmt = stmt.where(models.Application.status == status.value)
        async with info.context.session() as session:
            return await newest_first_page(session, stmt, Application.from_row, first, after)


queries: list[type] = [ApplicationQueries]
mutations: list[type] = []
