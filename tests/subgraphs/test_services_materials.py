"""services: application materials. PDF and JPG are recognised by their bytes whatever the file is called,
anything else and anything too large is refused; an electronic licence replaces an upload only when the
applicant holds it, valid, of the type the requirement takes; a material of an earlier completed application
is reused; only while the case is the applicant's to edit."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from support import errors_of, execute, make_runtime
from test_services_workflow import (
    APPLICANT,
    NURSE_FIRST,
    business_item_id,
    ensure_nurse_licence_type,
    insert_application,
)

from subgraphs.common.app import Runtime
from subgraphs.common.bus import Event
from subgraphs.common.caller import Caller
from subgraphs.services import events, models
from subgraphs.services.app import definition
from subgraphs.services.domain.materials import detect_type
from subgraphs.services.status import ApplicationStatus as S

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + bytes(64) + b"\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(64)
OWN = APPLICANT.person_uid
UPLOAD = """mutation($app: ID!, $name: String!, $content: String!, $code: String) {
  uploadMaterial(applicationId: $app, fileName: $name, contentBase64: $content, requirementCode: $code) {
    id source fileName contentType size sha256 } }"""
ATTACH = """mutation($app: ID!, $code: String!, $licence: ID!) {
  attachLicenceMaterial(applicationId: $app, requirementCode: $code, licenceId: $licence) { id source licenceId } }"""


@pytest.fixture(scope="module")
async def runtime(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    path = tmp_path_factory.mktemp("services_materials") / "s.db"
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{path}")
    await ensure_nurse_licence_type(runtime)
    yield runtime
    await runtime.engine.dispose()


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


async def own_application(runtime: Runtime, status: S = S.DRAFT) -> str:
    item = await business_item_id(runtime, power="LICENSING", name=NURSE_FIRST)
    return await insert_application(runtime, item, status, applicant_uid=OWN)


def codes(errors: list[object]) -> list[str]:
    return [e.extensions["code"] for e in errors]  # type: ignore[attr-defined]


def test_types_are_told_by_content() -> None:
    assert detect_type(PDF) == "application/pdf"
    assert detect_type(JPEG) == "image/jpeg"
    assert detect_type(EXE) is None
    assert detect_type(b"%PDF-1.4 but cut short") is None
    assert detect_type(b"\xff\xd8\xff\xe0 no end marker") is None


async def test_pdf_and_jpg_are_accepted_whatever_their_name(runtime: Runtime) -> None:
    app_id = await own_application(runtime)
    pdf = await execute(runtime, UPLOAD, {"app": app_id, "name": "身份证.pdf", "content": b64(PDF)}, caller=APPLICANT)
    renamed = await execute(runtime, UPLOAD, {"app": app_id, "name": "scan.jpg", "content": b64(PDF)},
                            caller=APPLICANT)
    photo = await execute(runtime, UPLOAD, {"app": app_id, "name": "photo", "content": b64(JPEG)}, caller=APPLICANT)
    assert pdf["uploadMaterial"]["contentType"] == "application/pdf"
    assert renamed["uploadMaterial"]["contentType"] == "application/pdf"
    assert renamed["uploadMaterial"]["fileName"] == "scan.jpg"
    assert photo["uploadMaterial"]["contentType"] == "image/jpeg"
    assert pdf["uploadMaterial"]["size"] == len(PDF)
    # The applicant downloads exactly what was uploaded.
    download = await execute(runtime, "query($id: ID!) { materialContent(id: $id) { contentType contentBase64 } }",
                             {"id": photo["uploadMaterial"]["id"]}, caller=APPLICANT)
    assert base64.b64decode(download["materialContent"]["contentBase64"]) == JPEG
    listed = await execute(runtime, "query($id: ID!) { application(id: $id) { materials { source } } }",
                           {"id": app_id}, caller=APPLICANT)
    assert [m["source"] for m in listed["application"]["materials"]] == ["UPLOAD"] * 3


async def test_an_executable_named_pdf_and_a_too_large_file_are_refused(runtime: Runtime,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    app_id = await own_application(runtime)
    errors = await errors_of(runtime, UPLOAD, {"app": app_id, "name": "材料.pdf", "content": b64(EXE)},
                             caller=APPLICANT)
    assert codes(errors) == ["BAD_USER_INPUT"] and "PDF" in errors[0].message
    monkeypatch.setenv("SERVICES_MAX_MATERIAL_BYTES", "100")
    big = PDF[:-7] + bytes(200) + b"\n%%EOF\n"
    errors = await errors_of(runtime, UPLOAD, {"app": app_id, "name": "big.pdf", "content": b64(big)},
                             caller=APPLICANT)
    assert codes(errors) == ["BAD_USER_INPUT"] and "limit" in errors[0].message
    errors = await errors_of(runtime, UPLOAD, {"app": app_id, "name": "x.pdf", "content": "not base64!"},
                             caller=APPLICANT)
    assert codes(errors) == ["BAD_USER_INPUT"]
    async with runtime.sessions() as session:
        stored = (await session.scalars(select(models.ApplicationMaterial).where(
            models.ApplicationMaterial.application_id == app_id))).all()
    assert stored == []


async def test_uploads_only_while_the_case_is_the_applicants_to_edit(runtime: Runtime) -> None:
    under_review = await own_application(runtime, S.ACCEPTED)
    errors = await errors_of(runtime, UPLOAD, {"app": under_review, "name": "a.pdf", "content": b64(PDF)},
                             caller=APPLICANT)
    assert codes(errors) == ["INVALID_STATE"]
    corrected = await own_application(runtime, S.CORRECTION_REQUIRED)
    await execute(runtime, UPLOAD, {"app": corrected, "name": "a.pdf", "content": b64(PDF)}, caller=APPLICANT)
    stranger = Caller(subject="u-other", client_id="portal", scopes=frozenset(), person_uid="P-someone-else")
    errors = await errors_of(runtime, UPLOAD, {"app": corrected, "name": "a.pdf", "content": b64(PDF)},
                             caller=stranger)
    assert codes(errors) == ["NOT_FOUND"]


async def requirement_with_licence(runtime: Runtime, app_id: str, licence_type: str) -> str:
    """A material requirement of the application's business item that an electronic licence may replace."""
    async with runtime.sessions() as session, session.begin():
        app = await session.get(models.Application, app_id)
        assert app is not None
        guide = await session.scalar(select(models.ServiceGuide).where(
            models.ServiceGuide.business_item_id == app.business_item_id))
        if guide is None:
            guide = models.ServiceGuide(id=f"guide-t-{uuid.uuid4().hex[:8]}", business_item_id=app.business_item_id,
                                        region_code="320000", statutory_days=20, promised_days=10,
                                        updated_at=datetime.now(UTC))
            session.add(guide)
            await session.flush()
        code = f"T{uuid.uuid4().hex[:8]}"
        session.add(models.MaterialRequirement(guide_id=guide.id, code=code, ordinal=99, name="护士执业证书",
                                               source="GOVERNMENT", mandatory=False, licence_type=licence_type))
    return code


async def hold(runtime: Runtime, licence_id: str, type_code: str, status: str, uid: str | None) -> None:
    async with runtime.sessions() as session, session.begin():
        session.add(models.LicenceHolding(licence_id=licence_id, type_code=type_code, holder_uid=uid, status=status,
                                          updated_at=datetime.now(UTC)))


async def test_an_electronic_licence_replaces_an_upload_only_when_it_fits(runtime: Runtime) -> None:
    app_id = await own_application(runtime)
    code = await requirement_with_licence(runtime, app_id, "NURSE_PRACTICE")
    suffix = uuid.uuid4().hex[:6]
    await hold(runtime, f"lic-own-{suffix}", "NURSE_PRACTICE", "VALID", OWN)
    await hold(runtime, f"lic-expired-{suffix}", "NURSE_PRACTICE", "EXPIRED", OWN)
    await hold(runtime, f"lic-other-{suffix}", "NURSE_PRACTICE", "VALID", "P-someone-else")
    await hold(runtime, f"lic-type-{suffix}", "PHYSICIAN_PRACTICE", "VALID", OWN)

    async def refused(licence: str) -> str:
        errors = await errors_of(runtime, ATTACH, {"app": app_id, "code": code, "licence": licence},
                                 caller=APPLICANT)
        return str(codes(errors)[0])

    assert await refused(f"lic-other-{suffix}") == "FORBIDDEN"
    assert await refused(f"lic-unknown-{suffix}") == "FORBIDDEN"
    assert await refused(f"lic-expired-{suffix}") == "INVALID_STATE"
    assert await refused(f"lic-type-{suffix}") == "BAD_USER_INPUT"
    attached = await execute(runtime, ATTACH, {"app": app_id, "code": code, "licence": f"lic-own-{suffix}"},
                             caller=APPLICANT)
    assert attached["attachLicenceMaterial"]["source"] == "E_LICENCE"
    assert attached["attachLicenceMaterial"]["licenceId"] == f"lic-own-{suffix}"
    # A requirement that takes no licence cannot be replaced by one.
    errors = await errors_of(runtime, ATTACH, {"app": app_id, "code": "NO-SUCH", "licence": f"lic-own-{suffix}"},
                             caller=APPLICANT)
    assert codes(errors) == ["BAD_USER_INPUT"]


async def test_a_material_of_an_earlier_completed_application_is_reused(runtime: Runtime) -> None:
    earlier = await own_application(runtime)
    first = await execute(runtime, UPLOAD, {"app": earlier, "name": "学历证明.pdf", "content": b64(PDF),
                                            "code": "EDU"}, caller=APPLICANT)
    material_id = first["uploadMaterial"]["id"]
    later = await own_application(runtime)
    reuse = """mutation($app: ID!, $material: ID!) { reuseMaterial(applicationId: $app, materialId: $material) {
        source requirementCode reusedFromMaterialId sha256 } }"""
    # Not while the earlier case is still open.
    errors = await errors_of(runtime, reuse, {"app": later, "material": material_id}, caller=APPLICANT)
    assert codes(errors) == ["INVALID_STATE"]
    async with runtime.sessions() as session, session.begin():
        row = await session.get(models.Application, earlier)
        assert row is not None
        row.status = "APPROVED"
    reused = await execute(runtime, reuse, {"app": later, "material": material_id}, caller=APPLICANT)
    assert reused["reuseMaterial"] == {"source": "HISTORY", "requirementCode": "EDU",
                                       "reusedFromMaterialId": material_id,
                                       "sha256": first["uploadMaterial"]["sha256"]}
    # Someone else's application cannot take it.
    other = await insert_application(runtime, await business_item_id(runtime, power="LICENSING", name=NURSE_FIRST),
                                     S.DRAFT, applicant_uid="P-someone-else")
    errors = await errors_of(runtime, reuse, {"app": other, "material": material_id})
    assert codes(errors) == ["NOT_FOUND"]


# --- the holdings, from the licences subgraph's events ------------------------------------------------------


def announcement(event_id: str, licence_id: str, status: str, at: datetime, uid: str = "P-holder") -> Event:
    return Event(id=event_id, topic="licences.licence.updated", source="licences", occurred_at=at, payload={
        "licenceId": licence_id, "type": "NURSE_PRACTICE", "operation": "UPDATED", "holderUid": uid,
        "holderOrgId": None, "issuerOrgId": "org-320000-hc", "status": status})


async def test_holdings_follow_the_newest_announcement_once(runtime: Runtime) -> None:
    licence_id = f"lic-np-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    first = announcement(f"e1-{licence_id}", licence_id, "VALID", now)
    assert await events.licence_announced(runtime.sessions, first) is True
    assert await events.licence_announced(runtime.sessions, first) is False  # a redelivery
    older = announcement(f"e0-{licence_id}", licence_id, "INVALID", now - timedelta(minutes=5))
    assert await events.licence_announced(runtime.sessions, older) is False  # stale: the newer one stays
    newer = announcement(f"e2-{licence_id}", licence_id, "EXPIRED", now + timedelta(minutes=5))
    assert await events.licence_announced(runtime.sessions, newer) is True
    async with runtime.sessions() as session:
        held = await session.get(models.LicenceHolding, licence_id)
    assert held is not None and (held.status, held.holder_uid) == ("EXPIRED", "P-holder")


async def test_the_generated_licence_is_linked_to_its_application(runtime: Runtime) -> None:
    app_id = await own_application(runtime, S.APPROVED)
    generated = Event(id=f"g-{app_id}", topic=events.GENERATED_TOPIC, source="licences", payload={
        "applicationId": app_id, "licenceId": "lic-np-GEN1", "number": "GEN1", "type": "NURSE_PRACTICE",
        "operation": "COLLECTED"})
    assert await events.application_licence_generated(runtime.sessions, generated) is True
    assert await events.application_licence_generated(runtime.sessions, generated) is False
    # The wildcard subscription for holdings leaves this topic to its own consumer.
    assert await events.licence_announced(runtime.sessions, generated) is False
    async with runtime.sessions() as session:
        row = await session.get(models.Application, app_id)
    assert row is not None and row.licence_id == "lic-np-GEN1"
