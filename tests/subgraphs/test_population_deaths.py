"""死亡人口 closed loop (标记—认领—处理—同步) through population's GraphQL API: routing by 户籍地 then 现居住地,
claim and 退回重推 up to the province, processing with evidence checked by content, sync to the case, support
and statistics, and who may act on which record."""

from __future__ import annotations

import base64
import hashlib
import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from identity_callers import caller_of, system_caller
from sqlalchemy import select
from support import TEST_SEED, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.common.caller import Caller
from subgraphs.common.validators import make_resident_id
from subgraphs.population import models
from subgraphs.population.app import definition
from subgraphs.population.domain import tally
from subgraphs.population.domain.changes import person_written

SZ_TOWN, SZ_TOWN_2, SZ_COUNTY, SZ_CITY = "320505001", "320505002", "320505", "320500"
NJ_TOWN, NJ_CITY = "320102001", "320100"
SZ_TOWN_USER = caller_of("u-sz-town", region=SZ_TOWN, data_scope="CROSS_ORG")
SZ_CITY_USER = caller_of("u-sz-city", region=SZ_CITY, data_scope="CROSS_ORG")
NJ_TOWN_USER = caller_of("u-nj-town", region=NJ_TOWN, data_scope="CROSS_ORG")
NJ_CITY_USER = caller_of("u-nj-city", region=NJ_CITY, data_scope="CROSS_ORG")
POLICE_SYSTEM = system_caller("population:death:report", client_id="gaj-hukou")
PROVINCE = None  # anonymous: the tests run with JSHEALTH_ANONYMOUS_SCOPE=all, a province operator

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
EXE = b"MZ\x90\x00" + b"\x00" * 60

_numbers = itertools.count(1)


@pytest.fixture(scope="module")
async def runtime(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    path: Path = tmp_path_factory.mktemp("deaths") / "population.db"
    rt = await make_runtime(definition, f"sqlite+aiosqlite:///{path}", seed_options=SeedOptions(seed=TEST_SEED,
                                                                                                 persons=0))
    yield rt
    await rt.engine.dispose()


async def new_person(runtime: Runtime, *, household: str, residence: str, management: str | None = None,
                     sex: str = "MALE") -> models.Person:
    n = next(_numbers)
    born = date(1940, 1, 1) + timedelta(days=37 * n)
    id_number = make_resident_id(household[:6], born, 2 * (n % 400) + (1 if sex == "MALE" else 0))
    row = models.Person(uid=f"T{uuid.uuid4().hex[:16].upper()}", person_no=f"TD{n:08d}", identity_code=id_number,
                        id_number=id_number, name="王建国", sex=sex, birth_date=born, household_region_code=household,
                        residence_region_code=residence, management_region_code=management or residence,
                        created_at=datetime.now(UTC))
    async with runtime.sessions() as session, session.begin():
        await person_written(session, row, actor="test", action="CREATE", before=None)
    return row


REPORT = """mutation($input: ReportDeathInput!) { reportDeath(input: $input) { corroborated
  record { id status routedBy returnCount idNumber policeDeregistrationNo deathCertificateNo
           responsibleRegion { code } events { action fromStatus toStatus comment region { code } } } } }"""
RECORD_FIELDS = """id status routedBy returnCount returnReason feedback responsibleRegion { code }
  events { action fromStatus toStatus comment region { code } }
  evidence { fileName mediaType size sha256 uploadedBy } person { uid }"""
CLAIM = f"mutation($id: ID!) {{ claimDeathRecord(id: $id) {{ {RECORD_FIELDS} }} }}"
RETURN = f"mutation($id: ID!, $reason: String!) {{ returnDeathRecord(id: $id, reason: $reason) {{ {RECORD_FIELDS} }} }}"
ASSIGN = f"mutation($id: ID!, $r: ID!) {{ assignDeathRecord(id: $id, regionCode: $r) {{ {RECORD_FIELDS} }} }}"
PROCESS = f"""mutation($id: ID!, $feedback: String!, $evidence: [EvidenceInput!]) {{
  processDeathRecord(id: $id, feedback: $feedback, evidence: $evidence) {{ {RECORD_FIELDS} }} }}"""
SYNC = f"""mutation($id: ID!) {{ syncDeathRecord(id: $id) {{ supportEnded dispatchCancelled
  record {{ {RECORD_FIELDS} syncedAt }} }} }}"""
RECORD = f"query($id: ID!) {{ deathRecord(id: $id) {{ {RECORD_FIELDS} }} }}"
RECORDS = """query($region: ID, $status: DeathRecordStatus, $unrouted: Boolean!, $idNumber: String) {
  deathRecords(regionCode: $region, status: $status, unrouted: $unrouted, idNumber: $idNumber, first: 50) {
    nodes { id status } } }"""


def police(person: models.Person, number: str | None = None, **more: Any) -> dict[str, Any]:
    return {"input": {"source": "POLICE", "idNumber": person.id_number, "name": person.name,
                      "deathDate": "2026-01-10", "cause": "疾病",
                      "policeDeregistrationNo": number or f"GA{uuid.uuid4().hex[:10]}", **more}}


def evidence(name: str, content: bytes) -> dict[str, str]:
    return {"fileName": name, "contentBase64": base64.b64encode(content).decode()}


async def report(runtime: Runtime, variables: dict[str, Any], caller: Caller | None = POLICE_SYSTEM) -> Any:
    return (await execute(runtime, REPORT, variables, caller=caller))["reportDeath"]


def code_of(error: Any) -> str:
    return str(error.extensions["code"])


async def work_count(runtime: Runtime, kind: str, region: str) -> int:
    async with runtime.sessions() as session:
        row = await session.get(models.WorkTally, {"region_code": region, "kind": kind, "detail": ""})
    return row.count if row else 0


async def _tally_rows(session: Any) -> set[tuple[Any, ...]]:
    work = (await session.execute(select(models.WorkTally.region_code, models.WorkTally.kind, models.WorkTally.count)
                                  .where(models.WorkTally.kind.in_((tally.DEATH_UNCLAIMED, tally.DISPATCH_PENDING)),
                                         models.WorkTally.count != 0))).all()
    events = (await session.execute(select(models.EventTally.region_code, models.EventTally.day,
                                           models.EventTally.detail, models.EventTally.sex, models.EventTally.count)
                                    .where(models.EventTally.kind == tally.DEATH, models.EventTally.count != 0))).all()
    return {("work", *r) for r in work} | {("event", *r) for r in events}


async def assert_tallies_match_rebuild(runtime: Runtime) -> None:
    """The live death and dispatch tallies equal a recount from the records (the recount is rolled back)."""
    async with runtime.sessions() as session:
        transaction = await session.begin()
        live = await _tally_rows(session)
        await tally.rebuild(session)
        fresh = await _tally_rows(session)
        await transaction.rollback()
    assert live == fresh


async def test_the_whole_loop_from_report_to_sync(runtime: Runtime) -> None:
    person = await new_person(runtime, household=SZ_TOWN, residence=NJ_TOWN)
    async with runtime.sessions() as session, session.begin():
        session.add(models.SupportEnrollment(id=str(uuid.uuid4()), person_uid=person.uid, kind="REWARD",
                                             policy="农村部分计划生育家庭奖励扶助", start_date=date(2020, 1, 1),
                                             created_at=datetime.now(UTC)))
    before = {code: await work_count(runtime, tally.DEATH_UNCLAIMED, code) for code in (SZ_TOWN, SZ_CITY, "320000")}

    reported = await report(runtime, police(person, "GA2026000001"))
    record = reported["record"]
    assert not reported["corroborated"]
    assert (record["status"], record["routedBy"], record["responsibleRegion"]) == (
        "UNCLAIMED", "HOUSEHOLD", {"code": SZ_TOWN})
    assert person.id_number is not None
    assert record["idNumber"] == f"{person.id_number[:6]}********{person.id_number[-4:]}"
    for code in (SZ_TOWN, SZ_CITY, "320000"):
        assert await work_count(runtime, tally.DEATH_UNCLAIMED, code) == before[code] + 1
    async with runtime.sessions() as session:
        topics = [e.payload for e in (await session.scalars(select(models.OutboxEvent).where(
            models.OutboxEvent.topic == "population.death.routed"))).all()]
    assert {"id": record["id"], "regionCode": SZ_TOWN}.items() <= next(
        p for p in topics if p["id"] == record["id"]).items()

    claimed = (await execute(runtime, CLAIM, {"id": record["id"]}, caller=SZ_TOWN_USER))["claimDeathRecord"]
    assert claimed["status"] == "CLAIMED"
    for code in (SZ_TOWN, SZ_CITY, "320000"):
        assert await work_count(runtime, tally.DEATH_UNCLAIMED, code) == before[code]

    processed = (await execute(runtime, PROCESS, {
        "id": record["id"], "feedback": "已核实，家属提供火化证明",
        "evidence": [evidence("火化证明.pdf", PDF), evidence("现场照片.png", PNG)]}, caller=SZ_TOWN_USER))
    files = processed["processDeathRecord"]["evidence"]
    assert processed["processDeathRecord"]["status"] == "PROCESSED"
    assert [(f["fileName"], f["mediaType"], f["size"], f["sha256"]) for f in files] == [
        ("火化证明.pdf", "application/pdf", len(PDF), hashlib.sha256(PDF).hexdigest()),
        ("现场照片.png", "image/png", len(PNG), hashlib.sha256(PNG).hexdigest())]

    synced = (await execute(runtime, SYNC, {"id": record["id"]}, caller=SZ_TOWN_USER))["syncDeathRecord"]
    assert synced["record"]["status"] == "SYNCED" and synced["record"]["syncedAt"]
    assert synced["supportEnded"] == 1
    assert [e["action"] for e in synced["record"]["events"]] == ["REPORTED", "CLAIMED", "PROCESSED", "SYNCED"]
    async with runtime.sessions() as session:
        row = await session.get(models.Person, person.uid)
        history = (await session.scalars(select(models.PersonHistory).where(
            models.PersonHistory.person_uid == person.uid, models.PersonHistory.action == "DEATH"))).all()
        support = await session.scalar(select(models.SupportEnrollment).where(
            models.SupportEnrollment.person_uid == person.uid))
        deaths = await session.get(models.EventTally, {"region_code": NJ_TOWN, "kind": tally.DEATH,
                                                       "day": date(2026, 1, 10), "detail": "POLICE", "sex": "MALE"})
    assert row is not None and (row.status, row.death_date) == ("DEAD", date(2026, 1, 10))
    assert len(history) == 1 and history[0].changes["status"] == "DEAD"
    assert support is not None and support.end_date == date(2026, 1, 10)
    assert deaths is not None and deaths.count == 1  # counted at the case's management region
    await assert_tallies_match_rebuild(runtime)

    # The case shows its death record; a synced record is closed for good.
    shown = await execute(runtime, "query($uid: ID!) { person(uid: $uid) { deathRecords { id status } } }",
                          {"uid": person.uid})
    assert shown["person"]["deathRecords"] == [{"id": record["id"], "status": "SYNCED"}]
    [error] = await errors_of(runtime, CLAIM, {"id": record["id"]}, caller=SZ_TOWN_USER)
    assert code_of(error) == "INVALID_STATE" and error.extensions["status"] == "SYNCED"


async def test_returned_record_goes_to_the_other_region_then_the_province(runtime: Runtime) -> None:
    person = await new_person(runtime, household=SZ_TOWN, residence=NJ_TOWN)
    record = (await report(runtime, police(person)))["record"]
    nj_before = await work_count(runtime, tally.DEATH_UNCLAIMED, NJ_TOWN)

    [error] = await errors_of(runtime, RETURN, {"id": record["id"], "reason": "  "}, caller=SZ_TOWN_USER)
    assert code_of(error) == "BAD_USER_INPUT"
    moved = (await execute(runtime, RETURN, {"id": record["id"], "reason": "非本辖区户籍"},
                           caller=SZ_TOWN_USER))["returnDeathRecord"]
    assert (moved["status"], moved["routedBy"], moved["returnCount"], moved["responsibleRegion"]) == (
        "RETURNED", "RESIDENCE", 1, {"code": NJ_TOWN})
    assert await work_count(runtime, tally.DEATH_UNCLAIMED, NJ_TOWN) == nj_before + 1
    # The region that returned it no longer sees it; the new one does.
    assert (await execute(runtime, RECORD, {"id": record["id"]}, caller=SZ_TOWN_USER))["deathRecord"] is None
    listed = await execute(runtime, RECORDS, {"unrouted": False, "status": "RETURNED"}, caller=NJ_TOWN_USER)
    assert record["id"] in [n["id"] for n in listed["deathRecords"]["nodes"]]

    moved = (await execute(runtime, RETURN, {"id": record["id"], "reason": "已迁出本地"},
                           caller=NJ_TOWN_USER))["returnDeathRecord"]
    assert (moved["status"], moved["routedBy"], moved["returnCount"], moved["responsibleRegion"]) == (
        "RETURNED", "UNROUTED", 2, None)
    assert [(e["action"], e["region"]) for e in moved["events"]] == [
        ("REPORTED", {"code": SZ_TOWN}), ("RETURNED", {"code": SZ_TOWN}), ("ROUTED", {"code": NJ_TOWN}),
        ("RETURNED", {"code": NJ_TOWN}), ("ROUTED", None)]
    assert await work_count(runtime, tally.DEATH_UNCLAIMED, NJ_TOWN) == nj_before
    assert (await execute(runtime, RECORD, {"id": record["id"]}, caller=NJ_TOWN_USER))["deathRecord"] is None

    # The province finds it among the unrouted records and assigns it; a city user may not.
    unrouted = await execute(runtime, RECORDS, {"unrouted": True}, caller=PROVINCE)
    assert record["id"] in [n["id"] for n in unrouted["deathRecords"]["nodes"]]
    [error] = await errors_of(runtime, ASSIGN, {"id": record["id"], "r": SZ_TOWN_2}, caller=SZ_CITY_USER)
    assert code_of(error) == "FORBIDDEN"
    assigned = (await execute(runtime, ASSIGN, {"id": record["id"], "r": SZ_TOWN_2}))["assignDeathRecord"]
    assert (assigned["status"], assigned["routedBy"], assigned["responsibleRegion"]) == (
        "UNCLAIMED", "PROVINCE", {"code": SZ_TOWN_2})
    await assert_tallies_match_rebuild(runtime)


async def test_illegal_moves_are_refused_with_the_current_status(runtime: Runtime) -> None:
    person = await new_person(runtime, household=SZ_TOWN, residence=SZ_TOWN)
    record_id = (await report(runtime, police(person)))["record"]["id"]
    [error] = await errors_of(runtime, PROCESS, {"id": record_id, "feedback": "已核实"}, caller=SZ_TOWN_USER)
    assert (code_of(error), error.extensions["status"]) == ("INVALID_STATE", "UNCLAIMED")
    await execute(runtime, CLAIM, {"id": record_id}, caller=SZ_TOWN_USER)
    [error] = await errors_of(runtime, SYNC, {"id": record_id}, caller=SZ_TOWN_USER)
    assert (code_of(error), error.extensions["status"]) == ("INVALID_STATE", "CLAIMED")
    [error] = await errors_of(runtime, RETURN, {"id": record_id, "reason": "误认领"}, caller=SZ_TOWN_USER)
    assert (code_of(error), error.extensions["status"]) == ("INVALID_STATE", "CLAIMED")
    [error] = await errors_of(runtime, CLAIM, {"id": record_id}, caller=SZ_TOWN_USER)
    assert (code_of(error), error.extensions["status"]) == ("INVALID_STATE", "CLAIMED")


async def test_evidence_is_typed_by_its_content(runtime: Runtime) -> None:
    person = await new_person(runtime, household=SZ_TOWN, residence=SZ_TOWN)
    record_id = (await report(runtime, police(person)))["record"]["id"]
    await execute(runtime, CLAIM, {"id": record_id}, caller=SZ_TOWN_USER)

    for name, content in (("setup.exe", EXE), ("死亡证明.pdf", EXE), ("空.pdf", b""),
                          ("太大.pdf", b"%PDF-" + b"\x00" * (5 * 1024 * 1024))):
        [error] = await errors_of(runtime, PROCESS, {"id": record_id, "feedback": "已核实",
                                                     "evidence": [evidence(name, content)]}, caller=SZ_TOWN_USER)
        assert code_of(error) == "BAD_USER_INPUT", name
        assert error.extensions["field"] == "contentBase64"
    [error] = await errors_of(runtime, PROCESS, {"id": record_id, "feedback": "已核实", "evidence": [
        {"fileName": "x.pdf", "contentBase64": "not base64!"}]}, caller=SZ_TOWN_USER)
    assert code_of(error) == "BAD_USER_INPUT"
    record = (await execute(runtime, RECORD, {"id": record_id}, caller=SZ_TOWN_USER))["deathRecord"]
    assert record["status"] == "CLAIMED" and record["evidence"] == []  # nothing of a refused upload stays

    processed = (await execute(runtime, PROCESS, {
        "id": record_id, "feedback": "已核实", "evidence": [evidence("死亡证明.pdf", PNG)]},
        caller=SZ_TOWN_USER))["processDeathRecord"]
    assert [(f["fileName"], f["mediaType"]) for f in processed["evidence"]] == [("死亡证明.pdf", "image/png")]


async def test_only_the_responsible_region_acts_on_a_record(runtime: Runtime) -> None:
    person = await new_person(runtime, household=SZ_TOWN, residence=SZ_TOWN)
    record_id = (await report(runtime, police(person)))["record"]["id"]

    for caller in (NJ_CITY_USER, NJ_TOWN_USER):
        [error] = await errors_of(runtime, CLAIM, {"id": record_id}, caller=caller)
        assert code_of(error) == "NOT_FOUND"
        assert (await execute(runtime, RECORD, {"id": record_id}, caller=caller))["deathRecord"] is None
        listed = await execute(runtime, RECORDS, {"unrouted": False}, caller=caller)
        assert record_id not in [n["id"] for n in listed["deathRecords"]["nodes"]]
    [error] = await errors_of(runtime, RECORDS, {"unrouted": False, "region": SZ_CITY}, caller=NJ_CITY_USER)
    assert code_of(error) == "FORBIDDEN"
    # Reporting needs a data scope or the report scope.
    [error] = await errors_of(runtime, REPORT, police(person), caller=system_caller("graph:read"))
    assert code_of(error) == "FORBIDDEN"

    # The city above the responsible township may act for it.
    listed = await execute(runtime, RECORDS, {"unrouted": False, "region": SZ_COUNTY, "status": "UNCLAIMED"},
                           caller=SZ_CITY_USER)
    assert record_id in [n["id"] for n in listed["deathRecords"]["nodes"]]
    claimed = (await execute(runtime, CLAIM, {"id": record_id}, caller=SZ_CITY_USER))["claimDeathRecord"]
    assert claimed["status"] == "CLAIMED"


async def test_a_second_report_corroborates_instead_of_opening_a_second_loop(runtime: Runtime) -> None:
    person = await new_person(runtime, household=SZ_TOWN, residence=SZ_TOWN, sex="FEMALE")
    first = (await report(runtime, police(person, "GA-DUP-1")))["record"]

    [error] = await errors_of(runtime, REPORT, police(person, "GA-DUP-1"), caller=POLICE_SYSTEM)
    assert code_of(error) == "CONFLICT" and error.extensions["recordId"] == first["id"]

    hospital = {"input": {"source": "HOSPITAL", "idNumber": person.id_number, "name": person.name,
                          "deathDate": "2026-01-10", "deathCertificateNo": "Z320500000123"}}
    second = await report(runtime, hospital, caller=SZ_TOWN_USER)
    assert second["corroborated"] and second["record"]["id"] == first["id"]
    assert second["record"]["deathCertificateNo"] == "Z320500000123"
    assert second["record"]["policeDeregistrationNo"] == "GA-DUP-1"
    assert [e["action"] for e in second["record"]["events"]] == ["REPORTED", "CORROBORATED"]
    [error] = await errors_of(runtime, REPORT, hospital, caller=SZ_TOWN_USER)
    assert code_of(error) == "CONFLICT"

    community = {"input": {"source": "COMMUNITY", "idNumber": person.id_number, "name": person.name,
                           "deathDate": "2026-01-09"}}
    third = await report(runtime, community, caller=SZ_TOWN_USER)
    assert third["corroborated"] and "death date differs" in third["record"]["events"][-1]["comment"]
    [error] = await errors_of(runtime, REPORT, community, caller=SZ_TOWN_USER)
    assert code_of(error) == "CONFLICT"
    # A police report needs its deregistration number, a hospital one its certificate number.
    [error] = await errors_of(runtime, REPORT, {"input": {**hospital["input"], "deathCertificateNo": None}},
                              caller=SZ_TOWN_USER)
    assert (code_of(error), error.extensions["field"]) == ("BAD_USER_INPUT", "deathCertificateNo")
    async with runtime.sessions() as session:
        loops = (await session.scalars(select(models.DeathRecord.id).where(
            models.DeathRecord.id_number == person.id_number))).all()
    assert loops == [first["id"]]


async def test_a_death_without_a_case_is_routed_by_the_id_numbers_region(runtime: Runtime) -> None:
    local = make_resident_id(SZ_COUNTY, date(1930, 5, 1), 17)
    record = (await report(runtime, {"input": {"source": "COMMUNITY", "idNumber": local, "name": "李四",
                                               "deathDate": "2026-01-02"}}, caller=SZ_TOWN_USER))["record"]
    assert (record["routedBy"], record["responsibleRegion"]) == ("ID_PREFIX", {"code": SZ_COUNTY})

    elsewhere = make_resident_id("110101", date(1930, 5, 1), 17)  # Beijing: no region of this province
    record = (await report(runtime, {"input": {"source": "COMMUNITY", "idNumber": elsewhere, "name": "赵五",
                                               "deathDate": "2026-01-02"}}, caller=SZ_TOWN_USER))["record"]
    assert (record["routedBy"], record["responsibleRegion"], record["status"]) == ("UNROUTED", None, "UNCLAIMED")
    # The province takes it itself, and the loop closes without a case to update.
    await execute(runtime, CLAIM, {"id": record["id"]})
    await execute(runtime, PROCESS, {"id": record["id"], "feedback": "外省户籍，已通报"})
    synced = (await execute(runtime, SYNC, {"id": record["id"]}))["syncDeathRecord"]
    assert synced["record"]["status"] == "SYNCED" and synced["record"]["person"] is None
    assert synced["record"]["responsibleRegion"] == {"code": "320000"}

    [error] = await errors_of(runtime, REPORT, {"input": {"source": "COMMUNITY", "idNumber": "320505193005011234",
                                                          "name": "错号", "deathDate": "2026-01-02"}},
                              caller=SZ_TOWN_USER)
    assert (code_of(error), error.extensions["field"]) == ("BAD_USER_INPUT", "idNumber")
    await assert_tallies_match_rebuild(runtime)


@pytest.mark.postgres
async def test_the_loop_on_postgresql(pg_url: str) -> None:
    rt = await make_runtime(definition, pg_url, seed_options=SeedOptions(seed=TEST_SEED, persons=0))
    try:
        person = await new_person(rt, household=SZ_TOWN, residence=NJ_TOWN)
        record_id = (await report(rt, police(person)))["record"]["id"]
        await execute(rt, RETURN, {"id": record_id, "reason": "非本辖区"}, caller=SZ_TOWN_USER)
        await execute(rt, CLAIM, {"id": record_id}, caller=NJ_TOWN_USER)
        jpeg = evidence("a.jpg", b"\xff\xd8\xff\xe0")
        await execute(rt, PROCESS, {"id": record_id, "feedback": "已核实", "evidence": [jpeg]}, caller=NJ_TOWN_USER)
        synced = (await execute(rt, SYNC, {"id": record_id}, caller=NJ_TOWN_USER))["syncDeathRecord"]
        assert synced["record"]["status"] == "SYNCED"
        assert synced["record"]["evidence"][0]["mediaType"] == "image/jpeg"
        async with rt.sessions() as session:
            row = await session.get(models.Person, person.uid)
        assert row is not None and row.status == "DEAD"
        await assert_tallies_match_rebuild(rt)
    finally:
        await rt.engine.dispose()


async def test_records_page_newest_first(runtime: Runtime) -> None:
    for _ in range(3):
        await report(runtime, police(await new_person(runtime, household=SZ_TOWN_2, residence=SZ_TOWN_2)))
    query = """query($after: String) { deathRecords(regionCode: "320505002", first: 2, after: $after) {
      nodes { id createdAt } pageInfo { hasNextPage endCursor } } }"""
    seen: list[tuple[str, str]] = []
    after = None
    while True:
        page = (await execute(runtime, query, {"after": after}, caller=SZ_CITY_USER))["deathRecords"]
        seen += [(n["createdAt"], n["id"]) for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) >= 3 and seen == sorted(seen, reverse=True) and len(set(seen)) == len(seen)
    [error] = await errors_of(runtime, query, {"after": "bm90LWEtY3Vyc29y"}, caller=SZ_CITY_USER)
    assert (code_of(error), error.extensions["argument"]) == ("BAD_USER_INPUT", "after")
