"""licences: system-to-system presentation (亮证): client grants and masking, limits with blocking and
unblocking, the records (search, export) and, on PostgreSQL, concurrent calls leaving an intact chain."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from support import create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.licences import models
from subgraphs.licences.app import definition
from subgraphs.licences.domain import presentation
from subgraphs.licences.domain.chain import ChainName, verify_chain
from subgraphs.licences.domain.generation import generate
from subgraphs.licences.status import LicenceStatus, licence_status, today_in_china

REGISTER = """mutation($input: PresentationClientInput!) { registerPresentationClient(input: $input) {
    clientId disclosure dailyLimit yearlyLimit blockedAt callsToday } }"""
PRESENT = """mutation($type: LicenceTypeCode!, $scenario: String!, $id: String, $number: String, $op: String) {
    presentLicence(type: $type, scenario: $scenario, holderIdNumber: $id, licenceNumber: $number, operator: $op) {
        result recordId face status message } }"""
CLIENTS = "{ presentationClients { clientId blockedAt blockedReason callsToday callsThisYear } }"
RECORDS = """query($filter: PresentationRecordFilter, $first: Int!, $after: String) {
    presentationRecords(filter: $filter, first: $first, after: $after) {
        nodes { id seq clientId operator scenario type licenceNumber holderName holderIdNumber result }
        pageInfo { hasNextPage endCursor } } }"""
UNBLOCK = """mutation($id: ID!, $scope: UnblockScope!) { unblockPresentationClient(clientId: $id, scope: $scope) {
    blockedAt callsToday } }"""


def system(client_id: str) -> Caller:
    """A calling system signed in with client credentials."""
    return Caller(subject=client_id, client_id=client_id, scopes=frozenset())


async def fresh(tmp_path: Path) -> Runtime:
    return await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 'l.db'}")


async def generated(runtime: Runtime, count: int = 3) -> list[models.Licence]:
    """Valid nurse certificates with their electronic licences generated (presentable)."""
    async with runtime.sessions() as session, session.begin():
        rows = (await session.scalars(select(models.Licence).where(
            models.Licence.type_code == "NURSE_PRACTICE", models.Licence.revoked_at.is_(None),
            models.Licence.holder_uid.is_not(None)).order_by(models.Licence.id))).all()
        today = today_in_china()
        chosen = [r for r in rows if licence_status(r, today) is LicenceStatus.VALID][:count]
        for row in chosen:
            await generate(session, row, mode="STOCK")
    return chosen


async def register(runtime: Runtime, client_id: str, *, disclosure: str = "MASKED", daily: int = 100,
                   yearly: int = 1000, types: tuple[str, ...] = ("NURSE_PRACTICE",),
                   scenarios: tuple[str, ...] = ("WINDOW_SERVICE",)) -> dict[str, Any]:
    data = await execute(runtime, REGISTER, {"input": {
        "clientId": client_id, "name": f"系统 {client_id}", "allowedTypes": list(types),
        "allowedScenarios": list(scenarios), "disclosure": disclosure, "dailyLimit": daily, "yearlyLimit": yearly}})
    return dict(data["registerPresentationClient"])


async def present(runtime: Runtime, client_id: str, *, id_number: str | None = None, number: str | None = None,
                  scenario: str = "WINDOW_SERVICE", type_: str = "NURSE_PRACTICE") -> dict[str, Any]:
    data = await execute(runtime, PRESENT, {"type": type_, "scenario": scenario, "id": id_number, "number": number,
                                            "op": "u-window-0012"}, caller=system(client_id))
    return dict(data["presentLicence"])


async def records(runtime: Runtime, **filter_: Any) -> list[dict[str, Any]]:
    data = await execute(runtime, RECORDS, {"filter": filter_ or None, "first": 100})
    return list(data["presentationRecords"]["nodes"])


async def client_row(runtime: Runtime, client_id: str) -> dict[str, Any]:
    clients = (await execute(runtime, CLIENTS))["presentationClients"]
    return dict(next(c for c in clients if c["clientId"] == client_id))


# --- grants and masking ---------------------------------------------------------------------------------


async def test_full_and_masked_grants_see_different_faces(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    licence = (await generated(runtime, 1))[0]
    assert licence.holder_id_number is not None
    await register(runtime, "client-wallet", disclosure="FULL")
    await register(runtime, "client-window", disclosure="MASKED")

    full = await present(runtime, "client-wallet", id_number=licence.holder_id_number)
    masked = await present(runtime, "client-window", number=licence.number)

    assert full["result"] == masked["result"] == "PRESENTED"
    assert full["status"] == "VALID"
    assert full["face"]["holderIdNumber"] == licence.holder_id_number
    assert full["face"]["holderName"] == licence.holder_name
    assert full["face"]["number"] == masked["face"]["number"] == licence.number
    assert masked["face"]["holderIdNumber"] != licence.holder_id_number
    assert masked["face"]["holderIdNumber"].startswith(licence.holder_id_number[:3])
    assert masked["face"]["holderIdNumber"].endswith(licence.holder_id_number[-4:])
    assert masked["face"]["holderName"].startswith(licence.holder_name[0])
    assert masked["face"]["holderName"] != licence.holder_name
    assert masked["face"]["status"] == "VALID"

    logged = [r for r in await records(runtime, type="NURSE_PRACTICE") if r["clientId"] in ("client-wallet",
                                                                                           "client-window")]
    assert [(r["clientId"], r["result"], r["licenceNumber"]) for r in logged] == [
        ("client-window", "PRESENTED", licence.number), ("client-wallet", "PRESENTED", licence.number)]
    assert logged[0]["operator"] == "u-window-0012"
    assert logged[0]["holderIdNumber"] != licence.holder_id_number  # masked in the record list too


async def test_type_and_scenario_outside_the_grant_are_denied_and_recorded(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    licence = (await generated(runtime, 1))[0]
    await register(runtime, "client-narrow", types=("HEALTH_CERTIFICATE",), scenarios=("HEALTH_RECORD_VIEW",))

    wrong_type = await present(runtime, "client-narrow", number=licence.number, scenario="HEALTH_RECORD_VIEW")
    wrong_scenario = await present(runtime, "client-narrow", number="x", type_="HEALTH_CERTIFICATE")

    assert wrong_type["result"] == wrong_scenario["result"] == "DENIED"
    assert wrong_type["face"] is None and "护士执业证书" in wrong_type["message"]
    assert "WINDOW_SERVICE" in wrong_scenario["message"]
    assert [r["result"] for r in await records(runtime, clientId="client-narrow")] == ["DENIED", "DENIED"]
    # Refused calls do not count against the limits.
    assert (await client_row(runtime, "client-narrow"))["callsToday"] == 0


async def test_unknown_systems_are_forbidden_and_not_recorded(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    licence = (await generated(runtime, 1))[0]
    variables = {"type": "NURSE_PRACTICE", "scenario": "WINDOW_SERVICE", "number": licence.number}
    before = await records(runtime)
    for caller in (system("client-unknown"), None):
        errors = await errors_of(runtime, PRESENT, variables, caller=caller)
        assert errors[0].extensions["code"] == "FORBIDDEN"
    assert await records(runtime) == before


async def test_exactly_one_lookup_key(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    await register(runtime, "client-a")
    for extra in ({}, {"id": "320102199003071239", "number": "202132000001"}):
        errors = await errors_of(runtime, PRESENT, {"type": "NURSE_PRACTICE", "scenario": "WINDOW_SERVICE", **extra},
                                 caller=system("client-a"))
        assert errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_only_generated_licences_are_served(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    generated_licence = (await generated(runtime, 1))[0]
    async with runtime.sessions() as session:
        other = await session.scalar(select(models.Licence).where(
            models.Licence.type_code == "NURSE_PRACTICE", models.Licence.id != generated_licence.id,
            models.Licence.holder_id_number != generated_licence.holder_id_number)
            .order_by(models.Licence.id.desc()).limit(1))
        assert other is not None
        # A licence collected but not yet generated (制发).
        await session.execute(delete(models.ElectronicLicence)
                              .where(models.ElectronicLicence.licence_id == other.id))
        await session.commit()
    await register(runtime, "client-a")

    assert (await present(runtime, "client-a", number=other.number))["result"] == "NOT_GENERATED"
    assert (await present(runtime, "client-a", number="000000000000"))["result"] == "NOT_FOUND"
    assert (await present(runtime, "client-a", id_number=other.holder_id_number))["result"] == "NOT_GENERATED"
    logged = await records(runtime, holderIdNumber=other.holder_id_number)
    # Found by number or by holder, the record names the holder, so a holder search finds both.
    assert [r["result"] for r in logged] == ["NOT_GENERATED", "NOT_GENERATED"]


async def test_a_face_changed_outside_the_write_path_is_not_served(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    licence = (await generated(runtime, 1))[0]
    await register(runtime, "client-a")
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(models.Licence).where(models.Licence.id == licence.id)
                              .values(holder_name="王五"))
    result = await present(runtime, "client-a", number=licence.number)
    assert result["result"] == "NOT_GENERATED" and result["face"] is None and "regenerated" in result["message"]


# --- limits -----------------------------------------------------------------------------------------------


async def test_daily_limit_refuses_then_a_manager_lifts_it(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    licence = (await generated(runtime, 1))[0]
    await register(runtime, "client-a", daily=2, yearly=100)

    results = [(await present(runtime, "client-a", number=licence.number))["result"] for _ in range(3)]
    assert results == ["PRESENTED", "PRESENTED", "LIMITED"]
    limited = await records(runtime, result="LIMITED", clientId="client-a")
    assert len(limited) == 1 and limited[0]["clientId"] == "client-a"
    client = await client_row(runtime, "client-a")
    assert client["callsToday"] == 2 and client["blockedAt"] is None  # the day's limit does not block

    lifted = await execute(runtime, UNBLOCK, {"id": "client-a", "scope": "DAILY"})
    assert lifted["unblockPresentationClient"]["callsToday"] == 2  # still counted for the statistics
    results = [(await present(runtime, "client-a", number=licence.number))["result"] for _ in range(3)]
    assert results == ["PRESENTED", "PRESENTED", "LIMITED"]


async def test_the_next_day_starts_a_fresh_daily_allowance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = await fresh(tmp_path)
    licence = (await generated(runtime, 1))[0]
    await register(runtime, "client-a", daily=1, yearly=100)
    assert (await present(runtime, "client-a", number=licence.number))["result"] == "PRESENTED"
    assert (await present(runtime, "client-a", number=licence.number))["result"] == "LIMITED"
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    monkeypatch.setattr(presentation, "utcnow", lambda: tomorrow)
    assert (await present(runtime, "client-a", number=licence.number))["result"] == "PRESENTED"


async def test_yearly_limit_blocks_until_the_total_limit_is_lifted(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    licence = (await generated(runtime, 1))[0]
    await register(runtime, "client-a", daily=3, yearly=3)

    results = [(await present(runtime, "client-a", number=licence.number))["result"] for _ in range(5)]
    assert results == ["PRESENTED"] * 3 + ["LIMITED"] * 2
    client = await client_row(runtime, "client-a")
    assert client["blockedAt"] is not None and "3" in client["blockedReason"]
    # Lifting the day's limit does not end a block.
    await execute(runtime, UNBLOCK, {"id": "client-a", "scope": "DAILY"})
    assert (await present(runtime, "client-a", number=licence.number))["result"] == "LIMITED"

    lifted = await execute(runtime, UNBLOCK, {"id": "client-a", "scope": "TOTAL"})
    assert lifted["unblockPresentationClient"]["blockedAt"] is None
    assert (await present(runtime, "client-a", number=licence.number))["result"] == "PRESENTED"


async def test_managers_block_by_hand_and_only_managers_manage(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    licence = (await generated(runtime, 1))[0]
    await register(runtime, "client-a")
    block = 'mutation { blockPresentationClient(clientId: "client-a", reason: "疑似超范围调用") { blockedReason } }'
    assert (await execute(runtime, block))["blockPresentationClient"]["blockedReason"] == "疑似超范围调用"
    result = await present(runtime, "client-a", number=licence.number)
    assert result["result"] == "LIMITED" and "疑似超范围调用" in result["message"]
    await execute(runtime, UNBLOCK, {"id": "client-a", "scope": "TOTAL"})
    assert (await present(runtime, "client-a", number=licence.number))["result"] == "PRESENTED"

    officer_less = Caller(subject="u-clerk", client_id="portal", scopes=frozenset(), roles=("CLERK",))
    for query in (block, CLIENTS, "{ presentationRecordsCsv }"):
        assert (await errors_of(runtime, query, caller=officer_less))[0].extensions["code"] == "FORBIDDEN"
    errors = await errors_of(runtime, REGISTER, {"input": {
        "clientId": "client-b", "name": "b", "allowedTypes": ["NURSE_PRACTICE"], "allowedScenarios": ["X"],
        "dailyLimit": 1, "yearlyLimit": 1}}, caller=officer_less)
    assert errors[0].extensions["code"] == "FORBIDDEN"


async def test_registration_is_checked(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    await register(runtime, "client-a")
    base = {"clientId": "client-b", "name": "b", "allowedTypes": ["NURSE_PRACTICE"],
            "allowedScenarios": ["X"], "dailyLimit": 10, "yearlyLimit": 100}
    for change, code in (({"clientId": "client-a"}, "CONFLICT"), ({"dailyLimit": 1000}, "BAD_USER_INPUT"),
                         ({"allowedTypes": []}, "BAD_USER_INPUT"), ({"allowedScenarios": [" "]}, "BAD_USER_INPUT")):
        errors = await errors_of(runtime, REGISTER, {"input": {**base, **change}})
        assert errors[0].extensions["code"] == code, change
    update = """mutation { updatePresentationClient(clientId: "client-a", patch: {disclosure: FULL, dailyLimit: 5}) {
        disclosure dailyLimit yearlyLimit allowedScenarios } }"""
    assert (await execute(runtime, update))["updatePresentationClient"] == {
        "disclosure": "FULL", "dailyLimit": 5, "yearlyLimit": 1000, "allowedScenarios": ["WINDOW_SERVICE"]}


# --- records: search and export ------------------------------------------------------------------------


async def test_records_are_searchable_paged_and_exported(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    first, second = await generated(runtime, 2)
    await register(runtime, "client-a")
    await register(runtime, "client-b")
    await present(runtime, "client-a", number=first.number)
    await present(runtime, "client-b", id_number=second.holder_id_number)
    await present(runtime, "client-a", number=second.number)
    started = datetime.now(UTC)

    assert len(await records(runtime, clientId="client-a")) == 2
    assert [r["licenceNumber"] for r in await records(runtime, holderIdNumber=second.holder_id_number)] == [
        second.number, second.number]
    assert len(await records(runtime, type="NURSE_PRACTICE", clientId="client-a")) == 2
    assert await records(runtime, type="HEALTH_CERTIFICATE", clientId="client-a") == []
    assert await records(runtime, **{"from": started.isoformat()}) == []
    assert len(await records(runtime, clientId="client-b", to=started.isoformat())) == 1
    naive = await errors_of(runtime, RECORDS, {"filter": {"from": "2026-01-01T00:00:00"}, "first": 10})
    assert naive[0].extensions["code"] == "BAD_USER_INPUT"

    mine = {"clientId": "client-a"}
    page = (await execute(runtime, RECORDS, {"filter": mine, "first": 1}))["presentationRecords"]
    assert page["pageInfo"]["hasNextPage"]
    rest = (await execute(runtime, RECORDS, {"filter": mine, "first": 1, "after": page["pageInfo"]["endCursor"]}))
    assert not rest["presentationRecords"]["pageInfo"]["hasNextPage"]
    seqs = [r["seq"] for r in page["nodes"]] + [r["seq"] for r in rest["presentationRecords"]["nodes"]]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == 2

    csv_text = (await execute(runtime, 'query { presentationRecordsCsv(filter: {clientId: "client-a"}) }'))[
        "presentationRecordsCsv"]
    assert csv_text.startswith("\ufeff亮证时间,调用系统,亮证操作人")
    lines = csv_text.strip().split("\r\n")
    assert len(lines) == 3 and all("client-a" in line for line in lines[1:])
    assert first.number in csv_text and "护士执业证书" in csv_text
    assert second.holder_id_number not in csv_text  # masked in the export too


async def test_exported_records_write_formulas_as_text(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    (licence,) = await generated(runtime, 1)
    await register(runtime, "client-f", scenarios=("-1+1",))
    await execute(runtime, PRESENT, {"type": "NURSE_PRACTICE", "scenario": "-1+1", "number": licence.number,
                                     "op": '=HYPERLINK("http://x")'}, caller=system("client-f"))
    text = (await execute(runtime, 'query { presentationRecordsCsv(filter: {clientId: "client-f"}) }'))[
        "presentationRecordsCsv"]
    header, row = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert header[2:4] == ["亮证操作人", "业务场景"]
    assert row[2:4] == ["'=HYPERLINK(\"http://x\")", "'-1+1"]


# --- concurrent calls, one chain ----------------------------------------------------------------------


async def concurrent_presentations(runtime: Runtime) -> None:
    """20 calls at once against a daily limit of 15: exactly 15 served, one gapless intact chain."""
    licence = (await generated(runtime, 1))[0]
    await register(runtime, "client-a", daily=15, yearly=1000)
    results = await asyncio.gather(*(present(runtime, "client-a", number=licence.number) for _ in range(20)))
    assert sorted(r["result"] for r in results) == ["LIMITED"] * 5 + ["PRESENTED"] * 15
    async with runtime.sessions() as session:
        report = await verify_chain(session, ChainName.PRESENTATION)
        seqs = (await session.scalars(select(models.PresentationRecord.seq)
                                      .order_by(models.PresentationRecord.seq))).all()
    assert report.intact, report
    assert report.length == report.head_length == len(seqs) >= 20
    assert list(seqs) == list(range(1, len(seqs) + 1))
    assert (await client_row(runtime, "client-a"))["callsToday"] == 15


async def test_concurrent_presentations_keep_one_intact_chain_on_sqlite(tmp_path: Path) -> None:
    runtime = await fresh(tmp_path)
    try:
        await concurrent_presentations(runtime)
    finally:
        await runtime.engine.dispose()


@pytest.mark.postgres
async def test_concurrent_presentations_keep_one_intact_chain_on_postgresql() -> None:
    url = await create_pg_database("jshealth_lic")
    try:
        runtime = await make_runtime(definition, url)
        try:
            await concurrent_presentations(runtime)
        finally:
            await runtime.engine.dispose()
    finally:
        await drop_pg_database(url)
