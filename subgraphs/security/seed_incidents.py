"""Seeds a year (2025) of security incidents with their recipients, disposal reports and change requests, and
the monitoring platform's alerts of the last 30 days before the world date plus "today".

"Today" in a seeded database is the China date of the world date (db.seed.world.WORLD_DATE, 2026-01-01): the
seed's `now` is 2026-01-01T00:00Z, 08:00 in China, so "today's" alerts were detected between China midnight
(2025-12-31T16:00Z) and `now`. The board asks the statistics with `at` = the world date to see them.

Everything is derived from (seed, now) through named random streams: no uuid4, no clock. Attack addresses
come from the documentation ranges 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.seed.chunks import chunked
from db.seed.world import OrganizationRecord, organizations
from subgraphs.security import models
from subgraphs.security.seed import AssetRecord, world_assets

CHINA = timezone(timedelta(hours=8))
YEAR = 2025
CHUNK = 2000
REPORTER = "seed-security-admin"  # the province's security administrator who issues the notices
REVIEWER = "seed-security-reviewer"

# (code, 事件类型, typical affected data); the codes are IncidentType's values.
INCIDENT_TYPES = (
    ("HACKING", "黑客攻击", "门户网站页面及后台账号"),
    ("DATA_LEAK", "数据泄露", "患者就诊信息"),
    ("VIRUS", "病毒感染", "办公终端文件"),
    ("WEB_DEFACEMENT", "网页篡改", "门户网站首页"),
    ("VULNERABILITY", "高危漏洞", "应用系统数据库"),
    ("DDOS", "拒绝服务攻击", "对外服务可用性"),
)
_TYPE_WEIGHTS = (25, 10, 15, 10, 30, 10)
SEVERITIES = ("GENERAL", "SIGNIFICANT", "MAJOR", "EXTRAORDINARY")
_SEVERITY_WEIGHTS = (70, 25, 4, 1)
_SEVERITY_LABELS = {"GENERAL": "一般", "SIGNIFICANT": "较大", "MAJOR": "重大", "EXTRAORDINARY": "特别重大"}
_DEADLINE_DAYS = {"GENERAL": 15, "SIGNIFICANT": 10, "MAJOR": 5, "EXTRAORDINARY": 3}

# What a unit's disposal has reached. The first incidents take these in order so that every state exists
# whatever the seed; the rest draw by the incident's age.
SCENARIOS = ("NONE", "DRAFT", "SUBMITTED_OPEN", "SUBMITTED_DONE", "PENDING_CHANGE", "APPROVED_CHANGE",
             "REJECTED_CHANGE")
_OLD_WEIGHTS = (2, 2, 3, 74, 2, 12, 5)  # issued before the last two months: mostly done
_RECENT_WEIGHTS = (25, 20, 15, 25, 8, 4, 3)
PROGRESS_OF = {"NONE": "NOT_HANDLED", "DRAFT": "HANDLING", "SUBMITTED_OPEN": "HANDLING",
               "SUBMITTED_DONE": "COMPLETED", "PENDING_CHANGE": "HANDLING", "APPROVED_CHANGE": "COMPLETED",
               "REJECTED_CHANGE": "COMPLETED"}

ALERT_DAYS = 30
ALERT_CATEGORIES = ("WEB_ATTACK", "VULNERABILITY", "MALWARE", "BRUTE_FORCE", "SCAN", "DDOS")
_CATEGORY_WEIGHTS = (35, 15, 10, 15, 20, 5)
ALERT_SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
_ALERT_SEVERITY_WEIGHTS = (40, 35, 20, 5)
# A small pool of attackers, a few of them busy: the board's 攻击TOP5 has a clear head.
ATTACK_IPS = tuple([f"198.51.100.{i}" for i in (7, 23, 45, 88, 120, 201)]
                   + [f"203.0.113.{i}" for i in (5, 17, 66, 99, 142, 250)]
                   + [f"2001:db8:ac::{i:x}" for i in (1, 16, 255)])
_IP_WEIGHTS = tuple(range(len(ATTACK_IPS) * 2, 0, -2))


@dataclass
class _Incident:
    row: dict[str, Any]
    recipients: list[dict[str, Any]] = field(default_factory=list)
    report: dict[str, Any] | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)


def city_of(region_code: str) -> str:
    return region_code[:4] + "00"


def _commission_of(org: OrganizationRecord, by_id: dict[str, OrganizationRecord]) -> str | None:
    """The health commission supervising `org`: its city's (the province's for province-level units)."""
    if org.kind == "HEALTH_COMMISSION":
        return org.parent_id
    city_hc = f"org-{city_of(org.region_code)}-hc"
    return city_hc if city_hc in by_id else org.parent_id


def _content(rng: random.Random, issued: datetime, done: bool, type_label: str) -> dict[str, Any]:
    first = issued + timedelta(hours=rng.randint(1, 12))
    return {
        "technical": ["封禁攻击源IP", "修补漏洞并升级补丁", "全盘查杀病毒"][: rng.randint(1, 3)],
        "managerial": ["开展网络安全专项检查", "修订应急预案"][: rng.randint(1, 2)],
        "timeline": [{"at": first.isoformat(), "what": f"确认{type_label}并启动应急响应"},
                     {"at": (first + timedelta(days=1)).isoformat(), "what": "完成处置措施"}],
        "responsible": "信息科负责人",
        "participants": ["信息科工程师", "安全服务厂商"],
        "controlled": done or rng.random() < 0.6,
        "impactRemoved": done,
        "evidence": [{"name": "处置日志截图.png", "sha256": f"{rng.getrandbits(256):064x}"}],
        "summary": "事件已得到控制，影响已消除" if done else "处置进行中",
    }


def _assets_hit(rng: random.Random, assets: list[AssetRecord]) -> list[str]:
    online = [a for a in assets if a.kind in ("DOMAIN", "APPLICATION")] or assets
    return sorted({a.id for a in rng.sample(online, min(len(online), rng.randint(1, 2)))})


def _incident(seq: int, rng: random.Random, org: OrganizationRecord, commission: str | None,
              assets: list[AssetRecord], issued: datetime, now: datetime) -> _Incident:
    code, type_label, data = rng.choices(INCIDENT_TYPES, _TYPE_WEIGHTS)[0]
    severity = rng.choices(SEVERITIES, _SEVERITY_WEIGHTS)[0]
    deadline = issued + timedelta(days=_DEADLINE_DAYS[severity])
    recent = (now - issued).days < 60
    if seq < len(SCENARIOS):
        scenario = SCENARIOS[seq]
    else:
        scenario = rng.choices(SCENARIOS, _RECENT_WEIGHTS if recent else _OLD_WEIGHTS)[0]
    incident_id = f"inc-{YEAR}-{seq + 1:04d}"
    progress = PROGRESS_OF[scenario]
    hit = _assets_hit(rng, assets) if assets else []
    row: dict[str, Any] = {
        "id": incident_id, "number": f"苏卫网通〔{YEAR}〕{seq + 1:04d}号",
        "title": f"关于{org.name}发生{type_label}事件的通报",
        "description": f"监测发现{org.name}存在{type_label}情况，危害程度{_SEVERITY_LABELS[severity]}，请立即处置。",
        "incident_type": code, "severity": severity, "affected_org_id": org.id, "affected_asset_ids": hit,
        "affected_data": data, "region_code": city_of(org.region_code),
        "requirements": f"请于{deadline.astimezone(CHINA):%Y年%m月%d日}前完成整改并报送处置情况，单位主要负责人牵头。",
        "measures_advice": "立即隔离受影响系统，保存日志证据，排查同类风险。",
        "reporter": REPORTER, "issued_at": issued, "deadline": deadline, "progress": progress,
        "completed_at": None, "updated_at": issued,
    }
    out = _Incident(row)
    for org_id in [org.id] + ([commission] if commission else []):
        unit = org_id == org.id
        # An untouched notice is often unread by the unit, and chased by hand (催办) once it is late.
        viewed = not (unit and scenario == "NONE" and rng.random() < 0.6)
        reminders = rng.randint(1, 3) if unit and scenario == "NONE" and deadline < now else 0
        out.recipients.append({
            "incident_id": incident_id, "org_id": org_id,
            "viewed_at": issued + timedelta(hours=rng.randint(1, 30)) if viewed else None,
            "reminders": reminders,
            "last_reminded_at": deadline + timedelta(days=reminders) if reminders else None,
        })
    if scenario == "NONE":
        return out
    done = progress == "COMPLETED"
    # Late completions exist: some reports arrive after the deadline.
    submit_days = rng.uniform(0.5, _DEADLINE_DAYS[severity] * (1.4 if rng.random() < 0.15 else 0.9))
    submitted_at = min(issued + timedelta(days=submit_days), now - timedelta(hours=1))
    content = _content(rng, issued, done if scenario != "PENDING_CHANGE" else False, type_label)
    report_id = f"dsp-{YEAR}-{seq + 1:04d}"
    report: dict[str, Any] = {
        "id": report_id, "incident_id": incident_id, "org_id": org.id, "status": "SUBMITTED",
        "content": content, "submitted_at": submitted_at, "submitted_by": f"seed-unit-admin-{org.id}",
        "version": 1, "updated_at": submitted_at,
    }
    if scenario == "DRAFT":
        report.update(status="DRAFT", submitted_at=None, submitted_by=None)
    elif scenario in ("PENDING_CHANGE", "APPROVED_CHANGE", "REJECTED_CHANGE"):
        requested = min(submitted_at + timedelta(days=rng.randint(1, 3)), now - timedelta(minutes=30))
        proposed = {**content, "impactRemoved": True, "controlled": True,
                    "summary": "补充整改结果：影响已消除"}
        change = {"id": f"dcr-{YEAR}-{seq + 1:04d}-1", "report_id": report_id,
                  "reason": "补充处置结果与检测报告", "proposed": proposed, "before": content,
                  "requested_by": report["submitted_by"], "requested_at": requested,
                  "status": "PENDING", "reviewed_by": None, "reviewed_at": None, "opinion": None}
        if scenario == "PENDING_CHANGE":
            report.update(status="CHANGE_REQUESTED", updated_at=requested)
        else:
            reviewed = min(requested + timedelta(days=1), now - timedelta(minutes=10))
            approved = scenario == "APPROVED_CHANGE"
            change.update(status="APPROVED" if approved else "REJECTED", reviewed_by=REVIEWER,
                          reviewed_at=reviewed, opinion="同意变更" if approved else "理由不充分，维持原报告")
            if approved:
                # The approved content replaces the report, which is locked again at the next version.
                report.update(content=proposed, version=2, updated_at=reviewed)
        out.changes.append(change)
    out.report = report
    if done:
        row["completed_at"] = report["updated_at"]
    row["updated_at"] = report["updated_at"]
    return out


def incidents_of(seed: int, now: datetime) -> list[_Incident]:
    """The year's incidents: 1-4 per city per month, in the units and hospitals of that city."""
    rng = random.Random(f"jshealth-security-incidents:{seed}")
    orgs = organizations(seed)
    by_id = {o.id: o for o in orgs}
    assets: dict[str, list[AssetRecord]] = defaultdict(list)
    for a in world_assets(seed):
        assets[a.owner_id].append(a)
    by_city: dict[str, list[OrganizationRecord]] = defaultdict(list)
    for o in orgs:
        # Commissions are mostly supervisors; the incidents hit the units and hospitals they oversee.
        if o.kind != "HEALTH_COMMISSION" or o.level == "CITY":
            by_city[city_of(o.region_code)].append(o)
    out: list[_Incident] = []
    for month in range(1, 13):
        for city in sorted(by_city):
            if city == "320000":
                continue
            for _ in range(rng.randint(1, 4)):
                org = rng.choice(by_city[city])
                days = (date(YEAR + month // 12, month % 12 + 1, 1) - date(YEAR, month, 1)).days
                local = datetime(YEAR, month, rng.randint(1, days), rng.randint(8, 20), rng.randint(0, 59),
                                 tzinfo=CHINA)
                issued = min(local.astimezone(UTC), now - timedelta(hours=2))
                out.append(_incident(len(out), rng, org, _commission_of(org, by_id), assets[org.id], issued, now))
    return out


def alerts_of(seed: int, now: datetime, incidents: list[_Incident]) -> list[dict[str, Any]]:
    """Alerts of the 30 days before the world date and of its China day up to `now`; the notices of those
    days that the monitoring platform raised link back from an escalated alert."""
    rng = random.Random(f"jshealth-security-alerts:{seed}")
    watched = [a for a in world_assets(seed) if a.status == "IN_USE"]
    web = [a for a in watched if a.kind in ("DOMAIN", "APPLICATION")]
    region = {o.id: city_of(o.region_code) for o in organizations(seed)}
    today_start = datetime.combine(now.astimezone(CHINA).date(), datetime.min.time(), CHINA).astimezone(UTC)
    start = today_start - timedelta(days=ALERT_DAYS)
    rows: list[dict[str, Any]] = []

    def add(detected: datetime, asset: AssetRecord, category: str, severity: str, status: str,
            incident_id: str | None = None) -> None:
        n = len(rows) + 1
        handled_at = None
        if status != "OPEN":
            handled_at = min(detected + timedelta(minutes=rng.randint(5, 36 * 60)), now - timedelta(minutes=1))
        rows.append({
            "id": f"alr-{n:06d}", "source_id": f"JSJC-{detected.astimezone(CHINA):%Y%m%d}-{n:06d}",
            "severity": severity, "category": category,
            "attack_ip": None if category == "VULNERABILITY" else rng.choices(ATTACK_IPS, _IP_WEIGHTS)[0],
            "asset_id": asset.id, "org_id": asset.owner_id, "region_code": region.get(asset.owner_id),
            "detected_at": detected, "status": status, "handled_at": handled_at,
            "handled_by": None if handled_at is None else REVIEWER, "incident_id": incident_id,
        })

    minutes = int((now - start).total_seconds() // 60)
    for _ in range(minutes // 40):  # about 36 a day across the province
        detected = start + timedelta(minutes=rng.randrange(minutes))
        category = rng.choices(ALERT_CATEGORIES, _CATEGORY_WEIGHTS)[0]
        asset = rng.choice(web if category in ("VULNERABILITY", "WEB_ATTACK") else watched)
        age_days = (now - detected).days
        open_p = 0.5 if detected >= today_start else (0.15 if age_days < 7 else 0.04)
        r = rng.random()
        status = "OPEN" if r < open_p else ("FALSE_POSITIVE" if r < open_p + 0.1 else "HANDLED")
        add(detected, asset, category, rng.choices(ALERT_SEVERITIES, _ALERT_SEVERITY_WEIGHTS)[0], status)
    by_id = {a.id: a for a in watched}
    for inc in incidents:
        issued: datetime = inc.row["issued_at"]
        hit = [by_id[i] for i in inc.row["affected_asset_ids"] if i in by_id]
        if issued >= start and hit:
            add(issued - timedelta(hours=1), hit[0], "WEB_ATTACK", "HIGH", "HANDLED", inc.row["id"])
    rows.sort(key=lambda r: (r["detected_at"], r["id"]))
    return rows


async def seed_incidents(session: AsyncSession, seed: int, now: datetime) -> None:
    incidents = incidents_of(seed, now)
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (models.SecurityIncident, [i.row for i in incidents]),
        (models.IncidentRecipient, [r for i in incidents for r in i.recipients]),
        (models.DisposalReport, [i.report for i in incidents if i.report]),
        (models.DisposalChangeRequest, [c for i in incidents for c in i.changes]),
        (models.SecurityAlert, alerts_of(seed, now, incidents)),
    ]
    for table, rows in tables:
        for chunk in chunked(rows, CHUNK):
            await session.execute(insert(table), chunk)
