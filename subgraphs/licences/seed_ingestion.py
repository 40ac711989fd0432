"""Seeds the ingestion side of the library (归集与质控): upload permissions for the upstream systems, their
authentication log, and a few real batches run through domain/ingestion.ingest, so the quality screens have
something true to show:

* 医师执业证书 from the doctor registry: a stock batch (passed) and a real-time update of one certificate;
* 无偿献血证 from the blood system: passed, one phone number malformed (QC-CONTACT warning, ticket open);
* 健康证 from an exam centre: rejected, one ID number with a wrong check character (ticket open);
* 医疗机构执业许可证 from the institution registry: rejected, one 批准日期 written 2023/05/12 (ticket open);
* 医师资格证书 from the HR system: rejected for a missing 资格证书编码, resubmitted corrected (ticket closed);
* one refused attempt (an exam centre trying to upload nurse certificates), on the authentication log.

Holders are synthetic persons of their own (not the world's), numbers carry a JS prefix that no other seeded
number has, and everything follows from `seed`. About 120 records.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.validators import make_resident_id, make_uscc
from subgraphs.licences.codes import IngestionMode, LicenceTypeCode
from subgraphs.licences.domain import ingestion

T = LicenceTypeCode
GRANTED_BY = "system:seed"
# (principal, 归集来源, types it may upload)
CLIENTS: tuple[tuple[str, str, tuple[T, ...]], ...] = (
    ("client-doctor-registry", "江苏省医师电子化注册系统", (T.PHYSICIAN_PRACTICE,)),
    ("client-nurse-registry", "江苏省护士电子化注册系统", (T.NURSE_PRACTICE,)),
    ("client-blood-system", "江苏省血液信息联网综合管理系统", (T.BLOOD_DONATION, T.BLOOD_DONATION_HONOUR)),
    ("client-institution-registry", "江苏省医疗机构电子化注册系统", (T.MEDICAL_INSTITUTION_PRACTICE,)),
    ("client-hr-system", "省卫生人力资源系统", (T.PHYSICIAN_QUALIFICATION,)),
    ("client-exam-centre", "从业人员健康体检信息系统", (T.HEALTH_CERTIFICATE,)),
)
SOURCE = {principal: source for principal, source, _ in CLIENTS}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红"
REGIONS = ("320102", "320104", "320205", "320303", "320411", "320506", "320602", "320703", "320812", "321002")
CITY_HC = {"3201": "南京市卫生健康委员会", "3202": "无锡市卫生健康委员会", "3203": "徐州市卫生健康委员会",
           "3204": "常州市卫生健康委员会", "3205": "苏州市卫生健康委员会", "3206": "南通市卫生健康委员会",
           "3207": "连云港市卫生健康委员会", "3208": "淮安市卫生健康委员会", "3210": "扬州市卫生健康委员会"}
HOSPITALS = ("南京鼓楼医院", "江苏省人民医院", "苏州大学附属第一医院", "无锡市人民医院", "徐州医科大学附属医院")


class Samples:
    """Synthetic holders and dates, one stream per seed."""

    def __init__(self, seed: int, today: date) -> None:
        self.rng = random.Random(f"jshealth-licences-ingestion:{seed}")
        self.today = today
        self.used: set[str] = set()

    def person(self, min_age: int = 25, max_age: int = 60) -> dict[str, Any]:
        rng = self.rng
        while True:
            born = self.today - timedelta(days=rng.randrange(min_age * 365, max_age * 365))
            region = rng.choice(REGIONS)
            sequence = rng.randrange(1000)
            number = make_resident_id(region, born, sequence)
            if number not in self.used:
                self.used.add(number)
                break
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        return {"holderName": name, "holderSex": "MALE" if sequence % 2 else "FEMALE", "holderIdNumber": number,
                "_region": region, "_born": born}

    def day_within(self, years: int) -> date:
        return self.today - timedelta(days=self.rng.randrange(30, years * 365))


def _years(day: date, years: int) -> date:
    """The day `years` later, less one day: the last day of a validity of that many years."""
    try:
        return day.replace(year=day.year + years) - timedelta(days=1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in record.items() if not k.startswith("_")}


def physicians(s: Samples, count: int) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        p = s.person()
        issued = s.day_within(5)
        out.append(_plain({
            **p, "number": f"JS02{issued.year}{i + 1:06d}", "practiceCategory": s.rng.choice(("临床", "中医", "口腔")),
            "practiceScope": "内科专业", "practiceInstitutionName": s.rng.choice(HOSPITALS),
            "issuerName": CITY_HC[p["_region"][:4]], "issuedAt": issued, "validFrom": issued,
            "validUntil": _years(issued, 5), "sourceStatus": "正常",
            "registeredAt": issued}))
    return out


def donations(s: Samples, count: int) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        p = s.person(18, 55)
        day = s.day_within(3)
        out.append(_plain({
            **p, "number": f"JS04{day.year}{i + 1:06d}", "birthDate": p["_born"],
            "contact": f"1{s.rng.choice('3589')}{s.rng.randrange(10 ** 9):09d}", "issuerName": "江苏省血液中心",
            "donationTime": day, "donationVolume": s.rng.choice((200, 300, 400)), "donationPlace": "南京新街口献血屋",
            "bloodType": s.rng.choice(("A", "B", "O", "AB")), "sourceStatus": "正常", "issuedAt": day}))
    return out


def health_certificates(s: Samples, count: int) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        p = s.person(18, 55)
        day = s.day_within(1)
        out.append(_plain({
            **p, "number": f"JS11{day.year}{i + 1:06d}", "holderIdType": "居民身份证",
            "mobile": f"1{s.rng.choice('3589')}{s.rng.randrange(10 ** 9):09d}",
            "certCategory": s.rng.choice(("食品", "公共场所")),
            "certName": "从业人员健康证明", "issuerName": "南京市玄武区疾病预防控制中心", "validFrom": day,
            "validUntil": _years(day, 1), "issuedAt": day, "examDate": day}))
    return out


def institutions(s: Samples, count: int) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        issued = s.day_within(5)
        region = s.rng.choice(REGIONS)
        code = make_uscc("1", "2", region, f"{s.rng.randrange(10 ** 8):08d}")
        out.append(_plain({
            "number": f"JS01{region}{i + 1:05d}", "holderName": f"江苏健康样例第{i + 1}门诊部",
            "holderCreditCode": code,
            "address": "江苏省南京市玄武区中山路1号", "legalRepresentative": "王建国", "principal": "李敏",
            "issuerName": CITY_HC[region[:4]], "issuedAt": issued, "clinicalSubjects": ["内科", "外科"],
            "validFrom": issued, "validUntil": _years(issued, 5)}))
    return out


def qualifications(s: Samples, count: int) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        p = s.person(25, 60)
        issued = s.day_within(10)
        out.append(_plain({
            **p, "number": f"JS06{issued.year}{i + 1:06d}", "birthDate": p["_born"], "physicianLevel": "执业医师",
            "physicianCategory": "临床", "institutionName": s.rng.choice(HOSPITALS),
            "issuerName": "江苏省卫生健康委员会",
            "graduatedSchool": "南京医科大学", "educationLevel": "本科", "major": "临床医学", "issuedAt": issued}))
    return out


def _wrong_check_character(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


async def _batch(session: AsyncSession, principal: str, type_code: T, records: list[dict[str, Any]], at: datetime,
                 mode: IngestionMode = IngestionMode.STOCK, resubmission_of: str | None = None) -> str:
    assert await ingestion.authenticate(session, principal, type_code, at)
    batch = await ingestion.ingest(session, principal, type_code, records, mode, SOURCE[principal],
                                   resubmission_of=resubmission_of, now=at)
    return batch.id


async def seed_quality_samples(session: AsyncSession, seed: int, now: datetime) -> None:
    at = iter(now + timedelta(minutes=5 * i) for i in range(100))
    for principal, _, types in CLIENTS:
        for type_code in types:
            await ingestion.grant(session, principal, type_code, GRANTED_BY, next(at))
    s = Samples(seed, (now - timedelta(days=1)).date())

    doctors = physicians(s, 30)
    await _batch(session, "client-doctor-registry", T.PHYSICIAN_PRACTICE, doctors, next(at))
    moved = {**doctors[0], "practiceInstitutionName": "江苏省中医院"}  # 变更执业地点, sent in real time
    await _batch(session, "client-doctor-registry", T.PHYSICIAN_PRACTICE, [moved], next(at), IngestionMode.INCREMENTAL)

    donors = donations(s, 25)
    donors[3]["contact"] = donors[3]["contact"][:-1]  # a digit short: stored, with a QC-CONTACT warning
    await _batch(session, "client-blood-system", T.BLOOD_DONATION, donors, next(at))

    certificates = health_certificates(s, 20)
    certificates[7]["holderIdNumber"] = _wrong_check_character(certificates[7]["holderIdNumber"])
    await _batch(session, "client-exam-centre", T.HEALTH_CERTIFICATE, certificates, next(at))

    clinics = institutions(s, 10)
    clinics[2]["issuedAt"] = clinics[2]["issuedAt"].replace("-", "/")  # 2023/05/12: QC-BIZDATE-FMT
    await _batch(session, "client-institution-registry", T.MEDICAL_INSTITUTION_PRACTICE, clinics, next(at))

    qualified = qualifications(s, 15)
    missing = [dict(r) for r in qualified]
    del missing[5]["number"]  # QC-PK-NOTNULL: the batch is rejected
    rejected = await _batch(session, "client-hr-system", T.PHYSICIAN_QUALIFICATION, missing, next(at))
    await _batch(session, "client-hr-system", T.PHYSICIAN_QUALIFICATION, qualified, next(at),
                 resubmission_of=rejected)

    # An exam centre trying a type it was never granted: refused, and on the authentication log.
    assert not await ingestion.authenticate(session, "client-exam-centre", T.NURSE_PRACTICE, next(at))
