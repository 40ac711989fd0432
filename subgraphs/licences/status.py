"""证照状态: computed when read, because a stored "expired" flag goes stale the day after it is written
and the tender wants real-time statistics (L5299). The rule (licences.md §3.2, an inference: the tender
gives no formula) is revoked before expired before valid."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Protocol

import strawberry

from subgraphs.common.china_time import CHINA as CHINA  # re-exported
from subgraphs.common.china_time import today_in_china as today_in_china

# Validity dates are calendar dates in China: between 00:00 and 08:00 Beijing time UTC is still on the
# previous day, and a certificate that ended "yesterday" there must already read as expired.

@strawberry.enum(description="证照状态: the state of a licence on the day it is read.")
class LicenceStatus(Enum):
    VALID = strawberry.enum_value("VALID", description="有效 / 正常: not revoked, within its validity.")
    EXPIRED = strawberry.enum_value("EXPIRED", description="过期: the validity period has ended.")
    INVALID = strawberry.enum_value(
        "INVALID", description="无效: revoked (废除 / 注销) or invalidated (validFlag 0), whatever its dates.")


class HasStatusColumns(Protocol):
    valid_flag: bool
    revoked_at: date | None
    valid_until: date | None


def licence_status(licence: HasStatusColumns, today: date) -> LicenceStatus:
    """INVALID (validFlag 0 or revoked) before EXPIRED (validity ended) before VALID; a licence without an
    end date (types 4, 6 and 9 carry none) never expires."""
    if not licence.valid_flag or licence.revoked_at is not None:
        return LicenceStatus.INVALID
    if licence.valid_until is not None and licence.valid_until < today:
        return LicenceStatus.EXPIRED
    return LicenceStatus.VALID
