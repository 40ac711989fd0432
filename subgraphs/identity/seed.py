"""Seeds identity from the synthetic Jiangsu world (db/seed): the organisation tree, staff accounts with
encrypted names and mobiles, the standard roles and permissions, and a development `admin` account.

Organisations are the world's (shared with licences and security, which refer to them by id) plus what
only identity needs: provincial institutions, disease-control and emergency centres, and village clinics
(村卫生室) under the township health centres. Village clinics sit in their township's region, because the
region tree (population's) stops at townships. Everything is a function of the seed except what must be
secret: the data keys, the ciphertexts (random IVs) and the admin password.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.seed.chunks import chunked
from db.seed.regions import CITY_CODES, COUNTY_CODES, PROVINCE_CODE, city_code_of
from db.seed.world import organizations, person, users, world_regions
from subgraphs.common.app import SeedOptions
from subgraphs.common.validators import make_uscc, validate_uscc
from subgraphs.identity.domain.personal import fresh_cipher, seal_personal
from subgraphs.identity.mapping.seed import seed_mapping_data
from subgraphs.identity.models import Base, Organization, Permission, Role, RolePermission, User, UserRole
from subgraphs.identity.security.crypto import FieldCipher
from subgraphs.identity.security.hashing import hash_password
from subgraphs.identity.security.passwords import PasswordPolicy, generate_temporary_password

CHUNK = 5000
# The world gives every organisation at most this many accounts, each a distinct person.
MAX_USERS_PER_ORGANIZATION = 3
SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)
ADMIN_PASSWORD_ENV = "JSHEALTH_ADMIN_PASSWORD"
ADMIN_USERNAME = "admin"
ADMIN_ID = "usr-admin"
PROVINCE_HC = f"org-{PROVINCE_CODE}-hc"


@dataclass(frozen=True)
class SeedOrganization:
    id: str
    name: str
    kind: str
    level: str
    region_code: str
    credit_code: str
    parent_id: str | None
    code: str
    person_in_charge: str
    address: str
    contact: str


# --- organisations -------------------------------------------------------------------------------

_AREA_CODES = {
    "320100": "025", "320200": "0510", "320300": "0516", "320400": "0519", "320500": "0512", "320600": "0513",
    "320700": "0518", "320800": "0517", "320900": "0515", "321000": "0514", "321100": "0511", "321200": "0523",
    "321300": "0527",
}  # fmt: skip
assert set(_AREA_CODES) == set(CITY_CODES)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈姚陆顾钱"
_GIVEN = "伟强磊军勇杰涛斌明刚平辉鹏华飞波宇浩凯健俊宁建国文志海东峰亮成芳娜敏静丽艳娟霞秀玲燕婷红梅琳雪倩颖慧洁佳萍"
_STREETS = ("人民路", "建设路", "解放路", "中山路", "健康路", "长江路", "淮海路", "新华路", "文化路", "学府路",
            "青年路", "和平路", "迎宾大道", "振兴路", "幸福路", "卫生路")
_VILLAGES = ("新华", "红旗", "东风", "永安", "和平", "光明", "前进", "丰收", "团结", "胜利", "幸福", "联合",
             "新河", "双桥", "王庄", "李庄", "杨湾", "陈港")
_PROVINCIAL = (
    ("h1", "江苏省人民医院", "HOSPITAL"),
    ("h2", "江苏省中医院", "HOSPITAL"),
    ("h3", "江苏省肿瘤医院", "HOSPITAL"),
    ("cdc", "江苏省疾病预防控制中心", "DISEASE_CONTROL"),
    ("bc", "江苏省血液中心", "PUBLIC_HEALTH"),
    ("hs", "江苏省卫生监督所", "PUBLIC_HEALTH"),
)
# GB 32100 registration department and registrant kind: public institutions with the establishment office
# (1, 2); village clinics mostly as private non-enterprise units with civil affairs (5, 2).
_USCC_PREFIX = {"HOSPITAL": ("1", "2"), "DISEASE_CONTROL": ("1", "2"), "PUBLIC_HEALTH": ("1", "2"),
                "VILLAGE_CLINIC": ("5", "2")}


def _rng(seed: int, name: str) -> random.Random:
    return random.Random(f"jshealth-identity:{seed}:{name}")


def _person_name(rng: random.Random) -> str:
    given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.8 else "")
    return rng.choice(_SURNAMES) + given


def _contact(rng: random.Random, region_code: str) -> str:
    area = "025" if region_code == PROVINCE_CODE else _AREA_CODES[city_code_of(region_code)]
    return f"{area}-{rng.randrange(5000_0000, 9000_0000)}"


def seed_organizations(seed: int) -> list[SeedOrganization]:
    """Every organisation identity seeds, parents before children: the world's, then identity's own."""
    rng = _rng(seed, "organizations")
    regions = world_regions()
    full_names = {r.code: r.full_name for r in regions}
    world = organizations(seed)
    taken_codes = {o.credit_code[8:16] for o in world}
    taken_ids = {o.id for o in world}

    def credit_code(kind: str, region_code: str) -> str:
        department, registrant = _USCC_PREFIX[kind]
        while True:
            body = f"{rng.randrange(10**8):08d}"
            if body not in taken_codes:
                taken_codes.add(body)
                return make_uscc(department, registrant, region_code[:6], body)

    def details(org_id: str, region_code: str) -> tuple[str, str, str, str]:
        address = f"{full_names[region_code]}{rng.choice(_STREETS)}{rng.randint(1, 399)}号"
        return org_id.removeprefix("org-").upper(), _person_name(rng), address, _contact(rng, region_code)

    out: list[SeedOrganization] = []
    for o in world:
        out.append(SeedOrganization(o.id, o.name, o.kind, o.level, o.region_code, o.credit_code, o.parent_id,
                                    *details(o.id, o.region_code)))

    def add(org_id: str, name: str, kind: str, level: str, region_code: str, parent_id: str) -> None:
        assert org_id not in taken_ids, org_id
        taken_ids.add(org_id)
        out.append(SeedOrganization(org_id, name, kind, level, region_code, credit_code(kind, region_code),
                                    parent_id, *details(org_id, region_code)))

    for suffix, name, kind in _PROVINCIAL:
        add(f"org-{PROVINCE_CODE}-{suffix}", name, kind, "PROVINCE", PROVINCE_CODE, PROVINCE_HC)
    names = {r.code: r.name for r in regions}
    for city in CITY_CODES:
        add(f"org-{city}-cdc", f"{names[city]}疾病预防控制中心", "DISEASE_CONTROL", "CITY", city, f"org-{city}-hc")
        add(f"org-{city}-ec", f"{names[city]}急救中心", "PUBLIC_HEALTH", "CITY", city, f"org-{city}-hc")
    county_names = {o.region_code: o.name.removesuffix("卫生健康局") for o in world
                    if o.kind == "HEALTH_COMMISSION" and o.level == "COUNTY"}
    for county in COUNTY_CODES:
        add(f"org-{county}-cdc", f"{county_names[county]}疾病预防控制中心", "DISEASE_CONTROL", "COUNTY", county,
            f"org-{county}-hc")
    for o in world:
        if o.kind != "TOWNSHIP_HEALTH_CENTER":
            continue
        town = o.name.removesuffix("卫生院")
        for n, village in enumerate(rng.sample(_VILLAGES, rng.randint(2, 3)), start=1):
            add(f"org-{o.region_code}{n:03d}-vc", f"{town}{village}村卫生室", "VILLAGE_CLINIC", "VILLAGE",
                o.region_code, o.id)
    return out


# --- roles and permissions -----------------------------------------------------------------------


@dataclass(frozen=True)
class SeedPermission:
    code: str
    name: str
    kind: str
    description: str | None = None
    data_scope: str | None = None
    menu_path: str | None = None
    parent: str | None = None

    @property
    def id(self) -> str:
        return f"perm-portal-{self.code}"


PERMISSIONS: tuple[SeedPermission, ...] = (
    SeedPermission("data:own-dept", "本部门数据", "DATA", "只能访问本部门的数据", data_scope="OWN_DEPT"),
    SeedPermission("data:own-org", "本机构数据", "DATA", "只能访问本机构的数据", data_scope="OWN_ORG"),
    SeedPermission("data:cross-org", "跨机构数据", "DATA", "可访问所辖机构的数据", data_scope="CROSS_ORG"),
    SeedPermission("data:all", "全量数据", "DATA", "可访问全部数据", data_scope="ALL"),
    SeedPermission("menu:portal", "应用门户", "MENU", menu_path="/portal"),
    SeedPermission("menu:me", "个人中心", "MENU", menu_path="/me"),
    SeedPermission("menu:system", "系统管理", "MENU", menu_path="/system"),
    SeedPermission("menu:users", "用户管理", "MENU", menu_path="/system/users", parent="menu:system"),
    SeedPermission("menu:organizations", "组织机构", "MENU", menu_path="/system/organizations", parent="menu:system"),
    SeedPermission("menu:roles", "角色管理", "MENU", menu_path="/system/roles", parent="menu:system"),
    SeedPermission("menu:permissions", "权限管理", "MENU", menu_path="/system/permissions", parent="menu:system"),
    SeedPermission("menu:mappings", "用户关联对照", "MENU", menu_path="/system/mappings", parent="menu:system"),
    SeedPermission("menu:security", "安全策略", "MENU", menu_path="/security"),
    SeedPermission("menu:audit", "日志审计", "MENU", menu_path="/security/audit", parent="menu:security"),
    SeedPermission("user:create", "新增用户", "FUNCTION", "新增用户账号", parent="menu:users"),
    SeedPermission("user:update", "编辑用户", "FUNCTION", "编辑用户信息（用户名除外）", parent="menu:users"),
    SeedPermission("user:status", "变更账号状态", "FUNCTION", "冻结、注销、恢复账号", parent="menu:users"),
    SeedPermission("user:reset-password", "重置密码", "FUNCTION", "强制重置用户密码", parent="menu:users"),
    SeedPermission("user:import", "导入用户", "FUNCTION", "Excel批量导入用户", parent="menu:users"),
    SeedPermission("user:export", "导出用户", "FUNCTION", "Excel导出用户", parent="menu:users"),
    SeedPermission("org:edit", "维护机构", "FUNCTION", "新增、编辑机构", parent="menu:organizations"),
    SeedPermission("org:delete", "删除机构", "FUNCTION", "删除无下级、无用户的机构", parent="menu:organizations"),
    SeedPermission("org:merge", "合并机构", "FUNCTION", "合并机构并迁移用户", parent="menu:organizations"),
    SeedPermission("role:manage", "维护角色", "FUNCTION", "新增、编辑、复制、删除角色", parent="menu:roles"),
    SeedPermission("permission:manage", "维护权限", "FUNCTION", "维护权限并分配给角色", parent="menu:permissions"),
    SeedPermission("mapping:manage", "维护关联对照", "FUNCTION", "维护门户用户与第三方账号的对照",
                   parent="menu:mappings"),
    SeedPermission("security:manage", "维护安全策略", "FUNCTION", "密码、登录、IP黑名单与加密策略",
                   parent="menu:security"),
    SeedPermission("audit:view", "查看审计日志", "FUNCTION", "登录日志与操作日志", parent="menu:audit"),
)

_ALL_FUNCTIONS = tuple(p.code for p in PERMISSIONS if p.kind in ("FUNCTION", "MENU"))
_USER_ADMIN = ("menu:portal", "menu:me", "menu:system", "menu:users", "menu:organizations", "user:create",
               "user:update", "user:status", "user:reset-password", "user:import", "user:export", "org:edit")
_BUSINESS = ("menu:portal", "menu:me")

# code, name, kind, description, permission codes
ROLES: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("SYSTEM_ADMIN", "系统管理员", "ADMIN", "全省统一身份认证平台的系统管理", ("data:all", *_ALL_FUNCTIONS)),
    ("PROVINCE_ADMIN", "省级管理员", "ADMIN", "管理全省机构与用户",
     ("data:all", *_USER_ADMIN, "org:delete", "org:merge", "menu:roles", "role:manage")),
    ("CITY_ADMIN", "市级管理员", "ADMIN", "管理本市所辖机构与用户", ("data:cross-org", *_USER_ADMIN, "org:merge")),
    ("COUNTY_ADMIN", "县级管理员", "ADMIN", "管理本县（区）所辖机构与用户", ("data:cross-org", *_USER_ADMIN)),
    ("ORG_ADMIN", "机构管理员", "ADMIN", "管理本机构用户", ("data:own-org", *_USER_ADMIN)),
    ("SECURITY_AUDITOR", "安全审计员", "ADMIN", "查看登录与操作日志",
     ("data:all", "menu:portal", "menu:me", "menu:security", "menu:audit", "audit:view")),
    ("HEALTH_OFFICER", "卫健业务人员", "BUSINESS", "卫生健康行政部门业务人员", ("data:own-org", *_BUSINESS)),
    ("MEDICAL_STAFF", "医务人员", "BUSINESS", "医疗卫生机构业务人员", ("data:own-dept", *_BUSINESS)),
    ("POPULATION_OFFICER", "人口业务人员", "BUSINESS", "人口个案管理：可在审计下查看明文个人信息",
     ("data:own-org", *_BUSINESS)),
    ("LICENCE_OFFICER", "证照管理员", "BUSINESS", "卫生健康电子证照库：标准、归集质控、证照管理、亮证与统计",
     ("data:all", *_BUSINESS)),
    ("SERVICE_WINDOW", "窗口人员", "BUSINESS", "政务服务窗口：收件、预约确认、交接、出证与邮寄",
     ("data:own-org", *_BUSINESS)),
    ("SERVICE_APPROVER", "审批人员", "BUSINESS", "处室审批：受理、补正、勘验、评审、科室审核",
     ("data:own-org", *_BUSINESS)),
    ("SERVICE_LEADER", "审批领导", "BUSINESS", "委领导审批：准予、不准予", ("data:cross-org", *_BUSINESS)),
    ("SERVICE_ADMIN", "事项管理员", "ADMIN", "事项、办事指南、通知公告与一件事的管理", ("data:all", *_BUSINESS)),
    ("SECURITY_ADMIN", "网络安全管理员", "ADMIN", "省卫健委网络安全综合管理：通报、等保审核、演练、通知",
     ("data:all", *_BUSINESS)),
    ("UNIT_SECURITY_ADMIN", "单位安全管理员", "BUSINESS", "本单位资产、事件处置、等保与材料报送",
     ("data:own-org", *_BUSINESS)),
    ("OPS_DISPATCHER", "运维调度员", "BUSINESS", "运维中心：工单审核与派单", ("data:all", *_BUSINESS)),
    ("OPS_ENGINEER", "运维人员", "BUSINESS", "处理派给本人的运维工单", ("data:own-org", *_BUSINESS)),
)


def role_id(code: str) -> str:
    return f"role-{code.lower().replace('_', '-')}"


def _role_of(org_kind: str, org_level: str, first_account: bool) -> str:
    if org_kind == "HEALTH_COMMISSION":
        if first_account:
            return {"PROVINCE": "PROVINCE_ADMIN", "CITY": "CITY_ADMIN"}.get(org_level, "COUNTY_ADMIN")
        return "HEALTH_OFFICER"
    return "ORG_ADMIN" if first_account else "MEDICAL_STAFF"


_DEPARTMENTS = {
    "HEALTH_COMMISSION": ("办公室", "医政医管处", "基层卫生健康处", "疾病预防控制处", "规划信息处"),
    "HOSPITAL": ("医务科", "信息科", "护理部", "门诊部", "院办"),
}
_OTHER_DEPARTMENTS = ("综合办公室", "业务科", "信息科")


# --- seeding -------------------------------------------------------------------------------------


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


async def is_seeded(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(Organization)))


async def seed(session: AsyncSession, options: SeedOptions) -> None:
    orgs = seed_organizations(options.seed)
    # Core inserts on the tables: the ORM's bulk insert splits a batch wherever a nullable value switches
    # between None and a value, which made one statement per few users.
    for org_chunk in chunked(orgs, CHUNK):
        await session.execute(
            insert(_table(Organization)),
            [
                {"id": o.id, "name": o.name, "kind": o.kind, "level": o.level, "region_code": o.region_code,
                 "credit_code": validate_uscc(o.credit_code), "parent_id": o.parent_id, "code": o.code,
                 "person_in_charge": o.person_in_charge, "address": o.address, "contact": o.contact,
                 "created_at": SEEDED_AT}
                for o in org_chunk
            ],
        )
    await _seed_roles(session)
    cipher = await fresh_cipher(session)
    by_id = {o.id: o for o in orgs}
    # world.users refuses a population smaller than its account count; a small seeded population
    # (tests) still gets every account, and only accounts of seeded persons are linked to a person.
    # Accounts are the world's, so only the world's organisations count here.
    person_count = max(options.persons, MAX_USERS_PER_ORGANIZATION * len(organizations(options.seed)))
    rng = _rng(options.seed, "user-details")
    for user_chunk in chunked(users(options.seed, person_count), CHUNK):
        user_rows: list[dict[str, object]] = []
        role_rows: list[dict[str, str]] = []
        for u in user_chunk:
            assert u.person_index is not None
            who = person(options.seed, u.person_index)
            org = by_id[u.organization_id]
            departments = _DEPARTMENTS.get(org.kind, _OTHER_DEPARTMENTS)
            user_rows.append({
                "id": u.id, "username": u.username, "organization_id": u.organization_id, "status": u.status,
                "status_reason": None if u.status == "NORMAL" else {"FROZEN": "长期未登录，暂停使用",
                                                                     "CANCELLED": "人员调离"}[u.status],
                "person_uid": who.uid if u.person_index < options.persons else None, "created_at": SEEDED_AT,
                "email": f"{u.username}@jshealth.example.cn" if rng.random() < 0.7 else None,
                "gender": who.sex, "department": rng.choice(departments),
                **seal_personal(cipher, u.display_name, who.phone).columns(),
            })
            role_rows.append({"user_id": u.id,
                              "role_id": role_id(_role_of(org.kind, org.level, u.username.endswith("_01")))})
        await session.execute(insert(_table(User)), user_rows)
        await session.execute(insert(UserRole), role_rows)
    await _seed_admin(session, cipher)
    # The connected systems and their reported accounts, which refer to the users above.
    await seed_mapping_data(session, options)


async def _seed_roles(session: AsyncSession) -> None:
    await session.execute(insert(_table(Permission)), [
        {"id": p.id, "system": "portal", "kind": p.kind, "code": p.code, "name": p.name,
         "description": p.description, "data_scope": p.data_scope, "menu_path": p.menu_path,
         "parent_id": f"perm-portal-{p.parent}" if p.parent else None, "effective": True,
         "effective_from": SEEDED_AT}
        for p in _parents_first(PERMISSIONS)
    ])
    await session.execute(insert(Role), [
        {"id": role_id(code), "code": code, "name": name, "kind": kind, "description": description,
         "status": "ENABLED", "created_at": SEEDED_AT}
        for code, name, kind, description, _ in ROLES
    ])
    await session.execute(insert(RolePermission), [
        {"role_id": role_id(code), "permission_id": f"perm-portal-{p}"}
        for code, _, _, _, permissions in ROLES for p in dict.fromkeys(permissions)
    ])


def _parents_first(permissions: tuple[SeedPermission, ...]) -> Iterator[SeedPermission]:
    done: set[str] = set()
    pending = list(permissions)
    while pending:
        ready = [p for p in pending if p.parent is None or p.parent in done]
        assert ready, "a permission names a parent that is not seeded"
        for p in ready:
            done.add(p.code)
            yield p
        pending = [p for p in pending if p.code not in done]


def admin_password() -> tuple[str, bool]:
    """The development admin's password and whether it was generated (never stored in the repository)."""
    given = os.environ.get(ADMIN_PASSWORD_ENV)
    if given:
        return given, False
    return generate_temporary_password(PasswordPolicy(min_length=16)), True


async def _seed_admin(session: AsyncSession, cipher: FieldCipher) -> None:
    password, generated = admin_password()
    await session.execute(insert(User), [{
        "id": ADMIN_ID, "username": ADMIN_USERNAME, "organization_id": PROVINCE_HC, "status": "NORMAL",
        "created_at": SEEDED_AT, "department": "信息中心", "remark": "开发环境管理员账号",
        "password_hash": hash_password(password), "password_changed_at": SEEDED_AT,
        # A generated password was shown once on a terminal: the first sign-in replaces it.
        "must_change_password": generated,
        **seal_personal(cipher, "系统管理员", None).columns(),
    }])
    await session.execute(insert(UserRole), [{"user_id": ADMIN_ID, "role_id": role_id("SYSTEM_ADMIN")}])
    if generated:
        print(f"identity: development account '{ADMIN_USERNAME}' created with the one-time password {password} "
              f"(set {ADMIN_PASSWORD_ENV} to choose it)", file=sys.stderr)

