"""licences' consumers end to end: services' outbox -> relay -> bus -> licences (SQLite, PostgreSQL, Redis),
and population's person events linking holders."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import date
from typing import Any

import pytest
import strawberry
from sqlalchemy import delete, func, select, update
from support import REDIS_URL, TEST_SEED, create_pg_database, drop_pg_database, make_runtime, require_redis

from db.engine import make_engine
from db.migrate import upgrade
from db.seed.world import licence_holders, person
from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.common.bus import Event, EventBus, InProcessBus, RedisStreamBus
from subgraphs.common.outbox import emit
from subgraphs.common.pseudonym import id_number_digest
from subgraphs.common.schema import schema_extensions
from subgraphs.licences import models
from subgraphs.licences import schema as licences_schema
from subgraphs.licences.app import definition
from subgraphs.licences.domain.generation import face_is_authentic
from subgraphs.licences.domain.signing import signing_key
from subgraphs.licences.events import APPROVED_TOPIC, GENERATED_TOPIC
from subgraphs.licences.graphql.applications import Application
from subgraphs.licences.types import Licence, Organization, Person
from subgraphs.services import models as services_models
from subgraphs.services.app import definition as services_definition

SMALL = SeedOptions(seed=TEST_SEED, persons=200)
APPLICANT = person(TEST_SEED, 150_001)  # a person no seeded licence names
ENTITIES = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Application { id licence { %s } } } }'


async def pair(services_url: str, licences_url: str, bus: EventBus) -> tuple[Runtime, Runtime]:
    """services (migrated: only its outbox is used) and licences (seeded) on one bus."""
    engine = make_engine("services", services_url)
    await upgrade(engine, "services")
    made = await make_runtime(definition, licences_url, seed_options=SMALL)
    return Runtime(services_definition, engine, bus), Runtime(definition, made.engine, bus)


async def dispose(*runtimes: Runtime) -> None:
    for runtime in runtimes:
        await runtime.engine.dispose()


def approval(application_id: str, licence: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """An approved 医师执业注册 (item 8) of APPLICANT at a county hospital."""
    payload = {
        "applicationId": application_id, "itemCode": "8", "licenceType": "PHYSICIAN_PRACTICE",
        "approvedAt": "2026-03-02T02:30:00+00:00",
        "applicant": {"uid": APPLICANT.uid, "name": APPLICANT.name, "sex": APPLICANT.sex,
                      "idNumber": APPLICANT.id_number},
        "issuer": {"orgId": "org-320102-hc", "name": "玄武区卫生健康局"},
        "licence": licence if licence is not None else {
            "practiceInstitutionId": "org-320102-h1", "practiceInstitutionName": "玄武区人民医院",
            "practiceCategory": "临床", "practiceScope": "内科专业"},
    }
    payload.update(overrides)
    return payload


async def approve(services: Runtime, payload: dict[str, Any]) -> None:
    """services approves: the event is written in its transaction, then its relay publishes it."""
    async with services.sessions() as session, session.begin():
        emit(session, services_models.OutboxEvent, APPROVED_TOPIC, payload)
    assert await services.relay.relay_once() == 1


async def drain(bus: EventBus) -> None:
    assert isinstance(bus, InProcessBus)
    await bus.drain()


async def count(runtime: Runtime, model: Any, *where: Any) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def licence_of(runtime: Runtime, application_id: str) -> models.Licence | None:
    async with runtime.sessions() as session:
        return await session.scalar(select(models.Licence).where(
            models.Licence.source_application_id == application_id))


def graph_schema() -> strawberry.federation.Schema:
    """licences' schema with Application (schema.py lists it once the lead adds it)."""
    if "type Application" in licences_schema.schema.as_str():
        return licences_schema.schema
    return strawberry.federation.Schema(query=licences_schema.Query, mutation=licences_schema.Mutation,
                                        types=[Licence, Person, Organization, Application],
                                        extensions=schema_extensions())


async def application_licences(runtime: Runtime, ids: list[str], fields: str = "id number") -> list[Any]:
    result = await graph_schema().execute(
        ENTITIES % fields, variable_values={"r": [{"__typename": "Application", "id": i} for i in ids]},
        context_value=runtime.context())
    assert result.errors is None, result.errors
    assert result.data is not None
    return [entity["licence"] for entity in result.data["_entities"]]


async def check_generated(licences: Runtime, application_id: str) -> models.Licence:
    """The licence of the application, with its electronic licence, log, holder link and emitted event."""
    row = await licence_of(licences, application_id)
    assert row is not None
    assert row.type_code == "PHYSICIAN_PRACTICE" and row.number.startswith("PP2026") and len(row.number) == 16
    assert (row.holder_uid, row.holder_name, row.holder_id_number) == (APPLICANT.uid, APPLICANT.name,
                                                                        APPLICANT.id_number)
    assert row.holder_id_digest == id_number_digest(APPLICANT.id_number)
    assert (row.issuer_org_id, row.practice_institution_id, row.practice_category) == (
        "org-320102-hc", "org-320102-h1", "临床")
    assert row.fields == {"practiceScope": "内科专业"}
    assert row.issued_at == row.valid_from == row.registered_at == date(2026, 3, 2)
    assert row.valid_until == date(2031, 3, 1)
    assert row.collection_source == "卫生健康一体化政务服务系统"
    async with licences.sessions() as session:
        electronic = await session.scalar(select(models.ElectronicLicence).where(
            models.ElectronicLicence.licence_id == row.id))
        assert electronic is not None and electronic.generation_mode == "APPLICATION"
        assert face_is_authentic(row, electronic, await signing_key(session))
        operations = (await session.scalars(select(models.LicenceOperationLog).where(
            models.LicenceOperationLog.licence_id == row.id))).all()
        assert sorted(o.operation for o in operations) == ["COLLECTED", "GENERATED"]
        assert operations[0].detail["applicationId"] == application_id
        link = await session.get(models.HolderLink, row.holder_id_digest)
        assert link is not None and link.uid == APPLICANT.uid
        events = (await session.scalars(select(models.OutboxEvent).where(
            models.OutboxEvent.topic == GENERATED_TOPIC))).all()
    assert [e.payload for e in events] == [{"applicationId": application_id, "licenceId": row.id,
                                            "number": row.number, "type": "PHYSICIAN_PRACTICE",
                                            "operation": "COLLECTED"}]
    return row


async def test_an_approved_application_generates_its_licence_once(tmp_path: Any) -> None:
    bus = InProcessBus()
    delivered: list[Event] = []

    async def record(event: Event) -> None:
        delivered.append(event)

    bus.subscribe("test", APPROVED_TOPIC, record)
    services, licences = await pair(f"sqlite+aiosqlite:///{tmp_path / 's.db'}",
                                    f"sqlite+aiosqlite:///{tmp_path / 'l.db'}", bus)
    try:
        await approve(services, approval("app-1"))
        await drain(bus)
        row = await check_generated(licences, "app-1")
        assert await application_licences(licences, ["app-1", "app-unknown"]) == [
            {"id": row.id, "number": row.number}, None]

        before = [await count(licences, m) for m in (models.Licence, models.LicenceOperationLog,
                                                      models.OutboxEvent, models.ProcessedEvent)]
        # The bus delivers the same event again, and services emits the approval twice (a new event id).
        await bus.publish(delivered[0])
        await approve(services, approval("app-1"))
        await drain(bus)
        after = [await count(licences, m) for m in (models.Licence, models.LicenceOperationLog,
                                                     models.OutboxEvent, models.ProcessedEvent)]
        assert after == [before[0], before[1], before[2], before[3] + 1]
        assert await count(licences, models.Licence, models.Licence.source_application_id == "app-1") == 1
    finally:
        await dispose(services, licences)


async def test_a_renewal_updates_the_licence_it_names(tmp_path: Any) -> None:
    bus = InProcessBus()
    services, licences = await pair(f"sqlite+aiosqlite:///{tmp_path / 's.db'}",
                                    f"sqlite+aiosqlite:///{tmp_path / 'l.db'}", bus)
    try:
        nurse = person(TEST_SEED, licence_holders(TEST_SEED, SMALL.persons)[0])
        async with licences.sessions() as session:
            seeded = await session.scalar(select(models.Licence).where(models.Licence.holder_uid == nurse.uid))
        assert seeded is not None and seeded.version == 1
        # 护士执业注册 延续注册: the same certificate number, a new validity.
        renewal = approval("app-renew", {"number": seeded.number, "validFrom": "2026-04-01",
                                         "validUntil": "2031-03-31"},
                           itemCode="6", licenceType="NURSE_PRACTICE",
                           applicant={"uid": nurse.uid, "name": nurse.name, "sex": nurse.sex,
                                      "idNumber": nurse.id_number},
                           issuer={"orgId": seeded.issuer_org_id, "name": seeded.issuer_name})
        await approve(services, renewal)
        await drain(bus)
        async with licences.sessions() as session:
            row = await session.get(models.Licence, seeded.id)
            assert row is not None
            assert (row.valid_from, row.valid_until) == (date(2026, 4, 1), date(2031, 3, 31))
            assert (row.version, row.source_application_id, row.number) == (2, "app-renew", seeded.number)
            electronic = await session.scalar(select(models.ElectronicLicence).where(
                models.ElectronicLicence.licence_id == row.id))
            assert electronic is not None and electronic.generation == 2
            assert face_is_authentic(row, electronic, await signing_key(session))
            updated = await session.scalar(select(models.LicenceOperationLog).where(
                models.LicenceOperationLog.licence_id == row.id, models.LicenceOperationLog.operation == "UPDATED"))
            assert updated is not None
            assert updated.detail["applicationId"] == "app-renew" and updated.detail["previousApplicationId"] is None
            assert updated.detail["changed"] == ["validFrom", "validUntil"]
        assert await count(licences, models.Licence, models.Licence.holder_uid == nurse.uid) == 1
        assert await application_licences(licences, ["app-renew"], "id validUntil") == [
            {"id": seeded.id, "validUntil": "2031-03-31"}]
    finally:
        await dispose(services, licences)


async def test_an_institution_application_makes_an_organisation_licence(tmp_path: Any) -> None:
    bus = InProcessBus()
    services, licences = await pair(f"sqlite+aiosqlite:///{tmp_path / 's.db'}",
                                    f"sqlite+aiosqlite:///{tmp_path / 'l.db'}", bus)
    try:
        payload = approval("app-clinic", {"number": "MA1TEST0X320102D2001", "address": "江苏省南京市玄武区中山路1号",
                                          "clinicalSubjects": ["内科", "外科"], "validUntil": "2031-03-01"},
                           itemCode="9", licenceType="MEDICAL_INSTITUTION_PRACTICE",
                           applicant={"orgId": "org-new-clinic", "name": "玄武区测试综合门诊部",
                                      "creditCode": "91320102MA1TEST0X1"})
        await approve(services, payload)
        await drain(bus)
        row = await licence_of(licences, "app-clinic")
        assert row is not None
        assert (row.holder_kind, row.holder_org_id, row.holder_credit_code, row.holder_uid) == (
            "ORGANIZATION", "org-new-clinic", "91320102MA1TEST0X1", None)
        assert row.number == row.business_key == "MA1TEST0X320102D2001" and row.id == "lic-mi-MA1TEST0X320102D2001"
        assert row.fields == {"address": "江苏省南京市玄武区中山路1号", "clinicalSubjects": ["内科", "外科"]}
    finally:
        await dispose(services, licences)


async def test_a_payload_breaking_the_contract_is_dropped(tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    bus = InProcessBus()
    services, licences = await pair(f"sqlite+aiosqlite:///{tmp_path / 's.db'}",
                                    f"sqlite+aiosqlite:///{tmp_path / 'l.db'}", bus)
    try:
        before = await count(licences, models.Licence)
        with caplog.at_level(logging.ERROR, logger="subgraphs.licences.events"):
            await approve(services, approval("app-bad", licenceType="DRIVING_LICENCE"))
            await approve(services, approval("app-bad-date", {"validUntil": "31/03/2031"}))
            await drain(bus)
        assert await count(licences, models.Licence) == before
        assert await count(licences, models.ProcessedEvent) == 0
        assert "unknown licenceType 'DRIVING_LICENCE'" in caplog.text and "licence.validUntil" in caplog.text
    finally:
        await dispose(services, licences)


async def test_person_events_link_holders(tmp_path: Any) -> None:
    bus = InProcessBus()
    licences = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 'l.db'}", seed_options=SMALL)
    licences = Runtime(definition, licences.engine, bus)
    try:
        async with licences.sessions() as session, session.begin():
            row = await session.scalar(select(models.Licence).where(
                models.Licence.holder_uid.is_not(None), models.Licence.holder_id_digest.is_not(None)).limit(1))
            assert row is not None
            uid, digest = row.holder_uid, row.holder_id_digest
            # As if the licence had arrived before population knew its holder.
            await session.execute(update(models.Licence).where(models.Licence.holder_id_digest == digest)
                                  .values(holder_uid=None))
            await session.execute(delete(models.HolderLink).where(models.HolderLink.id_digest == digest))
        held = await count(licences, models.Licence, models.Licence.holder_id_digest == digest)

        event = Event(id=str(uuid.uuid4()), topic="population.person.created", source="population",
                      payload={"uid": uid, "managementRegion": "320102001001", "status": "NORMAL",
                               "fields": ["idNumber"], "idNumberDigest": digest})
        await bus.publish(event)
        await bus.publish(event)  # redelivered
        await bus.publish(Event(id=str(uuid.uuid4()), topic="population.person.updated", source="population",
                                payload={"uid": "P-NO-ID", "idNumberDigest": None}))
        await bus.drain()
        assert await count(licences, models.Licence, models.Licence.holder_uid == uid) == held
        assert await count(licences, models.HolderLink, models.HolderLink.id_digest == digest) == 1
        assert await count(licences, models.HolderLink, models.HolderLink.uid == "P-NO-ID") == 0

        # Population merges the case into another uid: the licences follow.
        await bus.publish(Event(id=str(uuid.uuid4()), topic="population.person.updated", source="population",
                                payload={"uid": "P-MERGED", "idNumberDigest": digest}))
        await bus.drain()
        assert await count(licences, models.Licence, models.Licence.holder_uid == "P-MERGED") == held
        async with licences.sessions() as session:
            link = await session.get(models.HolderLink, digest)
            assert link is not None and link.uid == "P-MERGED"
    finally:
        await dispose(licences)


@pytest.mark.postgres
async def test_postgresql_generates_the_licence_once() -> None:
    services_url = await create_pg_database("jshealth_svc")
    licences_url = await create_pg_database("jshealth_lic")
    bus = InProcessBus()
    delivered: list[Event] = []

    async def record(event: Event) -> None:
        delivered.append(event)

    bus.subscribe("test", APPROVED_TOPIC, record)
    services = licences = None
    try:
        services, licences = await pair(services_url, licences_url, bus)
        await approve(services, approval("app-pg"))
        await drain(bus)
        row = await check_generated(licences, "app-pg")
        assert await application_licences(licences, ["app-pg"]) == [{"id": row.id, "number": row.number}]
        # Two deliveries at once: one licence, one log.
        await asyncio.gather(bus.publish(delivered[0]), bus.publish(delivered[0]))
        await approve(services, approval("app-pg"))
        await drain(bus)
        assert await count(licences, models.Licence, models.Licence.source_application_id == "app-pg") == 1
        assert await count(licences, models.LicenceOperationLog, models.LicenceOperationLog.licence_id == row.id) == 2
    finally:
        if services is not None and licences is not None:
            await dispose(services, licences)
        await drop_pg_database(services_url)
        await drop_pg_database(licences_url)


async def test_redis_streams_carry_the_approval(tmp_path: Any) -> None:
    url = await require_redis()
    assert url == REDIS_URL
    stream = f"jshealth:test:licences-events:{uuid.uuid4().hex[:8]}"
    services_bus = RedisStreamBus(url, consumer="services-test", stream=stream)
    licences_bus = RedisStreamBus(url, consumer="licences-test", stream=stream)
    engine = make_engine("services", f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    await upgrade(engine, "services")
    services = Runtime(services_definition, engine, services_bus)
    made = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 'l.db'}", seed_options=SMALL)
    licences = Runtime(definition, made.engine, licences_bus)
    await licences_bus.start()
    try:
        await approve(services, approval("app-redis"))
        for _ in range(100):
            if await licence_of(licences, "app-redis") is not None:
                break
            await asyncio.sleep(0.1)
        await check_generated(licences, "app-redis")
    finally:
        await licences_bus.close()
        await services_bus.close()
        import redis.asyncio as redis

        client = redis.from_url(url)
        await client.delete(stream)
        await client.aclose()
        await dispose(services, licences)
