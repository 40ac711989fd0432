"""死亡人口: the closed loop 数据标记—认领—处理—同步 [JS L9186–9190].

* Report (标记): a source system (公安销户, 医院死亡证明, 社区上报) or staff reports a death by ID number. The
  record is routed to the responsible region (`route`) as UNCLAIMED and the region is notified (outbox event
  population.death.routed, which the in-app message and SMS channels consume). A second report of the same
  death does not open a second loop: it corroborates the first, or is a CONFLICT when it adds nothing.
* Claim (认领) or return (退回重推): a returned record goes to the other candidate region, then to the province,
  which assigns it.
* Process (处理): feedback and evidence files (PDF/JPG/PNG by their content, 5 MB each).
* Sync (同步): the case becomes DEAD, reward/special support ends, open dispatch orders are cancelled, the
  death is counted.

Tallies follow tally.rebuild exactly: DEATH_UNCLAIMED counts records awaiting claim (UNCLAIMED, RETURNED)
at their responsible region; the DEATH event tally counts SYNCED records with a case, at the case's
management region, by death date, source and sex.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.outbox import emit, utcnow
from subgraphs.population import models
from subgraphs.population.codes import PersonStatus
from subgraphs.population.domain import tally
from subgraphs.population.domain.changes import person_written, snapshot
from subgraphs.population.domain.dispatch import (
    PROVINCE_CODE,
    Operator,
    cancel_open_orders,
    china_today,
    current_region,
    invalid_state,
    normalise_id_number,
)
from subgraphs.population.domain.inputs import text as _text


class DeathSource(StrEnum):
    POLICE = "POLICE"  # 公安销户
    HOSPITAL = "HOSPITAL"  # 医院死亡证明
    COMMUNITY = "COMMUNITY"  # 社区上报


class DeathStatus(StrEnum):
    UNCLAIMED = "UNCLAIMED"
    RETURNED = "RETURNED"  # returned by a region and re-routed: awaiting claim again
    CLAIMED = "CLAIMED"
    PROCESSED = "PROCESSED"
    SYNCED = "SYNCED"


class Routing(StrEnum):
    """How the responsible region was chosen."""

    HOUSEHOLD = "HOUSEHOLD"  # 户籍地
    RESIDENCE = "RESIDENCE"  # 现居住地
    ID_PREFIX = "ID_PREFIX"  # no case: the region of the ID number's first 6 digits
    PROVINCE = "PROVINCE"  # assigned by the province
    UNROUTED = "UNROUTED"  # no candidate left: the province assigns it


AWAITING_CLAIM = (DeathStatus.UNCLAIMED.value, DeathStatus.RETURNED.value)
MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
MAX_EVIDENCE_FILES = 10
MAX_FEEDBACK = 2000
_TICK = timedelta(microseconds=1)
# The content decides the type, whatever the file is called (a .pdf holding PNG bytes is a PNG).
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def sniff_media_type(content: bytes) -> str | None:
    """The media type of an accepted evidence file from its first bytes; None for anything else."""
    return next((media for magic, media in _MAGIC if content.startswith(magic)), None)




# --- report (标记) and routing ---------------------------------------------------------------------


@dataclass(frozen=True)
class DeathReport:
    source: DeathSource
    id_number: str
    name: str
    death_date: date
    cause: str | None = None
    police_deregistration_no: str | None = None
    death_certificate_no: str | None = None


async def _candidates(session: AsyncSession, person: models.Person | None,
                      id_number: str | None) -> list[tuple[str, Routing]]:
    """The regions that may be responsible, in order: for a case its 户籍地 when that is a region of the
    province in force today, then its 现居住地 (likewise); without a case, the region of the ID number's
    6-digit prefix when such a region is in force."""
    wanted: list[tuple[str, Routing]] = []
    if person is not None:
        wanted = [(person.household_region_code, Routing.HOUSEHOLD), (person.residence_region_code, Routing.RESIDENCE)]
    elif id_number is not None:
        wanted = [(id_number[:6], Routing.ID_PREFIX)]
    found: list[tuple[str, Routing]] = []
    for code, how in wanted:
        if (code.startswith(PROVINCE_CODE[:2]) and all(code != c for c, _ in found)
                and await current_region(session, code) is not None):
            found.append((code, how))
    return found


async def _lock_identity(session: AsyncSession, id_number: str) -> None:
    """Serialises reports of one ID number (PostgreSQL), so two sources reporting at once open one loop."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"death:{id_number}".encode()).digest()[:8], "big", signed=True)
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _record_event(session: AsyncSession, record: models.DeathRecord, action: str, before: str | None, *,
                  actor: str, at: datetime, region: str | None, comment: str | None = None) -> None:
    session.add(models.DeathRecordEvent(
        id=str(uuid.uuid4()), death_record_id=record.id, at=at, actor=actor, action=action, from_status=before,
        to_status=record.status, region_code=region, comment=comment[:400] if comment else None))


def _routed(session: AsyncSession, record: models.DeathRecord) -> None:
    """Tells the responsible region (or the province, for an unrouted record) that a death awaits it."""
    emit(session, models.OutboxEvent, "population.death.routed",
         {"id": record.id, "regionCode": record.responsible_region_code, "routedBy": record.routed_by,
          "source": record.source, "status": record.status})


async def _awaiting_moved(session: AsyncSession, old: str | None, new: str | None) -> None:
    """DEATH_UNCLAIMED: the record stops waiting at `old` and starts waiting at `new` (None: nowhere)."""
    if old == new:
        return
    if old is not None:
        await tally.work(session, tally.DEATH_UNCLAIMED, old, "", -1)
    if new is not None:
        await tally.work(session, tally.DEATH_UNCLAIMED, new, "", +1)


def _source_of(event: models.DeathRecordEvent) -> str:
    # Corroborations write their source first in the comment ("HOSPITAL: ...").
    return (event.comment or "").split(":", 1)[0]


async def _corroborate(session: AsyncSession, record: models.DeathRecord, report: DeathReport, *,
                       actor: str) -> models.DeathRecord:
    """A further report of a death already in the loop: a CONFLICT when it repeats an evidence number on file
    (or, without one, comes again from a source already on file); otherwise its evidence numbers fill the
    record's gaps and it is kept as a CORROBORATED event."""
    police, certificate = report.police_deregistration_no, report.death_certificate_no
    if (police and police == record.police_deregistration_no) or (
            certificate and certificate == record.death_certificate_no):
        raise domain_error(ErrorCode.CONFLICT, "This death was already reported with the same evidence number.",
                           recordId=record.id)
    if not police and not certificate:
        sources = {record.source} | {_source_of(e) for e in (await session.scalars(select(
            models.DeathRecordEvent).where(models.DeathRecordEvent.death_record_id == record.id,
                                           models.DeathRecordEvent.action == "CORROBORATED"))).all()}
        if report.source.value in sources:
            raise domain_error(ErrorCode.CONFLICT, "This death was already reported by the same source.",
                               recordId=record.id)
    notes = [f"{report.source.value}: {report.name}, 死亡日期 {report.death_date.isoformat()}"]
    for number, attribute, label in ((police, "police_deregistration_no", "公安销户编号"),
                                     (certificate, "death_certificate_no", "死亡证明编号")):
        if not number:
            continue
        on_file = getattr(record, attribute)
        if on_file is None:
            setattr(record, attribute, number)
            notes.append(f"{label} {number}")
        else:
            notes.append(f"{label} {number} differs from {on_file} on file")
    if report.death_date != record.death_date:
        notes.append(f"death date differs from {record.death_date.isoformat()} on file")
    _record_event(session, record, "CORROBORATED", record.status, actor=actor, at=utcnow(),
                  region=record.responsible_region_code, comment="; ".join(notes))
    return record


async def report(session: AsyncSession, death: DeathReport, *, actor: str) -> tuple[models.DeathRecord, bool]:
    """标记: a new record routed to its responsible region (or a corroboration of the loop already open for this
    ID number); returns the record and whether it corroborated an existing one."""
    id_number = normalise_id_number(death.id_number)
    name = _text(death.name, "name", 64, required=True) or ""
    cause = _text(death.cause, "cause", 200)
    police = _text(death.police_deregistration_no, "policeDeregistrationNo", 40)
    certificate = _text(death.death_certificate_no, "deathCertificateNo", 40)
    # The evidence that makes each channel traceable (全过程溯源): a deregistration needs its number, a
    # hospital report its certificate; a community report may come without either.
    if death.source is DeathSource.POLICE and police is None:
        raise bad_input("A police deregistration needs policeDeregistrationNo.", field="policeDeregistrationNo")
    if death.source is DeathSource.HOSPITAL and certificate is None:
        raise bad_input("A hospital report needs deathCertificateNo.", field="deathCertificateNo")
    if death.death_date > china_today():
        raise bad_input("The date of death is in the future.", field="deathDate")
    clean = DeathReport(death.source, id_number, name, death.death_date, cause, police, certificate)

    await _lock_identity(session, id_number)
    existing = await session.scalar(select(models.DeathRecord).where(models.DeathRecord.id_number == id_number)
                                    .order_by(models.DeathRecord.created_at).limit(1)
                                    .with_for_update().execution_options(populate_existing=True))
    if existing is not None:
        return await _corroborate(session, existing, clean, actor=actor), True

    person = await session.scalar(select(models.Person).where(models.Person.id_number == id_number))
    candidates = await _candidates(session, person, id_number)
    region, routing = candidates[0] if candidates else (None, Routing.UNROUTED)
    now = utcnow()
    record = models.DeathRecord(
        id=str(uuid.uuid4()), person_uid=person.uid if person else None, id_number=id_number, name=name,
        source=death.source.value, police_deregistration_no=police, death_certificate_no=certificate,
        death_date=death.death_date, cause=cause, responsible_region_code=region, routed_by=routing.value,
        status=DeathStatus.UNCLAIMED.value, return_count=0, created_at=now)
    session.add(record)
    await session.flush()
    notes = [f"{death.source.value}; routed by {routing.value}"]
    if person is None:
        notes.append("no case has this ID number")
    elif person.name != name:
        notes.append("the reported name differs from the case's name")
    _record_event(session, record, "REPORTED", None, actor=actor, at=now, region=region, comment="; ".join(notes))
    await _awaiting_moved(session, None, region)
    _routed(session, record)
    return record, False


# --- the responsible region acts ---------------------------------------------------------------------


async def _record(session: AsyncSession, record_id: str, operator: Operator) -> models.DeathRecord:
    """The record, locked, if its responsible region lies in the caller's reach (NOT_FOUND otherwise)."""
    record = await session.scalar(select(models.DeathRecord).where(models.DeathRecord.id == record_id)
                                  .with_for_update().execution_options(populate_existing=True))
    if record is None or not operator.covers(record.responsible_region_code):
        raise domain_error(ErrorCode.NOT_FOUND, f"No death record {record_id} in your region.")
    return record


def _require(record: models.DeathRecord, allowed: Sequence[str], doing: str) -> None:
    if record.status not in allowed:
        raise invalid_state(f"A {record.status} death record cannot be {doing}.", record.status)


async def assign(session: AsyncSession, record_id: str, region_code: str, operator: Operator) -> models.DeathRecord:
    """The province gives a record awaiting claim (typically one no region would take) to a region."""
    if not operator.province_level:
        raise forbidden("Only the province assigns death records.")
    record = await _record(session, record_id, operator)
    _require(record, AWAITING_CLAIM, "assigned")
    code = region_code.strip()
    if await current_region(session, code) is None:
        raise bad_input(f"No region {code} is in force today.", argument="regionCode")
    before, old = record.status, record.responsible_region_code
    record.status, record.responsible_region_code, record.routed_by = (
        DeathStatus.UNCLAIMED.value, code, Routing.PROVINCE.value)
    _record_event(session, record, "ASSIGNED", before, actor=operator.actor, at=utcnow(), region=code)
    await _awaiting_moved(session, old, code)
    _routed(session, record)
    return record


async def claim(session: AsyncSession, record_id: str, operator: Operator) -> models.DeathRecord:
    """认领. The province may claim an unrouted record itself: it becomes the province's."""
    record = await _record(session, record_id, operator)
    _require(record, AWAITING_CLAIM, "claimed")
    before, region = record.status, record.responsible_region_code
    now = utcnow()
    record.status, record.claimed_by, record.claimed_at = DeathStatus.CLAIMED.value, operator.actor, now
    if region is None:
        record.responsible_region_code = PROVINCE_CODE
    _record_event(session, record, "CLAIMED", before, actor=operator.actor, at=now,
                  region=record.responsible_region_code)
    await _awaiting_moved(session, region, None)
    return record


async def return_(session: AsyncSession, record_id: str, reason: str, operator: Operator) -> models.DeathRecord:
    """退回重推: the next candidate region that has not returned it yet takes it, else the province."""
    comment = _text(reason, "reason", 200, required=True)
    record = await _record(session, record_id, operator)
    _require(record, AWAITING_CLAIM, "returned")
    old = record.responsible_region_code
    if old is None:
        raise invalid_state("An unrouted record is assigned by the province, not returned.", record.status)
    now = utcnow()
    before = record.status
    record.status, record.return_reason, record.return_count = (
        DeathStatus.RETURNED.value, comment, record.return_count + 1)
    _record_event(session, record, "RETURNED", before, actor=operator.actor, at=now, region=old, comment=comment)
    returned_by = set((await session.scalars(select(models.DeathRecordEvent.region_code).where(
        models.DeathRecordEvent.death_record_id == record.id, models.DeathRecordEvent.action == "RETURNED"))).all())
    returned_by.add(old)  # the event above may not be flushed yet
    person = await session.get(models.Person, record.person_uid) if record.person_uid else None
    left = [(code, how) for code, how in await _candidates(session, person, record.id_number)
            if code not in returned_by]
    new, routing = left[0] if left else (None, Routing.UNROUTED)
    record.responsible_region_code, record.routed_by = new, routing.value
    # A microsecond later: the history is read in time order, and the routing follows the return.
    _record_event(session, record, "ROUTED", record.status, actor=operator.actor, at=now + _TICK, region=new,
                  comment=f"re-routed by {routing.value}")
    await _awaiting_moved(session, old, new)
    _routed(session, record)
    return record


@dataclass(frozen=True)
class Evidence:
    file_name: str
    content_base64: str


async def process(session: AsyncSession, record_id: str, feedback: str, evidence: Sequence[Evidence],
                  operator: Operator) -> models.DeathRecord:
    """处理: feedback and the evidence files (处理凭证) of a claimed record."""
    text_ = _text(feedback, "feedback", MAX_FEEDBACK, required=True)
    if len(evidence) > MAX_EVIDENCE_FILES:
        raise bad_input(f"At most {MAX_EVIDENCE_FILES} evidence files.", argument="evidence",
                        maximum=MAX_EVIDENCE_FILES)
    files: list[tuple[str, str, bytes]] = []
    for index, item in enumerate(evidence):
        name = _text(item.file_name, "fileName", 200, required=True) or ""
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise bad_input("contentBase64 is not base64.", argument="evidence", index=index,
                            field="contentBase64") from exc
        if not content or len(content) > MAX_EVIDENCE_BYTES:
            raise bad_input(f"An evidence file must hold 1 byte to {MAX_EVIDENCE_BYTES} bytes.",
                            argument="evidence", index=index, field="contentBase64", maximum=MAX_EVIDENCE_BYTES)
        media_type = sniff_media_type(content)
        if media_type is None:
            raise bad_input(f"{name} is not a PDF, JPG or PNG file.", argument="evidence", index=index,
                            field="contentBase64", accepted=["application/pdf", "image/jpeg", "image/png"])
        files.append((name, media_type, content))
    record = await _record(session, record_id, operator)
    _require(record, (DeathStatus.CLAIMED.value,), "processed")
    now = utcnow()
    for index, (name, media_type, content) in enumerate(files):
        session.add(models.DeathEvidence(
            id=str(uuid.uuid4()), death_record_id=record.id, file_name=name, media_type=media_type,
            size=len(content), sha256=hashlib.sha256(content).hexdigest(), content=content,
            uploaded_by=operator.actor, uploaded_at=now + index * _TICK))  # listed in upload order
    before = record.status
    record.status, record.feedback, record.processed_by, record.processed_at = (
        DeathStatus.PROCESSED.value, text_, operator.actor, now)
    _record_event(session, record, "PROCESSED", before, actor=operator.actor, at=now,
                  region=record.responsible_region_code, comment=f"{len(files)} evidence file(s)")
    return record


async def _stop_support(session: AsyncSession, person_uid: str, death_date: date, *, actor: str) -> int:
    """Ends the person's reward/special support (停发, domain/support.py)."""
    # Imported here: support belongs to the family area, which may come to read death records.
    from subgraphs.population.domain.support import stop_on_death

    return await stop_on_death(session, person_uid, death_date, actor=actor)


@dataclass(frozen=True)
class SyncOutcome:
    record: models.DeathRecord
    support_ended: int
    dispatch_cancelled: int


async def sync(session: AsyncSession, record_id: str, operator: Operator) -> SyncOutcome:
    """同步: the case becomes DEAD (through the one write path), its support ends, its pending dispatch orders
    are cancelled, the death is counted. A record with no case (the ID number matched none when reported)
    is matched again now; if there is still none, the loop closes without a case to update."""
    record = await _record(session, record_id, operator)
    _require(record, (DeathStatus.PROCESSED.value,), "synced")
    if record.person_uid is None and record.id_number is not None:
        record.person_uid = await session.scalar(
            select(models.Person.uid).where(models.Person.id_number == record.id_number))
    now = utcnow()
    ended = cancelled = 0
    # SYNCED before the case changes, so that the data-quality rules person_written re-runs see the case and
    # its synced record agree.
    before_status = record.status
    record.status, record.synced_at = DeathStatus.SYNCED.value, now
    person: models.Person | None = None
    if record.person_uid is not None:
        person = await session.scalar(select(models.Person).where(models.Person.uid == record.person_uid)
                                      .with_for_update().execution_options(populate_existing=True))
    if person is not None:
        before = snapshot(person)
        person.status, person.death_date = PersonStatus.DEAD.value, record.death_date
        await person_written(session, person, actor=operator.actor, action="DEATH", before=before, at=now,
                             comment=f"死亡同步 {record.source} ({record.id})")
        await tally.event(session, tally.DEATH, person.management_region_code, record.death_date, record.source,
                          person.sex, +1)
        ended = await _stop_support(session, person.uid, record.death_date, actor=operator.actor)
        cancelled = await cancel_open_orders(session, person.uid, actor=operator.actor,
                                             comment=f"死亡同步 ({record.id})")
    notes = [f"support ended: {ended}", f"dispatch cancelled: {cancelled}"]
    if person is None:
        notes.insert(0, "no case to update")
    _record_event(session, record, "SYNCED", before_status, actor=operator.actor, at=now,
                  region=record.responsible_region_code, comment="; ".join(notes))
    emit(session, models.OutboxEvent, "population.death.synced",
         {"id": record.id, "personUid": record.person_uid, "regionCode": record.responsible_region_code,
          "deathDate": record.death_date.isoformat(), "source": record.source, "supportEnded": ended})
    return SyncOutcome(record, ended, cancelled)

