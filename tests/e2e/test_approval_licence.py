"""End to end through the router (embedded mode: the router and the five subgraphs in one process on one
in-process bus): a 护士执业注册（首次注册） is filed, accepted, reviewed and approved over /graphql; the
approval event makes licences generate the nurse's licence, which the application then shows
(Application.licence, resolved by licences); services learns the licence (holding, licence id) from licences'
events, so 制证 can follow. Replaying the approval generates nothing twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette
from support import TEST_PERSONS, TEST_SEED

from db.seed.world import licence_holders, person, persons
from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.common.bus import Event, InProcessBus
from subgraphs.launch import create_embedded_app, setup_databases
from subgraphs.licences import models as licence_models
from subgraphs.services import models

T = TypeVar("T")
NURSE_FIRST = "护士执业注册（首次注册）"


@pytest.fixture(scope="module")
async def bus() -> InProcessBus:
    return InProcessBus()


@pytest.fixture(scope="module")
async def app(tmp_path_factory: pytest.TempPathFactory, bus: InProcessBus) -> AsyncIterator[Starlette]:
    # Its own databases: the approval writes, and the shared embedded app's slice tests count rows.
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('approval') / 'graph.db'}"
    await setup_databases(url, SeedOptions(seed=TEST_SEED, persons=TEST_PERSONS), log=False)
    embedded = await create_embedded_app(url, bus=bus)
    async with embedded.router.lifespan_context(embedded):
        yield embedded


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://embedded") as http:
        yield http


async def graphql(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, seconds: float = 15.0) -> T:
    """Poll until the event chain has done its part."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        found = await probe()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def nurse_business_item(services: Runtime) -> str:
    """The county-level first registration; the nurse registrations produce 护士执业证书 (set here in case the
    catalogue seed does not say so yet)."""
    async with services.sessions() as session, session.begin():
        found = await session.scalar(select(models.BusinessItem.id).where(models.BusinessItem.name == NURSE_FIRST)
                                     .order_by(models.BusinessItem.seq).limit(1))
        assert found is not None
        await session.execute(update(models.BusinessItem).where(models.BusinessItem.id == found).values(
            licence_type="NURSE_PRACTICE"))
    return found


def a_person_without_a_nurse_licence() -> Any:
    holders = set(licence_holders(TEST_SEED, TEST_PERSONS))
    return next(p for p in persons(TEST_SEED, TEST_PERSONS) if p.index not in holders and p.index > 10)


STEP = """mutation($id: ID!, $action: Action!) { transitionApplication(id: $id, action: $action) { status } }"""
LICENCE = """query($id: ID!) { application(id: $id) { status certificateStatus licence { number type status } } }"""


async def test_an_approved_nurse_registration_gets_its_licence_through_the_router(
        app: Starlette, client: httpx.AsyncClient, bus: InProcessBus) -> None:
    runtimes: dict[str, Runtime] = app.state.runtimes
    services, licences = runtimes["services"], runtimes["licences"]
    item = await nurse_business_item(services)
    nurse = a_person_without_a_nurse_licence()
    assert person(TEST_SEED, nurse.index).uid == nurse.uid
    created = await graphql(client, """mutation($input: CreateApplicationInput!) {
        createApplication(input: $input) { id number status } }""", {"input": {
        "businessItemId": item, "applicantUid": nurse.uid, "regionCode": nurse.management_region[:6],
        "formData": {"applicant": {"name": nurse.name, "sex": nurse.sex, "idNumber": nurse.id_number},
                     "licence": {"practiceInstitutionName": "南京市第一医院", "practiceCategory": "护理"}}}})
    app_id = created["createApplication"]["id"]
    await graphql(client, "mutation($id: ID!) { submitApplication(id: $id) { status } }", {"id": app_id})
    for action in ("ACCEPT", "SEND_TO_SECTION_REVIEW", "SECTION_AGREE", "APPROVE"):
        await graphql(client, STEP, {"id": app_id, "action": action})

    async def licence_shown() -> dict[str, Any] | None:
        answer = (await graphql(client, LICENCE, {"id": app_id}))["application"]
        return answer if answer["licence"] else None

    shown = await eventually(licence_shown, "the licence on the application")
    assert shown["status"] == "APPROVED" and shown["certificateStatus"] == "PENDING"
    assert shown["licence"]["type"] == "NURSE_PRACTICE" and shown["licence"]["status"] == "VALID"
    number = shown["licence"]["number"]

    async def services_knows_the_licence() -> str | None:
        async with services.sessions() as session:
            return await session.scalar(select(models.Application.licence_id).where(models.Application.id == app_id))

    licence_id = await eventually(services_knows_the_licence, "generated-for-application in services")

    async def holding() -> models.LicenceHolding | None:
        async with services.sessions() as session:
            return await session.get(models.LicenceHolding, licence_id)

    held = await eventually(holding, "the licence holding in services")
    assert (held.holder_uid, held.type_code, held.status) == (nurse.uid, "NURSE_PRACTICE", "VALID")

    issued = await graphql(client, "mutation($id: ID!) { issueCertificate(id: $id) { certificateStatus } }",
                           {"id": app_id})
    assert issued["issueCertificate"]["certificateStatus"] == "ISSUED"

    # The nurse finds the licence among theirs through the graph too.
    mine = await graphql(client, """query($uid: ID!) { person(uid: $uid) { licences { number } } }""",
                         {"uid": nurse.uid})
    assert number in {lic["number"] for lic in mine["person"]["licences"]}

    # Replaying the approval (the same event, and the same application under a new event id) adds nothing.
    async with services.sessions() as session:
        approved = await session.scalar(select(models.OutboxEvent).where(
            models.OutboxEvent.topic == "services.application.approved"))
        assert approved is not None and approved.payload["applicationId"] == app_id
    for event_id in (approved.id, "replayed-" + approved.id[9:]):
        await bus.publish(Event(id=event_id, topic=approved.topic, source="services", payload=approved.payload))
    await bus.drain()
    async with licences.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(licence_models.Licence).where(
            licence_models.Licence.source_application_id == app_id))
    assert count == 1
    again = (await graphql(client, LICENCE, {"id": app_id}))["application"]
    assert again["licence"]["number"] == number
