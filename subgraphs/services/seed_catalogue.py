"""Seeds what the catalogue derives beyond the tender's table: the category tree, each item's category,
业务领域 and channels, each business item's 情形 and licence type, and the guides (办事指南) with their
materials.

* Categories: a two-level tree, 事项类型 (power type) over 业务领域 (seed_profiles.PROFILES), codes
  "LICENSING" and "LICENSING.MEDICAL".
* Guides: one per business item for the province (320000, the province-standard guide, 全省统一标准), a
  variant for each business item handled at city level in 南京, 无锡 and 苏州, and one for each county-level
  business item in 昆山市 (services.md §5.1 rule 2: localities add their own halls and hours; here they also
  promise shorter time limits).

Deterministic: no randomness, no clock (the `now` given is only the guides' updated_at).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.licences.codes import LicenceTypeCode as L
from subgraphs.services import models
from subgraphs.services.catalogue import (
    BUSINESS_AREA_ZH,
    KIND_ZH,
    ApplicationKind,
    Catalogue,
    CatalogueBusinessItem,
    CatalogueItem,
    business_item_kinds,
    channels_of,
    load_catalogue,
    name_suffix,
)
from subgraphs.services.seed_profiles import LICENSING_LAW, PROFILES, ItemProfile
from subgraphs.services.vocabulary import Party, PowerType

K = ApplicationKind
PROVINCE = "320000"
# City variants: 南京, 无锡, 苏州 (the pilots of 受办分离, services.md §3.3); county variants: 昆山市.
CITY_VARIANTS = {"320100": ("南京市", 3), "320200": ("无锡市", 2), "320500": ("苏州市", 4)}
COUNTY_VARIANTS = {"320583": ("昆山市", 5)}
POWER_ZH = {
    PowerType.LICENSING: "行政许可", PowerType.BENEFIT_PAYMENT: "行政给付", PowerType.CONFIRMATION: "行政确认",
    PowerType.RULING: "行政裁决", PowerType.OTHER_POWER: "其他行政权力", PowerType.FILING: "行政备案",
}
HOURS = "工作日 上午9:00-12:00，下午13:30-17:00（法定节假日除外）"

# The licence an approval produces (licences.md §2.15: items 6, 8, 9, 13, 25, 26, 28, 30, 58); 注销 none.
PRODUCES: dict[int, L] = {
    6: L.NURSE_PRACTICE, 8: L.PHYSICIAN_PRACTICE, 9: L.MEDICAL_INSTITUTION_PRACTICE,
    13: L.PHYSICIAN_QUALIFICATION, 25: L.RURAL_DOCTOR_PRACTICE, 26: L.TCM_SPECIALTY_PRACTICE,
    28: L.MEDICAL_INSTITUTION_PRACTICE, 30: L.TCM_SPECIALTY_QUALIFICATION, 58: L.TCM_CLINIC_FILING,
}
# Of item 13 only the rows that issue a certificate (信息修改 corrects exam records, not a licence).
_ITEM_13_ISSUING = frozenset({"医师资格证书核发", "补发医师资格证书", "香港和澳门特别行政区医师申请内地医师资格认定",
                              "台湾地区医师申请大陆医师资格认定"})
# Institution items whose applicant shows its 医疗机构执业许可证 (an electronic one may replace it).
_INSTITUTION_ITEMS = frozenset({1, 2, 3, 10, 11, 21, 23, 24, 39, 40, 46, 48, 54, 56, 57, 62, 64, 65, 67})
# Person items whose applicant shows a 医师执业证书.
_PHYSICIAN_ITEMS = frozenset({5, 14, 22, 68})


def licence_type_of(item: CatalogueItem, business_item: CatalogueBusinessItem, kind: K | None) -> L | None:
    produced = PRODUCES.get(item.seq)
    if produced is None or kind is K.CANCELLATION:
        return None
    if item.seq == 13 and business_item.name not in _ITEM_13_ISSUING:
        return None
    return produced


def held_licence(item: CatalogueItem, kind: K | None) -> L | None:
    """The licence the applicant already holds and shows: the one the item produces for 变更/延续/补发/注销/校验,
    else what the item requires of everyone (a physician's certificate, an institution's licence)."""
    if kind not in (None, K.NEW) and item.seq in PRODUCES:
        return PRODUCES[item.seq]
    if item.seq == 8:
        return L.PHYSICIAN_QUALIFICATION
    if item.seq == 26:
        return L.TCM_SPECIALTY_QUALIFICATION
    if item.seq in _INSTITUTION_ITEMS:
        return L.MEDICAL_INSTITUTION_PRACTICE
    if item.seq in _PHYSICIAN_ITEMS:
        return L.PHYSICIAN_PRACTICE
    return None


# --- categories -------------------------------------------------------------------------------------


def category_code(item: CatalogueItem) -> str:
    return f"{item.power_type.value}.{PROFILES[item.seq].area.value}"


def categories(catalogue: Catalogue) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for ordinal, power in enumerate(POWER_ZH, start=1):
        rows.append({"code": power.value, "name": POWER_ZH[power], "parent_code": None, "ordinal": ordinal})
        areas = []
        for item in catalogue.items:
            area = PROFILES[item.seq].area
            if item.power_type is power and area not in areas:
                areas.append(area)
        for child, area in enumerate(areas, start=1):
            rows.append({"code": f"{power.value}.{area.value}", "name": BUSINESS_AREA_ZH[area],
                         "parent_code": power.value, "ordinal": child})
    return rows


# --- guides -----------------------------------------------------------------------------------------


@dataclass
class Material:
    code: str
    name: str
    source: str = "APPLICANT"
    mandatory: bool = True
    template: bool = False
    licence_type: L | None = None
    kinds: list[str] = field(default_factory=list)


@dataclass
class GuideDraft:
    materials: list[Material]
    conditions: list[str]
    scenarios: list[dict[str, Any]]


def _option(code: str, answer: str, materials: Iterable[str] = (), **extra: Any) -> dict[str, Any]:
    return {"code": code, "answer": answer, "materials": list(materials), **extra}


def _licence_name(licence: L) -> str:
    from subgraphs.licences.codes import LICENCE_TYPES

    return LICENCE_TYPES[licence].name


def draft_guide(item: CatalogueItem, b: CatalogueBusinessItem, kind: K | None,
                siblings: list[tuple[CatalogueBusinessItem, K]]) -> GuideDraft:
    """Materials, conditions and 情形引导 of one business item (the same in every region)."""
    person = item.party is Party.INDIVIDUAL
    filing = item.power_type is PowerType.FILING
    prefix = f"{b.id}-"
    m: list[Material] = [Material(prefix + "01", f"{b.name}{'备案表' if filing else '申请表'}", template=True)]
    if person:
        m.append(Material(prefix + "02", "申请人有效身份证件（居民身份证）", source="GOVERNMENT"))
    else:
        m.append(Material(prefix + "02", "营业执照或事业单位法人证书（统一社会信用代码证明）", source="GOVERNMENT"))
        m.append(Material(prefix + "03", "法定代表人（主要负责人）有效身份证件", source="GOVERNMENT"))
    held = held_licence(item, kind)
    if held is not None and kind is not K.REISSUE:  # a reissue shows the damaged original, if any (below)
        m.append(Material(prefix + "04", _licence_name(held), source="GOVERNMENT", licence_type=held))
    m.extend(_specific(item, b, kind, prefix))
    agent = Material(prefix + "90", "授权委托书及受托人有效身份证件", template=True)
    m.append(agent)
    scenarios: list[dict[str, Any]] = []
    if len(siblings) > 1:
        scenarios.append({"code": "kind", "question": "您要办理的业务情形是？", "options": _kind_options(siblings)})
    if item.seq == 57:
        only_new = [x.code for x in m if x.kinds == [K.NEW.value]]
        only_change = [x.code for x in m if x.kinds == [K.CHANGE.value]]
        scenarios.append({"code": "kind", "question": "本次备案的情形是？", "options": [
            _option("NEW", "初次申请", only_new, kind=K.NEW.value),
            _option("ADD_CATEGORY", "增加类别", only_change, kind=K.CHANGE.value),
            _option("REMOVE_CATEGORY", "减少类别", kind=K.CHANGE.value)]})
    scenarios.extend(_kind_questions(item, kind, prefix, m))
    scenarios.append({"code": "agent", "question": "是否委托他人代为办理？", "options": [
        _option("SELF", "本人（本单位）办理"), _option("AGENT", "委托他人办理", [agent.code])]})
    return GuideDraft(m, _conditions(item, b, kind), scenarios)


def _kind_options(siblings: list[tuple[CatalogueBusinessItem, K]]) -> list[dict[str, Any]]:
    """One option per sibling business item; two siblings of one kind (首次注册 and 重新注册) are told apart by
    their names' suffixes and numbered codes (NEW_1, NEW_2)."""
    counts = {k: sum(1 for _, other in siblings if other is k) for _, k in siblings}
    seen: dict[K, int] = {}
    options = []
    for s, k in siblings:
        seen[k] = seen.get(k, 0) + 1
        code = k.value if counts[k] == 1 else f"{k.value}_{seen[k]}"
        suffix = name_suffix(s.name)
        answer = suffix if counts[k] > 1 and suffix else KIND_ZH[k]
        options.append(_option(code, answer, kind=k.value, businessItemId=s.id))
    return options


def _kind_questions(item: CatalogueItem, kind: K | None, prefix: str, m: list[Material]) -> list[dict[str, Any]]:
    if kind is K.REISSUE:
        held = held_licence(item, kind)
        m.append(Material(prefix + "20", "遗失声明（在省级以上报刊或政府网站刊登）"))
        original = Material(prefix + "21", f"损毁的原证书（{_licence_name(held) if held else '原批件'}）",
                            licence_type=held)
        m.append(original)
        return [{"code": "reason", "question": "证书是遗失还是损毁？", "options": [
            _option("LOST", "遗失", [prefix + "20"]), _option("DAMAGED", "损毁", [prefix + "21"])]}]
    if kind is K.CHANGE and item.seq in (9, 28, 7, 27):
        m.extend([Material(prefix + "30", "名称预先核准或名称变更说明"),
                  Material(prefix + "31", "新址房屋产权证明或使用证明、平面布局图"),
                  Material(prefix + "32", "新任法定代表人（主要负责人）身份证明及任职文件", source="OTHER"),
                  Material(prefix + "33", "拟增加诊疗科目的人员、设备清单及相应资质证明")])
        return [{"code": "change", "question": "变更的登记事项是？", "options": [
            _option("NAME", "名称", [prefix + "30"]), _option("ADDRESS", "执业地址", [prefix + "31"]),
            _option("REPRESENTATIVE", "法定代表人或主要负责人", [prefix + "32"]),
            _option("SUBJECTS", "诊疗科目", [prefix + "33"])]}]
    if kind is K.CHANGE and item.seq in (6, 8, 25, 26):
        m.extend([Material(prefix + "30", "拟执业机构出具的接收（聘用）证明", source="OTHER"),
                  Material(prefix + "31", "执业范围（类别）变更的培训考核合格证明", source="OTHER")])
        return [{"code": "change", "question": "变更的注册事项是？", "options": [
            _option("PLACE", "执业地点（主要执业机构）", [prefix + "30"]),
            _option("SCOPE", "执业范围或类别", [prefix + "31"]), _option("PERSONAL", "姓名等个人信息")]}]
    if kind is K.NEW and item.seq == 6:
        m.append(Material(prefix + "40", "在教学、综合医院接受3个月临床护理培训并考核合格的证明", source="OTHER"))
        return [{"code": "exam", "question": "通过护士执业资格考试是否已超过3年？", "options": [
            _option("WITHIN_3_YEARS", "未超过3年"), _option("OVER_3_YEARS", "已超过3年", [prefix + "40"])]}]
    return []


def _specific(item: CatalogueItem, b: CatalogueBusinessItem, kind: K | None, prefix: str) -> list[Material]:
    """What the case itself needs beyond the application, identity and licence."""
    seq, p = item.seq, prefix
    if kind is K.REISSUE:
        return []  # 遗失声明 or the damaged original, chosen by 情形引导
    if kind is K.CANCELLATION:
        return [Material(p + "10", "注销申请书（写明注销原因）", template=True)]
    if kind is K.VALIDATION:
        return [Material(p + "10", "校验申请书", template=True), Material(p + "11", "校验期内的执业情况自查报告"),
                Material(p + "12", "校验期内接受卫生健康行政部门监督检查及整改情况", mandatory=False)]
    if kind is K.RENEWAL:
        return [Material(p + "10", "执业（许可）有效期内的工作情况报告"),
                Material(p + "11", "近6个月内的健康体检证明" if item.party is Party.INDIVIDUAL
                         else "相关技术人员名单及资质证明")]
    if kind is K.CHANGE:
        return [Material(p + "10", "变更事项说明及相关证明材料")]
    if seq == 6:
        return [Material(p + "10", "护士执业资格考试成绩合格证明", source="GOVERNMENT"),
                Material(p + "11", "近6个月内二级以上医疗机构出具的健康体检证明"),
                Material(p + "12", "拟执业机构出具的拟聘用证明", source="OTHER")]
    if seq == 8:
        return [Material(p + "10", "近6个月内县级以上医疗机构出具的健康证明"),
                Material(p + "11", "拟执业机构出具的拟聘用证明", source="OTHER")]
    if seq in (9, 28):
        return [Material(p + "10", "设置医疗机构批准书", source="GOVERNMENT", mandatory=False),
                Material(p + "11", "医疗机构用房产权证明或者使用证明"),
                Material(p + "12", "医疗机构建筑设计平面图"),
                Material(p + "13", "医疗机构规章制度"),
                Material(p + "14", "医疗机构法定代表人、主要负责人及各科室负责人名录和有关资格证书、执业证书复印件"),
                Material(p + "15", "医疗机构主要设备清单")]
    if seq in (25, 26):
        return [Material(p + "10", "拟执业机构（村卫生室、中医诊所等）出具的执业证明", source="OTHER"),
                Material(p + "11", "近6个月内的健康体检证明")]
    if seq == 32:
        return [Material(p + "10", "公共场所卫生检测或者评价报告", source="OTHER"),
                Material(p + "11", "公共场所地址方位示意图、平面图和卫生设施平面布局图"),
                Material(p + "12", "卫生管理制度"),
                Material(p + "13", "从业人员健康合格证明", source="GOVERNMENT", licence_type=L.HEALTH_CERTIFICATE)]
    if seq == 57:
        return [Material(p + "10", "职业病诊断医师名单及资格证明", kinds=[K.NEW.value]),
                Material(p + "11", "拟增加诊断类别的人员、设备及质量管理材料", kinds=[K.CHANGE.value])]
    if seq in (36, 37):
        return [Material(p + "10", "户口簿", source="GOVERNMENT"),
                Material(p + "11", "独生子女父母光荣证或计划生育情况证明", source="GOVERNMENT"),
                Material(p + "12", "本人银行账户（社会保障卡）信息")]
    if seq in (58, 66):
        return [Material(p + "10", "诊所用房产权证明或者使用证明"), Material(p + "11", "诊所平面布局图"),
                Material(p + "12", "诊所主要负责人及其他医务人员的资格证书、执业证书"),
                Material(p + "13", "诊所规章制度")]
    if item.party is Party.INDIVIDUAL:
        return [Material(p + "10", "学历证书及相关专业资格（培训考核）证明", source="GOVERNMENT"),
                Material(p + "11", "所在单位出具的工作经历证明", source="OTHER", mandatory=False)]
    if item.power_type is PowerType.FILING:
        return [Material(p + "10", "备案承诺书", template=True), Material(p + "11", "备案事项相关证明材料")]
    return [Material(p + "10", "场所平面布局图及房屋产权（使用）证明"),
            Material(p + "11", "专业技术人员名单及资格证明"),
            Material(p + "12", "主要仪器设备清单"), Material(p + "13", "管理制度及质量保证体系文件")]


def _conditions(item: CatalogueItem, b: CatalogueBusinessItem, kind: K | None) -> list[str]:
    seq = item.seq
    if kind is K.CANCELLATION:
        return ["持有有效的许可（注册、备案）证明，且无未办结的卫生健康行政处罚案件",
                "申请人自愿申请注销或依法应当注销"]
    if kind is K.REISSUE:
        return ["原证书（批件）在有效期内遗失或者损毁", "遗失的已刊登遗失声明"]
    if kind is K.RENEWAL:
        return ["持有有效的许可（注册）证明", "在有效期届满30日前提出延续申请", "有效期内未发生依法不予延续的情形"]
    if kind is K.VALIDATION:
        return ["持有有效的《医疗机构执业许可证》或相应许可", "校验期届满前3个月内提出校验申请", "校验期内依法执业"]
    if kind is K.CHANGE:
        return ["持有有效的许可（注册）证明", "变更后的条件符合相应的许可（注册）标准"]
    if seq == 6:
        return ["具有完全民事行为能力",
                "在中等职业学校、高等学校完成国务院教育主管部门和卫生主管部门规定的普通全日制3年以上"
                "护理、助产专业课程学习，并取得相应学历证书", "通过国务院卫生主管部门组织的护士执业资格考试",
                "符合国务院卫生主管部门规定的健康标准", "自执业资格考试成绩合格之日起3年内提出执业注册申请"]
    if seq == 8:
        return ["取得医师资格", "有拟执业的医疗卫生机构", "无《中华人民共和国医师法》第十六条规定的不予注册情形"]
    if seq in (9, 28):
        return ["按照规定应当办理设置审批的，已取得设置医疗机构批准书", "符合医疗机构的基本标准",
                "有适合的名称、组织机构和场所", "有与其开展的业务相适应的经费、设施、设备和专业卫生技术人员",
                "有相应的规章制度", "能够独立承担民事责任"]
    if seq == 32:
        return ["依法取得营业执照", "场所的选址、设计、卫生设施符合公共场所卫生标准和要求",
                "有健全的卫生管理制度和卫生管理人员", "从业人员持有有效的健康合格证明"]
    if seq == 58:
        return ["仅提供中医药服务的诊所", "诊所主要负责人具有中医类别执业医师资格或者确有专长的中医医师资格，"
                "取得执业资格后从事中医临床工作3年以上", "符合《中医诊所基本标准》"]
    if item.party is Party.INDIVIDUAL:
        return ["申请人具有完全民事行为能力", "符合相应资格（注册）的条件和要求", "提交的材料真实、完整、有效"]
    if item.power_type is PowerType.FILING:
        return ["依法设立的单位，具备备案事项相应的条件", "对备案材料的真实性作出书面承诺"]
    return ["依法设立的法人或者其他组织", "具备与申请事项相适应的场所、人员、设备和管理制度",
            "符合相关法律法规和技术规范的要求"]


def _steps(item: CatalogueItem, kind: K | None, promised: int, produces: bool) -> list[dict[str, Any]]:
    inspect = kind in (K.NEW, K.VALIDATION) and item.seq in (1, 9, 21, 28, 31, 32, 34)
    names = ["受理", *(["现场核查"] if inspect else []), "审查", "决定" if item.power_type is not PowerType.FILING
             else "备案", *(["制证"] if produces else [])]
    actors = {"受理": "窗口", "现场核查": "承办处室", "审查": "承办处室", "决定": "分管领导", "备案": "承办处室",
              "制证": "窗口"}
    # Shares of the promised days; the review takes what the others leave.
    days = {name: (1 if promised > 3 else 0) for name in names}
    days["审查"] = 0
    days["审查"] = max(promised - sum(days.values()), 0)
    return [{"name": "申请", "actor": "申请人", "days": 0},
            *({"name": n, "actor": actors[n], "days": days[n]} for n in names)]


def _fees(item: CatalogueItem) -> list[dict[str, Any]]:
    if item.seq == 43:
        return [{"name": "护士执业资格考试考务费",
                 "amount": "按省价格主管部门核定标准缴纳（由考试机构收取，资格审定不收费）",
                 "basis": "《护士执业资格考试办法》"}]
    return []


def _halls(region: str, region_name: str, levels: tuple[str, ...]) -> list[dict[str, Any]]:
    if region == PROVINCE:
        if "省级" in levels:
            return [{"code": "hall-320000", "name": "江苏省政务服务中心卫生健康委窗口", "regionCode": PROVINCE,
                     "address": "南京市建邺区江东中路（江苏省政务服务中心）", "hours": HOURS, "phone": "12345"}]
        return [{"code": "hall-local", "name": "所在地设区的市或县（市、区）政务服务中心卫生健康窗口",
                 "regionCode": PROVINCE,
                 "address": "以所在地办事指南为准", "hours": HOURS, "phone": "12345"}]
    return [{"code": f"hall-{region}", "name": f"{region_name}政务服务中心卫生健康窗口", "regionCode": region,
             "address": f"{region_name}政务服务中心", "hours": HOURS, "phone": "12345"}]


def guide_rows(catalogue: Catalogue, now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(service_guide rows, material_requirement rows) of every guide, in a stable order."""
    items = {i.id: i for i in catalogue.items}
    kinds = business_item_kinds(catalogue)
    groups: dict[tuple[str, str | None], list[tuple[CatalogueBusinessItem, K]]] = {}
    for b in catalogue.business_items:
        kind = kinds[b.id]
        if kind is not None:
            groups.setdefault((b.item_id, b.sub_item_name), []).append((b, kind))
    guides: list[dict[str, Any]] = []
    materials: list[dict[str, Any]] = []
    for b in catalogue.business_items:
        item, kind = items[b.item_id], kinds[b.id]
        profile = PROFILES[item.seq]
        siblings = sorted(groups.get((b.item_id, b.sub_item_name), []), key=lambda s: list(K).index(s[1]))
        draft = draft_guide(item, b, kind, siblings if kind is not None else [])
        produces = licence_type_of(item, b, kind) is not None
        for region, region_name, faster in _regions(b.levels):
            promised = _promised(profile, faster)
            guide_id = f"guide-{b.id}-{region}"
            guides.append({
                "id": guide_id, "business_item_id": b.id, "region_code": region, "conditions": draft.conditions,
                "legal_basis": _laws(item, profile), "fees": _fees(item), "statutory_days": profile.statutory_days,
                "promised_days": promised, "steps": _steps(item, kind, promised, produces),
                "halls": _halls(region, region_name, b.levels), "scenarios": draft.scenarios, "updated_at": now})
            materials.extend(
                {"guide_id": guide_id, "code": x.code, "ordinal": n, "name": x.name,
                 "template_url": f"/templates/{x.code}.docx" if x.template else None, "source": x.source,
                 "mandatory": x.mandatory, "licence_type": x.licence_type.value if x.licence_type else None,
                 "kinds": x.kinds}
                for n, x in enumerate(draft.materials, start=1))
    return guides, materials


def _regions(levels: tuple[str, ...]) -> list[tuple[str, str, int]]:
    """(region, name, days faster than the province) of the guides of a business item."""
    out = [(PROVINCE, "江苏省", 0)]
    if "市级" in levels:
        out.extend((code, name, faster) for code, (name, faster) in CITY_VARIANTS.items())
    if "县级" in levels:
        out.extend((code, name, faster) for code, (name, faster) in COUNTY_VARIANTS.items())
    return out


def _promised(profile: ItemProfile, faster: int) -> int:
    """承诺办结时限: about half the statutory days at the province, a few days less where a locality promises
    more; always at least one day and strictly less than the statutory limit."""
    base = max(profile.statutory_days // 2, 1)
    return max(min(base - faster, profile.statutory_days - 1), 1)


def _laws(item: CatalogueItem, profile: ItemProfile) -> list[str]:
    laws = list(profile.laws)
    if item.power_type is PowerType.LICENSING:
        laws.append(LICENSING_LAW)
    return laws


# --- the seed ---------------------------------------------------------------------------------------


async def seed_catalogue(session: AsyncSession, now: datetime) -> None:
    """Categories, the derived item and business-item columns, and the guides; does nothing once guides
    exist (so that it can run at every first start, after seed.py has inserted the catalogue)."""
    if await session.scalar(select(func.count()).select_from(models.ServiceGuide)):
        return
    catalogue = load_catalogue()
    await session.execute(insert(models.ServiceCategory), categories(catalogue))
    for item in catalogue.items:
        await session.execute(update(models.ServiceItem).where(models.ServiceItem.id == item.id).values(
            category_code=category_code(item), business_area=PROFILES[item.seq].area.value,
            channels=[c.value for c in channels_of(item.online_type)]))
    items = {i.id: i for i in catalogue.items}
    kinds = business_item_kinds(catalogue)
    for b in catalogue.business_items:
        kind = kinds[b.id]
        licence = licence_type_of(items[b.item_id], b, kind)
        await session.execute(update(models.BusinessItem).where(models.BusinessItem.id == b.id).values(
            kind=kind.value if kind else None, licence_type=licence.value if licence else None))
    guides, materials = guide_rows(catalogue, now)
    await session.execute(insert(models.ServiceGuide), guides)
    for start in range(0, len(materials), 2000):
        await session.execute(insert(models.MaterialRequirement), materials[start:start + 2000])

