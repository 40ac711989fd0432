"""Excel import and export of users: the template, all-or-nothing imports with every problem reported by
row and column, CSV in the encodings Excel writes, and exports that read back as the list shows."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from identity_callers import SEEDED_ADMIN, caller_of
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from support import TEST_PERSONS, TEST_SEED, make_runtime

from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.identity import models
from subgraphs.identity.app import definition

HEADER = ["用户名*", "姓名*", "所属机构*", "角色", "手机号", "邮箱", "性别", "部门", "备注"]
IMPORT = """mutation($f: String!, $fmt: FileFormat!) { importUsers(file: $f, format: $fmt) {
    imported errors { row column message } } }"""
ADMIN = caller_of(SEEDED_ADMIN, region="320000", data_scope="ALL")  # imports are province-wide


@pytest.fixture(scope="module")
async def runtime(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('identity-files') / 'g.db'}"
    rt = await make_runtime(definition, url, seed_options=SeedOptions(seed=TEST_SEED, persons=TEST_PERSONS))
    yield rt
    await rt.engine.dispose()


async def ok(rt: Runtime, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    result = await rt.definition.schema.execute(query, variable_values=variables,
                                                context_value=rt.context(caller=ADMIN))
    assert result.errors is None, result.errors
    return dict(result.data)


def xlsx(rows: list[list[Any]]) -> str:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [HEADER, *rows]:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return base64.b64encode(buffer.getvalue()).decode()


def csv_file(rows: list[list[Any]], encoding: str = "utf-8-sig") -> str:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    return base64.b64encode(out.getvalue().encode(encoding)).decode()


async def user_count(rt: Runtime) -> int:
    async with rt.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(models.User)) or 0)


def read_back(content: str, file_format: str) -> list[list[str]]:
    data = base64.b64decode(content)
    if file_format == "CSV":
        assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the byte-order mark to read UTF-8"
        return [row for row in csv.reader(io.StringIO(data.decode("utf-8-sig")))]
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("file_format", ["XLSX", "CSV"])
async def test_template_has_the_import_columns(runtime: Runtime, file_format: str) -> None:
    file = (await ok(runtime, "query($f: FileFormat!) { userImportTemplate(format: $f) { filename contentType "
                              "contentBase64 rows } }", {"f": file_format}))["userImportTemplate"]
    assert file["filename"].endswith("." + file_format.lower()) and file["rows"] == 0
    assert read_back(file["contentBase64"], file_format) == [HEADER]


async def test_a_file_with_any_bad_row_imports_nothing_and_lists_every_problem(runtime: Runtime) -> None:
    before = await user_count(runtime)
    rows = [
        ["imp_ok_1", "赵六", "320000-HC", "MEDICAL_STAFF", "13800000011", "", "男", "", ""],  # row 2: fine
        ["imp_ok_1", "赵七", "320000-HC", "", "", "", "", "", ""],  # row 3: username repeats row 2
        ["admin", "", "nope", "NO_SUCH_ROLE", "123", "bad@", "x", "", ""],  # row 4: everything wrong
        ["", "", "", "", "", "", "", "", ""],  # blank rows are skipped, not errors
        ["imp_ok_2", "钱八", "org-320500-hc", "ORG_ADMIN,MEDICAL_STAFF", "", "q8@example.cn", "", "", ""],  # row 6
    ]
    result = (await ok(runtime, IMPORT, {"f": xlsx(rows), "fmt": "XLSX"}))["importUsers"]
    assert result["imported"] == 0
    problems = {(e["row"], e["column"]) for e in result["errors"]}
    assert problems == {
        (3, "用户名"),
        (4, "用户名"), (4, "姓名"), (4, "所属机构"), (4, "角色"), (4, "手机号"), (4, "邮箱"), (4, "性别"),
    }, result["errors"]
    messages = {(e["row"], e["column"]): e["message"] for e in result["errors"]}
    assert "row 2" in messages[(3, "用户名")] and "already exists" in messages[(4, "用户名")]
    assert await user_count(runtime) == before


@pytest.mark.parametrize(("file_format", "encoding"), [("XLSX", None), ("CSV", "utf-8-sig"), ("CSV", "gb18030")])
async def test_a_good_file_imports_every_row(runtime: Runtime, file_format: str, encoding: str | None) -> None:
    suffix = f"{file_format}_{encoding or 'x'}".replace("-", "")[:10].lower()
    rows: list[list[Any]] = [
        [f"imp_{suffix}_1", "孙九", "320000-HC", "MEDICAL_STAFF", 13800000021, "", "女", "信息科", ""],
        [f"imp_{suffix}_2", "周十", "org-320500-hc", "ORG_ADMIN、MEDICAL_STAFF", "138 0000 0022", "z@example.cn",
         "", "", "备注"],
    ]
    file = xlsx(rows) if file_format == "XLSX" else csv_file(rows, encoding or "utf-8-sig")
    result = (await ok(runtime, IMPORT, {"f": file, "fmt": file_format}))["importUsers"]
    assert result == {"imported": 2, "errors": []}
    found = await ok(runtime, 'query($k: String) { users(keyword: $k) { nodes { username name mobile gender '
                              'organization { id } roles { code } mustChangePassword } } }', {"k": f"imp_{suffix}"})
    by_name = {u["username"]: u for u in found["users"]["nodes"]}
    assert by_name[f"imp_{suffix}_1"] == {
        "username": f"imp_{suffix}_1", "name": "孙九", "mobile": "138****0021", "gender": "FEMALE",
        "organization": {"id": "org-320000-hc"}, "roles": [{"code": "MEDICAL_STAFF"}], "mustChangePassword": True}
    assert by_name[f"imp_{suffix}_2"]["roles"] == [{"code": "MEDICAL_STAFF"}, {"code": "ORG_ADMIN"}]
    async with runtime.sessions() as session:
        row = (await session.scalars(select(models.User).where(models.User.username == f"imp_{suffix}_1"))).one()
    assert row.display_name is None and "孙九".encode() not in (row.name_cipher or b"")


async def test_unreadable_files_are_refused(runtime: Runtime) -> None:
    for file, file_format in (("not base64!", "XLSX"), (base64.b64encode(b"plain text").decode(), "XLSX")):
        result = await runtime.definition.schema.execute(IMPORT, variable_values={"f": file, "fmt": file_format},
                                                         context_value=runtime.context(caller=ADMIN))
        assert result.errors and result.errors[0].extensions == {"code": "BAD_USER_INPUT", "argument": "file"}
    headerless = base64.b64encode(b"a,b\n1,2\n").decode()
    result = (await ok(runtime, IMPORT, {"f": headerless, "fmt": "CSV"}))["importUsers"]
    assert result["imported"] == 0 and {e["column"] for e in result["errors"]} == {"用户名", "姓名", "所属机构"}


@pytest.mark.parametrize("file_format", ["XLSX", "CSV"])
async def test_export_reads_back_as_the_filtered_list(runtime: Runtime, file_format: str) -> None:
    filters = {"org": "org-320500-hc", "sub": True, "status": "NORMAL"}
    listed: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await ok(runtime, """query($org: ID, $sub: Boolean!, $status: UserStatus, $after: String) {
            users(organizationId: $org, includeDescendants: $sub, status: $status, first: 100, after: $after) {
                nodes { username name mobile email status organization { name } roles { name } }
                pageInfo { hasNextPage endCursor } } }""", {**filters, "after": after}))["users"]
        listed += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    exported = (await ok(runtime, """query($f: FileFormat!, $org: ID, $sub: Boolean!, $status: UserStatus) {
        exportUsers(format: $f, organizationId: $org, includeDescendants: $sub, status: $status) {
            filename rows contentBase64 } }""", {**filters, "f": file_format}))["exportUsers"]
    table = read_back(exported["contentBase64"], file_format)
    assert table[0] == ["用户名", "姓名", "所属机构", "角色", "手机号", "邮箱", "账号状态", "创建时间"]
    assert exported["rows"] == len(table) - 1 == len(listed) > 10
    expected = [[u["username"], u["name"], u["organization"]["name"], "、".join(r["name"] for r in u["roles"]),
                 u["mobile"] or "", u["email"] or "", "正常"] for u in listed]
    assert [row[:7] for row in table[1:]] == expected
    assert all(len(row[7]) == 19 for row in table[1:])  # 2026-01-01 08:00:00, China time
    everyone = (await ok(runtime, '{ exportUsers(format: CSV) { rows } }'))["exportUsers"]["rows"]
    assert everyone == await user_count(runtime)
