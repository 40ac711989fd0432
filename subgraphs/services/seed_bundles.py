"""Seeds the bundles (一件事): the newborn-birth definition and three others of Appendix B (definitions only),
and birth cases in every status for mothers of the synthetic world (db.seed.world) aged 20-42.

Each case is played forward in time from its creation, step by step in dependency order, and stops where `now`
cuts it: so a recent case is still 办理中 with a step being handled or returned, an old one archived. The
first cases are forced through one scenario each so that every status exists even in a small world. Ids are
deterministic (bc-seed-000001, its steps bcs-seed-000001-1 ...), and each case draws from its own random
stream. No outbox events are written: the departments' systems never saw these cases.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.seed.chunks import chunked
from db.seed.world import PersonRecord, age_on, persons
from subgraphs.common.app import SeedOptions
from subgraphs.common.validators import make_resident_id
from subgraphs.services import models
from subgraphs.services.domain import bundles as defs
from subgraphs.services.domain.bundle_cases import CaseStatus as CS
from subgraphs.services.domain.bundle_cases import StepStatus as SS
from subgraphs.services.domain.bundle_cases import business_id

MAX_CASES = 400
CHUNK = 2000
HOSPITALS = ("妇幼保健院", "第一人民医院", "人民医院", "中医院", "第二人民医院")
BANKS = ("中国工商银行", "中国农业银行", "中国银行", "中国建设银行", "江苏银行")
COMMUNITIES = ("东苑社区", "新华社区", "阳光社区", "长江社区", "桃园社区", "幸福社区")
GIVEN = "子涵浩然欣怡梓轩一诺宇辰诗涵沐阳若汐明轩语桐嘉懿思远安然"
RETURN_REASONS = {
    "BIRTH_CERTIFICATE": ("医疗机构名称与分娩信息不一致，请补正", "hospital"),
    "HUKOU": ("派出所信息有误，请补正", "policeStation"),
    "MEDICAL_INSURANCE": ("参保社区与户籍地不符，请补正", "insuranceCommunity"),
    "SOCIAL_SECURITY_CARD": ("所选合作金融机构在制卡区划暂不可用，请补正", "cardBank"),
}
FAILURES = ("部门系统接口超时，推送失败", "部门系统返回数据校验异常", "电子证照下载失败")


@dataclass(frozen=True)
class Scenario:
    kind: str = "flow"  # draft, abolished, cancelled (after the first step), flow
    age_days: float | None = None  # how long before `now` the case was created; None: drawn
    returned: str | None = None  # a step sent back for 补正 once
    failed: str | None = None  # a step that finishes abnormally
    fail_end: str = "repush"  # repush, leave, void, archive
    hold: bool = False  # the returned step waits for the applicant's 补正


# Every status, and a step in each state, whatever the world's size.
FORCED = (
    Scenario("draft", 2), Scenario("abolished", 20), Scenario("cancelled", 60), Scenario(age_days=200),
    Scenario(age_days=150, returned="HUKOU"), Scenario(age_days=90, failed="MEDICAL_INSURANCE", fail_end="void"),
    Scenario(age_days=80, failed="SOCIAL_SECURITY_CARD", fail_end="archive"),
    Scenario(age_days=0.5), Scenario(age_days=30, returned="MEDICAL_INSURANCE", hold=True),
    Scenario(age_days=30, failed="HUKOU", fail_end="leave"), Scenario(age_days=120, returned="BIRTH_CERTIFICATE"),
)


@dataclass
class _Case:
    """The rows of one case as it is played forward."""

    serial: int
    case: dict[str, Any]
    subs: list[dict[str, Any]] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def event(self, at: datetime, action: str, before: str | None, after: str, actor: str,
              step: str | None = None, comment: str | None = None) -> None:
        self.events.append({"case_id": self.case["id"], "step_code": step, "action": action,
                            "from_status": None if before is None else str(before), "to_status": str(after),
                            "actor": actor, "at": at, "comment": comment})
        self.case["updated_at"] = at

    def set_status(self, at: datetime, action: str, status: CS, actor: str, comment: str | None = None) -> None:
        self.event(at, action, self.case["status"], status, actor, comment=comment)
        self.case["status"] = status.value
        if status in (CS.ABOLISHED, CS.CANCELLED, CS.ARCHIVED, CS.VOIDED):
            self.case["finished_at"] = at


async def seed_bundles(session: AsyncSession, seed: int, now: datetime,
                       person_count: int = SeedOptions().persons) -> None:
    """The definitions (if missing) and the birth cases of world `seed`'s first `person_count` persons."""
    for spec in (defs.BIRTH_BUNDLE, *defs.OTHER_BUNDLES):
        if await session.get(models.Bundle, spec.code) is None:
            await defs.create(session, spec)
    already = await session.scalar(select(models.BundleCase.id).limit(1))
    if already is not None:
        return
    steps = defs.order(defs.BIRTH_BUNDLE.steps)
    built = list(_cases(seed, person_count, now, [s.code for s in steps]))
    for model, key in ((models.BundleCase, None), (models.BundleCaseVersion, "versions"),
                       (models.BundleSubCase, "subs"), (models.BundleEvent, "events")):
        rows = [b.case for b in built] if key is None else [r for b in built for r in getattr(b, key)]
        for chunk in chunked(rows, CHUNK):
            await session.execute(insert(model), chunk)


def _cases(seed: int, person_count: int, now: datetime, steps: list[str]) -> list[_Case]:
    people = list(persons(seed, person_count))
    mothers = [p for p in people if p.sex == "FEMALE" and 20 <= age_on(p.birth_date, now.date()) <= 42]
    fathers = [p for p in people if p.sex == "MALE" and 22 <= age_on(p.birth_date, now.date()) <= 50]
    if not mothers or not fathers:
        return []
    picker = random.Random(f"jshealth-bundles:{seed}")
    chosen = picker.sample(mothers, min(MAX_CASES, max(len(FORCED), len(mothers) * 2 // 3), len(mothers)))
    out = []
    for serial, mother in enumerate(chosen, start=1):
        rng = random.Random(f"jshealth-bundles:{seed}:{serial}")
        scenario = FORCED[serial - 1] if serial <= len(FORCED) else _draw(rng)
        out.append(_play(rng, serial, mother, rng.choice(fathers), now, steps, scenario))
    return out


def _draw(rng: random.Random) -> Scenario:
    roll = rng.random()
    if roll < 0.06:
        return Scenario("draft")
    if roll < 0.10:
        return Scenario("abolished")
    if roll < 0.13:
        return Scenario("cancelled")
    returned = rng.choice(("BIRTH_CERTIFICATE", "HUKOU", "MEDICAL_INSURANCE", "SOCIAL_SECURITY_CARD")) \
        if rng.random() < 0.12 else None
    failed = rng.choice(("HUKOU", "MEDICAL_INSURANCE", "SOCIAL_SECURITY_CARD")) if rng.random() < 0.08 else None
    return Scenario(returned=returned, failed=failed,
                    fail_end=rng.choice(("repush", "repush", "repush", "leave", "void", "archive")))


def _form(rng: random.Random, mother: PersonRecord, father: PersonRecord, born: datetime) -> dict[str, Any]:
    follows_father = rng.random() < 0.7
    head = father if follows_father else mother
    given = "".join(rng.sample(GIVEN, rng.choice((1, 2))))
    return {
        "babyName": father.name[0] + given, "babySex": rng.choice(("MALE", "FEMALE")),
        "birthTime": born.isoformat(), "hospital": rng.choice(HOSPITALS),
        "birthRegionCode": mother.residence_region,
        "motherName": mother.name, "motherIdNumber": mother.id_number,
        "fatherName": father.name, "fatherIdNumber": father.id_number,
        "certificatePickup": "SELF" if rng.random() < 0.9 else "AGENT",
        **({"agentName": father.name, "agentIdNumber": father.id_number} if rng.random() < 0.1 else {}),
        "householdHeadName": head.name, "householdHeadIdNumber": head.id_number,
        "hukouFollows": "FATHER" if follows_father else "MOTHER", "relationToHead": "子女",
        "policeStation": f"{mother.residence_region[:6]}派出所", "insuranceCommunity": rng.choice(COMMUNITIES),
        "insuranceStart": born.date().isoformat(), "cardPickup": rng.choice(("MAIL", "OFFLINE")),
        "cardBank": rng.choice(BANKS), "cardRegionCode": mother.residence_region[:6],
    }


def _result(rng: random.Random, step: str, form: dict[str, Any], at: datetime) -> dict[str, Any]:
    born = datetime.fromisoformat(form["birthTime"])
    if step == "BIRTH_CERTIFICATE":
        return {"certificateNumber": f"R32{rng.randrange(10**9):09d}"}
    if step == "HUKOU":
        sequence = rng.randrange(500) * 2 + (1 if form["babySex"] == "MALE" else 0)
        return {"babyIdNumber": make_resident_id(form["birthRegionCode"][:6], born.date(), sequence)}
    if step == "MEDICAL_INSURANCE":
        return {"insuredFrom": form["insuranceStart"], "community": form["insuranceCommunity"]}
    return {"cardNumber": f"J{rng.randrange(10**8):08d}", "cardStatus": "制卡中", "issuedAt": at.date().isoformat()}


def _play(rng: random.Random, serial: int, mother: PersonRecord, father: PersonRecord, now: datetime,
          steps: list[str], sc: Scenario) -> _Case:
    age = sc.age_days if sc.age_days is not None else rng.uniform(0.5, 365)
    created = now - timedelta(days=age)
    born = created - timedelta(days=rng.uniform(1, 20))
    form = _form(rng, mother, father, born)
    case_id = f"bc-seed-{serial:06d}"
    c = _Case(serial, {
        "id": case_id, "business_id": business_id(created, f"{serial:010d}"), "bundle_code": defs.BIRTH,
        "applicant_uid": mother.uid, "status": CS.DRAFT.value, "form": form, "version": 1,
        "channel": rng.choice(("APP", "APP", "PC", "WECHAT", "ALIPAY")), "region_code": form["birthRegionCode"],
        "cancel_reason": None, "created_at": created, "submitted_at": None, "finished_at": None,
        "updated_at": created})
    applicant = mother.uid
    c.event(created, "CREATE", None, CS.DRAFT, applicant)
    t = created + timedelta(minutes=rng.uniform(3, 40))

    def clock(low_hours: float, high_hours: float) -> bool:
        nonlocal t
        t = t + timedelta(hours=rng.uniform(low_hours, high_hours))
        return t < now

    if sc.kind == "draft" or t >= now:
        return c
    if sc.kind == "abolished":
        c.set_status(t, "ABOLISH", CS.ABOLISHED, applicant)
        return c
    c.set_status(t, "SUBMIT", CS.IN_PROGRESS, applicant)
    c.case["submitted_at"] = t
    c.versions.append({"case_id": case_id, "version": 1, "form": dict(form), "corrected_step": None,
                       "created_by": applicant, "created_at": t, "superseded_at": None})
    subs: dict[str, dict[str, Any]] = {}
    for ordinal, step in enumerate(steps, start=1):
        sub = {"id": f"bcs-seed-{serial:06d}-{ordinal}", "case_id": case_id, "step_code": step,
               "status": SS.WAITING.value, "version": 1, "dispatched_at": None, "finished_at": None, "attempts": 0,
               "result": {}, "message": None, "updated_at": t}
        subs[step] = sub
        c.subs.append(sub)
        c.event(t, "CREATE_STEP", None, SS.WAITING, "system", step=step)

    def dispatch(step: str, action: str, actor: str = "system") -> None:
        sub = subs[step]
        c.event(t, action, sub["status"], SS.IN_PROGRESS, actor, step=step, comment=f"attempt {sub['attempts'] + 1}")
        sub.update(status=SS.IN_PROGRESS.value, version=c.case["version"], attempts=sub["attempts"] + 1,
                   dispatched_at=t, finished_at=None, message=None, updated_at=t)

    def finish(step: str, status: SS, message: str | None = None, result: dict[str, Any] | None = None) -> None:
        sub = subs[step]
        c.event(t, f"STEP_{status.value}", SS.IN_PROGRESS, status, f"{step.lower()}-system", step=step,
                comment=message)
        sub.update(status=status.value, message=message, result=result or {}, updated_at=t,
                   finished_at=None if status is SS.RETURNED else t)

    for step in steps:
        dispatch(step, "DISPATCH")
        returned, failed = sc.returned == step, sc.failed == step
        while True:
            if not clock(2, 96):
                return c
            if returned:
                returned = False
                reason, changed = RETURN_REASONS[step]
                finish(step, SS.RETURNED, reason)
                if sc.hold or not clock(4, 72):
                    return c
                _correct(c, t, step, changed, rng, applicant)
                dispatch(step, "CORRECTION")
                continue
            if failed:
                failed = False
                finish(step, SS.FAILED, rng.choice(FAILURES))
                if not clock(1, 48):
                    return c
                if sc.fail_end == "repush":
                    dispatch(step, "REPUSH", "operator-seed")
                    continue
                if sc.fail_end == "void":
                    c.case["cancel_reason"] = "部门异常办结，申请人线下办理"
                    c.set_status(t, "VOID", CS.VOIDED, "operator-seed", c.case["cancel_reason"])
                elif sc.fail_end == "archive":
                    c.set_status(t, "ARCHIVE", CS.ARCHIVED, "operator-seed", "manual: a step finished abnormally")
                return c
            finish(step, SS.DONE, result=_result(rng, step, c.case["form"], t))
            break
        if sc.kind == "cancelled":
            if clock(1, 24):
                c.case["cancel_reason"] = "申请人要求撤回，线下办理"
                c.set_status(t, "CANCEL", CS.CANCELLED, "operator-seed", c.case["cancel_reason"])
            return c
    c.set_status(t, "COMPLETE", CS.COMPLETED, "system")
    c.set_status(t, "ARCHIVE", CS.ARCHIVED, "system", "automatic: every step finished normally")
    return c


def _correct(c: _Case, at: datetime, step: str, key: str, rng: random.Random, actor: str) -> None:
    """补正: the field the department objected to changes; the current version is marked 已被补正."""
    form = dict(c.case["form"])
    pools = {"hospital": HOSPITALS, "insuranceCommunity": COMMUNITIES, "cardBank": BANKS}
    if key == "policeStation":
        form[key] = form[key].replace("派出所", "城区派出所")
    else:
        form[key] = rng.choice([v for v in pools[key] if v != form[key]])
    c.versions[-1]["superseded_at"] = at
    c.case["version"] += 1
    c.case["form"] = form
    c.versions.append({"case_id": c.case["id"], "version": c.case["version"], "form": form, "corrected_step": step,
                       "created_by": actor, "created_at": at, "superseded_at": None})
    c.event(at, "CORRECT", SS.RETURNED, SS.RETURNED, actor, step=step, comment=f"version {c.case['version']}: {key}")
