"""Enabling and disabling (启用/停用) service items and business items: managers only.

A disabled item, or a business item of one, disappears from the public catalogue and search and takes no
new applications; cases already filed go on. `is_open(session, business_item)` is the check the
applications helper runs before a submission (workflow.py): it takes a business item row or its id.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, domain_error
from subgraphs.services import models
from subgraphs.services.access import check_manager


async def set_item_enabled(session: AsyncSession, caller: Caller | None, item_id: str,
                           enabled: bool) -> models.ServiceItem:
    check_manager(caller, "启用/停用 of service items")
    row = await session.get(models.ServiceItem, item_id)
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No service item {item_id}.", id=item_id)
    row.enabled = enabled
    await session.flush()
    return row


async def set_business_item_enabled(session: AsyncSession, caller: Caller | None, business_item_id: str,
                                    enabled: bool) -> models.BusinessItem:
    check_manager(caller, "启用/停用 of business items")
    row = await session.get(models.BusinessItem, business_item_id)
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No business item {business_item_id}.", id=business_item_id)
    row.enabled = enabled
    await session.flush()
    return row


async def is_open(session: AsyncSession, business_item: models.BusinessItem | str) -> bool:
    """Whether new applications may be filed for the business item: it and its item are enabled (an
    unknown id is not open)."""
    if isinstance(business_item, str):
        row = await session.scalar(select(models.BusinessItem).where(models.BusinessItem.id == business_item))
        if row is None:
            return False
        business_item = row
    return bool(business_item.enabled and business_item.item.enabled)
