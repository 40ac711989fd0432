"""Application materials (办件材料): uploads checked by their content (PDF or JPG only, L4764), an electronic
licence of the applicant instead of an upload (免提交), and a material reused from an earlier completed
application of the same applicant (历史办件复用)."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.services import access, models
from subgraphs.services.domain import workflow
from subgraphs.services.domain.applications import COMPLETED, check_editable, not_found

MAX_BYTES_ENV = "SERVICES_MAX_MATERIAL_BYTES"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# How far from the end a PDF's %%EOF may sit (trailing whitespace, or bytes some writers append).
PDF_EOF_WINDOW = 1024


def max_bytes() -> int:
    return int(os.environ.get(MAX_BYTES_ENV, str(DEFAULT_MAX_BYTES)))


def detect_type(content: bytes) -> str | None:
    """application/pdf or image/jpeg from the bytes themselves; None for anything else. The file name is
    never consulted: a renamed executable stays an executable."""
    if content.startswith(b"%PDF-") and b"%%EOF" in content[-PDF_EOF_WINDOW:]:
        return "application/pdf"
    if len(content) >= 4 and content.startswith(b"\xff\xd8\xff") and content.rstrip(b"\x00\r\n")[-2:] == b"\xff\xd9":
        return "image/jpeg"
    return None


async def _requirement_name(session: AsyncSession, application: models.Application, code: str | None) -> str | None:
    """The requirement's name in the application's guide, if any."""
    rows = await _requirements(session, application, code) if code else []
    return rows[0].name if rows else None


async def _requirements(session: AsyncSession, application: models.Application,
                        code: str) -> list[models.MaterialRequirement]:
    stmt = (select(models.MaterialRequirement)
            .join(models.ServiceGuide, models.ServiceGuide.id == models.MaterialRequirement.guide_id)
            .where(models.ServiceGuide.business_item_id == application.business_item_id,
                   models.MaterialRequirement.code == code))
    return list((await session.scalars(stmt)).all())


async def _supersede(session: AsyncSession, application: models.Application, code: str | None,
                     at: datetime) -> None:
    """A new material for a requirement replaces the current one (补正); the old one stays on record."""
    if code is None:
        return
    current = await session.scalars(select(models.ApplicationMaterial).where(
        models.ApplicationMaterial.application_id == application.id,
        models.ApplicationMaterial.requirement_code == code,
        models.ApplicationMaterial.superseded_at.is_(None)))
    for row in current:
        row.superseded_at = at


def _material_id() -> str:
    return f"mat-{uuid.uuid4().hex[:24]}"


async def upload(session: AsyncSession, caller: Caller | None, application: models.Application, *,
                 content: bytes, file_name: str, requirement_code: str | None = None,
                 name: str | None = None) -> models.ApplicationMaterial:
    """Store an uploaded file after checking its size and its content type."""
    check_editable(caller, application)
    limit = max_bytes()
    if not content:
        raise bad_input("The file is empty.", argument="content")
    if len(content) > limit:
        raise bad_input(f"The file is {len(content)} bytes; the limit is {limit}.", argument="content", limit=limit)
    content_type = detect_type(content)
    if content_type is None:
        raise bad_input("Only PDF and JPG files are accepted (拦截非PDF/JPG格式文件); this file is neither, "
                        "whatever its name says.", argument="content")
    at = workflow.now_utc()
    await _supersede(session, application, requirement_code, at)
    label = name or await _requirement_name(session, application, requirement_code) or file_name
    material = models.ApplicationMaterial(
        id=_material_id(), application_id=application.id, requirement_code=requirement_code, name=label[:200],
        source="UPLOAD", file_name=file_name[:200], content_type=content_type, size=len(content),
        sha256=hashlib.sha256(content).hexdigest(), uploaded_by=access.actor_of(caller), uploaded_at=at)
    session.add(material)
    await session.flush()
    session.add(models.MaterialFile(material_id=material.id, content=content))
    await session.flush()
    return material


async def attach_licence(session: AsyncSession, caller: Caller | None, application: models.Application, *,
                         requirement_code: str, licence_id: str) -> models.ApplicationMaterial:
    """免提交: an electronic licence the applicant holds (VALID, as the licences subgraph last announced) in
    place of an upload, for a requirement that accepts that licence type."""
    check_editable(caller, application)
    requirements = await _requirements(session, application, requirement_code)
    accepted = {r.licence_type for r in requirements if r.licence_type}
    if not accepted:
        raise bad_input(f"The material {requirement_code} cannot be replaced by an electronic licence.",
                        argument="requirementCode")
    holding = await session.get(models.LicenceHolding, licence_id)
    holds = holding is not None and (
        (application.applicant_org_id is not None and holding.holder_org_id == application.applicant_org_id)
        or (application.applicant_org_id is None and holding.holder_uid == application.applicant_uid))
    if holding is None or not holds:
        # The same answer for "no such licence" and "someone else's": nothing to learn by guessing ids.
        raise forbidden("The applicant holds no such licence.", argument="licenceId")
    if holding.status != "VALID":
        raise domain_error(ErrorCode.INVALID_STATE, f"The licence is {holding.status}, not valid.",
                           argument="licenceId", status=holding.status)
    if holding.type_code not in accepted:
        raise bad_input(f"The material {requirement_code} takes a licence of type {', '.join(sorted(accepted))}, "
                        f"not {holding.type_code}.", argument="licenceId")
    at = workflow.now_utc()
    await _supersede(session, application, requirement_code, at)
    material = models.ApplicationMaterial(
        id=_material_id(), application_id=application.id, requirement_code=requirement_code,
        name=requirements[0].name, source="E_LICENCE", licence_id=licence_id,
        uploaded_by=access.actor_of(caller), uploaded_at=at)
    session.add(material)
    await session.flush()
    return material


async def reuse(session: AsyncSession, caller: Caller | None, application: models.Application, *,
                material_id: str, requirement_code: str | None = None) -> models.ApplicationMaterial:
    """历史办件复用: copy a material of an earlier completed application of the same applicant for the same
    service item (变更/延续/补发 reuse what the first registration filed)."""
    check_editable(caller, application)
    source = await session.get(models.ApplicationMaterial, material_id)
    previous = await session.get(models.Application, source.application_id) if source else None
    if source is None or previous is None or previous.id == application.id or not _same_applicant(previous,
                                                                                                  application):
        raise not_found("No such material among the applicant's earlier applications.", argument="materialId")
    if previous.status not in {s.value for s in COMPLETED}:
        raise domain_error(ErrorCode.INVALID_STATE, "Only materials of completed applications can be reused.",
                           argument="materialId")
    items = await session.scalars(select(models.BusinessItem.item_id).where(
        models.BusinessItem.id.in_([previous.business_item_id, application.business_item_id])))
    if len(set(items)) != 1:
        raise bad_input("Materials are reused within the same service item.", argument="materialId")
    code = requirement_code or source.requirement_code
    at = workflow.now_utc()
    await _supersede(session, application, code, at)
    copy = models.ApplicationMaterial(
        id=_material_id(), application_id=application.id, requirement_code=code, name=source.name,
        source="HISTORY", file_name=source.file_name, content_type=source.content_type, size=source.size,
        sha256=source.sha256, licence_id=source.licence_id, reused_from_material_id=source.id,
        uploaded_by=access.actor_of(caller), uploaded_at=at)
    session.add(copy)
    await session.flush()
    stored = await session.get(models.MaterialFile, source.id)
    if stored is not None:
        session.add(models.MaterialFile(material_id=copy.id, content=stored.content))
        await session.flush()
    return copy


def _same_applicant(a: models.Application, b: models.Application) -> bool:
    if a.applicant_org_id or b.applicant_org_id:
        return a.applicant_org_id == b.applicant_org_id
    return a.applicant_uid == b.applicant_uid


async def content_of(session: AsyncSession, caller: Caller | None, material_id: str) -> tuple[
        models.ApplicationMaterial, bytes]:
    """A material's bytes, for the applicant and the staff who see the application."""
    material = await session.get(models.ApplicationMaterial, material_id)
    application = await session.get(models.Application, material.application_id) if material else None
    if material is None or application is None or not access.may_see(caller, application):
        raise not_found("No such material.", argument="id")
    stored = await session.get(models.MaterialFile, material_id)
    if stored is None:
        raise not_found("This material has no file (an electronic licence stands in for it).", argument="id")
    return material, stored.content


async def current_materials(session: AsyncSession, application_id: str) -> list[models.ApplicationMaterial]:
    rows = await session.scalars(select(models.ApplicationMaterial).where(
        models.ApplicationMaterial.application_id == application_id,
        models.ApplicationMaterial.superseded_at.is_(None)).order_by(models.ApplicationMaterial.uploaded_at,
                                                                     models.ApplicationMaterial.id))
    return list(rows)
