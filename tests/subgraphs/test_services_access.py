"""services: who sees which applications. An applicant sees their own (Person.applications, the lists, one
by id), an organisation's users its 单位办件; staff see the cases of their organisation and region and work
their queues; the public progress lookup answers the status only, and null for any mismatch."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support import errors_of, execute, make_runtime
from test_services_workflow import (
    APPLICANT,
    NURSE_FIRST,
    VALID_ID,
    WINDOW,
    business_item_id,
    insert_application,
)

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.common.pseudonym import id_number_digest
from subgraphs.services.app import definition
from subgraphs.services.status import ApplicationStatus as S

OWN = APPLICANT.person_uid
STRANGER = Caller(subject="u-stranger", client_id="portal", scopes=frozenset(), person_uid="P-stranger")
ORG_USER = Caller(subject="u-clinic", client_id="portal", scopes=frozenset(), organization_id="org-clinic-1")
SUZHOU_WINDOW = Caller(subject="u-sz", client_id="hall", scopes=frozenset(), roles=("SERVICE_WINDOW",),
                       region_code="320500", organization_id="org-320500-hc", data_scope="OWN_ORG")
ONE = "query($id: ID!) { application(id: $id) { id number applicantName } }"
PROGRESS = """query($number: String!, $name: String!, $id: String!) {
  applicationProgress(number: $number, name: $name, idNumber: $id) { number citizenStatus label detail } }"""


@pytest.fixture(scope="module")
async def runtime(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    path = tmp_path_factory.mktemp("services_access") / "s.db"
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{path}")
    yield runtime
    await runtime.engine.dispose()


@pytest.fixture(scope="module")
async def cases(runtime: Runtime) -> dict[str, str]:
    item = await business_item_id(runtime, power="LICENSING", name=NURSE_FIRST)
    return {
        "own": await insert_application(runtime, item, S.SITE_INSPECTION, applicant_uid=OWN, applicant_name="张小三",
                                        applicant_id_digest=id_number_digest(VALID_ID), number="JS2026010100000001"),
        "stranger": await insert_application(runtime, item, S.ACCEPTED, applicant_uid="P-stranger",
                                             region_code="320583", organization_id="org-320583-hc"),
        "clinic": await insert_application(runtime, item, S.PRE_REVIEW, applicant_uid="P-clinic-staff",
                                           applicant_org_id="org-clinic-1", applicant_type="LEGAL_ENTITY",
                                           region_code="320102", organization_id="org-320102-hc"),
    }


async def test_an_applicant_sees_only_their_own_applications(runtime: Runtime, cases: dict[str, str]) -> None:
    mine = await execute(runtime, ONE, {"id": cases["own"]}, caller=APPLICANT)
    assert mine["application"]["applicantName"] == "张小三"
    assert (await execute(runtime, ONE, {"id": cases["stranger"]}, caller=APPLICANT))["application"] is None
    listed = await execute(runtime, "{ applications(first: 50) { edges { node { id } } } }", caller=APPLICANT)
    assert [e["node"]["id"] for e in listed["applications"]["edges"]] == [cases["own"]]
    person = """query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Person { applications { edges { node { id } } } } } }"""
    own = await execute(runtime, person, {"r": [{"__typename": "Person", "uid": OWN}]}, caller=APPLICANT)
    assert [e["node"]["id"] for e in own["_entities"][0]["applications"]["edges"]] == [cases["own"]]
    other = await execute(runtime, person, {"r": [{"__typename": "Person", "uid": OWN}]}, caller=STRANGER)
    assert other["_entities"][0]["applications"]["edges"] == []


async def test_an_organisation_sees_its_own_applications(runtime: Runtime, cases: dict[str, str]) -> None:
    query = """query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Organization { applications { edges { node { id } } } } } }"""
    def rep() -> dict[str, list[dict[str, str]]]:
        return {"r": [{"__typename": "Organization", "id": "org-clinic-1"}]}  # _entities consumes it

    own = await execute(runtime, query, rep(), caller=ORG_USER)
    assert [e["node"]["id"] for e in own["_entities"][0]["applications"]["edges"]] == [cases["clinic"]]
    assert (await execute(runtime, query, rep(), caller=STRANGER))["_entities"][0]["applications"]["edges"] == []
    assert (await execute(runtime, ONE, {"id": cases["clinic"]}, caller=ORG_USER))["application"] is not None


async def test_staff_see_their_organisation_and_region(runtime: Runtime, cases: dict[str, str]) -> None:
    # The Xuanwu window: its organisation's and its region's cases, not those of Kunshan.
    assert (await execute(runtime, ONE, {"id": cases["own"]}, caller=WINDOW))["application"] is not None
    assert (await execute(runtime, ONE, {"id": cases["stranger"]}, caller=WINDOW))["application"] is None
    # The Suzhou window sees Kunshan (in its city) but not Xuanwu.
    assert (await execute(runtime, ONE, {"id": cases["stranger"]}, caller=SUZHOU_WINDOW))["application"] is not None
    assert (await execute(runtime, ONE, {"id": cases["own"]}, caller=SUZHOU_WINDOW))["application"] is None
    queue = """query($r: String) { applicationQueue(regionCode: $r, first: 100) {
        edges { node { id regionCode } } } }"""
    rows = (await execute(runtime, queue, {"r": None}, caller=SUZHOU_WINDOW))["applicationQueue"]["edges"]
    assert rows and all(e["node"]["regionCode"].startswith("3205") for e in rows)
    assert cases["stranger"] in {e["node"]["id"] for e in rows}
    # Staff cannot act outside their queues either.
    errors = await errors_of(runtime, """mutation($id: ID!) { transitionApplication(id: $id, action: SUSPEND)
        { status } }""", {"id": cases["stranger"]}, caller=WINDOW)
    assert errors[0].extensions["code"] == "NOT_FOUND"


async def test_queues_are_for_staff(runtime: Runtime) -> None:
    errors = await errors_of(runtime, "{ applicationQueue { edges { node { id } } } }", caller=APPLICANT)
    assert errors[0].extensions["code"] == "FORBIDDEN"


async def test_progress_lookup_answers_the_status_and_nothing_else(runtime: Runtime, cases: dict[str, str]) -> None:
    found = await execute(runtime, PROGRESS, {"number": "JS2026010100000001", "name": "张小三", "id": VALID_ID},
                          caller=None)
    assert found["applicationProgress"] == {"number": "JS2026010100000001", "citizenStatus": "IN_PROGRESS",
                                            "label": "办理中", "detail": "现场勘验"}
    # The type has nothing but the status: no applicant, no item, no id.
    fields = await execute(runtime, '{ __type(name: "ApplicationProgress") { fields { name } } }')
    assert {f["name"] for f in fields["__type"]["fields"]} == {"number", "citizenStatus", "label", "detail"}
    wrong_id = VALID_ID[:-4] + ("0000" if not VALID_ID.endswith("0000") else "1111")
    for number, name, id_number in (("JS2026010100000001", "张小四", VALID_ID),
                                    ("JS2026010100000001", "张小三", wrong_id),
                                    ("JS2026010199999999", "张小三", VALID_ID),
                                    ("", "", "")):
        answer = await execute(runtime, PROGRESS, {"number": number, "name": name, "id": id_number})
        assert answer["applicationProgress"] is None
