"""The catalogue's code lists (services.md §1.2, §3), with the Chinese terms the tender's table uses."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="个人或法人: who may apply for a service item.")
class Party(Enum):
    INDIVIDUAL = strawberry.enum_value("INDIVIDUAL", description="个人")
    LEGAL_ENTITY = strawberry.enum_value("LEGAL_ENTITY", description="法人")


@strawberry.enum(description="网办类型: how far a service item can be handled online.")
class OnlineType(Enum):
    FULL_ONLINE = strawberry.enum_value("FULL_ONLINE", description="全流程网办")
    ONLINE_CHANNEL = strawberry.enum_value("ONLINE_CHANNEL", description="提供在线办理渠道")
    THIRD_PARTY = strawberry.enum_value("THIRD_PARTY", description="跳转第三方")
    ONLINE_CHANNEL_OR_LINK = strawberry.enum_value(
        "ONLINE_CHANNEL_OR_LINK", description="提供在线办理渠道或者链接跳转"
    )


@strawberry.enum(description="事项类型: the kind of administrative power a service item exercises.")
class PowerType(Enum):
    LICENSING = strawberry.enum_value("LICENSING", description="行政许可")
    BENEFIT_PAYMENT = strawberry.enum_value("BENEFIT_PAYMENT", description="行政给付")
    CONFIRMATION = strawberry.enum_value("CONFIRMATION", description="行政确认")
    RULING = strawberry.enum_value("RULING", description="行政裁决")
    OTHER_POWER = strawberry.enum_value("OTHER_POWER", description="其他行政权力")
    FILING = strawberry.enum_value("FILING", description="行政备案")


PARTY_BY_ZH = {"个人": Party.INDIVIDUAL, "法人": Party.LEGAL_ENTITY}
ONLINE_TYPE_BY_ZH = {
    "全流程网办": OnlineType.FULL_ONLINE,
    "提供在线办理渠道": OnlineType.ONLINE_CHANNEL,
    "跳转第三方": OnlineType.THIRD_PARTY,
    "提供在线办理渠道或者链接跳转": OnlineType.ONLINE_CHANNEL_OR_LINK,
}
POWER_TYPE_BY_ZH = {
    "行政许可": PowerType.LICENSING,
    "行政给付": PowerType.BENEFIT_PAYMENT,
    "行政确认": PowerType.CONFIRMATION,
    "行政裁决": PowerType.RULING,
    "其他行政权力": PowerType.OTHER_POWER,
    "行政备案": PowerType.FILING,
}
# 支持层级, in the order the tender lists them.
LEVELS = ("省级", "市级", "县级")
