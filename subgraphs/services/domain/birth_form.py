"""The newborn-birth bundle's form (出生一件事申报表单): its fields, their checks, which step may change which
field in a correction (补正, L5358-L5370) and which fields each department receives.

Form keys are the GraphQL input's camelCase names; the form is stored whole as JSON on the case and on each
version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from subgraphs.common.errors import bad_input
from subgraphs.common.masking import mask_id_number, mask_name
from subgraphs.common.validators import InvalidIdNumber, parse_resident_id

# 分娩 (delivery) data: what the hospital and the 妇幼 system know.
DELIVERY = ("babyName", "babySex", "birthTime", "hospital", "birthRegionCode")
PARENTS = ("motherName", "motherIdNumber", "fatherName", "fatherIdNumber")
PICKUP = ("certificatePickup", "agentName", "agentIdNumber")
# 户籍 (household registration) data for 落户.
HUKOU = ("householdHeadName", "householdHeadIdNumber", "hukouFollows", "relationToHead", "policeStation")
INSURANCE = ("insuranceCommunity", "insuranceStart")  # 参保社区, 参保时间
CARD = ("cardPickup", "cardBank", "cardRegionCode")  # 社保领取方式, 社保合作金融机构, 制卡区划
FIELDS = DELIVERY + PARENTS + PICKUP + HUKOU + INSURANCE + CARD

REQUIRED = frozenset(DELIVERY + PARENTS + ("certificatePickup",) + HUKOU + INSURANCE + CARD)
ID_FIELDS = frozenset({"motherIdNumber", "fatherIdNumber", "householdHeadIdNumber", "agentIdNumber"})
NAME_FIELDS = frozenset({"motherName", "fatherName", "householdHeadName", "agentName", "babyName"})
ENUMS: dict[str, tuple[str, ...]] = {
    "babySex": ("MALE", "FEMALE"),
    "certificatePickup": ("SELF", "AGENT"),  # 产妇自取 (default) / 委托他人代领
    "hukouFollows": ("MOTHER", "FATHER"),  # 户口随母 / 随父
    "cardPickup": ("MAIL", "OFFLINE"),  # 邮寄 / 线下自提 (L5376)
}

# 补正 per step (L5358-L5370). 妇幼 opens everything except the original settings, which here are the
# applicant mother's identity (verified by 实人认证 when the case was made) and the region the case belongs to.
EDITABLE: dict[str, tuple[str, ...]] = {
    "BIRTH_CERTIFICATE": tuple(f for f in FIELDS if f not in ("motherName", "motherIdNumber", "birthRegionCode")),
    "HUKOU": ("hukouFollows", "relationToHead", "householdHeadName", "householdHeadIdNumber", "policeStation",
              *INSURANCE, *CARD[:2]),
    "MEDICAL_INSURANCE": INSURANCE,
    "SOCIAL_SECURITY_CARD": CARD[:2],
}

# What each department's system needs in clear; the rest of the form goes out masked.
NEEDS: dict[str, frozenset[str]] = {
    "BIRTH_CERTIFICATE": frozenset(DELIVERY + PARENTS + PICKUP),
    "HUKOU": frozenset(DELIVERY + PARENTS + HUKOU),
    "MEDICAL_INSURANCE": frozenset(("babyName", "babySex", "birthTime", "motherName", "motherIdNumber", *HUKOU[:2],
                                    *INSURANCE)),
    "SOCIAL_SECURITY_CARD": frozenset(("babyName", "babySex", "birthTime", "motherName", "motherIdNumber", *CARD)),
}

_HAN = "\u4e00-\u9fff"
_NAME = re.compile(rf"^[{_HAN}]{{2,4}}$")
# Minority names keep their parts apart with a middle dot (e.g. 阿依古丽·买买提).
_DOTTED_NAME = re.compile(rf"^[{_HAN}]+(·[{_HAN}]+)+$")
_EXTENDED_HAN = re.compile("[\u3400-\u4dbf\U00020000-\U0003134f]")
# 冷僻字: the tender's check runs against the national standard-character database; until that interface is
# wired in, characters of the CJK extensions and these common examples of rare characters are refused.
RARE_CHARACTERS = frozenset("犇猋骉鱻羴龘靐齉爨麤灥厵朤")
_REGION = re.compile(r"^\d{6}(\d{3}){0,3}$")


def check_baby_name(name: str) -> None:
    """姓名合规性校验: 2-4 Chinese characters, or a dotted minority name of at most 15; no 冷僻字."""
    rare = sorted({c for c in name if c in RARE_CHARACTERS or _EXTENDED_HAN.match(c)})
    if rare:
        raise bad_input(f"婴儿姓名含冷僻字 {''.join(rare)}: use characters of the 通用规范汉字表.",
                        field="babyName", characters=rare)
    if not (_NAME.match(name) or (_DOTTED_NAME.match(name) and len(name) <= 15)):
        raise bad_input("婴儿姓名不合规: 2-4 Chinese characters (minority names: parts joined by ·, at most 15).",
                        field="babyName")


def _check_value(key: str, value: Any, today: date) -> Any:
    if not isinstance(value, str):
        raise bad_input(f"{key} must be text.", field=key)
    value = value.strip()
    if key == "babyName":
        check_baby_name(value)
    elif key in ID_FIELDS:
        try:
            value = parse_resident_id(value, today=today).number
        except InvalidIdNumber as exc:
            raise bad_input(f"{key} is not a valid resident ID number: {exc}.", field=key, reason=exc.reason) from None
    elif key in NAME_FIELDS:
        if not 2 <= len(value) <= 30:
            raise bad_input(f"{key} must be a name of 2-30 characters.", field=key)
    elif key in ENUMS:
        if value not in ENUMS[key]:
            raise bad_input(f"{key} must be one of {', '.join(ENUMS[key])}.", field=key)
    elif key == "birthTime":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise bad_input("birthTime must be an ISO date-time, e.g. 2025-03-14T08:30:00+08:00.",
                            field=key) from None
        if moment.date() > today:
            raise bad_input("birthTime lies in the future.", field=key)
    elif key == "insuranceStart":
        try:
            date.fromisoformat(value)
        except ValueError:
            raise bad_input("insuranceStart must be a date, e.g. 2025-04-01.", field=key) from None
    elif key in ("birthRegionCode", "cardRegionCode"):
        if not _REGION.match(value):
            raise bad_input(f"{key} must be a region code of 6, 9, 12 or 15 digits.", field=key)
    elif not value or len(value) > 100:
        raise bad_input(f"{key} must be 1-100 characters.", field=key)
    return value


def clean(changes: Mapping[str, Any], today: date) -> dict[str, Any]:
    """The given fields checked and normalised (None clears a field); unknown keys refused."""
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise bad_input(f"Unknown form fields: {', '.join(unknown)}.", fields=unknown)
    return {k: (None if v is None or v == "" else _check_value(k, v, today)) for k, v in changes.items()}


def merge(form: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**form, **changes}
    return {k: v for k, v in merged.items() if v is not None}


def check_complete(form: Mapping[str, Any]) -> None:
    """What submission needs on top of the field checks: every required field, the agent of a 委托他人代领,
    two different parents."""
    missing = sorted(f for f in REQUIRED if not form.get(f))
    if form.get("certificatePickup") == "AGENT":
        missing += [f for f in ("agentName", "agentIdNumber") if not form.get(f)]
    if missing:
        # The client scrolls to the first one (填写错误追踪): they come in the form's order.
        ordered = [f for f in FIELDS if f in missing]
        raise bad_input(f"The form lacks {', '.join(ordered)}.", fields=ordered)
    if form["motherIdNumber"] == form["fatherIdNumber"]:
        raise bad_input("The mother's and the father's ID numbers are the same.", field="fatherIdNumber")


def with_defaults(form: Mapping[str, Any]) -> dict[str, Any]:
    """出生医学证明 pickup defaults to 产妇自取 (L5346)."""
    return {"certificatePickup": "SELF", **form}


def mask_value(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in ID_FIELDS:
        return mask_id_number(value)
    if key in NAME_FIELDS:
        return mask_name(value)
    return value


def masked(form: Mapping[str, Any], keep: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The form with the personal fields outside `keep` masked."""
    return {k: v if k in keep else mask_value(k, v) for k, v in form.items()}
