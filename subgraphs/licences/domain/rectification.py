"""Rectification (整改, 6.5.1.3 L11601-L11609): one ticket per batch with issues to fix, its history
(整改全流程: at, actor, action, note), and its closure.

A rejected batch's ticket stays OPEN until a resubmission passes the re-check (自动二次校验): then every batch
of the ticket becomes RESUBMITTED and the ticket and its issues are closed. A resubmission that fails again
adds its issues to the same ticket, so one ticket follows one problem to its end. A passed batch with
warnings gets a ticket too, closed by a manager once the source has sent the correction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import ErrorCode, bad_input, domain_error
from subgraphs.licences import models
from subgraphs.licences.codes import BatchStatus
from subgraphs.licences.ids import new_hex

OPEN, CLOSED = "OPEN", "CLOSED"
NOTE_LENGTH = 500


def entry(at: datetime, actor: str, action: str, note: str) -> dict[str, Any]:
    return {"at": at.isoformat(), "actor": actor, "action": action, "note": note[:NOTE_LENGTH]}


def _append(ticket: models.RectificationTicket, item: dict[str, Any]) -> None:
    # A new list: the JSON column does not track changes made inside the old one.
    ticket.history = [*(ticket.history or []), item]


def open_ticket(session: AsyncSession, batch: models.IngestionBatch, actor: str, note: str,
                now: datetime) -> models.RectificationTicket:
    ticket = models.RectificationTicket(
        id=f"rt-{now:%Y%m%d%H%M%S}-{new_hex(12)}", batch_id=batch.id, type_code=batch.type_code, status=OPEN,
        opened_at=now, history=[entry(now, actor, "OPENED", note)])
    session.add(ticket)
    return ticket


async def ticket_of_batch(session: AsyncSession, batch_id: str) -> models.RectificationTicket | None:
    """The ticket a batch's issues belong to: its own, or that of the batch it resubmitted."""
    T, Q = models.RectificationTicket, models.QualityIssue
    own = await session.scalar(select(T).where(T.batch_id == batch_id))
    if own is not None:
        return own
    return await session.scalar(select(T).where(
        T.id == select(Q.ticket_id).where(Q.batch_id == batch_id, Q.ticket_id.is_not(None)).limit(1)
        .scalar_subquery()))


async def get_ticket(session: AsyncSession, ticket_id: str) -> models.RectificationTicket:
    ticket = await session.get(models.RectificationTicket, ticket_id)
    if ticket is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No rectification ticket has id {ticket_id}.", argument="id")
    return ticket


def add_note(ticket: models.RectificationTicket, actor: str, note: str, now: datetime) -> None:
    note = note.strip()
    if not note:
        raise bad_input("The note is empty.", argument="note")
    if len(note) > NOTE_LENGTH:
        raise bad_input(f"The note holds at most {NOTE_LENGTH} characters.", argument="note", maximum=NOTE_LENGTH)
    _append(ticket, entry(now, actor, "NOTE", note))


def failed_recheck(ticket: models.RectificationTicket, batch: models.IngestionBatch, actor: str,
                   now: datetime) -> None:
    _append(ticket, entry(now, actor, "RECHECK_FAILED",
                          f"Resubmission {batch.id} failed the re-check with {batch.issue_count} issue(s)."))


async def close(session: AsyncSession, ticket: models.RectificationTicket, actor: str, note: str, now: datetime,
                resubmitted_batch: str | None = None) -> None:
    """Close the ticket and its issues; with `resubmitted_batch`, its rejected batches become RESUBMITTED."""
    if ticket.status == CLOSED:
        raise domain_error(ErrorCode.INVALID_STATE, f"Ticket {ticket.id} is closed already.", argument="id")
    B, Q = models.IngestionBatch, models.QualityIssue
    if resubmitted_batch is not None:
        _append(ticket, entry(now, actor, "RESUBMITTED", f"Batch {resubmitted_batch} passed the re-check."))
        await session.execute(update(B).where(
            or_(B.id == ticket.batch_id, B.id.in_(select(Q.batch_id).where(Q.ticket_id == ticket.id))),
            B.status == BatchStatus.REJECTED.value).values(status=BatchStatus.RESUBMITTED.value))
        ticket.resubmitted_batch_id = resubmitted_batch
    _append(ticket, entry(now, actor, "CLOSED", note))
    ticket.status, ticket.closed_at = CLOSED, now
    await session.execute(update(Q).where(Q.ticket_id == ticket.id, Q.closed_at.is_(None)).values(closed_at=now))
