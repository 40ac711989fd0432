"""The service catalogue (事项清单, tender 5.1.1.9): 70 service items and their 269 business items.

data/service_items.csv is a copy of ../shared/data/service_items_seed.csv, the machine parse of the
tender's table (L1378-L4350). The package carries its own copy because ../shared is not deployed;
tests/subgraphs/test_services.py checks that the copy has not drifted from the source.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

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
