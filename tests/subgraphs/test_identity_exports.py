"""Exports of the organisation tree, of the roles with their permissions, and the all-systems permission
summary (全系统权限汇总) with its export: columns, order, filters, and the same bytes for the same data."""

from __future__ import annotations

import base64
import csv
import io
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from support import TEST_PERSONS, TEST_SEED, make_runtime

from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.common.caller import Caller
from subgraphs.identity import models
from subgraphs.identity.app import definition
from subgraphs.identity.domain.exports import alphabetical_key

ADMIN = Caller(subject="usr-admin", client_id="portal-web", scopes=frozenset())
PROVINCE_HC = "org-320000-hc"
SUZHOU_HC = "org-320500-hc"
LEVELS = {"PROVINCE": "省级", "CITY": "市级", "COUNTY": "县级", "TOWNSHIP": "乡级", "VILLAGE": "村级"}
INDENT = "\u3000\u3000"


@pytest.fixture(scope="module")
async def runtime(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('identity-exports') / 'g.db'}"
    rt = await make_runtime(definition, url, seed_options=SeedOptions(seed=TEST_SEED, persons=TEST_PERSONS))
    yield rt
    await rt.engine.dispose()


async def run(rt: Runtime, query: str, variables: dict[str, Any] | None = None) -> Any:
    return await rt.definition.schema.execute(query, variable_values=variables, context_value=rt.context(caller=ADMIN))


async def ok(rt: Runtime, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    result = await run(rt, query, variables)
    assert result.errors is None, result.errors
    return dict(result.data)


async def fails(rt: Runtime, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    result = await run(rt, query, variables)
    assert result.errors, "expected the query to fail"
    return dict(result.errors[0].extensions or {})


def read_back(content: str, file_format: str) -> list[list[str]]:
    data = base64.b64decode(content)
    if file_format == "CSV":
        assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the byte-order mark to read UTF-8"
        return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


async def download(rt: Runtime, field: str, file_format: str, arguments: str = "") -> dict[str, Any]:
    query = f"{{ {field}(format: {file_format}{', ' + arguments if arguments else ''}) {{ filename contentType " \
            f"contentBase64 rows }} }}"
    return dict((await ok(rt, query))[field])


# --- 机构树 --------------------------------------------------------------------------------------


async def expected_tree(rt: Runtime, root: str | None) -> list[tuple[int, models.Organization]]:
    """Depth-first, children by id: computed here by plain recursion over every row."""
    async with rt.sessions() as session:
        rows = (await session.scalars(select(models.Organization).order_by(models.Organization.id))).all()
    children: dict[str | None, list[models.Organization]] = defaultdict(list)
    for row in rows:
        children[row.parent_id].append(row)
    out: list[tuple[int, models.Organization]] = []

    def walk(row: models.Organization, depth: int) -> None:
        out.append((depth, row))
        for child in children[row.id]:
            walk(child, depth + 1)

    for top in ([r for r in rows if r.id == root] if root else children[None]):
        walk(top, 0)
    return out


@pytest.mark.parametrize("file_format", ["XLSX", "CSV"])
async def test_the_tree_export_is_depth_first_with_level_code_name_and_person_in_charge(
    runtime: Runtime, file_format: str
) -> None:
    file = await download(runtime, "exportOrganizationTree", file_format)
    assert file["filename"] == f"机构树.{file_format.lower()}"
    table = read_back(file["contentBase64"], file_format)
    assert table[0] == ["机构层级", "编码", "名称", "负责人"]
    expected = [[LEVELS[o.level], o.code or "", INDENT * depth + o.name, o.person_in_charge or ""]
                for depth, o in await expected_tree(runtime, None)]
    async with runtime.sessions() as session:
        total = await session.scalar(select(func.count()).select_from(models.Organization))
    assert table[1:] == expected and file["rows"] == len(expected) == total
    # The province's commission heads the tree, its sub-organisations indented beneath it.
    assert table[1][:3] == ["省级", "320000-HC", expected[0][2]] and not table[1][2].startswith(INDENT)
    assert table[2][2].startswith(INDENT) and not table[2][2].startswith(INDENT * 2)


async def test_the_tree_export_from_a_root_is_that_subtree(runtime: Runtime) -> None:
    file = await download(runtime, "exportOrganizationTree", "CSV", f'rootId: "{SUZHOU_HC}"')
    table = read_back(file["contentBase64"], "CSV")
    expected = await expected_tree(runtime, SUZHOU_HC)
    assert [row[2] for row in table[1:]] == [INDENT * d + o.name for d, o in expected]
    assert table[1][0] == "市级" and not table[1][2].startswith(INDENT) and len(table) > 10
    problem = await fails(runtime, '{ exportOrganizationTree(rootId: "org-nope") { rows } }')
    assert problem == {"code": "NOT_FOUND", "argument": "rootId"}


@pytest.mark.parametrize("field", ["exportOrganizationTree", "exportRoles", "exportPermissionSummary"])
@pytest.mark.parametrize("file_format", ["XLSX", "CSV"])
async def test_the_same_data_gives_the_same_bytes(runtime: Runtime, field: str, file_format: str) -> None:
    first = await download(runtime, field, file_format)
    second = await download(runtime, field, file_format)
    assert first == second and first["rows"] > 0


# --- 角色导出 ------------------------------------------------------------------------------------


async def test_the_role_export_has_the_list_columns_and_the_linked_permissions(runtime: Runtime) -> None:
    created = (await ok(runtime, """mutation { createRole(input: {code: "EXP_AUDITOR", name: "导出审计员",
        kind: ADMIN, description: "=只看日志"}) { id } }"""))["createRole"]
    await ok(runtime, """mutation($id: ID!) { setRolePermissions(roleId: $id,
        permissionIds: ["perm-portal-audit:view", "perm-portal-menu:audit", "perm-portal-data:own-org"]) { id } }""",
             {"id": created["id"]})
    await ok(runtime, 'mutation { createRole(input: {code: "EXP_IDLE", name: "停用角色", kind: BUSINESS}) { id } }')
    idle = (await ok(runtime, '{ roles(keyword: "EXP_IDLE") { nodes { id } } }'))["roles"]["nodes"][0]["id"]
    await ok(runtime, 'mutation($id: ID!) { changeRoleStatus(id: $id, status: DISABLED, reason: "不再使用") { id } }',
             {"id": idle})
    await ok(runtime, 'mutation($id: ID!) { assignUserRoles(userId: "usr-admin", roleIds: ["role-system-admin", $id]) '
             '{ id } }', {"id": created["id"]})

    file = await download(runtime, "exportRoles", "XLSX")
    table = read_back(file["contentBase64"], "XLSX")
    assert table[0] == ["角色编码", "角色名称", "角色类型", "描述", "状态", "关联用户数", "权限"]
    codes = [row[0] for row in table[1:]]
    assert codes == sorted(codes) and file["rows"] == len(codes)
    listed = (await ok(runtime, "{ roles(first: 100) { nodes { code userCount } } }"))["roles"]["nodes"]
    assert codes == [r["code"] for r in listed]
    rows = {row[0]: row for row in table[1:]}
    # A cell starting with = is written as text (no formula injection); permissions by system, kind, code.
    assert rows["EXP_AUDITOR"] == ["EXP_AUDITOR", "导出审计员", "管理员角色", "'=只看日志", "启用", "1",
                                   "data:own-org、audit:view、menu:audit"]
    assert rows["EXP_IDLE"] == ["EXP_IDLE", "停用角色", "业务角色", "", "禁用", "0", ""]
    assert all(row[5] == str(r["userCount"]) for row, r in zip(table[1:], listed, strict=True))

    filtered = read_back((await download(runtime, "exportRoles", "CSV", 'kind: BUSINESS, status: DISABLED'))[
        "contentBase64"], "CSV")
    assert [row[0] for row in filtered[1:]] == ["EXP_IDLE"]
    by_keyword = read_back((await download(runtime, "exportRoles", "CSV", 'keyword: "导出审计"'))["contentBase64"],
                           "CSV")
    assert [row[0] for row in by_keyword[1:]] == ["EXP_AUDITOR"]


# --- 全系统权限汇总 --------------------------------------------------------------------------------


def test_system_names_sort_alphabetically_by_pinyin_and_latin_letters_alike() -> None:
    names = ["医院信息系统", "统一门户", "LIS检验", "疾控系统", "安全管理平台", "bank", "卫统直报"]
    assert sorted(names, key=alphabetical_key) == [
        "安全管理平台", "bank", "疾控系统", "LIS检验", "统一门户", "卫统直报", "医院信息系统"]


@pytest.fixture(scope="module")
async def systems(runtime: Runtime) -> None:
    """Four connected systems with permissions, beside the portal's own (统一门户)."""
    async with runtime.sessions() as session, session.begin():
        session.add_all([models.ConnectedSystem(code="his", name="医院信息系统"),
                         models.ConnectedSystem(code="cdc", name="疾控系统"),
                         models.ConnectedSystem(code="safety", name="安全管理平台"),
                         models.ConnectedSystem(code="lis", name="LIS检验"),
                         models.ConnectedSystem(code="empty", name="无权限系统")])
    create = """mutation($input: CreatePermissionInput!) { createPermission(input: $input) { id } }"""
    for system, kind, code, name, extra in (
        ("his", "MENU", "menu:wards", "病区", {"menuPath": "/wards"}),
        ("his", "FUNCTION", "order:sign", "医嘱签署", {"description": "签署医嘱"}),
        ("his", "DATA", "data:dept", "本科室数据", {"dataScope": "OWN_DEPT", "effective": False}),
        ("cdc", "FUNCTION", "report:submit", "传染病报告", {"effectiveFrom": "2026-03-01T00:00:00Z"}),
        ("safety", "DATA", "data:all", "全部资产", {"dataScope": "ALL"}),
        ("lis", "FUNCTION", "result:audit", "报告审核", {}),
    ):
        await ok(runtime, create, {"input": {"system": system, "kind": kind, "code": code, "name": name, **extra}})


SUMMARY = """query($system: String, $kind: PermissionKind) { permissionSummary(system: $system, kind: $kind) {
    system systemName dataCount functionCount menuCount permissions { code kind } } }"""


async def test_the_summary_groups_by_system_in_alphabetical_order(runtime: Runtime, systems: None) -> None:
    groups = (await ok(runtime, SUMMARY))["permissionSummary"]
    assert [g["systemName"] for g in groups] == ["安全管理平台", "疾控系统", "LIS检验", "统一门户", "医院信息系统"]
    his = groups[-1]
    assert his["system"] == "his" and (his["dataCount"], his["functionCount"], his["menuCount"]) == (1, 1, 1)
    assert [p["kind"] for p in his["permissions"]] == ["DATA", "FUNCTION", "MENU"]
    portal = groups[3]
    async with runtime.sessions() as session:
        portal_total = await session.scalar(select(func.count()).where(models.Permission.system == "portal"))
    assert portal["system"] == "portal" and len(portal["permissions"]) == portal_total
    for group in groups:
        keys = [(["DATA", "FUNCTION", "MENU"].index(p["kind"]), p["code"]) for p in group["permissions"]]
        assert keys == sorted(keys)


async def test_the_summary_filters_by_system_and_type(runtime: Runtime, systems: None) -> None:
    functions = (await ok(runtime, SUMMARY, {"kind": "FUNCTION"}))["permissionSummary"]
    assert [g["system"] for g in functions] == ["cdc", "lis", "portal", "his"]  # 安全管理平台 has none
    assert all(p["kind"] == "FUNCTION" for g in functions for p in g["permissions"])
    his = (await ok(runtime, SUMMARY, {"system": "his"}))["permissionSummary"]
    assert [g["system"] for g in his] == ["his"] and len(his[0]["permissions"]) == 3
    assert (await ok(runtime, SUMMARY, {"system": "empty"}))["permissionSummary"] == []
    assert await fails(runtime, SUMMARY, {"system": "nope"}) == {"code": "BAD_USER_INPUT", "argument": "system"}


@pytest.mark.parametrize("file_format", ["XLSX", "CSV"])
async def test_the_summary_export_has_its_columns_in_the_summary_order(
    runtime: Runtime, systems: None, file_format: str
) -> None:
    file = await download(runtime, "exportPermissionSummary", file_format)
    assert file["filename"] == f"全系统权限汇总.{file_format.lower()}"
    table = read_back(file["contentBase64"], file_format)
    assert table[0] == ["系统名称", "权限类型", "权限名称", "权限描述", "生效时间"]
    groups = (await ok(runtime, SUMMARY))["permissionSummary"]
    assert [row[0] for row in table[1:]] == [g["systemName"] for g in groups for _ in g["permissions"]]
    assert file["rows"] == len(table) - 1
    his = [row for row in table[1:] if row[0] == "医院信息系统"]
    assert his == [["医院信息系统", "数据权限", "本科室数据", "", "未生效"],
                   ["医院信息系统", "功能权限", "医嘱签署", "签署医嘱", "已生效"],
                   ["医院信息系统", "菜单权限", "病区", "", "已生效"]]
    # 生效时间 in China time.
    assert ["疾控系统", "功能权限", "传染病报告", "", "2026-03-01 08:00:00"] in table
    menus = read_back((await download(runtime, "exportPermissionSummary", file_format,
                                      'system: "portal", kind: MENU'))["contentBase64"], file_format)
    assert {row[:2] for row in map(tuple, menus[1:])} == {("统一门户", "菜单权限")} and len(menus) > 5

