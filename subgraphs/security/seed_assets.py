"""Seeds the asset ledger's details and the 等级保护 ledger from the synthetic world (deterministic in the seed).

* seed_asset_details: the core fields of the assets seed.py inserted (filing number, segment, location, go-live
  date, department, person in charge with a synthetic mobile, the owner's city), a REGISTERED change for each
  and a STATUS change for the disabled and scrapped ones; about one in eight was last verified more than a
  year ago (僵尸资产).
* seed_protection: records for the systems of hospitals (HIS and EMR at level 3) and commissions (level 2-3;
  the province's platform and population system at level 4), most filed and assessed on time, some with
  gaps, and a few change requests in every state.

Names, numbers and phones are made up; the phones use the 1xx mobile shape only so that masking shows.
"""

from __future__ import annotations

import ipaddress
import random
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.seed.chunks import chunked
from db.seed.regions import city_code_of, region_names
from db.seed.world import OrganizationRecord, organizations
from subgraphs.security.models import Asset, AssetChange, ProtectionChangeRequest, ProtectionRecord
from subgraphs.security.seed import CHUNK, CREATED_AT, AssetRecord, world_assets

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚"
_DEPARTMENTS = ("信息科", "信息中心", "网络安全与信息化处", "办公室", "设备科")
_LOCATIONS = ("本单位中心机房", "江苏省卫生健康云政务云区", "市电子政务外网机房", "运营商IDC机房")
_BODIES = ("苏信安等级测评有限公司", "金陵网安测评中心", "江南信息安全评估有限公司", "云安等级保护测评院")
_SEED_ACTOR = "seed"


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3589") + "".join(str(rng.randint(0, 9)) for _ in range(9))


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2)))


def _canonical(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def _segment(host: str) -> str | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return str(ipaddress.ip_network(f"{address}/{24 if address.version == 4 else 64}", strict=False))


def asset_details(seed: int, asset: AssetRecord, org: OrganizationRecord, now: datetime) -> dict[str, Any]:
    """The core fields of one seeded asset, from a stream private to it."""
    rng = random.Random(f"jshealth-security-asset:{seed}:{asset.id}")
    is_domain = asset.kind in ("DOMAIN", "APPLICATION")
    online = (now - timedelta(days=rng.randint(120, 365 * 8))).date()
    # One in eight was not verified for over a year: the 僵尸资产 list has something to show.
    verified = now - timedelta(days=rng.randint(400, 900) if rng.random() < 0.125 else rng.randint(1, 330))
    return {
        "id": asset.id,
        # The stored form of an address is canonical (registration compares hosts that way); seed.py may write
        # 2001:db8:0::8e for the first organisation.
        "host": _canonical(asset.host),
        "icp_filing_number": f"苏ICP备{rng.randint(10_000_000, 99_999_999)}号-1" if is_domain else None,
        "ip_segment": None if is_domain else _segment(asset.host),
        "location": rng.choice(_LOCATIONS),
        "online_date": online,
        "department": rng.choice(_DEPARTMENTS),
        "contact_name": _person(rng),
        "contact_phone": _phone(rng),
        "region_code": city_code_of(org.region_code),
        "verified_at": verified,
        "updated_at": now,
    }


async def seed_asset_details(session: AsyncSession, seed: int, now: datetime) -> None:
    by_id = {o.id: o for o in organizations(seed)}
    assets = world_assets(seed)
    details = [asset_details(seed, a, by_id[a.owner_id], now) for a in assets]
    for chunk in chunked(details, CHUNK):
        # ORM bulk UPDATE by primary key: one executemany per chunk.
        await session.execute(update(Asset), chunk)
    changes: list[dict[str, Any]] = []
    for asset, detail in zip(assets, details, strict=True):
        registered = {"kind": asset.kind, "host": asset.host, "name": asset.name, "ownerId": asset.owner_id,
                      "regionCode": detail["region_code"]}
        changes.append({"asset_id": asset.id, "action": "REGISTERED", "reason": None, "actor": _SEED_ACTOR,
                        "at": CREATED_AT, "changes": {k: {"before": None, "after": v} for k, v in registered.items()}})
        if asset.status != "IN_USE":
            changes.append({"asset_id": asset.id, "action": "STATUS", "actor": _SEED_ACTOR, "at": CREATED_AT,
                            "reason": "设备老化，已下线" if asset.status == "SCRAPPED" else "系统暂停对外服务",
                            "changes": {"status": {"before": "IN_USE", "after": asset.status}}})
    for chunk in chunked(changes, CHUNK):
        await session.execute(insert(AssetChange), chunk)


# --- 等级保护 ---------------------------------------------------------------------------------------------------

_PROVINCE_SYSTEMS = (("全民健康信息平台", 4), ("全员人口信息系统", 4), ("政务服务系统", 2), ("协同办公系统", 2),
                     ("门户网站", 2))
_CITY_SYSTEMS = (("全民健康信息平台", 3), ("政务服务系统", 2), ("协同办公系统", 2), ("门户网站", 2))
_COUNTY_SYSTEMS = (("协同办公系统", 2), ("门户网站", 2))
# Most of a hospital's systems are level 2; the core clinical ones (HIS, EMR) level 3.
_HOSPITAL_SYSTEMS = (("医院信息系统", 3), ("电子病历系统", 3), ("预约挂号系统", 2), ("检验信息系统", 2),
                     ("医学影像信息系统", 2), ("门户网站", 2))


def _systems_of(org: OrganizationRecord, applications: dict[str, AssetRecord]) -> list[tuple[str, int]]:
    if org.kind == "HOSPITAL":
        systems = list(_HOSPITAL_SYSTEMS)
    elif org.kind == "HEALTH_COMMISSION" and org.region_code == "320000":
        systems = list(_PROVINCE_SYSTEMS)
    elif org.kind == "HEALTH_COMMISSION" and org.region_code == city_code_of(org.region_code):
        systems = list(_CITY_SYSTEMS)
    elif org.kind == "HEALTH_COMMISSION":
        systems = list(_COUNTY_SYSTEMS)
    else:
        return []
    app = applications.get(org.id)
    if app is not None and app.name not in {name for name, _ in systems}:
        systems.append((app.name, 2))
    return systems


def protection_records(seed: int, now: datetime) -> list[dict[str, Any]]:
    """The seeded records as column values: filed about 93% of the time, assessments mostly on time."""
    rng = random.Random(f"jshealth-security-protection:{seed}")
    names = region_names()
    applications = {a.owner_id: a for a in world_assets(seed) if a.kind == "APPLICATION"}
    today = now.date()
    out: list[dict[str, Any]] = []
    for org in organizations(seed):
        for n, (system, level) in enumerate(_systems_of(org, applications), start=1):
            serial = len(out) + 1
            filed = rng.random() < 0.93
            filed_on = date(today.year - rng.randint(4, 8), rng.randint(1, 12), rng.randint(1, 28))
            city = city_code_of(org.region_code)
            authority = "江苏省公安厅" if city == "320000" else f"{names.get(city, '')}公安局"
            evaluated_on, body, conclusion = _evaluation(rng, level, today)
            app = applications.get(org.id)
            evidence = [{"name": "等保备案证明.pdf", "kind": "FILING_CERTIFICATE"}] if filed else []
            if evaluated_on is not None:
                evidence.append({"name": f"{evaluated_on.year}年度测评报告.pdf", "kind": "EVALUATION_REPORT"})
            out.append({
                "id": f"pr-{org.id.removeprefix('org-')}-{n}", "system_name": system, "org_id": org.id,
                "region_code": city, "asset_id": app.id if app is not None and app.name == system else None,
                "level": level,
                "filing_number": f"{org.region_code}{serial:05d}-{filed_on.year % 100:02d}001" if filed else None,
                "filing_authority": authority if filed else None, "filed_on": filed_on if filed else None,
                "evaluated_on": evaluated_on, "evaluation_body": body, "conclusion": conclusion,
                "evidence": evidence, "version": 1, "created_at": CREATED_AT, "updated_at": now,
            })
    return out


def _evaluation(rng: random.Random, level: int, today: date) -> tuple[date | None, str | None, str | None]:
    if level == 1:
        return None, None, None
    draw = rng.random()
    if level >= 3:
        # ~82% assessed this year; the rest last year, which the gap list shows.
        year = today.year if draw < 0.82 else today.year - 1
    else:
        year = today.year - (0 if draw < 0.45 else 1 if draw < 0.9 else 3)
    last_day = today if year == today.year else date(year, 12, 31)
    first_day = date(year, 1, 1)
    on = first_day + timedelta(days=rng.randint(0, max((last_day - first_day).days, 0)))
    conclusion = rng.choices(("PASS", "BASIC", "FAIL"), (60, 35, 5))[0]
    return on, rng.choice(_BODIES), conclusion


def _trail(at: datetime, actor: str, action: str, opinion: str | None) -> dict[str, Any]:
    return {"at": at.isoformat(), "actor": actor, "action": action, "opinion": opinion}


def protection_requests(records: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """A few requests in every state, on the first hospitals' records (approved ones already applied)."""
    hospital = [r for r in records if r["level"] == 3 and re.search(r"-h\d+$", r["org_id"])]
    out: list[dict[str, Any]] = []
    states = ("PENDING", "APPROVED", "REJECTED", "SUPPLEMENT_REQUESTED", "PENDING", "APPROVED")
    for i, (record, status) in enumerate(zip(hospital[:: max(len(hospital) // 8, 1)], states, strict=False)):
        at = now - timedelta(days=20 - i * 3)
        applicant = f"unit-admin-{record['org_id'].removeprefix('org-')}"
        evaluated = (now - timedelta(days=30 + i)).date()
        proposed = {"evaluated_on": evaluated.isoformat(), "evaluation_body": _BODIES[i % len(_BODIES)],
                    "conclusion": "BASIC"}
        trail = [_trail(at, applicant, "SUBMITTED", "年度测评已完成，更新测评信息")]
        reviewed_at = at + timedelta(days=2) if status != "PENDING" else None
        opinion = {"APPROVED": "同意", "REJECTED": "测评报告与系统不符，驳回",
                   "SUPPLEMENT_REQUESTED": "请补充测评报告盖章页"}.get(status)
        if reviewed_at is not None:
            action = {"APPROVED": "APPROVE", "REJECTED": "REJECT", "SUPPLEMENT_REQUESTED": "REQUEST_MATERIAL"}
            trail.append(_trail(reviewed_at, "sec-admin-province", action[status], opinion))
        if status == "APPROVED":
            record.update(evaluated_on=evaluated, evaluation_body=proposed["evaluation_body"], conclusion="BASIC",
                          version=2)
        out.append({
            "id": f"pcr-seed-{i + 1:03d}", "record_id": record["id"], "org_id": record["org_id"],
            "proposed": proposed, "reason": "年度测评已完成，更新测评信息",
            "evidence": [{"name": f"{evaluated.year}年度测评报告.pdf", "kind": "EVALUATION_REPORT"}],
            "status": status, "requested_by": applicant, "requested_at": at,
            "reviewed_by": "sec-admin-province" if reviewed_at else None, "reviewed_at": reviewed_at,
            "opinion": opinion, "history": trail,
        })
    # A new filing waiting for review (record_id None): a hospital's new 互联网医院 system.
    if hospital:
        org_id = hospital[0]["org_id"]
        out.append({
            "id": "pcr-seed-new-001", "record_id": None, "org_id": org_id,
            "proposed": {"system_name": "互联网医院平台", "level": 3}, "reason": "新建系统定级备案",
            "evidence": [{"name": "定级报告.pdf", "kind": "GRADING_REPORT"}], "status": "PENDING",
            "requested_by": f"unit-admin-{org_id.removeprefix('org-')}", "requested_at": now - timedelta(days=1),
            "reviewed_by": None, "reviewed_at": None, "opinion": None,
            "history": [_trail(now - timedelta(days=1), f"unit-admin-{org_id.removeprefix('org-')}", "SUBMITTED",
                               "新建系统定级备案")],
        })
    return out


async def seed_protection(session: AsyncSession, seed: int, now: datetime) -> None:
    now = now.astimezone(UTC)
    records = protection_records(seed, now)
    requests = protection_requests(records, now)
    for chunk in chunked(records, CHUNK):
        await session.execute(insert(ProtectionRecord), chunk)
    await session.execute(insert(ProtectionChangeRequest), requests)
