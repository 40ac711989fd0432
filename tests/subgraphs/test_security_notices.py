"""security: security notices (网络安全通知): deliveries, edits and withdrawals, material submissions, returns
and reminders."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support import create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.security import models
from subgraphs.security.app import definition
from subgraphs.security.domain import notices as domain

H1, H2 = "org-320102-h1", "org-320583-h2"


def unit(org: str) -> Caller:
    return Caller(subject=f"usr-head-{org}", client_id=None, scopes=frozenset(), organization_id=org,
                  roles=("UNIT_SECURITY_ADMIN",), data_scope="OWN_ORG")


ADMIN = Caller(subject="usr-sec-admin", client_id=None, scopes=frozenset(), roles=("SECURITY_ADMIN",))
PDF = b"%PDF-1.4\n%%EOF\n"
DELIVERY = "id orgId status readAt refusalReason materialStatus reviewNote reminders materials { code name }"


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


async def publish(runtime: Runtime, deadline: datetime | None = None, materials: bool = True) -> dict[str, Any]:
    specs = '[{code: "REPORT", name: "自查报告"}, {code: "LEDGER", name: "台账表"}, ' \
            '{code: "PHOTOS", name: "现场照片", required: false}]' if materials else "[]"
    deadline_arg = f', materialDeadline: "{deadline.isoformat()}"' if deadline else ""
    data = await execute(runtime, 'mutation { publishSecurityNotice(input: {noticeType: ARRANGEMENT, '
                                  'title: "开展自查", content: "请各单位自查", channels: [SMS, POPUP], '
                                  f'orgIds: ["{H1}", "{H2}"], materials: {specs}{deadline_arg}}}) '
                                  f"{{ id status channels deliveries {{ {DELIVERY} }} }} }}", caller=ADMIN)
    return dict(data["publishSecurityNotice"])


async def mine(runtime: Runtime, notice: str, org: str) -> dict[str, Any]:
    data = await execute(runtime, f'{{ securityNotice(id: "{notice}") {{ editReason status deliveries '
                                  f"{{ {DELIVERY} }} }} }}", caller=unit(org))
    assert data["securityNotice"] is not None
    [delivery] = data["securityNotice"]["deliveries"]
    return {**delivery, "editReason": data["securityNotice"]["editReason"]}


async def submit(runtime: Runtime, notice: str, org: str, code: str, name: str, content: bytes) -> Any:
    query = (f'mutation($c: String!) {{ submitNoticeMaterial(noticeId: "{notice}", code: "{code}", name: "{name}", '
             "contentBase64: $c) { materialStatus } }")
    result = await runtime.definition.schema.execute(query, variable_values={"c": b64(content)},
                                                     context_value=runtime.context(caller=unit(org)))
    return result.errors[0].extensions["code"] if result.errors else result.data["submitNoticeMaterial"]  # type: ignore[index]


async def test_delivery_read_refuse_edit_withdraw(tmp_path: Path) -> None:
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    n = await publish(runtime, materials=False)
    assert n["channels"] == ["POPUP", "SMS"]
    assert {(d["orgId"], d["status"], d["materialStatus"]) for d in n["deliveries"]} == {
        (H1, "UNREAD", None), (H2, "UNREAD", None)}
    read = await execute(runtime, f'mutation {{ readSecurityNotice(id: "{n["id"]}") {{ status readAt }} }}',
                         caller=unit(H1))
    assert read["readSecurityNotice"]["status"] == "READ" and read["readSecurityNotice"]["readAt"]
    errors = await errors_of(runtime, f'mutation {{ refuseSecurityNotice(id: "{n["id"]}", reason: " ") {{ status }} }}',
                             caller=unit(H2))
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"
    await execute(runtime, f'mutation {{ refuseSecurityNotice(id: "{n["id"]}", reason: "非本单位职责") {{ status }} }}',
                  caller=unit(H2))
    assert (await mine(runtime, n["id"], H2))["refusalReason"] == "非本单位职责"
    errors = await errors_of(runtime, f'mutation {{ readSecurityNotice(id: "{n["id"]}") {{ status }} }}',
                             caller=unit(H1))
    assert errors[0].extensions["code"] == "INVALID_STATE"
    # A unit sees its own delivery only; a unit it was not sent to sees nothing.
    other = await execute(runtime, f'{{ securityNotice(id: "{n["id"]}") {{ id }} }}', caller=unit("org-x"))
    assert other["securityNotice"] is None

    # An edit needs a reason, tells it to the units and makes every delivery unread again.
    errors = await errors_of(runtime, f'mutation {{ editSecurityNotice(id: "{n["id"]}", input: {{reason: "", '
                                      'title: "新"}) { id } }', caller=ADMIN)
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"
    errors = await errors_of(runtime, f'mutation {{ editSecurityNotice(id: "{n["id"]}", input: {{reason: "x"}}) '
                                      "{ id } }", caller=unit(H1))
    assert errors[0].extensions["code"] == "FORBIDDEN"
    await execute(runtime, f'mutation {{ editSecurityNotice(id: "{n["id"]}", input: {{reason: "更正截止时间", '
                           'content: "请于月底前完成自查"}) { id } }', caller=ADMIN)
    for org in (H1, H2):
        d = await mine(runtime, n["id"], org)
        assert (d["status"], d["readAt"], d["refusalReason"], d["editReason"]) == ("UNREAD", None, None,
                                                                                    "更正截止时间")
    await execute(runtime, f'mutation {{ readSecurityNotice(id: "{n["id"]}") {{ status }} }}', caller=unit(H1))
    # Withdrawn: the reason is shown and nothing more happens to it.
    await execute(runtime, f'mutation {{ withdrawSecurityNotice(id: "{n["id"]}", reason: "文件作废") {{ status }} }}',
                  caller=ADMIN)
    d = await mine(runtime, n["id"], H2)
    assert d["editReason"] == "文件作废"
    errors = await errors_of(runtime, f'mutation {{ readSecurityNotice(id: "{n["id"]}") {{ status }} }}',
                             caller=unit(H2))
    assert errors[0].extensions["code"] == "INVALID_STATE"
    # Channels must be chosen.
    errors = await errors_of(runtime, 'mutation { publishSecurityNotice(input: {noticeType: RISK, title: "t", '
                                      f'content: "c", channels: [], orgIds: ["{H1}"]}}) {{ id }} }}', caller=ADMIN)
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_materials_completeness_return_and_resubmission(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    n = await publish(runtime, deadline=datetime.now(UTC) + timedelta(days=10))
    assert {d["materialStatus"] for d in n["deliveries"]} == {"MISSING"}
    # Checked by content: an EXE named .pdf, or a text file, is refused; unknown codes too.
    assert await submit(runtime, n["id"], H1, "REPORT", "自查报告.pdf", b"MZ\x90\x00") == "BAD_USER_INPUT"
    assert await submit(runtime, n["id"], H1, "REPORT", "r.pdf", b"plain text") == "BAD_USER_INPUT"
    assert await submit(runtime, n["id"], H1, "BUDGET", "r.pdf", PDF) == "BAD_USER_INPUT"
    monkeypatch.setenv("SECURITY_MAX_MATERIAL_BYTES", "5")
    assert await submit(runtime, n["id"], H1, "REPORT", "r.pdf", PDF) == "BAD_USER_INPUT"
    monkeypatch.delenv("SECURITY_MAX_MATERIAL_BYTES")
    # Complete only when every required material is there (the optional photos are not needed).
    assert await submit(runtime, n["id"], H1, "REPORT", "自查报告.pdf", PDF) == {"materialStatus": "MISSING"}
    assert await submit(runtime, n["id"], H1, "LEDGER", "台账.pdf", PDF) == {"materialStatus": "COMPLETE"}
    # A unit cannot submit for a notice it did not receive.
    assert await submit(runtime, n["id"], "org-x", "REPORT", "r.pdf", PDF) == "NOT_FOUND"

    h1 = await mine(runtime, n["id"], H1)
    errors = await errors_of(runtime, f'mutation {{ returnNoticeMaterial(deliveryId: "{h1["id"]}", note: "x") '
                                      "{ id } }", caller=unit(H1))
    assert errors[0].extensions["code"] == "FORBIDDEN"
    h2 = await mine(runtime, n["id"], H2)
    errors = await errors_of(runtime, f'mutation {{ returnNoticeMaterial(deliveryId: "{h2["id"]}", note: "x") '
                                      "{ id } }", caller=ADMIN)
    assert errors[0].extensions["code"] == "INVALID_STATE"  # nothing submitted yet
    returned = await execute(runtime, f'mutation {{ returnNoticeMaterial(deliveryId: "{h1["id"]}", '
                                      'note: "台账缺少签字") { materialStatus reviewNote } }', caller=ADMIN)
    assert returned["returnNoticeMaterial"] == {"materialStatus": "NON_COMPLIANT", "reviewNote": "台账缺少签字"}
    assert await submit(runtime, n["id"], H1, "LEDGER", "台账-签字版.pdf", PDF) == {"materialStatus": "COMPLETE"}
    h1 = await mine(runtime, n["id"], H1)
    assert [m["name"] for m in h1["materials"]] == ["自查报告.pdf", "台账.pdf", "台账-签字版.pdf"]

    # The ledger: an administrator filters by unit and status; a unit sees only its own rows.
    ledger = await execute(runtime, f'{{ noticeLedger(noticeId: "{n["id"]}", materialStatus: MISSING) '
                                    "{ edges { node { orgId } } } }", caller=ADMIN)
    assert [e["node"]["orgId"] for e in ledger["noticeLedger"]["edges"]] == [H2]
    own = await execute(runtime, "{ noticeLedger(first: 100) { edges { node { orgId } } } }", caller=unit(H2))
    assert {e["node"]["orgId"] for e in own["noticeLedger"]["edges"]} == {H2}


async def test_reminders_once_per_day_near_or_past_the_deadline(tmp_path: Path) -> None:
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    now = datetime(2030, 1, 1, 2, tzinfo=UTC)  # 10:00 in China: "once per day" counts China days
    far = await publish(runtime, deadline=now + timedelta(days=5))
    near = await publish(runtime, deadline=now + timedelta(hours=12))
    await submit(runtime, near["id"], H1, "REPORT", "r.pdf", PDF)
    await submit(runtime, near["id"], H1, "LEDGER", "l.pdf", PDF)

    async def remind(at: datetime) -> dict[str, int]:
        async with runtime.context().sessions() as session, session.begin():
            await domain.remind_missing(session, at)
            rows = await session.scalars(select(models.NoticeDelivery).where(
                models.NoticeDelivery.notice_id.in_([far["id"], near["id"]])))
            return {f"{(d.notice_id == near['id'] and 'near') or 'far'}:{d.org_id}": d.reminders for d in rows}

    counts = await remind(now)
    # Only the missing delivery within a day of its deadline; the complete one and the far notice are left alone.
    assert counts == {f"near:{H1}": 0, f"near:{H2}": 1, f"far:{H1}": 0, f"far:{H2}": 0}
    assert await remind(now + timedelta(minutes=5)) == counts  # once per day
    counts = await remind(now + timedelta(days=1))
    assert counts[f"near:{H2}"] == 2 and counts[f"far:{H1}"] == 0
    async with runtime.context().sessions() as session:
        events = [e.payload for e in await session.scalars(select(models.OutboxEvent).where(
            models.OutboxEvent.topic == "security.notice.material-reminder"))
            if e.payload["noticeId"] in (far["id"], near["id"])]
    assert [(e["noticeId"], e["orgId"], e["channels"]) for e in events] == [(near["id"], H2, ["SMS", "POPUP"])] * 2
    errors = await errors_of(runtime, "mutation { remindMissingMaterials }", caller=unit(H1))
    assert errors[0].extensions["code"] == "FORBIDDEN"
    data = await execute(runtime, "mutation { remindMissingMaterials }", caller=ADMIN)
    assert isinstance(data["remindMissingMaterials"], int)


async def test_seeded_notices(sqlite_runtime: Any) -> None:
    runtime: Runtime = await sqlite_runtime(definition)
    data = await execute(runtime, "{ securityNotices(first: 50) { edges { node { id status materials { code } "
                                  "deliveries { status materialStatus } } } } }")
    notices = [e["node"] for e in data["securityNotices"]["edges"]]
    assert len(notices) >= 10
    deliveries = [d for n in notices for d in n["deliveries"]]
    assert {d["status"] for d in deliveries} == {"READ", "UNREAD", "REFUSED"}
    assert {d["materialStatus"] for d in deliveries} >= {"COMPLETE", "MISSING", None}


@pytest.mark.postgres
async def test_notice_flow_on_postgres() -> None:
    url = await create_pg_database("jshealth_sec_notices")
    try:
        runtime = await make_runtime(definition, url)
        try:
            n = await publish(runtime, deadline=datetime.now(UTC) + timedelta(days=3))
            await execute(runtime, f'mutation {{ readSecurityNotice(id: "{n["id"]}") {{ status }} }}',
                          caller=unit(H1))
            assert await submit(runtime, n["id"], H1, "REPORT", "r.pdf", PDF) == {"materialStatus": "MISSING"}
            assert await submit(runtime, n["id"], H1, "LEDGER", "l.pdf", PDF) == {"materialStatus": "COMPLETE"}
            d = await mine(runtime, n["id"], H1)
            assert d["status"] == "READ" and len(d["materials"]) == 2
        finally:
            await runtime.engine.dispose()
    finally:
        await drop_pg_database(url)
