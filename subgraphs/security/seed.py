"""Seeds security from the synthetic Jiangsu world (db/seed): 1-4 internet assets per organisation.

Hosts are data, never contacted: domains sit under made-up js.cn / js.gov.cn names derived from the
organisation id, IPv4 addresses in the private 10.0.0.0/8 block and IPv6 addresses in the
documentation prefix 2001:db8::/32.
"""

from __future__ import annotations

import importlib
import ipaddress
import random
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.seed.chunks import chunked
from db.seed.world import OrganizationRecord, organizations
from subgraphs.common.app import SeedOptions
from subgraphs.security.models import Asset

CHUNK = 5000
CREATED_AT = datetime(2026, 1, 1, tzinfo=UTC)

# (subdomain, 系统名称) per kind of owner: what such an organisation typically runs online.
_COMMISSION_SYSTEMS = (
    ("zwfw", "政务服务系统"), ("oa", "协同办公系统"), ("qmrk", "全员人口信息系统"),
    ("jkxx", "全民健康信息平台"), ("jdgl", "卫生监督管理系统"),
)  # fmt: skip
_HOSPITAL_SYSTEMS = (
    ("yygh", "预约挂号系统"), ("his", "医院信息系统"), ("emr", "电子病历系统"),
    ("lis", "检验信息系统"), ("pacs", "医学影像信息系统"), ("tjgl", "健康体检管理系统"),
)  # fmt: skip
_PRIMARY_CARE_SYSTEMS = (
    ("yygh", "预约挂号系统"), ("jkda", "居民健康档案系统"), ("jtys", "家庭医生签约服务系统"),
    ("mzsf", "门诊收费系统"),
)  # fmt: skip
_SERVER_NAMES = ("应用服务器", "数据库服务器", "前置机", "文件服务器")
_TERMINAL_NAMES = ("办公终端", "自助服务终端", "挂号收费终端")

# After the mandatory domain, the remaining 0-3 assets are distinct kinds, so each kind's host can be
# derived from the organisation alone and stays unique.
_OTHER_KINDS = ("IP", "APPLICATION", "SERVER", "TERMINAL")
_IPV6_P = 0.3
_STATUSES = ("IN_USE", "DISABLED", "SCRAPPED")
_STATUS_WEIGHTS = (88, 8, 4)





@dataclass(frozen=True)
class AssetRecord:
    id: str
    kind: str
    host: str
    name: str
    status: str
    owner_id: str


def _slug(org: OrganizationRecord) -> str:
    # World ids look like org-320102-h1; "h1-320102" reads like a host label. Lower-cased and
    # limited to letters, digits and hyphens whatever the id looks like.
    parts = org.id.removeprefix("org-").split("-", 1)
    label = "-".join(reversed(parts)).lower()
    return "".join(c if c.isascii() and (c.isalnum() or c == "-") else "-" for c in label)


def _systems(org: OrganizationRecord) -> tuple[tuple[str, str], ...]:
    if org.kind == "HEALTH_COMMISSION":
        return _COMMISSION_SYSTEMS
    if org.kind == "HOSPITAL":
        return _HOSPITAL_SYSTEMS
    return _PRIMARY_CARE_SYSTEMS


def assets_of(seed: int, org: OrganizationRecord, position: int) -> list[AssetRecord]:
    """The assets of the organisation at `position` in the world's list, deterministic in (seed, org)."""
    if not 0 <= position < 1 << 16:
        raise ValueError("only 65536 organisations fit the 10.a.b.x address plan")
    # A private stream per organisation: adding an asset kind elsewhere never reshuffles this one.
    rng = random.Random(f"jshealth-security:{seed}:{org.id}")
    if org.kind == "HEALTH_COMMISSION":
        base = f"wjw-{org.region_code}.js.gov.cn"
        domain = base
    else:
        base = f"{_slug(org)}.js.cn"
        domain = f"www.{base}"
    subnet = f"10.{position >> 8}.{position & 255}"
    kinds = ["DOMAIN", *rng.sample(_OTHER_KINDS, rng.randint(0, 3))]
    out: list[AssetRecord] = []
    for kind in kinds:
        if kind == "DOMAIN":
            host, name = domain, f"{org.name}门户网站"
        elif kind == "IP":
            if rng.random() < _IPV6_P:
                # Canonical form (2001:db8::8e, not 2001:db8:0::8e): what registration stores and compares.
                host = str(ipaddress.ip_address(f"2001:db8:{position:x}::{rng.randint(1, 0xFF):x}"))
            else:
                host = f"{subnet}.{rng.randint(1, 49)}"
            name = f"{org.name}互联网出口"
        elif kind == "APPLICATION":
            subdomain, name = rng.choice(_systems(org))
            host = f"{subdomain}.{base}"
        elif kind == "SERVER":
            host, name = f"{subnet}.{rng.randint(50, 149)}", rng.choice(_SERVER_NAMES)
        else:
            host, name = f"{subnet}.{rng.randint(150, 254)}", rng.choice(_TERMINAL_NAMES)
        status = rng.choices(_STATUSES, _STATUS_WEIGHTS)[0]
        out.append(
            AssetRecord(f"ast-{org.id.removeprefix('org-')}-{kind.lower()}", kind, host, name, status, org.id)
        )
    return out


def world_assets(seed: int) -> list[AssetRecord]:
    out = [a for position, org in enumerate(organizations(seed)) for a in assets_of(seed, org, position)]
    hosts = {a.host for a in out}
    if len(hosts) != len(out):
        # The host plan above is meant to be collision-free; a clash means world ids changed shape.
        raise ValueError("two seeded assets share a host")
    return out


async def is_seeded(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(Asset)))


async def seed(session: AsyncSession, options: SeedOptions) -> None:
    for chunk in chunked(world_assets(options.seed), CHUNK):
        await session.execute(
            insert(Asset),
            [
                {"id": a.id, "kind": a.kind, "host": a.host, "name": a.name, "status": a.status,
                 "owner_id": a.owner_id, "created_at": CREATED_AT}
                for a in chunk
            ],
        )
    # The other seeders land in parallel modules; each runs once its module exists, so this seed works
    # before and after they do. Incidents and alerts come last: they point at the assets above.
    for module, function in _FOLLOWERS:
        try:
            follower = getattr(importlib.import_module(module), function, None)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # the module exists but is broken: say so
                raise
            continue
        if follower is None:
            continue
        await follower(session, options.seed, CREATED_AT)


# (module, function(session, seed, now)) run after the assets, in this order.
_FOLLOWERS = (
    ("subgraphs.security.seed_assets", "seed_asset_details"),
    ("subgraphs.security.seed_assets", "seed_protection"),
    ("subgraphs.security.seed_ops", "seed_ops"),
    ("subgraphs.security.seed_incidents", "seed_incidents"),
)
