"""Seeds operations: ~30 ops staff, a year of tickets with their event histories, drills with files and
viewers, and a dozen security notices with their deliveries and materials.

Deterministic in (seed, now): one private random stream, ids derived from positions, times relative to
`now`. Each ticket's history is simulated step by step with the same TRANSITIONS the API uses and cut at
`now`, so recent tickets are still open and old ones are closed, and every history is one the state
machine could have produced.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.seed.world import OrganizationRecord, _username_prefix, organizations
from subgraphs.security import models
from subgraphs.security.domain.tickets import FAULT_TYPES, RATING_WINDOW, TRANSITIONS, Action, Status

_CITIES = ("320100", "320200", "320300", "320400", "320500", "320600", "320700", "320800", "320900", "321000",
           "321100", "321200", "321300")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = ("伟", "芳", "强", "敏", "军", "磊", "洋", "勇", "杰", "涛", "明", "超", "华", "鹏", "斌", "宁")
_DESCRIPTIONS = {
    "NETWORK": ("门诊楼三层网络中断", "院区专线丢包严重", "无线网络频繁掉线"),
    "SERVER": ("HIS应用服务器宕机", "服务器磁盘空间告警", "虚拟化主机CPU持续满载"),
    "APPLICATION": ("挂号系统无法登录", "电子病历保存报错", "检验报告无法打印"),
    "TERMINAL": ("自助机黑屏", "收费终端无法启动", "打印机驱动异常"),
    "SECURITY": ("终端杀毒软件告警", "门户网站疑似被篡改", "发现异常外联流量"),
    "DATABASE": ("数据库连接数耗尽", "数据库备份失败", "查询响应缓慢"),
    "OTHER": ("机房空调告警", "UPS电池告警", "账号权限调整"),
}
_REDISPATCH_REASONS = ("原处理人请假", "需要数据库专业支持", "故障超出原处理人技能范围", "现场距离过远，改派就近人员")
_RESULTS = ("更换故障设备后恢复", "重启服务后恢复正常", "调整配置并验证通过", "清理磁盘空间并设置告警阈值",
            "修复补丁并复测")
_COMMENTS = ("响应及时，处理专业", "处理很快", "态度很好", None, None)
_REOPEN_REASONS = ("问题复现，未彻底解决", "仅部分恢复")
_DISPATCHER = "usr-ops_dispatcher_01"
_ADMIN = "usr-sec_admin_01"
_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _requester(org: OrganizationRecord) -> str:
    """The organisation's first staff account, which the world always creates (db.seed.world.users)."""
    _, code, suffix = org.id.split("-", 2)
    return f"usr-{_username_prefix(code)}_{suffix}_01"


def _staff(rng: random.Random) -> list[dict[str, Any]]:
    faults = list(FAULT_TYPES)
    out = []
    for i in range(30):
        # Everyone covers one fault type in rotation, so every type has staff; then 1-2 more.
        skills = {faults[i % len(faults)], *rng.sample(faults, rng.randint(1, 2))}
        out.append({"user_id": f"usr-ops_eng_{i + 1:02d}", "name": rng.choice(_SURNAMES) + rng.choice(_GIVEN)
                    + rng.choice(("", *_GIVEN)), "skills": sorted(skills), "region_code": _CITIES[i % len(_CITIES)],
                    "active": i % 15 != 14})
    return out


def _pick_handler(rng: random.Random, staff: list[dict[str, Any]], fault: str, city: str | None,
                  exclude: str | None = None) -> str:
    skilled = [s for s in staff if s["active"] and fault in s["skills"] and s["user_id"] != exclude]
    local = [s for s in skilled if s["region_code"] == city]
    return str(rng.choice(local or skilled)["user_id"])


class _Ticket:
    """One ticket's simulated life: steps are taken only while their time is before `now`."""

    def __init__(self, row: dict[str, Any], now: datetime) -> None:
        self.row, self.now = row, now
        self.events: list[dict[str, Any]] = []
        self.at: datetime = row["created_at"]

    def step(self, action: Action, actor: str, delay: timedelta, **detail: Any) -> bool:
        at = self.at + delay
        if at > self.now:
            return False
        before = Status(self.row["status"])
        after = TRANSITIONS[(before, action)]
        self.row.update(status=after.value, updated_at=at)
        self.events.append({"ticket_id": self.row["id"], "action": action.value, "from_status": before.value,
                            "to_status": after.value, "actor": actor, "at": at, "detail": detail})
        self.at = at
        return True


def _simulate(rng: random.Random, t: _Ticket, staff: list[dict[str, Any]]) -> None:
    row = t.row
    fault, city = row["fault_type"], row["region_code"]
    minutes = lambda a, b: timedelta(minutes=rng.randint(a, b))  # noqa: E731
    if row["origin"] == "REQUESTED" and rng.random() < 0.05:
        t.step(Action.REJECT, _DISPATCHER, minutes(10, 240), reason="非运维范围，请联系厂商")
        return
    handler = _pick_handler(rng, staff, fault, city)
    delay = timedelta(0) if row["origin"] == "CENTRE" else minutes(10, 120)
    if not t.step(Action.DISPATCH, _DISPATCHER, delay, handler=handler, previousHandler=None):
        return
    row.update(handler=handler, dispatched_by=_DISPATCHER, dispatch_count=1)
    if rng.random() < 0.12:
        other = _pick_handler(rng, staff, fault, None, exclude=handler)
        if not t.step(Action.REDISPATCH, _DISPATCHER, minutes(30, 240), reason=rng.choice(_REDISPATCH_REASONS),
                      handler=other, previousHandler=handler):
            return
        row.update(handler=other, dispatch_count=2)
    if not t.step(Action.ACCEPT, row["handler"], minutes(5, 8 * 60)):
        return
    for attempt in range(2):
        result = rng.choice(_RESULTS)
        if not t.step(Action.RESOLVE, row["handler"], minutes(30, 48 * 60), result=result):
            return
        row.update(result=result, resolved_at=t.at)
        if attempt == 0 and rng.random() < 0.06:
            if not t.step(Action.REOPEN, row["requester"], minutes(60, 24 * 60), reason=rng.choice(_REOPEN_REASONS)):
                return
            row["resolved_at"] = None
            continue
        break
    if rng.random() < 0.15:
        # Never rated: the job closes it when the rating window is over.
        if t.step(Action.EXPIRE, "system", RATING_WINDOW):
            row["closed_at"] = t.at
        return
    rating = rng.choices((5, 4, 3, 2, 1), (55, 30, 9, 4, 2))[0]
    comment = rng.choice(_COMMENTS)
    if not t.step(Action.EVALUATE, row["requester"], minutes(60, 5 * 24 * 60), rating=rating, comment=comment):
        return
    row.update(rating=rating, comment=comment)
    if t.step(Action.CLOSE, _DISPATCHER, minutes(30, 3 * 24 * 60)):
        row["closed_at"] = t.at


def _tickets(rng: random.Random, orgs: list[OrganizationRecord], staff: list[dict[str, Any]],
             now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    units = [o for o in orgs if o.kind != "CLINIC"]
    count = max(60, len(orgs) // 3)
    rows, events = [], []
    for i in range(count):
        org = rng.choice(units)
        fault = rng.choice(list(FAULT_TYPES))
        # One ticket in ten is from the last three days, so the open states are well represented.
        age = timedelta(minutes=rng.randint(5, 6 * 60 if i % 20 == 0 else 3 * 24 * 60)) if i % 10 == 0 else timedelta(
            days=rng.randint(3, 365), minutes=rng.randint(0, 1439))
        created = now - age
        origin = "CENTRE" if rng.random() < 0.25 else "REQUESTED"
        row: dict[str, Any] = {
            "id": f"tkt-seed-{i:05d}", "number": f"YW{created:%Y%m%d}S{i:05d}", "requester": _requester(org),
            "org_id": org.id, "region_code": org.region_code[:4] + "00", "fault_type": fault,
            "description": rng.choice(_DESCRIPTIONS[fault]), "origin": origin, "status": Status.SUBMITTED.value,
            "handler": None, "dispatched_by": None, "dispatch_count": 0, "result": None, "rating": None,
            "comment": None, "created_at": created, "resolved_at": None, "closed_at": None, "updated_at": created,
        }
        t = _Ticket(row, now)
        t.events.append({"ticket_id": row["id"], "action": "SUBMITTED", "from_status": None,
                         "to_status": Status.SUBMITTED.value, "actor": _DISPATCHER if origin == "CENTRE"
                         else row["requester"], "at": created, "detail": {"origin": origin}})
        _simulate(rng, t, staff)
        rows.append(row)
        events.extend(t.events)
    return rows, events


def _file(drill_id: str, n: int, phase: str, name: str, content: bytes, at: datetime) -> dict[str, Any]:
    return {"id": f"dfl-{drill_id[4:]}-{n}", "drill_id": drill_id, "phase": phase, "name": name,
            "content_type": "PDF" if content.startswith(b"%PDF-") else "TEXT", "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(), "content": content, "uploaded_by": _ADMIN,
            "uploaded_at": at}


async def _seed_drills(session: AsyncSession, rng: random.Random, orgs: list[OrganizationRecord],
                       now: datetime) -> None:
    hospitals = [o.id for o in orgs if o.kind == "HOSPITAL"]
    plans = [("drl-seed-1", "全省卫生健康行业网络攻防实战演练", "LIVE", 3, 200),
             ("drl-seed-2", "勒索病毒应急处置桌面推演", "TABLETOP", 1, 120),
             ("drl-seed-3", "数据泄露事件联合演练", "LIVE", 2, 40)]
    drills, files, viewers, views = [], [], [], []
    for drill_id, name, kind, level, days_ago in plans:
        start = now - timedelta(days=days_ago)
        participants = sorted(rng.sample(hospitals, min(5, len(hospitals))))
        drills.append({"id": drill_id, "name": name, "drill_type": kind, "sensitivity": level,
                       "org_ids": participants, "started_on": start.date(),
                       "ended_on": (start + timedelta(days=5)).date(), "score": rng.randint(70, 95),
                       "created_by": _ADMIN, "created_at": start - timedelta(days=20)})
        log = f"{start:%Y-%m-%d} 09:00 演练开始\n{start:%Y-%m-%d} 10:32 发现异常登录并处置\n".encode()
        files += [_file(drill_id, 1, "PLAN", "演练方案.pdf", _PDF, start - timedelta(days=10)),
                  _file(drill_id, 2, "EXECUTION", "过程日志.txt", log, start + timedelta(days=5)),
                  _file(drill_id, 3, "EVALUATION", "结果评估报告.pdf", _PDF, start + timedelta(days=12))]
        viewers.append({"drill_id": drill_id, "principal": "org:org-320000-hc", "max_sensitivity": 3,
                        "granted_by": _ADMIN, "granted_at": start - timedelta(days=19)})
        for org_id in participants[:2]:
            viewers.append({"drill_id": drill_id, "principal": f"org:{org_id}", "max_sensitivity": level,
                            "granted_by": _ADMIN, "granted_at": start - timedelta(days=19)})
        views.append({"drill_id": drill_id, "viewer": _ADMIN, "content": "drill",
                      "at": start + timedelta(days=13)})
    await session.execute(insert(models.Drill), drills)
    await session.execute(insert(models.DrillFile), files)
    await session.execute(insert(models.DrillViewer), viewers)
    await session.execute(insert(models.DrillViewLog), views)


_NOTICES = (
    ("POLICY", "关于印发《医疗卫生机构网络安全管理办法》的通知", False),
    ("ARRANGEMENT", "关于开展2026年网络安全自查工作的通知", True),
    ("RISK", "关于防范勒索病毒攻击的风险提示", False),
    ("ARRANGEMENT", "关于报送互联网资产台账的通知", True),
    ("POLICY", "关于加强数据安全管理的通知", False),
    ("RISK", "关于Apache组件高危漏洞的风险提示", False),
    ("ARRANGEMENT", "关于开展等级保护测评工作的通知", True),
    ("ARRANGEMENT", "关于做好重大活动期间网络安全保障工作的通知", True),
    ("RISK", "关于钓鱼邮件攻击的风险提示", False),
    ("POLICY", "关于落实网络安全责任制的通知", False),
    ("ARRANGEMENT", "关于报送网络安全应急预案的通知", True),
    ("ARRANGEMENT", "关于开展软件正版化检查的通知", True),
)
_MATERIALS = [{"code": "REPORT", "name": "自查报告", "required": True},
              {"code": "LEDGER", "name": "台账表", "required": True},
              {"code": "PHOTOS", "name": "现场照片", "required": False}]


async def _seed_notices(session: AsyncSession, rng: random.Random, orgs: list[OrganizationRecord],
                        now: datetime) -> None:
    units = [o.id for o in orgs if o.kind in ("HEALTH_COMMISSION", "HOSPITAL")]
    notices: list[dict[str, Any]] = []
    deliveries: list[tuple[models.NoticeDelivery, list[str], datetime]] = []
    for i, (kind, title, asks) in enumerate(_NOTICES):
        published = now - timedelta(days=330 - i * 28)
        # The last two notices' deadlines are still ahead, about to pass.
        deadline = published + timedelta(days=14) if i < 10 else now + timedelta(hours=20 + i)
        notice_id = f"ntc-seed-{i + 1:02d}"
        notices.append({"id": notice_id, "notice_type": kind, "title": title, "content": f"{title}，请各单位认真落实。",
                        "channels": ["POPUP", "EMAIL", "SMS"] if kind == "RISK" else ["POPUP", "EMAIL"],
                        "materials": _MATERIALS if asks else [], "material_deadline": deadline if asks else None,
                        "status": "WITHDRAWN" if i == 9 else "PUBLISHED",
                        "edit_reason": "通知已被新文件替代" if i == 9 else None,
                        "sender": _ADMIN, "published_at": published, "updated_at": published})
        for org_id in sorted(rng.sample(units, min(20, len(units)))):
            r = rng.random()
            status = "READ" if r < 0.75 else "UNREAD" if r < 0.93 else "REFUSED"
            d = models.NoticeDelivery(
                notice_id=notice_id, org_id=org_id, status=status, reminders=0,
                read_at=published + timedelta(hours=rng.randint(1, 72)) if status != "UNREAD" else None,
                refusal_reason="非本单位职责范围" if status == "REFUSED" else None)
            codes: list[str] = []
            at = published + timedelta(days=rng.randint(1, 13))
            if asks:
                m = rng.random()
                # Only units that read the notice submit anything.
                if status == "READ":
                    codes = ["REPORT", "LEDGER"] if m < 0.7 else ["REPORT"] if m < 0.85 else []
                complete = len(codes) == 2
                d.material_status = "COMPLETE" if complete else "MISSING"
                d.submitted_at = at if codes else None
                if complete and rng.random() < 0.1:
                    d.material_status, d.review_note = "NON_COMPLIANT", "台账表缺少负责人签字，请补充后重新报送"
                if not complete and deadline < now:
                    d.reminders, d.last_reminded_at = rng.randint(1, 3), deadline + timedelta(days=1)
            deliveries.append((d, codes, at))
    await session.execute(insert(models.SecurityNotice), notices)
    # Deliveries get their ids from the database (an explicit id would leave PostgreSQL's sequence behind).
    session.add_all([d for d, _, _ in deliveries])
    await session.flush()
    materials = [
        {"id": f"nmt-seed-{d.id}-{k}", "delivery_id": d.id, "code": code, "name": f"{code.lower()}.pdf",
         "content_type": "PDF", "size": len(_PDF), "sha256": hashlib.sha256(_PDF).hexdigest(), "content": _PDF,
         "submitted_by": _requester_of(orgs, d.org_id), "submitted_at": at}
        for d, codes, at in deliveries for k, code in enumerate(codes)
    ]
    if materials:
        await session.execute(insert(models.NoticeMaterial), materials)


def _requester_of(orgs: list[OrganizationRecord], org_id: str) -> str:
    return _requester(next(o for o in orgs if o.id == org_id))


async def seed_ops(session: AsyncSession, seed: int, now: datetime) -> None:
    """Seed ops staff, tickets, drills and notices (the lead calls it from seed.py)."""
    rng = random.Random(f"jshealth-security-ops:{seed}")
    orgs = organizations(seed)
    staff = _staff(rng)
    await session.execute(insert(models.OpsStaff), staff)
    tickets, events = _tickets(rng, orgs, staff, now)
    await session.execute(insert(models.OpsTicket), tickets)
    await session.execute(insert(models.OpsTicketEvent), events)
    await _seed_drills(session, rng, orgs, now)
    await _seed_notices(session, rng, orgs, now)
