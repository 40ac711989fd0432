"""security: attack-defence drills (攻防演练): viewer levels, the view log, the upload file check."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLError
from support import errors_of, execute, make_runtime

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.security.app import definition
from subgraphs.security.domain import drills
from subgraphs.security.domain.drills import check_file, sniff

HOSPITAL = "org-320102-h1"


def caller(subject: str, *roles: str, org: str | None = None) -> Caller:
    return Caller(subject=subject, client_id=None, scopes=frozenset(), organization_id=org, roles=roles,
                  data_scope="OWN_ORG")


ADMIN = caller("usr-sec-admin", "SECURITY_ADMIN")
SUPERVISOR = caller("usr-supervisor")
HEAD = caller("usr-head", "UNIT_SECURITY_ADMIN", org=HOSPITAL)
STAFF_OF_HOSPITAL = caller("usr-clerk", org=HOSPITAL)  # same organisation, not a unit head
OUTSIDER = caller("usr-outsider", "UNIT_SECURITY_ADMIN", org="org-320583-h2")

PDF = b"%PDF-1.4\n%%EOF\n"


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def office(kind: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{kind}/document.xml", "<x/>")
    return buffer.getvalue()


async def create(runtime: Runtime, sensitivity: int) -> str:
    data = await execute(runtime, 'mutation { createDrill(input: {name: "勒索病毒演练", drillType: TABLETOP, '
                                  f'sensitivity: {sensitivity}, orgIds: ["{HOSPITAL}"], startedOn: "2026-05-01", '
                                  'endedOn: "2026-05-03"}) { id sensitivity orgIds } }', caller=ADMIN)
    return str(data["createDrill"]["id"])


async def upload(runtime: Runtime, drill: str, name: str, content: bytes, who: Caller = ADMIN,
                 phase: str = "PLAN") -> list[Any]:
    query = (f'mutation($c: String!) {{ uploadDrillFile(drillId: "{drill}", phase: {phase}, name: "{name}", '
             "contentBase64: $c) "
             "{ id contentType size sha256 } }")
    result = await runtime.definition.schema.execute(query, variable_values={"c": b64(content)},
                                                     context_value=runtime.context(caller=who))
    return list(result.errors or [])


async def grant(runtime: Runtime, drill: str, principal: str, level: int) -> None:
    await execute(runtime, f'mutation {{ grantDrillViewer(drillId: "{drill}", principal: "{principal}", '
                           f"maxSensitivity: {level}) {{ principal }} }}", caller=ADMIN)


async def seen(runtime: Runtime, drill: str, who: Caller) -> bool:
    data = await execute(runtime, f'{{ drill(id: "{drill}") {{ id files {{ id }} }} }}', caller=who)
    listed = await execute(runtime, "{ drills { id } }", caller=who)
    in_list = drill in {d["id"] for d in listed["drills"]}
    assert in_list == (data["drill"] is not None)
    return data["drill"] is not None


@pytest.mark.parametrize(("content", "kind"), [
    (PDF, "PDF"), (office("word"), "DOCX"), (office("xl"), "XLSX"), (b"\x89PNG\r\n\x1a\n....", "PNG"),
    (b"\xff\xd8\xff\xe0....", "JPEG"), ("2026-05-01 09:00 演练开始\n".encode(), "TEXT"),
    (b"MZ\x90\x00rest-of-an-exe", None), (b"\x7fELF\x02\x01", None), (b"#!/bin/sh\nrm -rf /\n", None),
    (b"\x00\x01\x02binary", None), ("abc".encode("utf-16"), None),
])
def test_files_are_recognised_by_their_content(content: bytes, kind: str | None) -> None:
    assert sniff(content) == kind


def test_archives_carrying_programs_are_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
        archive.writestr("tool.bin", b"MZ\x90\x00")
    assert sniff(buffer.getvalue()) is None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("setup.exe", b"anything")
    assert sniff(buffer.getvalue()) is None


def test_every_archive_member_is_checked_up_to_a_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(1500):
            archive.writestr(f"notes/{i}.txt", "hello")
        archive.writestr("notes/z.bin", b"MZ\x90\x00")  # past the first thousand members
    assert sniff(buffer.getvalue()) is None
    monkeypatch.setattr(drills, "MAX_ZIP_MEMBERS", 1000)
    with pytest.raises(GraphQLError) as refused:
        check_file("notes.zip", b64(buffer.getvalue()), frozenset({"ZIP"}), 10**8)
    assert "1501 entries" in refused.value.message and "at most 1000" in refused.value.message
    assert refused.value.extensions == {**(refused.value.extensions or {}), "maximum": 1000}


async def test_viewer_levels_view_log_and_uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = await make_runtime(definition, f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    secret, normal = await create(runtime, 3), await create(runtime, 1)
    # Without a grant nobody but administrators sees a drill: null, and absent from lists.
    for who in (SUPERVISOR, HEAD, OUTSIDER):
        assert not await seen(runtime, secret, who) and not await seen(runtime, normal, who)
    assert await seen(runtime, secret, ADMIN)
    await grant(runtime, secret, "usr-supervisor", 3)
    await grant(runtime, secret, f"org:{HOSPITAL}", 2)
    await grant(runtime, normal, f"org:{HOSPITAL}", 2)
    assert await seen(runtime, secret, SUPERVISOR)
    # The hospital's heads are cleared to level 2: the level-3 drill stays invisible, the level-1 one shows.
    assert not await seen(runtime, secret, HEAD) and await seen(runtime, normal, HEAD)
    # An organisation grant covers its heads (Role.UNIT), not every user of the organisation.
    assert not await seen(runtime, normal, STAFF_OF_HOSPITAL)
    assert not await seen(runtime, normal, OUTSIDER)

    # Uploads: checked by content whatever the name; an EXE named .pdf is refused.
    assert await upload(runtime, secret, "方案.pdf", PDF) == []
    assert await upload(runtime, secret, "评估.docx", office("word"), phase="EVALUATION") == []
    errors = await upload(runtime, secret, "方案.pdf", b"MZ\x90\x00\x03\x00\x00\x00")
    assert errors[0].extensions["code"] == "BAD_USER_INPUT" and errors[0].extensions["detected"] == "UNKNOWN"
    errors = await upload(runtime, secret, "run.txt", b"#!/bin/bash\necho pwned\n")
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"
    errors = await errors_of(runtime, f'mutation {{ uploadDrillFile(drillId: "{secret}", phase: PLAN, name: "x", '
                                      'contentBase64: "not base64!") { id } }', caller=ADMIN)
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"
    monkeypatch.setenv("SECURITY_MAX_FILE_BYTES", "10")
    errors = await upload(runtime, secret, "big.pdf", PDF)
    assert errors[0].extensions["limit"] == 10
    monkeypatch.delenv("SECURITY_MAX_FILE_BYTES")
    # A participating unit's head who may see the drill uploads too; an outsider may not.
    assert await upload(runtime, normal, "日志.txt", "09:00 开始\n".encode(), who=HEAD, phase="EXECUTION") == []
    assert (await upload(runtime, normal, "x.pdf", PDF, who=OUTSIDER))[0].extensions["code"] == "FORBIDDEN"

    data = await execute(runtime, f'{{ drill(id: "{secret}") {{ files {{ id name contentType phase sha256 }} '
                                  "viewers { principal maxSensitivity } } }", caller=SUPERVISOR)
    files = data["drill"]["files"]
    assert [(f["phase"], f["contentType"]) for f in files] == [("EVALUATION", "DOCX"), ("PLAN", "PDF")]
    assert data["drill"]["viewers"] == []  # the grant list is for administrators
    plan = next(f for f in files if f["phase"] == "PLAN")
    content = await execute(runtime, f'{{ drillFileContent(id: "{plan["id"]}") }}', caller=SUPERVISOR)
    assert base64.b64decode(content["drillFileContent"]) == PDF
    hidden = await execute(runtime, f'{{ drillFileContent(id: "{plan["id"]}") }}', caller=HEAD)
    assert hidden["drillFileContent"] is None

    # Every view is logged; the log is for administrators.
    log = await execute(runtime, f'{{ drillViewLog(drillId: "{secret}") {{ viewer content }} }}', caller=ADMIN)
    entries = [(e["viewer"], e["content"]) for e in log["drillViewLog"]]
    assert ("usr-supervisor", "drill") in entries
    assert ("usr-supervisor", f"file {plan['id']} 方案.pdf") in entries
    assert all(v != "usr-head" for v, _ in entries)  # refused looks are not views
    errors = await errors_of(runtime, f'{{ drillViewLog(drillId: "{secret}") {{ viewer }} }}', caller=SUPERVISOR)
    assert errors[0].extensions["code"] == "FORBIDDEN"

    # Revoking takes the drill away again; only administrators create drills.
    await execute(runtime, f'mutation {{ revokeDrillViewer(drillId: "{secret}", principal: "usr-supervisor") }}',
                  caller=ADMIN)
    assert not await seen(runtime, secret, SUPERVISOR)
    errors = await errors_of(runtime, 'mutation { createDrill(input: {name: "x", drillType: LIVE}) { id } }',
                             caller=HEAD)
    assert errors[0].extensions["code"] == "FORBIDDEN"
    errors = await errors_of(runtime, f'mutation {{ grantDrillViewer(drillId: "{normal}", principal: "bob", '
                                      "maxSensitivity: 4) { principal } }", caller=ADMIN)
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_seeded_drills(sqlite_runtime: Any) -> None:
    runtime: Runtime = await sqlite_runtime(definition)
    data = await execute(runtime, "{ drills { id drillType sensitivity score files { phase contentType } "
                                  "viewers { principal } } }")
    drills = data["drills"]
    assert len(drills) >= 2 and {d["drillType"] for d in drills} == {"LIVE", "TABLETOP"}
    assert all({f["phase"] for f in d["files"]} == {"PLAN", "EXECUTION", "EVALUATION"} for d in drills)
    assert all(d["viewers"] for d in drills)
