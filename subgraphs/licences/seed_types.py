"""The seeded licences of the ten types besides nurse certificates, type by type (see seed_world.py for the
holders and places, docs/licences/seed-and-events.md for the numbers).

Number formats (the tender fixes none; each keeps numbers unique within its type without a lookup and never
collides with another type's format):

==== ============================================================== =====================
type format                                                         example
==== ============================================================== =====================
1    organisation code (9) + county (6) + class A-D + 1/2 + 001      466012345320102A1001
2    1 + level 1/2 + category 1-4 + 32 + registration year + seq 6   111322019000042
4    city (4) + donation year + seq 7                                320120230000012
5    RY32 + year of issue + seq 6                                    RY322024000007
6    year + level 1/2 + category 10-40 + 32 + seq 8                  20111103200000005
7    XC + county (6) + registration year + seq 4                     XC32010220150001
8    ZC32 + registration year + seq 5                                ZC32202100003
9    ZZ32 + year of issue + seq 5 (= the 专长认定编号 on type 8)       ZZ32202000003
10   ZYBA + county (6) + filing year + seq 3                         ZYBA3201022019001
11   JK + county (6) + year of issue + seq 6                         JK3201022025000031
==== ============================================================== =====================
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from db.seed.world import WORLD_DATE, OrganizationRecord, PersonRecord, age_on
from subgraphs.licences.codes import LicenceTypeCode as T
from subgraphs.licences.seed_world import (
    ID_TYPE_RESIDENT,
    JIANGSU,
    LAST_DAY,
    PROVINCE_HC,
    Places,
    Sequences,
    a_name,
    add_years,
    between,
    collected,
    current_period,
    issued_by,
    licence_row,
    maybe_revoked,
    of_org,
    of_person,
    until,
)

Row = dict[str, Any]
# Records that break a governance rule of 6.5.1.2 (a wrong USCC check character, a malformed phone number,
# an age that contradicts the ID number): stored as the source sent them, for quality control to find.
DEFECT_P = 0.015
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _rng(seed: int, kind: str, key: object) -> random.Random:
    return random.Random(f"jshealth-licences:{seed}:{kind}:{key}")


def _bad_credit_code(code: str, rng: random.Random) -> str:
    return code[:-1] + rng.choice([c for c in _USCC_CHARS if c != code[-1]])


def _bad_phone(phone: str) -> str:
    return phone[:-1]  # ten digits


# --- physicians: 医师资格证书 (6) and 医师执业证书 (2) --------------------------------------------------

# (执业类别, code digit, weight, 执业范围, 所学专业)
_CATEGORIES = (
    ("临床", 1, 70, ("内科专业", "外科专业", "妇产科专业", "儿科专业", "急救医学专业", "全科医学专业",
                    "医学影像和放射治疗专业", "眼耳鼻咽喉科专业"), "临床医学"),
    ("中医", 2, 15, ("中医专业", "中西医结合专业"), "中医学"),
    ("口腔", 3, 8, ("口腔专业",), "口腔医学"),
    ("公共卫生", 4, 7, ("公共卫生类别专业",), "预防医学"),
)
_UNIVERSITIES = ("南京医科大学", "苏州大学医学部", "东南大学医学院", "徐州医科大学", "南京中医药大学", "扬州大学医学院",
                 "南通大学医学院", "江苏大学医学院")
_COLLEGES = ("江苏医药职业学院", "盐城卫生职业技术学院", "江苏卫生健康职业学院", "南京卫生高等职业技术学校")
PRACTISING_P = 0.9  # the rest hold the qualification only
_PHYSICIAN_CANCELLED = ("注销注册（本人申请）", "注销注册（中止执业活动满二年）", "注销注册（考核不合格）")


def physicians(seed: int, people: list[PersonRecord], places: Places) -> Iterator[Row]:
    seq = Sequences()
    province = places.by_id[PROVINCE_HC]
    for p in people:
        rng = _rng(seed, "physician", p.index)
        assistant = rng.random() < 0.15
        category, digit, _w, scopes, major = rng.choices(_CATEGORIES, [c[2] for c in _CATEGORIES])[0]
        level = "执业助理医师" if assistant else "执业医师"
        qualified = min(between(rng, add_years(p.birth_date, 23), add_years(p.birth_date, 27)), LAST_DAY)
        if rng.random() < 0.2:
            place = places.centre_of_township[p.residence_region]
        else:
            place = places.hospital_near(rng, p.residence_region)
        education = rng.choice(("大专", "中专")) if assistant else rng.choices(
            ("本科", "硕士研究生", "博士研究生"), (70, 25, 5))[0]
        school = rng.choice(_COLLEGES if assistant else _UNIVERSITIES)
        number = f"{qualified.year}{2 if assistant else 1}{digit}0{JIANGSU}{seq.next(('pq', qualified.year)):08d}"
        yield licence_row(
            T.PHYSICIAN_QUALIFICATION, number, **of_person(p), **issued_by(province), issued_at=qualified,
            fields={"birthDate": p.birth_date.isoformat(), "physicianLevel": level, "physicianCategory": category,
                    "institutionName": place.name, "graduatedSchool": school,
                    "educationLevel": education, "major": major},
            **collected(rng, qualified))
        if rng.random() >= PRACTISING_P:
            continue
        registered = min(qualified + timedelta(days=rng.randrange(30, 240)), LAST_DAY)
        start, lapsed = current_period(rng, registered, 5, 0.08)
        status = {"source_status": "正常"} if lapsed else maybe_revoked(rng, start, 0.02, _PHYSICIAN_CANCELLED)
        history = []
        if start > registered and rng.random() < 0.3:
            earlier = places.hospital_near(rng, p.residence_region)
            history.append(f"{between(rng, registered, start).isoformat()} 变更执业地点：原{earlier.name}")
        number = f"1{2 if assistant else 1}{digit}{JIANGSU}{registered.year}{seq.next(('pp', registered.year)):06d}"
        yield licence_row(
            T.PHYSICIAN_PRACTICE, number, **of_person(p), **issued_by(places.administration(place)),
            issued_at=start, valid_from=start, valid_until=until(start, 5), registered_at=registered,
            practice_institution_id=place.id, practice_institution_name=place.name, practice_category=category,
            fields={"practiceScope": rng.choice(scopes), "changeHistory": history}, **status,
            **collected(rng, start))


# --- 乡村医生执业证书 (7) -----------------------------------------------------------------------------

_RURAL_SCOPES = ("一般医疗服务、预防保健服务", "一般医疗服务、公共卫生服务", "一般医疗服务、中医药服务")
# 乡村医生从业管理条例 took effect on 1 January 2004: registrations start there.
_RURAL_FIRST = date(2004, 1, 1)


def rural_doctors(seed: int, people: list[PersonRecord], places: Places) -> Iterator[Row]:
    seq = Sequences()
    for p in people:
        rng = _rng(seed, "rural", p.index)
        centre = places.centre_of_township[p.residence_region]
        county = p.residence_region[:6]
        registered = between(rng, max(_RURAL_FIRST, add_years(p.birth_date, 22)), LAST_DAY)
        start, lapsed = current_period(rng, registered, 5, 0.10)
        status = {"source_status": "正常"} if lapsed else maybe_revoked(
            rng, start, 0.03, ("注销注册（本人申请）", "注销注册（年龄原因不再执业）"))
        span = range(max(registered.year, WORLD_DATE.year - 6), WORLD_DATE.year)
        years = sorted(rng.sample(span, k=min(rng.randint(1, 3), len(span))))
        training = [f"{year}年度乡村医生岗位培训（合格）" for year in years]
        number = f"XC{county}{registered.year}{seq.next((county, registered.year)):04d}"
        yield licence_row(
            T.RURAL_DOCTOR_PRACTICE, number, **of_person(p), **issued_by(places.administration(centre)),
            issued_at=start, valid_from=start, valid_until=until(start, 5), registered_at=registered,
            practice_institution_id=centre.id, practice_institution_name=centre.name,
            fields={"practiceScope": rng.choice(_RURAL_SCOPES), "trainingRecords": training}, **status,
            **collected(rng, start))


# --- 中医（专长）医师资格证书 (9) and 执业证书 (8) --------------------------------------------------

# (专业, 中医药技术方法, 治疗病症范围)
_SPECIALTIES = (
    ("针灸", "毫针刺法、艾灸", "颈肩腰腿痛、面瘫"),
    ("推拿", "推拿手法、正骨手法", "颈椎病、腰椎间盘突出症"),
    ("骨伤", "手法整复、小夹板固定", "四肢闭合性骨折、关节脱位"),
    ("外科", "中药外敷、膏药", "疮疡、水火烫伤"),
    ("内科", "中药内服", "脾胃病、失眠"),
    ("皮肤", "中药熏洗、中药外搽", "湿疹、带状疱疹"),
)
# 中医医术确有专长人员医师资格考核注册管理暂行办法 took effect on 20 December 2017.
_TCM_FIRST = date(2018, 3, 1)
TCM_ID_NUMBER_P = 0.2  # type 9 lists no ID number; a few sources send one anyway (the optional v1 element)
TCM_PRACTISING_P = 0.85


def tcm_specialists(seed: int, people: list[PersonRecord], places: Places) -> Iterator[Row]:
    seq = Sequences()
    province = places.by_id[PROVINCE_HC]
    for p in people:
        rng = _rng(seed, "tcm", p.index)
        speciality, techniques, conditions = rng.choice(_SPECIALTIES)
        qualified = between(rng, _TCM_FIRST, LAST_DAY - timedelta(days=60))
        with_id = rng.random() < TCM_ID_NUMBER_P
        practising = rng.random() < TCM_PRACTISING_P
        recognition = f"ZZ{JIANGSU}{qualified.year}{seq.next(('tq', qualified.year)):05d}"
        # Without an ID number the qualification reaches its holder only through the practising
        # certificate that names it (专长认定编号); a holder who does not practise stays unlinked.
        yield licence_row(
            T.TCM_SPECIALTY_QUALIFICATION, recognition, **of_person(p, linked=with_id or practising,
                                                                    id_number=with_id),
            **issued_by(province), issued_at=qualified,
            fields={"category": "中医（专长）", "speciality": speciality, "tcmTechniques": techniques,
                    "treatableConditions": conditions, "signatory": a_name(seed, rng)},
            **collected(rng, qualified))
        if not practising:
            continue
        county = p.residence_region[:6]
        clinics = [c for c in places.clinics_of_county.get(county, []) if c.name.endswith("中医诊所")]
        place = rng.choice(clinics) if clinics else places.centre_of_township[p.residence_region]
        registered = between(rng, qualified + timedelta(days=30), LAST_DAY)
        status = maybe_revoked(rng, registered, 0.02, ("注销注册（本人申请）",))
        number = f"ZC{JIANGSU}{registered.year}{seq.next(('tp', registered.year)):05d}"
        yield licence_row(
            T.TCM_SPECIALTY_PRACTICE, number, **of_person(p), **issued_by(places.administration(place)),
            issued_at=registered, valid_from=registered, valid_until=until(registered, 5), registered_at=registered,
            practice_institution_id=place.id, practice_institution_name=place.name,
            fields={"specialtyField": f"{techniques}治疗{conditions}", "specialtyRecognitionNo": recognition},
            **status, **collected(rng, registered))


# --- 无偿献血证 (4) and 江苏省无偿献血荣誉证 (5) ------------------------------------------------------

_BLOOD_TYPES = (("A", 28), ("B", 32), ("O", 31), ("AB", 9))
# (荣誉等级, cumulative whole blood in ml); the tender gives no thresholds (an inference).
HONOUR_LEVELS = (("金奖", 3000), ("银奖", 2000), ("铜奖", 1000))
HONOUR_VALIDITY_YEARS = 5
DONATION_YEARS = 10  # donations in the ten years before the world's date


def blood_donors(seed: int, people: list[PersonRecord], places: Places) -> Iterator[Row]:
    seq = Sequences()
    province = places.by_id[PROVINCE_HC]
    for p in people:
        rng = _rng(seed, "donor", p.index)
        blood = rng.choices([b for b, _ in _BLOOD_TYPES], [w for _, w in _BLOOD_TYPES])[0]
        count = 1 + min(int(rng.expovariate(0.45)), 14)
        first = max(add_years(p.birth_date, 18), add_years(WORLD_DATE, -DONATION_YEARS))
        days = sorted(between(rng, first, LAST_DAY) for _ in range(count))
        city, county = p.residence_region[:4] + "00", p.residence_region[:6]
        station = f"{places.names[city]}中心血站"
        # The honour recognises the donations up to the one that crossed the level's threshold.
        total, crossed = 0, {}
        for n, day in enumerate(days, start=1):
            volume = rng.choice((200, 300, 400, 400))
            total += volume
            for level, threshold in HONOUR_LEVELS:
                if total >= threshold and level not in crossed:
                    crossed[level] = (day, total, n)
            contact = _bad_phone(p.phone) if rng.random() < DEFECT_P else p.phone
            voided = rng.random() < 0.01
            number = f"{city[:4]}{day.year}{seq.next((city, day.year)):07d}"
            yield licence_row(
                T.BLOOD_DONATION, number, **of_person(p), issuer_name=station, issued_at=day,
                source_status="作废" if voided else "正常", valid_flag=not voided,
                fields={"birthDate": p.birth_date.isoformat(), "contact": contact, "donationTime": day.isoformat(),
                        "donationVolume": volume, "bloodType": blood,
                        "donationPlace": rng.choice((f"{places.names[county]}献血屋", f"{station}流动采血车",
                                                     station))},
                **collected(rng, day))
        honour = next((name for name, _t in HONOUR_LEVELS if name in crossed), None)
        if honour is None:
            continue
        recognised, volume, times = crossed[honour]
        issued = min(recognised + timedelta(days=rng.randrange(30, 90)), LAST_DAY)
        number = f"RY{JIANGSU}{issued.year}{seq.next(('honour', issued.year)):06d}"
        yield licence_row(
            T.BLOOD_DONATION_HONOUR, number, **of_person(p), **issued_by(province), issued_at=issued,
            valid_from=issued, valid_until=until(issued, HONOUR_VALIDITY_YEARS), source_status="正常",
            fields={"honourLevel": honour, "cumulativeDonationVolume": volume,
                    "honourBasis": f"累计无偿献血{times}次，共{volume}毫升",
                    "recognitionDate": recognised.isoformat()},
            **collected(rng, issued))


# --- 健康证 (11) --------------------------------------------------------------------------------------

_CERT_NAMES = {"食品": "食品从业人员健康证明", "公共场所": "公共场所从业人员健康合格证"}
RENEWED_P = 0.85  # holders whose latest certificate is still in date at the world's date


def health_certificates(seed: int, people: list[PersonRecord], places: Places) -> Iterator[Row]:
    seq = Sequences()
    for p in people:
        rng = _rng(seed, "worker", p.index)
        county = p.residence_region[:6]
        category = "食品" if rng.random() < 0.7 else "公共场所"
        employer = rng.choice(places.employers_of[(county, category)])
        clinic = rng.choice(places.county_hospitals[county])  # the 体检机构 issues the certificate
        married = age_on(p.birth_date) >= 25 and rng.random() < 0.8
        if rng.random() < RENEWED_P:
            latest = between(rng, add_years(WORLD_DATE, -1), LAST_DAY)
        else:
            latest = between(rng, add_years(WORLD_DATE, -3), add_years(WORLD_DATE, -1) - timedelta(days=1))
        issues = [add_years(latest, -k) for k in range(rng.randint(0, 2), -1, -1)]
        for issued in issues:
            if age_on(p.birth_date, issued) < 16:
                continue
            age = age_on(p.birth_date, issued)
            mobile = p.phone
            if rng.random() < DEFECT_P:
                # One of two source errors: a phone number short of a digit, or an age the ID number contradicts.
                if rng.random() < 0.5:
                    mobile = _bad_phone(mobile)
                else:
                    age += 10
            voided = rng.random() < 0.01
            revoked = {} if voided or rng.random() >= 0.005 else {
                "revoked_at": min(issued + timedelta(days=rng.randrange(1, 200)), LAST_DAY),
                "revoked_reason": "复检不合格，健康证收回"}
            number = f"JK{county}{issued.year}{seq.next((county, issued.year)):06d}"
            yield licence_row(
                T.HEALTH_CERTIFICATE, number, **of_person(p), holder_id_type=ID_TYPE_RESIDENT,
                **issued_by(clinic), issued_at=issued, valid_from=issued, valid_until=until(issued, 1),
                employer_org_id=employer.id, valid_flag=not voided, **revoked,
                fields={"age": age, "maritalStatus": "已婚" if married and age >= 25 else "未婚", "mobile": mobile,
                        "certCategory": category, "certName": _CERT_NAMES[category],
                        "examDate": (issued - timedelta(days=rng.randrange(2, 10))).isoformat()},
                **collected(rng, issued))


# --- 医疗机构执业许可证 (1) and 中医诊所备案证 (10) ---------------------------------------------------

_CLASS = {"HOSPITAL": "A", "COMMUNITY_HEALTH_CENTER": "B", "TOWNSHIP_HEALTH_CENTER": "C", "CLINIC": "D"}
_SUBJECTS_GENERAL = ("预防保健科", "内科", "外科", "妇产科", "儿科", "眼科", "耳鼻咽喉科", "口腔科", "急诊医学科",
                     "医学检验科", "医学影像科", "中医科")
_SUBJECTS = {
    "中医": ("内科", "外科", "中医科", "针灸科", "推拿科", "康复医学科", "医学检验科", "医学影像科"),
    "妇幼保健": ("妇产科", "儿科", "妇女保健科", "儿童保健科", "医学检验科", "医学影像科"),
    "儿童": ("儿科", "小儿外科", "儿童保健科", "医学检验科", "医学影像科"),
    "口腔诊所": ("口腔科",),
    "综合门诊部": ("内科", "外科", "医学检验科"),
    "诊所": ("内科",),
}
_CENTRE_SUBJECTS = ("预防保健科", "全科医疗科", "中医科", "医学检验科", "医学影像科")
_TCM_SCOPES = ("中医内科", "中医外科", "针灸科", "推拿科", "中医妇科", "中医儿科")


def _subjects(org: OrganizationRecord) -> list[str]:
    if org.kind in ("COMMUNITY_HEALTH_CENTER", "TOWNSHIP_HEALTH_CENTER"):
        return list(_CENTRE_SUBJECTS) + (["妇产科"] if org.kind == "TOWNSHIP_HEALTH_CENTER" else [])
    for marker, subjects in _SUBJECTS.items():
        if marker in org.name:
            return list(subjects)
    return list(_SUBJECTS_GENERAL)


def institutions(seed: int, places: Places) -> Iterator[Row]:
    """A practice licence for every hospital, health centre and clinic, except 中医诊所, which file instead."""
    seq = Sequences()
    for org in places.orgs:
        if org.kind == "HEALTH_COMMISSION":
            continue
        rng = _rng(seed, "institution", org.id)
        if org.kind == "CLINIC" and org.name.endswith("中医诊所"):
            yield _clinic_filing(seed, org, places, rng, seq)
            continue
        # 医疗机构执业许可证 runs 15 years for hospitals (100 beds and more) and 5 for the smaller units.
        years = 15 if org.kind == "HOSPITAL" else 5
        approved = between(rng, date(1995, 1, 1), date(2020, 12, 31))
        start, lapsed = current_period(rng, approved, years, 0.04)
        status: Row = {}
        if org.kind == "CLINIC" and not lapsed:
            status = maybe_revoked(rng, start, 0.04, ("注销（停业）", "注销（执业许可证有效期满未延续）"))
            status.pop("source_status")  # type 1 lists no 证照状态
        # The province licenses the flagship city hospitals; everything else its own administration.
        issuer = places.by_id[PROVINCE_HC] if org.id.endswith("00-h1") else places.administration(org)
        holder = of_org(org)
        if rng.random() < DEFECT_P:
            holder["holder_credit_code"] = _bad_credit_code(org.credit_code, rng)
        nature = 2 if org.kind == "CLINIC" else 1
        number = f"{org.credit_code[8:17]}{org.region_code[:6]}{_CLASS[org.kind]}{nature}001"
        yield licence_row(
            T.MEDICAL_INSTITUTION_PRACTICE, number, **holder, **issued_by(issuer), issued_at=start,
            valid_from=start, valid_until=until(start, years), **status,
            fields={"address": places.address(rng, org.region_code), "legalRepresentative": a_name(seed, rng),
                    "principal": a_name(seed, rng), "clinicalSubjects": _subjects(org)},
            **collected(rng, start))


# 中医诊所备案管理暂行办法 took effect on 1 December 2017.
_FILING_FIRST = date(2017, 12, 1)


def _clinic_filing(seed: int, org: OrganizationRecord, places: Places, rng: random.Random, seq: Sequences) -> Row:
    county = org.region_code[:6]
    filed = between(rng, _FILING_FIRST, LAST_DAY - timedelta(days=30))
    start, _lapsed = current_period(rng, filed, 5, 0.05)
    holder = of_org(org)
    if rng.random() < DEFECT_P:
        holder["holder_credit_code"] = _bad_credit_code(org.credit_code, rng)
    scopes = sorted(rng.sample(_TCM_SCOPES, rng.randint(1, 3)), key=_TCM_SCOPES.index)
    number = f"ZYBA{county}{filed.year}{seq.next((county, filed.year)):03d}"
    return licence_row(
        T.TCM_CLINIC_FILING, number, **holder, **issued_by(places.administration(org)), issued_at=start,
        valid_from=start, valid_until=until(start, 5), **maybe_revoked(rng, start, 0.03, ("注销备案（停业）",)),
        fields={"legalRepresentative": a_name(seed, rng), "filingAddress": places.address(rng, org.region_code),
                "treatmentScope": "；".join(scopes), "clinicArea": round(rng.uniform(40, 200), 1),
                "staffCount": rng.randint(2, 12)},
        **collected(rng, start))
