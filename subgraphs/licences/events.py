"""The domain events licences consumes (docs/licences/seed-and-events.md has the contracts):

* services.application.approved: an approved application (办件准予) generates its licence, or updates the
  licence it applied to change, renew or reissue (变更/延续/补发); emits
  licences.licence.generated-for-application so services can show the licence on the application.
* population.person.*: a person's uid for a keyed ID-number digest; links the holder (holder_link) and fills
  the uid of that person's licences that arrived without one.

Both are effectively once: the event id is recorded in processed_event in the handler's transaction, so a
redelivery changes nothing; an approved application also generates at most one licence whatever the event
id (the unique source application of a licence).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Self

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.common.app import Runtime
from subgraphs.common.bus import Event, Handler
from subgraphs.common.outbox import consume_once, emit
from subgraphs.common.pseudonym import id_number_digest
from subgraphs.licences import models
from subgraphs.licences.codes import HolderKind, LicenceOperation, LicenceTypeCode, type_info
from subgraphs.licences.domain.changes import licence_written
from subgraphs.licences.domain.face import face_of
from subgraphs.licences.seed_world import face_labels, until
from subgraphs.licences.status import today_in_china

log = logging.getLogger(__name__)

GROUP = "licences"
APPROVED_TOPIC = "services.application.approved"
PERSON_TOPICS = "population.person.*"
APPROVED_CONSUMER = "licences.application-approved"
PERSON_CONSUMER = "licences.person-holder"
GENERATED_TOPIC = "licences.licence.generated-for-application"
APPLICATION_SOURCE = "卫生健康一体化政务服务系统"  # 归集来源 of licences made from applications
OPERATOR = "system:services"
ID_TYPE_RESIDENT = "居民身份证"

# Validity given to a licence of an approved application when services sends none (the tender fixes none;
# these follow the seed: 5 years, 1 for health certificates).
DEFAULT_VALIDITY_YEARS: dict[LicenceTypeCode, int] = {
    code: 1 if code is LicenceTypeCode.HEALTH_CERTIFICATE else 5 for code in LicenceTypeCode}
# Keys of `licence` that fill the licence's own columns; any other key is a field of the type.
_DATES = ("issuedAt", "validFrom", "validUntil", "registeredAt")
_TEXTS = ("number", "practiceInstitutionId", "practiceInstitutionName", "practiceCategory", "sourceStatus",
          "holderIdType", "employerOrgId")
_LENGTHS = {"number": 40, "practiceInstitutionId": 64, "practiceInstitutionName": 100, "practiceCategory": 32,
            "sourceStatus": 32, "holderIdType": 16, "employerOrgId": 64}


class PayloadError(ValueError):
    """An event whose payload breaks its contract: logged and dropped (a redelivery cannot repair it)."""


def _text(data: Mapping[str, Any], key: str, *, required: bool = False, limit: int = 100) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise PayloadError(f"{key} is required")
        return None
    if not isinstance(value, str) or len(value.strip()) > limit:
        raise PayloadError(f"{key} must be a string of at most {limit} characters")
    return value.strip()


def _day(value: Any, key: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PayloadError(f"{key} must be a date (YYYY-MM-DD)") from None


@dataclass(frozen=True)
class Applicant:
    """申请人: a person (uid, ID number) or an organisation (orgId, creditCode)."""

    name: str
    uid: str | None = None
    sex: str | None = None
    id_number: str | None = None
    credit_code: str | None = None
    org_id: str | None = None

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Self:
        sex = _text(data, "sex", limit=8)
        if sex not in (None, "MALE", "FEMALE"):
            raise PayloadError("applicant.sex must be MALE or FEMALE")
        return cls(name=_text(data, "name", required=True) or "", uid=_text(data, "uid", limit=40), sex=sex,
                   id_number=_text(data, "idNumber", limit=18), credit_code=_text(data, "creditCode", limit=18),
                   org_id=_text(data, "orgId", limit=64))


@dataclass(frozen=True)
class Issuer:
    name: str
    org_id: str | None = None


@dataclass(frozen=True)
class ApplicationApproved:
    """The payload of services.application.approved.

    {applicationId, itemCode, licenceType (a LicenceTypeCode value), approvedAt (ISO 8601),
     applicant: {uid?, name, sex?, idNumber? | creditCode?, orgId?}, issuer: {orgId?, name},
     licence: {number?, issuedAt?, validFrom?, validUntil?, registeredAt?, practiceInstitutionId?,
               practiceInstitutionName?, practiceCategory?, sourceStatus?, holderIdType?, employerOrgId?,
               <any other data-element code of the type>: value}}

    `licence.number` of an existing licence of the type makes the application a 变更/延续/补发 of it.
    """

    application_id: str
    item_code: str
    licence_type: LicenceTypeCode
    approved_at: datetime
    applicant: Applicant
    issuer: Issuer
    licence: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        if not isinstance(payload, Mapping):
            raise PayloadError("the payload must be an object")
        try:
            code = LicenceTypeCode(payload.get("licenceType"))
        except ValueError:
            raise PayloadError(f"unknown licenceType {payload.get('licenceType')!r}") from None
        try:
            approved = datetime.fromisoformat(str(payload.get("approvedAt")))
        except ValueError:
            raise PayloadError("approvedAt must be an ISO 8601 time") from None
        applicant, issuer, licence = (payload.get(k) or {} for k in ("applicant", "issuer", "licence"))
        if not all(isinstance(part, Mapping) for part in (applicant, issuer, licence)):
            raise PayloadError("applicant, issuer and licence must be objects")
        for key in _DATES:
            _day(licence.get(key), f"licence.{key}")
        for key in _TEXTS:
            _text(licence, key, limit=_LENGTHS[key])
        return cls(
            application_id=_text(payload, "applicationId", required=True, limit=64) or "",
            item_code=_text(payload, "itemCode", limit=64) or "", licence_type=code,
            approved_at=approved if approved.tzinfo else approved.replace(tzinfo=UTC),
            applicant=Applicant.from_payload(applicant),
            issuer=Issuer(name=_text(issuer, "name", required=True) or "", org_id=_text(issuer, "orgId", limit=64)),
            licence=dict(licence))

    def to_payload(self) -> dict[str, Any]:
        a = self.applicant
        applicant = {"uid": a.uid, "name": a.name, "sex": a.sex, "idNumber": a.id_number,
                     "creditCode": a.credit_code, "orgId": a.org_id}
        return {"applicationId": self.application_id, "itemCode": self.item_code,
                "licenceType": self.licence_type.value, "approvedAt": self.approved_at.isoformat(),
                "applicant": {k: v for k, v in applicant.items() if v is not None},
                "issuer": {k: v for k, v in {"orgId": self.issuer.org_id, "name": self.issuer.name}.items()
                           if v is not None},
                "licence": dict(self.licence)}


def application_number(code: LicenceTypeCode, application_id: str, year: int) -> str:
    """The number of a licence an approved application produces when services sends none: the type's id
    prefix in capitals, the year of approval and 10 hexadecimal characters of a digest of the application
    id, e.g. PP2026A1B2C3D4E5. A replay computes the same number; no seeded format looks like it."""
    token = hashlib.sha256(f"{code.value}:{application_id}".encode()).hexdigest()[:10].upper()
    return f"{type_info(code).id_prefix.upper()}{year}{token}"


def licence_id(code: LicenceTypeCode, number: str) -> str:
    candidate = f"lic-{type_info(code).id_prefix}-{number}"
    if len(candidate) <= 40:
        return candidate
    return f"lic-{type_info(code).id_prefix}-h{hashlib.sha256(number.encode()).hexdigest()[:32]}"


# --- services.application.approved ----------------------------------------------------------------------


async def application_approved(sessions: async_sessionmaker[AsyncSession], event: Event) -> str | None:
    """Handle one delivery; the id of the licence written, None when nothing was (a replay, a bad payload)."""
    try:
        approved = ApplicationApproved.from_payload(event.payload)
    except PayloadError as exc:
        log.error("dropped %s %s: %s", event.topic, event.id, exc)
        return None
    try:
        async with sessions() as session, session.begin():
            if not await consume_once(session, models.ProcessedEvent, APPROVED_CONSUMER, event.id):
                return None
            return await _licence_of_application(session, approved)
    except IntegrityError:
        # Another delivery of the same application (another event id, another replica) got there first.
        async with sessions() as session:
            existing = await session.scalar(select(models.Licence.id).where(
                models.Licence.source_application_id == approved.application_id))
        if existing is None:
            raise
        return None


async def _licence_of_application(session: AsyncSession, approved: ApplicationApproved) -> str | None:
    if await session.scalar(select(models.Licence.id).where(
            models.Licence.source_application_id == approved.application_id)) is not None:
        return None  # the same application under another event id: its licence exists already
    number = _text(approved.licence, "number", limit=40)
    existing = None
    if number is not None:
        existing = await session.scalar(select(models.Licence).where(
            models.Licence.type_code == approved.licence_type.value, models.Licence.number == number))
    now = datetime.now(UTC)
    if existing is not None:
        licence, operation = existing, LicenceOperation.UPDATED
        await _update(session, licence, approved, now)
    else:
        licence, operation = await _create(session, approved, number, now), LicenceOperation.COLLECTED
    emit(session, models.OutboxEvent, GENERATED_TOPIC, {
        "applicationId": approved.application_id, "licenceId": licence.id, "number": licence.number,
        "type": licence.type_code, "operation": operation.value})
    return licence.id


def _fields(approved: ApplicationApproved) -> dict[str, Any]:
    return {k: v for k, v in approved.licence.items() if k not in _DATES and k not in _TEXTS}


async def _create(session: AsyncSession, approved: ApplicationApproved, number: str | None,
                  now: datetime) -> models.Licence:
    code, given, applicant = approved.licence_type, approved.licence, approved.applicant
    info = type_info(code)
    issued = _day(given.get("issuedAt"), "issuedAt") or today_in_china(approved.approved_at)
    number = number or application_number(code, approved.application_id, issued.year)
    valid_from = valid_until = None
    if info.has_validity:
        valid_from = _day(given.get("validFrom"), "validFrom") or issued
        valid_until = _day(given.get("validUntil"), "validUntil") or until(valid_from, DEFAULT_VALIDITY_YEARS[code])
    organisation = info.holder_kind is HolderKind.ORGANIZATION
    digest = id_number_digest(applicant.id_number) if applicant.id_number and not organisation else None
    uid = None if organisation else applicant.uid or await _uid_of(session, digest)
    practice_name = _text(given, "practiceInstitutionName")
    standard = await session.scalar(select(models.LicenceStandard.enabled_version_id).where(
        models.LicenceStandard.type_code == code.value))
    licence = models.Licence(
        id=licence_id(code, number), number=number, type_code=code.value, business_key=number,
        holder_kind=info.holder_kind.value, holder_uid=uid, holder_org_id=applicant.org_id if organisation else None,
        holder_name=applicant.name, holder_sex=None if organisation else applicant.sex,
        holder_id_type=_text(given, "holderIdType") or (
            ID_TYPE_RESIDENT if code is LicenceTypeCode.HEALTH_CERTIFICATE and applicant.id_number else None),
        holder_id_number=None if organisation else applicant.id_number, holder_id_digest=digest,
        holder_credit_code=applicant.credit_code if organisation else None,
        issuer_org_id=approved.issuer.org_id, issuer_name=approved.issuer.name, issued_at=issued,
        valid_from=valid_from, valid_until=valid_until, source_status=_text(given, "sourceStatus") or "正常",
        valid_flag=True, practice_institution_id=_text(given, "practiceInstitutionId", limit=64),
        practice_institution_name=practice_name, practice_category=_text(given, "practiceCategory", limit=32),
        registered_at=_day(given.get("registeredAt"), "registeredAt") or (issued if practice_name else None),
        employer_org_id=_text(given, "employerOrgId", limit=64), fields=_fields(approved),
        standard_version_id=standard, source_application_id=approved.application_id,
        collection_source=APPLICATION_SOURCE, collected_at=approved.approved_at, ingested_at=now, created_at=now,
        version=1)
    session.add(licence)
    if uid and digest:
        await link_holder(session, digest, uid, now)
    await licence_written(session, licence, operation=LicenceOperation.COLLECTED, operator=OPERATOR,
                          detail={"applicationId": approved.application_id, "itemCode": approved.item_code,
                                  "mode": "APPLICATION"},
                          generation_mode="APPLICATION", labels=face_labels().get(code.name), at=now)
    return licence


async def _update(session: AsyncSession, licence: models.Licence, approved: ApplicationApproved,
                  now: datetime) -> None:
    """变更/延续/补发: the licence as the approved application has it now; what is not sent stays."""
    given, applicant = approved.licence, approved.applicant
    before = face_of(licence)
    previous = licence.source_application_id
    licence.holder_name = applicant.name
    if applicant.sex and licence.holder_kind == HolderKind.PERSON.value:
        licence.holder_sex = applicant.sex
    licence.issuer_name, licence.issuer_org_id = approved.issuer.name, approved.issuer.org_id or licence.issuer_org_id
    for key, column in (("issuedAt", "issued_at"), ("validFrom", "valid_from"), ("validUntil", "valid_until"),
                        ("registeredAt", "registered_at")):
        if (value := _day(given.get(key), key)) is not None:
            setattr(licence, column, value)
    for key, column in (("practiceInstitutionId", "practice_institution_id"),
                        ("practiceInstitutionName", "practice_institution_name"),
                        ("practiceCategory", "practice_category"), ("sourceStatus", "source_status"),
                        ("employerOrgId", "employer_org_id")):
        if (text := _text(given, key, limit=_LENGTHS[key])) is not None:
            setattr(licence, column, text)
    licence.fields = {**(licence.fields or {}), **_fields(approved)}
    # The licence as it stands now comes from this application; the log keeps the earlier one.
    licence.source_application_id = approved.application_id
    licence.collection_source, licence.collected_at, licence.ingested_at = APPLICATION_SOURCE, approved.approved_at, now
    licence.version = (licence.version or 1) + 1
    after = face_of(licence)
    await licence_written(session, licence, operation=LicenceOperation.UPDATED, operator=OPERATOR,
                          detail={"applicationId": approved.application_id, "itemCode": approved.item_code,
                                  "previousApplicationId": previous, "mode": "APPLICATION",
                                  "changed": sorted(k for k in before.keys() | after.keys()
                                                    if before.get(k) != after.get(k))},
                          generation_mode="APPLICATION", labels=face_labels().get(licence.type_code), at=now)


# --- population.person.* ----------------------------------------------------------------------------


async def _uid_of(session: AsyncSession, digest: str | None) -> str | None:
    if digest is None:
        return None
    return await session.scalar(select(models.HolderLink.uid).where(models.HolderLink.id_digest == digest))


async def link_holder(session: AsyncSession, digest: str, uid: str, now: datetime) -> None:
    """Upsert digest -> uid (two deliveries racing on the same digest both end with the link)."""
    link = await session.get(models.HolderLink, digest)
    if link is None:
        try:
            async with session.begin_nested():
                session.add(models.HolderLink(id_digest=digest, uid=uid, updated_at=now))
            return
        except IntegrityError:
            link = await session.get(models.HolderLink, digest, populate_existing=True)
            assert link is not None
    if link.uid != uid:
        link.uid, link.updated_at = uid, now


async def person_changed(sessions: async_sessionmaker[AsyncSession], event: Event) -> int:
    """Link the person's ID digest to their uid and give their unlinked licences the uid; how many
    licences were linked. The holder uid is not on the face, so no licence is regenerated."""
    uid, digest = event.payload.get("uid"), event.payload.get("idNumberDigest")
    if not isinstance(uid, str) or not uid or not isinstance(digest, str) or not digest:
        return 0
    async with sessions() as session, session.begin():
        if not await consume_once(session, models.ProcessedEvent, PERSON_CONSUMER, event.id):
            return 0
        now = datetime.now(UTC)
        await link_holder(session, digest, uid, now)
        result = await session.execute(
            update(models.Licence)
            .where(models.Licence.holder_id_digest == digest,
                   or_(models.Licence.holder_uid.is_(None), models.Licence.holder_uid != uid))
            .values(holder_uid=uid))
        return int(getattr(result, "rowcount", 0) or 0)


def consumers(runtime: Runtime) -> Sequence[tuple[str, str, Handler]]:
    """licences' subscriptions (SubgraphDefinition.consumers)."""

    async def approved(event: Event) -> None:
        await application_approved(runtime.sessions, event)

    async def person(event: Event) -> None:
        await person_changed(runtime.sessions, event)

    return [(GROUP, APPROVED_TOPIC, approved), (GROUP, PERSON_TOPICS, person)]
