"""security: incident notices (网络安全事件通报), recipients' view status and reminders, the disposal report's
state machine (locked on submission, changed only by an approved change request), progress and overdue,
data scope, the archive and the events."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, update
from support import count_statements, create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.security import models
from subgraphs.security.app import definition

ADMIN = Caller(subject="u-sec-admin", client_id="portal", scopes=frozenset(), roles=("SECURITY_ADMIN",),
               organization_id="org-320000-hc", region_code="320000", data_scope="ALL")
HOSPITAL_A, HOSPITAL_B, HOSPITAL_C = "org-320100-h1", "org-320200-h1", "org-320100-h2"


def unit(org: str, region: str, *, scope: str = "OWN_ORG") -> Caller:
    return Caller(subject=f"u-{org}", client_id="portal", scopes=frozenset(), roles=("UNIT_SECURITY_ADMIN",),
                  organization_id=org, region_code=region, data_scope=scope)


UNIT_A, UNIT_B, UNIT_C = unit(HOSPITAL_A, "320100"), unit(HOSPITAL_B, "320200"), unit(HOSPITAL_C, "320100")
CITY_NANJING = unit("org-320100-hc", "320100", scope="CROSS_ORG")

ISSUE = """mutation($i: IssueIncidentInput!) { issueIncident(input: $i) {
  id number severity severityLabel progress progressLabel overdue regionCode typeLabel
  recipients { orgId viewed reminders } affectedOrganization { id } affectedAssets { id owner { id } } } }"""
SAVE = """mutation($id: ID!, $c: DisposalContentInput!) { saveDisposalReport(incidentId: $id, content: $c) {
  id status statusLabel locked version content { responsible controlled impactRemoved technicalMeasures } } }"""
SUBMIT = "mutation($id: ID!) { submitDisposalReport(id: $id) { id status locked submittedAt } }"
REQUEST = """mutation($id: ID!, $r: String!, $c: DisposalContentInput!) {
  requestDisposalChange(reportId: $id, reason: $r, proposed: $c) { id status reason } }"""
REVIEW = """mutation($id: ID!, $a: Boolean!, $o: String) { reviewDisposalChange(id: $id, approve: $a, opinion: $o) {
  id status opinion } }"""
INCIDENT = """query($id: ID!) { incident(id: $id) { id progress completedAt overdue
  recipients { orgId viewed reminders } reports { orgId status version content { summary controlled } } } }"""


def incident_input(org: str = HOSPITAL_A, region: str | None = "320100", **more: Any) -> dict[str, Any]:
    return {
        "title": "门户网站被植入暗链", "description": "监测发现首页被植入博彩暗链。", "incidentType": "WEB_DEFACEMENT",
        "severity": "SIGNIFICANT", "affectedOrgId": org, "affectedAssetIds": [f"ast-{org[4:]}-domain"],
        "deadline": (datetime.now(UTC) + timedelta(days=7)).isoformat(), "regionCode": region,
        "requirements": "3个工作日内完成整改并报送处置报告", **more,
    }


def content(**more: Any) -> dict[str, Any]:
    return {"technicalMeasures": ["删除暗链", "修补上传漏洞"], "managerialMeasures": ["修订发布审核制度"],
            "timeline": [{"at": "2026-03-01T08:00:00+00:00", "what": "发现并下线页面"}],
            "responsible": "王工", "participants": ["李工"], "evidence": [{"name": "整改截图.png", "kind": "整改截图"}],
            "summary": "已下线整改", **more}


async def fresh(tmp_path: Path) -> Runtime:
    return await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 's.db'}")


async def issue(runtime: Runtime, **more: Any) -> dict[str, Any]:
    data = await execute(runtime, ISSUE, {"i": incident_input(**more)}, caller=ADMIN)
    return data["issueIncident"]


async def code_of(runtime: Runtime, query: str, variables: dict[str, Any], caller: Caller | None) -> str:
    errors = await errors_of(runtime, query, variables, caller=caller)
    return str(errors[0].extensions["code"])


async def events(runtime: Runtime) -> list[tuple[str, dict[str, Any]]]:
    async with runtime.sessions() as session:
        rows = (await session.scalars(select(models.OutboxEvent).where(
            models.OutboxEvent.topic.like("security.incident.%")).order_by(models.OutboxEvent.created_at))).all()
    return [(r.topic, r.payload) for r in rows]


async def test_issue_is_for_admins_and_checks_its_input(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    assert await code_of(runtime, ISSUE, {"i": incident_input()}, UNIT_A) == "FORBIDDEN"

    first = await issue(runtime, recipientOrgIds=[HOSPITAL_C, "org-320100-hc"])
    assert re.fullmatch(rf"JSWA-{datetime.now(UTC).year}-000001", first["number"])
    assert (first["severityLabel"], first["progress"], first["progressLabel"]) == ("较大", "NOT_HANDLED", "未处置")
    assert first["typeLabel"] == "网页篡改" and not first["overdue"]
    assert [r["orgId"] for r in first["recipients"]] == [HOSPITAL_A, HOSPITAL_C, "org-320100-hc"]
    assert all(not r["viewed"] and r["reminders"] == 0 for r in first["recipients"])
    assert first["affectedOrganization"] == {"id": HOSPITAL_A}
    assert first["affectedAssets"] == [{"id": "ast-320100-h1-domain", "owner": {"id": HOSPITAL_A}}]
    second = await issue(runtime)
    assert second["number"].endswith("-000002")

    for bad in (
        {"affectedAssetIds": ["ast-320200-h1-domain"]},  # another organisation's asset
        {"affectedAssetIds": ["ast-nope"]},
        {"deadline": (datetime.now(UTC) - timedelta(hours=1)).isoformat()},
        {"title": "  "},
        {"regionCode": "32x"},
    ):
        assert await code_of(runtime, ISSUE, {"i": incident_input(**bad)}, ADMIN) == "BAD_USER_INPUT", bad

    topic, payload = (await events(runtime))[0]
    assert topic == "security.incident.issued"
    assert payload["incidentId"] == first["id"] and payload["severity"] == "SIGNIFICANT"
    assert (payload["orgId"], payload["regionCode"], payload["progress"]) == (HOSPITAL_A, "320100", "NOT_HANDLED")


async def test_region_comes_from_the_affected_assets(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(models.Asset).where(models.Asset.owner_id == HOSPITAL_B)
                              .values(region_code="320205"))
    data = await execute(runtime, ISSUE, {"i": incident_input(HOSPITAL_B, region=None)}, caller=ADMIN)
    # Stored as the city: the board counts incidents by city.
    assert data["issueIncident"]["regionCode"] == "320200"
    assert (await events(runtime))[0][1]["regionCode"] == "320200"


async def test_recipients_view_and_reminders(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    incident = await issue(runtime, recipientOrgIds=[HOSPITAL_C])
    remind = "mutation($id: ID!) { remindIncidentRecipients(id: $id) { count reminded { orgId reminders } } }"
    assert await code_of(runtime, remind, {"id": incident["id"]}, UNIT_A) == "FORBIDDEN"

    first = (await execute(runtime, remind, {"id": incident["id"]}, caller=ADMIN))["remindIncidentRecipients"]
    assert first["count"] == 2 and {r["reminders"] for r in first["reminded"]} == {1}

    viewed = await execute(runtime, "mutation($id: ID!) { markIncidentViewed(id: $id) { orgId viewed viewedAt } }",
                           {"id": incident["id"]}, caller=UNIT_C)
    assert viewed["markIncidentViewed"]["viewed"] and viewed["markIncidentViewed"]["orgId"] == HOSPITAL_C
    second = (await execute(runtime, remind, {"id": incident["id"]}, caller=ADMIN))["remindIncidentRecipients"]
    assert second["reminded"] == [{"orgId": HOSPITAL_A, "reminders": 2}]

    recipients = (await execute(runtime, INCIDENT, {"id": incident["id"]}, caller=ADMIN))["incident"]["recipients"]
    assert recipients == [{"orgId": HOSPITAL_A, "viewed": False, "reminders": 2},
                          {"orgId": HOSPITAL_C, "viewed": True, "reminders": 1}]
    # A hospital the notice was not sent to cannot mark it (it does not see it at all).
    assert await code_of(runtime, "mutation($id: ID!) { markIncidentViewed(id: $id) { orgId } }",
                         {"id": incident["id"]}, UNIT_B) == "NOT_FOUND"
    topics = [t for t, _ in await events(runtime)]
    assert topics.count("security.incident.reminded") == 2 and "security.incident.viewed" in topics


async def test_disposal_state_machine_and_the_locked_report(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    incident = await issue(runtime)
    iid = incident["id"]
    draft = (await execute(runtime, SAVE, {"id": iid, "c": content(responsible=None)}, caller=UNIT_A))
    report = draft["saveDisposalReport"]
    assert (report["status"], report["statusLabel"], report["locked"]) == ("DRAFT", "草稿", False)
    assert (await execute(runtime, INCIDENT, {"id": iid}, caller=UNIT_A))["incident"]["progress"] == "HANDLING"
    # A draft cannot be submitted without a responsible person; a change request is not for drafts.
    assert await code_of(runtime, SUBMIT, {"id": report["id"]}, UNIT_A) == "BAD_USER_INPUT"
    assert await code_of(runtime, REQUEST, {"id": report["id"], "r": "x", "c": content()}, UNIT_A) == "INVALID_STATE"
    await execute(runtime, SAVE, {"id": iid, "c": content()}, caller=UNIT_A)
    # Another hospital's administrator may not submit it, nor an administrator of another role.
    assert await code_of(runtime, SUBMIT, {"id": report["id"]}, UNIT_B) == "NOT_FOUND"
    submitted = (await execute(runtime, SUBMIT, {"id": report["id"]}, caller=UNIT_A))["submitDisposalReport"]
    assert submitted["status"] == "SUBMITTED" and submitted["locked"] and submitted["submittedAt"]

    # Locked: saving again is refused and says a change request is needed.
    errors = await errors_of(runtime, SAVE, {"id": iid, "c": content(summary="改一下")}, caller=UNIT_A)
    assert errors[0].extensions["code"] == "INVALID_STATE" and "change" in errors[0].message
    assert errors[0].extensions["allowed"] == ["requestDisposalChange"]
    assert await code_of(runtime, SUBMIT, {"id": report["id"]}, UNIT_A) == "INVALID_STATE"
    assert await code_of(runtime, REQUEST, {"id": report["id"], "r": " ", "c": content()}, UNIT_A) == "BAD_USER_INPUT"

    proposed = content(summary="补充复测结论", controlled=True, impactRemoved=True)
    req = (await execute(runtime, REQUEST, {"id": report["id"], "r": "补充复测结论", "c": proposed},
                         caller=UNIT_A))["requestDisposalChange"]
    assert req["status"] == "PENDING"
    assert await code_of(runtime, REQUEST, {"id": report["id"], "r": "再改", "c": proposed}, UNIT_A) == "INVALID_STATE"
    assert await code_of(runtime, SAVE, {"id": iid, "c": proposed}, UNIT_A) == "INVALID_STATE"
    assert await code_of(runtime, REVIEW, {"id": req["id"], "a": True}, UNIT_A) == "FORBIDDEN"
    assert await code_of(runtime, REVIEW, {"id": req["id"], "a": False}, ADMIN) == "BAD_USER_INPUT"

    # Rejected: the report stays as submitted.
    rejected = await execute(runtime, REVIEW, {"id": req["id"], "a": False, "o": "证据不足"}, caller=ADMIN)
    assert rejected["reviewDisposalChange"] == {"id": req["id"], "status": "REJECTED", "opinion": "证据不足"}
    assert await code_of(runtime, REVIEW, {"id": req["id"], "a": True}, ADMIN) == "INVALID_STATE"
    after = (await execute(runtime, INCIDENT, {"id": iid}, caller=UNIT_A))["incident"]
    assert after["reports"] == [{"orgId": HOSPITAL_A, "status": "SUBMITTED", "version": 1,
                                 "content": {"summary": "已下线整改", "controlled": False}}]
    assert after["progress"] == "HANDLING"

    # Approved: the proposal replaces the report, version 2, and the incident is done.
    req2 = (await execute(runtime, REQUEST, {"id": report["id"], "r": "附复测报告", "c": proposed},
                          caller=UNIT_A))["requestDisposalChange"]
    await execute(runtime, REVIEW, {"id": req2["id"], "a": True}, caller=ADMIN)
    done = (await execute(runtime, INCIDENT, {"id": iid}, caller=UNIT_A))["incident"]
    assert done["reports"] == [{"orgId": HOSPITAL_A, "status": "SUBMITTED", "version": 2,
                                "content": {"summary": "补充复测结论", "controlled": True}}]
    assert done["progress"] == "COMPLETED" and done["completedAt"]

    topics = [t for t, _ in await events(runtime)]
    for action in ("report_saved", "report_submitted", "change_requested", "change_rejected", "change_approved",
                   "progress"):
        assert f"security.incident.{action}" in topics, action
    keys = {"incidentId", "severity", "orgId", "regionCode", "progress"}
    assert all(set(payload) >= keys for _, payload in await events(runtime))


async def test_progress_and_overdue(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    incident = await issue(runtime, recipientOrgIds=[HOSPITAL_C])
    iid = incident["id"]
    # Another recipient's complete report does not finish the affected organisation's incident.
    other = (await execute(runtime, SAVE, {"id": iid, "c": content(controlled=True, impactRemoved=True)},
                           caller=UNIT_C))["saveDisposalReport"]
    await execute(runtime, SUBMIT, {"id": other["id"]}, caller=UNIT_C)
    assert (await execute(runtime, INCIDENT, {"id": iid}, caller=ADMIN))["incident"]["progress"] == "HANDLING"
    # Controlled but the impact not yet removed: still handling.
    own = (await execute(runtime, SAVE, {"id": iid, "c": content(controlled=True)}, caller=UNIT_A))
    await execute(runtime, SUBMIT, {"id": own["saveDisposalReport"]["id"]}, caller=UNIT_A)

    async with runtime.sessions() as session, session.begin():
        await session.execute(update(models.SecurityIncident).where(models.SecurityIncident.id == iid)
                              .values(deadline=datetime.now(UTC) - timedelta(days=1)))
    listed = """query($o: Boolean) { incidents(filter: {overdue: $o}, first: 100) {
      nodes { id overdue progress } } }"""

    async def listing(overdue: bool) -> list[dict[str, Any]]:
        nodes = (await execute(runtime, listed, {"o": overdue}, caller=ADMIN))["incidents"]["nodes"]
        assert all(n["overdue"] is overdue for n in nodes)  # the seeded year has overdue ones too
        return [n for n in nodes if n["id"] == iid]

    assert await listing(True) == [{"id": iid, "overdue": True, "progress": "HANDLING"}]
    assert await listing(False) == []

    req = (await execute(runtime, REQUEST, {"id": own["saveDisposalReport"]["id"], "r": "影响已消除",
                                            "c": content(controlled=True, impactRemoved=True)},
                         caller=UNIT_A))["requestDisposalChange"]
    await execute(runtime, REVIEW, {"id": req["id"], "a": True, "o": "同意"}, caller=ADMIN)
    assert await listing(False) == [{"id": iid, "overdue": False, "progress": "COMPLETED"}]
    assert await listing(True) == []
    completed = """query($o: ID) { incidents(filter: {progress: COMPLETED, severity: SIGNIFICANT, orgId: $o}) {
      nodes { id progress severity } } }"""
    nodes = (await execute(runtime, completed, {"o": HOSPITAL_A}, caller=ADMIN))["incidents"]["nodes"]
    assert nodes[0]["id"] == iid and {(n["progress"], n["severity"]) for n in nodes} == {("COMPLETED", "SIGNIFICANT")}


async def test_data_scope(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    in_nanjing = await issue(runtime, recipientOrgIds=[HOSPITAL_C])
    in_wuxi = await issue(runtime, org=HOSPITAL_B, region="320200")
    listed = """{ incidents(first: 100) { nodes { id affectedOrganization { id } regionCode
      recipients { orgId } } } }"""

    async def seen(caller: Caller) -> list[dict[str, Any]]:
        return (await execute(runtime, listed, caller=caller))["incidents"]["nodes"]

    mine = {in_nanjing["id"], in_wuxi["id"]}
    as_a = await seen(UNIT_A)
    assert [n["id"] for n in as_a if n["id"] in mine] == [in_nanjing["id"]]
    # The seeded year included: a hospital sees its own incidents and those issued to it, nothing else.
    assert all(n["affectedOrganization"]["id"] == HOSPITAL_A or HOSPITAL_A in {r["orgId"] for r in n["recipients"]}
               for n in as_a)
    assert [n["id"] for n in await seen(UNIT_B) if n["id"] in mine] == [in_wuxi["id"]]
    as_city = await seen(CITY_NANJING)
    assert [n["id"] for n in as_city if n["id"] in mine] == [in_nanjing["id"]]
    assert all(n["regionCode"] == "320100" or "org-320100-hc" in {r["orgId"] for r in n["recipients"]}
               for n in as_city)
    assert [n["id"] for n in await seen(ADMIN)][:2] == [in_wuxi["id"], in_nanjing["id"]]  # newest first
    assert (await execute(runtime, INCIDENT, {"id": in_wuxi["id"]}, caller=UNIT_A))["incident"] is None
    # A recipient that is not the affected organisation sees the notice and its own receipt only.
    receipt = (await execute(runtime, INCIDENT, {"id": in_nanjing["id"]}, caller=UNIT_C))["incident"]
    assert [r["orgId"] for r in receipt["recipients"]] == [HOSPITAL_C]
    assert await seen(Caller(subject="u-x", client_id="portal", scopes=frozenset())) == []  # no organisation

    entities = """query($r: [_Any!]!) { _entities(representations: $r) {
      ... on Organization { id incidents { id number } } } }"""

    def reps() -> dict[str, Any]:  # the federation resolver consumes the representations
        return {"r": [{"__typename": "Organization", "id": org} for org in (HOSPITAL_A, HOSPITAL_B)]}

    a_own, b_seen_by_a = (await execute(runtime, entities, reps(), caller=UNIT_A))["_entities"]
    assert a_own["incidents"][0]["id"] == in_nanjing["id"] and b_seen_by_a["incidents"] == []
    a_all, b_all = (await execute(runtime, entities, reps(), caller=ADMIN))["_entities"]
    assert a_all["incidents"][0]["id"] == in_nanjing["id"] and b_all["incidents"][0]["id"] == in_wuxi["id"]


async def test_the_archive(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    incident = await issue(runtime, recipientOrgIds=[HOSPITAL_C])
    iid = incident["id"]
    await execute(runtime, "mutation($id: ID!) { markIncidentViewed(id: $id) { orgId } }", {"id": iid}, caller=UNIT_A)
    await execute(runtime, "mutation($id: ID!) { remindIncidentRecipients(id: $id) { count } }", {"id": iid},
                  caller=ADMIN)
    report = (await execute(runtime, SAVE, {"id": iid, "c": content()}, caller=UNIT_A))["saveDisposalReport"]
    await execute(runtime, SUBMIT, {"id": report["id"]}, caller=UNIT_A)
    req = (await execute(runtime, REQUEST, {"id": report["id"], "r": "补充", "c": content(summary="v2")},
                         caller=UNIT_A))["requestDisposalChange"]
    await execute(runtime, REVIEW, {"id": req["id"], "a": True}, caller=ADMIN)

    query = """query($id: ID!) { incidentArchive(id: $id) {
      incident { number } recipients { orgId viewed reminders }
      reports { version versions { version content { summary } } changeRequests { reason status } }
      changeRequests { status } json csv } }"""
    archive = (await execute(runtime, query, {"id": iid}, caller=CITY_NANJING))["incidentArchive"]
    assert archive["recipients"] == [{"orgId": HOSPITAL_A, "viewed": True, "reminders": 0},
                                     {"orgId": HOSPITAL_C, "viewed": False, "reminders": 1}]
    (only,) = archive["reports"]
    assert only["version"] == 2
    assert [(v["version"], v["content"]["summary"]) for v in only["versions"]] == [(1, "已下线整改"), (2, "v2")]
    assert only["changeRequests"] == [{"reason": "补充", "status": "APPROVED"}]
    assert archive["json"]["reports"][0]["changeRequests"][0]["proposed"]["summary"] == "v2"
    lines = archive["csv"].splitlines()
    assert lines[0] == "at,event,orgId,detail"
    assert [line.split(",")[1] for line in lines[1:]] == [
        "ISSUED", "VIEWED", "REMINDED", "REPORT_SUBMITTED", "CHANGE_REQUESTED", "CHANGE_APPROVED"]
    # A detail Excel would run as a formula (here the change request's reason) is written as text.
    formula = (await execute(runtime, REQUEST, {"id": report["id"], "r": '=HYPERLINK("http://x")',
                                                "c": content(summary="v3")}, caller=UNIT_A))["requestDisposalChange"]
    archive = (await execute(runtime, query, {"id": iid}, caller=CITY_NANJING))["incidentArchive"]
    requested = [r for r in csv.reader(io.StringIO(archive["csv"])) if r[1] == "CHANGE_REQUESTED"]
    assert formula["reason"] == '=HYPERLINK("http://x")'
    assert sorted(r[3] for r in requested) == ["'=HYPERLINK(\"http://x\")", "补充"]
    # A mere recipient does not get the affected organisation's dossier; another hospital sees nothing.
    assert (await execute(runtime, query, {"id": iid}, caller=UNIT_C))["incidentArchive"] is None
    assert (await execute(runtime, query, {"id": iid}, caller=UNIT_B))["incidentArchive"] is None


@pytest.mark.postgres
async def test_disposal_flow_on_postgres() -> None:
    url = await create_pg_database("jshealth_sec")
    try:
        runtime = await make_runtime(definition, url)
        try:
            started = datetime.now(UTC).isoformat()
            incident = await issue(runtime)
            second = await issue(runtime)
            assert second["number"].endswith("-000002")
            # Issued at the same moment: each still gets its own number.
            racing = await asyncio.gather(*(issue(runtime) for _ in range(3)))
            assert sorted(r["number"][-6:] for r in racing) == ["000003", "000004", "000005"]
            report = (await execute(runtime, SAVE, {"id": incident["id"], "c": content()},
                                    caller=UNIT_A))["saveDisposalReport"]
            await execute(runtime, SUBMIT, {"id": report["id"]}, caller=UNIT_A)
            assert await code_of(runtime, SAVE, {"id": incident["id"], "c": content()}, UNIT_A) == "INVALID_STATE"
            req = (await execute(runtime, REQUEST, {"id": report["id"], "r": "完成",
                                                    "c": content(controlled=True, impactRemoved=True)},
                                 caller=UNIT_A))["requestDisposalChange"]
            await execute(runtime, REVIEW, {"id": req["id"], "a": True}, caller=ADMIN)
            done = (await execute(runtime, INCIDENT, {"id": incident["id"]}, caller=CITY_NANJING))["incident"]
            assert done["progress"] == "COMPLETED" and done["reports"][0]["version"] == 2
            page = """query($a: String, $f: DateTime) { incidents(first: 2, after: $a, filter: {from: $f}) {
              nodes { id issuedAt } pageInfo { endCursor hasNextPage } } }"""
            walked: list[dict[str, Any]] = []
            cursor = None
            while True:
                got = (await execute(runtime, page, {"a": cursor, "f": started}, caller=ADMIN))["incidents"]
                walked += got["nodes"]
                if not got["pageInfo"]["hasNextPage"]:
                    break
                cursor = got["pageInfo"]["endCursor"]
            issued = [incident, second, *racing]
            assert sorted(n["id"] for n in walked) == sorted(i["id"] for i in issued)
            assert [n["issuedAt"] for n in walked] == sorted((n["issuedAt"] for n in walked), reverse=True)
        finally:
            await runtime.engine.dispose()
    finally:
        await drop_pg_database(url)


async def test_organization_incidents_are_batched(sqlite_runtime: Any) -> None:
    runtime: Runtime = await sqlite_runtime(definition)
    async with runtime.sessions() as session:
        orgs = list((await session.scalars(select(models.SecurityIncident.affected_org_id).distinct()
                                           .order_by(models.SecurityIncident.affected_org_id).limit(30))).all())
    assert len(orgs) == 30, "the seed issues a year of incidents"
    query = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Organization {
      id incidents(first: 2) { id severityLabel recipients { orgId } reports { status } } } } }"""
    counts = []
    for size in (3, 30):
        with count_statements(runtime) as statements:
            data = await execute(runtime, query, {"r": [{"__typename": "Organization", "id": o} for o in orgs[:size]]},
                                 caller=ADMIN)
        assert all(1 <= len(e["incidents"]) <= 2 for e in data["_entities"])
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 3, counts


async def test_organization_incidents_load_only_the_page(sqlite_runtime: Any) -> None:
    runtime: Runtime = await sqlite_runtime(definition)
    incident = models.SecurityIncident
    async with runtime.sessions() as session:
        busiest = list((await session.execute(
            select(incident.affected_org_id, func.count()).group_by(incident.affected_org_id)
            .order_by(func.count().desc(), incident.affected_org_id).limit(10))).all())
    assert all(n >= 2 for _, n in busiest) and sum(n for _, n in busiest) > 2 * len(busiest), busiest
    query = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Organization {
      id one: incidents(first: 1) { id } two: incidents(first: 2) { id issuedAt } } } }"""
    loaded: list[str] = []

    def on_load(target: models.SecurityIncident, _context: Any) -> None:
        loaded.append(target.id)

    event.listen(incident, "load", on_load)
    try:
        with count_statements(runtime) as statements:
            data = await execute(runtime, query, {"r": [{"__typename": "Organization", "id": o} for o, _ in busiest]},
                                 caller=ADMIN)
    finally:
        event.remove(incident, "load", on_load)
    # One statement for every organisation and both page sizes, reading the two newest of each only.
    assert len(statements) == 1 and len(loaded) == 2 * len(busiest), (len(statements), len(loaded))
    for entity in data["_entities"]:
        newest = await execute(runtime, "query($o: ID) { incidents(filter: {orgId: $o}, first: 2) { nodes { id } } }",
                               {"o": entity["id"]}, caller=ADMIN)
        assert [n["id"] for n in newest["incidents"]["nodes"]] == [n["id"] for n in entity["two"]]
        assert entity["one"] == [{"id": entity["two"][0]["id"]}]
