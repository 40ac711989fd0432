"""The service catalogue (事项清单, tender 5.1.1.9): 70 service items and their 269 business items.

data/service_items.csv is a copy of ../shared/data/service_items_seed.csv, the machine parse of the
tender's table (L1378-L4350). The package carries its own copy because ../shared is not deployed;
tests/subgraphs/test_services.py checks that the copy has not drifted from the source.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path

import strawberry

from subgraphs.services.vocabulary import (
    LEVELS,
    ONLINE_TYPE_BY_ZH,
    PARTY_BY_ZH,
    POWER_TYPE_BY_ZH,
    OnlineType,
    Party,
    PowerType,
)

CSV_PATH = Path(__file__).resolve().parent / "data" / "service_items.csv"

# The table has no 事项类型 column; the parse infers it from document order and leaves items 49-52 as
# "裁决/其他". services.md §3.2 reads 52 (a ruling on names) as the one 行政裁决 and 49-51 as 其他行政权力.
_RULING_ITEMS = frozenset({"医疗机构名称裁定"})
_LEVEL_SEPARATORS = re.compile(r"[,，、]")
# The parse annotates one English name with an editor's note ("[row printed as "79", ...]").
_EDITOR_NOTE = re.compile(r"\s*\[[^\]]*\]$")


@dataclass(frozen=True)
class CatalogueItem:
    id: str
    seq: int
    name: str
    name_en: str
    power_type: PowerType
    party: Party
    online_type: OnlineType
    dual_publicity: bool
    xiaosu: bool
    remark: str | None


@dataclass(frozen=True)
class CatalogueBusinessItem:
    id: str
    item_id: str
    seq: int
    name: str
    sub_item_name: str | None
    levels: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    items: tuple[CatalogueItem, ...]
    business_items: tuple[CatalogueBusinessItem, ...]


def _power_type(item_name: str, inferred: str) -> PowerType:
    zh = inferred.split(" ", 1)[0]  # "行政许可 (licensing)"
    if zh in POWER_TYPE_BY_ZH:
        return POWER_TYPE_BY_ZH[zh]
    if zh != "裁决/其他":
        raise ValueError(f"unknown 事项类型 {inferred!r} in the service catalogue")
    return PowerType.RULING if item_name in _RULING_ITEMS else PowerType.OTHER_POWER


def _levels(value: str) -> tuple[str, ...]:
    # The tender separates levels with ASCII commas, full-width commas or 、 at random.
    found = {part.strip() for part in _LEVEL_SEPARATORS.split(value) if part.strip()}
    unknown = found - set(LEVELS)
    if unknown:
        raise ValueError(f"unknown 支持层级 {sorted(unknown)} in the service catalogue")
    return tuple(level for level in LEVELS if level in found)


def _yes(value: str) -> bool:
    if value not in ("是", "否"):
        raise ValueError(f"expected 是 or 否 in the service catalogue, got {value!r}")
    return value == "是"


@cache
def load_catalogue(path: Path = CSV_PATH) -> Catalogue:
    """Ids follow the table's order: the n-th item is item-0nn and its k-th business item bi-0nn-kk.

    The printed 序号 is not used for ids: row 69 is misprinted "79" in the tender (services.md
    Appendix C), so the position in the table is the only numbering that is both stable and gapless.
    """
    items: list[CatalogueItem] = []
    business_items: list[CatalogueBusinessItem] = []
    printed_seq, within = None, 0
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            # Item-level columns are merged cells in the tender: a new 序号 starts the next item.
            if row["seq"] != printed_seq:
                printed_seq = row["seq"]
                items.append(
                    CatalogueItem(
                        id=f"item-{len(items) + 1:03d}",
                        seq=len(items) + 1,
                        name=row["item_zh"].strip(),
                        name_en=_EDITOR_NOTE.sub("", row["item_en"].strip()),
                        power_type=_power_type(row["item_zh"].strip(), row["inferred_power_type"]),
                        party=PARTY_BY_ZH[row["party"]],
                        online_type=ONLINE_TYPE_BY_ZH[row["online_type"]],
                        dual_publicity=_yes(row["dual_publicity"]),
                        xiaosu=_yes(row["xiaosu"]),
                        remark=row["remark"].strip() or None,
                    )
                )
                within = 0
            within += 1
            item = items[-1]
            business_items.append(
                CatalogueBusinessItem(
                    id=f"bi-{item.seq:03d}-{within:02d}",
                    item_id=item.id,
                    seq=len(business_items) + 1,
                    name=row["business_item_zh"].strip(),
                    sub_item_name=row["sub_item_zh"].strip() or None,
                    levels=_levels(row["levels"]),
                )
            )
    return Catalogue(tuple(items), tuple(business_items))


# --- what the catalogue derives from the table (services.md §1.2, §3) ---------------------------------


@strawberry.enum(description="情形: the kind of case a business item (or an application) is. "
                             "NEW 新办 (also 首次, 首次注册, 初次申请, 新增, 重新注册, 核发), "
                             "CHANGE 变更 (变更注册, 增加/减少类别, 扩项, 更新), "
                             "RENEWAL 延续 (延续注册, 再注册, 再次), "
                             "REISSUE 补发 (遗失补办, 补办, 换领), CANCELLATION 注销, VALIDATION 校验.")
class ApplicationKind(Enum):
    NEW = "NEW"
    CHANGE = "CHANGE"
    RENEWAL = "RENEWAL"
    REISSUE = "REISSUE"
    CANCELLATION = "CANCELLATION"
    VALIDATION = "VALIDATION"


KIND_ZH = {
    ApplicationKind.NEW: "新办", ApplicationKind.CHANGE: "变更", ApplicationKind.RENEWAL: "延续",
    ApplicationKind.REISSUE: "补发", ApplicationKind.CANCELLATION: "注销", ApplicationKind.VALIDATION: "校验",
}

# The name's last bracketed part (full-width or ASCII brackets), e.g. 护士执业注册(首次注册) → 首次注册.
_SUFFIX = re.compile(r"[（(]([^（）()]+)[）)]$")
# Suffix words, most specific first; the first that occurs in the suffix decides.
_SUFFIX_KINDS: tuple[tuple[str, ApplicationKind], ...] = (
    ("注销", ApplicationKind.CANCELLATION), ("补发", ApplicationKind.REISSUE), ("补办", ApplicationKind.REISSUE),
    ("校验", ApplicationKind.VALIDATION), ("延续", ApplicationKind.RENEWAL), ("再次", ApplicationKind.RENEWAL),
    ("变更", ApplicationKind.CHANGE), ("类别", ApplicationKind.CHANGE), ("增加业务范围", ApplicationKind.CHANGE),
    ("更新", ApplicationKind.CHANGE), ("迁移厂址", ApplicationKind.CHANGE), ("重新注册", ApplicationKind.NEW),
    ("新办", ApplicationKind.NEW), ("首次", ApplicationKind.NEW), ("初次", ApplicationKind.NEW),
    ("新增", ApplicationKind.NEW),
)
# Names without a kind suffix that still say what they are (职业病诊断执业医师资格注销, 乡村医生执业再注册 …).
_NAME_KINDS: tuple[tuple[str, ApplicationKind], ...] = (
    ("注销", ApplicationKind.CANCELLATION), ("补发", ApplicationKind.REISSUE), ("换领", ApplicationKind.REISSUE),
    ("再注册", ApplicationKind.RENEWAL), ("延续", ApplicationKind.RENEWAL), ("变更", ApplicationKind.CHANGE),
    ("补办", ApplicationKind.REISSUE), ("扩项", ApplicationKind.CHANGE), ("修改", ApplicationKind.CHANGE),
    ("首次", ApplicationKind.NEW),
)


def name_suffix(name: str) -> str | None:
    """The bracketed end of a business item's name (首次注册 of 护士执业注册(首次注册)), if any."""
    match = _SUFFIX.search(name)
    return match.group(1) if match else None


def kind_of(name: str) -> ApplicationKind | None:
    """情形 of a business item from its name: the suffix first (（新办）, (首次注册), （遗失补办）…), then words of
    the name itself; None for items that are one case only (备案, 扶助金, 鉴定 …).

    重新注册 counts as 新办 (a lapsed nurse registers again and gets a new certificate); 再注册 of a village
    doctor is the five-yearly 延续; 更新 of a large device is a 变更 of the configuration permit.
    """
    match = _SUFFIX.search(name)
    if match:
        suffix = match.group(1)
        if "、" in suffix and "申请" in suffix:
            return None  # several cases in one business item (初次申请、减少类别、增加类别): 情形引导 decides
        for word, kind in _SUFFIX_KINDS:
            if word in suffix:
                return kind
    for word, kind in _NAME_KINDS:
        if word in name:
            return kind
    return None


def business_item_kinds(catalogue: Catalogue) -> dict[str, ApplicationKind | None]:
    """情形 of every business item: `kind_of`, and 新办 for an unmarked row among marked siblings (same item
    and sub-item), e.g. 乡村医生执业注册 beside its 再注册, 变更注册 and 注销注册."""
    kinds = {b.id: kind_of(b.name) for b in catalogue.business_items}
    groups: dict[tuple[str, str | None], list[str]] = {}
    for b in catalogue.business_items:
        groups.setdefault((b.item_id, b.sub_item_name), []).append(b.id)
    for members in groups.values():
        if len(members) > 1 and any(kinds[m] is not None for m in members):
            for m in members:
                if kinds[m] is None and not _several_cases(catalogue, m):
                    kinds[m] = ApplicationKind.NEW
    return kinds


def _several_cases(catalogue: Catalogue, business_item_id: str) -> bool:
    name = next(b.name for b in catalogue.business_items if b.id == business_item_id)
    match = _SUFFIX.search(name)
    return bool(match and "、" in match.group(1) and "申请" in match.group(1))


@strawberry.enum(description="业务领域: the commission's line of business a service item belongs to.")
class BusinessArea(Enum):
    MEDICAL = strawberry.enum_value("MEDICAL", description="医政医管 (institutions, physicians, nurses, blood)")
    TCM = strawberry.enum_value("TCM", description="中医药")
    MATERNAL_CHILD = strawberry.enum_value("MATERNAL_CHILD", description="妇幼健康")
    OCCUPATIONAL = strawberry.enum_value("OCCUPATIONAL", description="职业健康 (incl. 放射卫生)")
    DISEASE_CONTROL = strawberry.enum_value("DISEASE_CONTROL", description="疾病预防控制 (vaccination, biosafety)")
    FAMILY = strawberry.enum_value("FAMILY", description="人口家庭 (计划生育, 托育)")
    SUPERVISION = strawberry.enum_value("SUPERVISION", description="综合监督 (公共场所, 饮用水, 消毒产品)")
    FOOD_SAFETY = strawberry.enum_value("FOOD_SAFETY", description="食品安全标准")


BUSINESS_AREA_ZH = {
    BusinessArea.MEDICAL: "医政医管", BusinessArea.TCM: "中医药", BusinessArea.MATERNAL_CHILD: "妇幼健康",
    BusinessArea.OCCUPATIONAL: "职业健康", BusinessArea.DISEASE_CONTROL: "疾病预防控制",
    BusinessArea.FAMILY: "人口家庭", BusinessArea.SUPERVISION: "综合监督",
    BusinessArea.FOOD_SAFETY: "食品安全标准",
}


@strawberry.enum(description="受理渠道: where a service item can be applied for.")
class Channel(Enum):
    PC = strawberry.enum_value("PC", description="PC 旗舰店 (网上办事大厅)")
    APP = strawberry.enum_value("APP", description="苏服办 APP")
    WECHAT = strawberry.enum_value("WECHAT", description="微信小程序")
    ALIPAY = strawberry.enum_value("ALIPAY", description="支付宝小程序")
    WINDOW = strawberry.enum_value("WINDOW", description="线下窗口")
    THIRD_PARTY = strawberry.enum_value("THIRD_PARTY", description="跳转第三方 (handled on another platform)")


def channels_of(online_type: OnlineType) -> tuple[Channel, ...]:
    """受理渠道 from 网办类型: fully online items are on every channel; the others on the PC hall and the
    window (the mobile channels carry only fully online items, services.md §0); 跳转第三方 items are filed on
    the other platform, with the window for paper cases."""
    if online_type is OnlineType.FULL_ONLINE:
        return (Channel.PC, Channel.APP, Channel.WECHAT, Channel.ALIPAY, Channel.WINDOW)
    if online_type is OnlineType.THIRD_PARTY:
        return (Channel.THIRD_PARTY, Channel.WINDOW)
    if online_type is OnlineType.ONLINE_CHANNEL_OR_LINK:
        return (Channel.PC, Channel.THIRD_PARTY, Channel.WINDOW)
    return (Channel.PC, Channel.WINDOW)
