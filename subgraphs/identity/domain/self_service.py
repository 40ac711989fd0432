"""个人中心: what a signed-in user may see and change about their own account.

Only the verified caller (the router's caller token, `info.context.caller`) counts as "me": an anonymous
request, or a system calling with client credentials, has no personal centre. Of the account only the
mobile and the e-mail address are the user's to edit (tender 5.3.9.1 (3)); everything else stays with the
administrators (domain/users.py). A password change needs the current password and passes the whole
password policy (security/passwords.py), history and change interval included.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.errors import ErrorCode, bad_input, domain_error
from subgraphs.common.outbox import emit
from subgraphs.identity import models
from subgraphs.identity.domain import validation
from subgraphs.identity.domain.caller import caller_id
from subgraphs.identity.domain.oplog import log_operation, now
from subgraphs.identity.domain.personal import reveal_with, seal_personal
from subgraphs.identity.domain.problems import field_error, invalid_state
from subgraphs.identity.domain.users import CHANGED_TOPIC
from subgraphs.identity.security.crypto import FieldCipher
from subgraphs.identity.security.hashing import verify_password
from subgraphs.identity.security.passwords import (
    PasswordPolicy,
    PasswordStatus,
    password_status,
    set_password,
    validate_new_password,
)
from subgraphs.identity.security.policy import load_policy

# The only fields of their own account a user may change (个人信息编辑: 手机号、邮箱).
EDITABLE = ("mobile", "email")


def signed_in_user_id(info: Any) -> str:
    """The verified caller's user id; UNAUTHENTICATED for anonymous callers and for systems (client
    credentials), which have no personal centre."""
    user_id = caller_id(info)
    if user_id is None:
        raise domain_error(ErrorCode.UNAUTHENTICATED, "Sign in to use the personal centre (个人中心).")
    return user_id


async def own_account(session: AsyncSession, user_id: str) -> models.User:
    """The caller's account row. A token can outlive its account (deleted since it was issued): that is
    an authentication problem, not a missing record the caller could fix."""
    row = await session.get(models.User, user_id)
    if row is None:
        raise domain_error(ErrorCode.UNAUTHENTICATED, "The signed-in account no longer exists.")
    return row


def _must_be_active(row: models.User) -> None:
    # A token issued before a freeze may still be valid for a few minutes; a frozen or cancelled account
    # must not be changed through it.
    if row.status != "NORMAL":
        raise invalid_state(f"The account is {row.status}; it cannot be changed.", status=row.status)


async def password_status_of(session: AsyncSession, row: models.User, at: datetime | None = None) -> PasswordStatus:
    """Expired / expiring within the reminder window / must change, under the policy in force."""
    return password_status(row, await load_policy(session, PasswordPolicy), at or now())


async def update_contact(
    session: AsyncSession, cipher: FieldCipher, user_id: str, changes: dict[str, str | None]
) -> models.User:
    """`changes` holds only the fields the user sent, among `EDITABLE`; None or blank clears one.

    The mobile is sealed again with its blind index (the name with it, so a row keeps one key version),
    which keeps exact lookup by mobile working after the edit."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise bad_input(f"{', '.join(unknown)} cannot be edited in the personal centre.", field=unknown[0])
    if not changes:
        raise bad_input("Give the mobile, the e-mail address or both.")
    row = await own_account(session, user_id)
    _must_be_active(row)
    changed: list[str] = []
    try:
        if "mobile" in changes:
            mobile = validation.mobile(changes["mobile"] or "")
            name = reveal_with(cipher, row.name_cipher) if row.name_cipher is not None else row.display_name
            seal_personal(cipher, name, mobile).apply(row)
            changed.append("mobile")
        if "email" in changes:
            row.email = validation.email(changes["email"] or "")
            changed.append("email")
    except validation.FieldProblem as problem:
        raise field_error(problem) from None
    row.updated_at = now()
    # Personal data: the log and the event say what changed, never the values.
    log_operation(session, actor_id=user_id, action="UPDATE_OWN_CONTACT", target_type="User", target_id=row.id,
                  detail={"fields": changed}, at=row.updated_at)
    emit(session, models.OutboxEvent, CHANGED_TOPIC, {"userId": row.id, "fields": changed})
    await session.flush()
    return row


async def change_password(
    session: AsyncSession, user_id: str, old_password: str, new_password: str, at: datetime | None = None
) -> models.User:
    """修改密码: the current password must be right; the new one passes the policy (composition, strength,
    not one of the last N, not within the minimum interval unless a change is required). Clears
    must_change_password. A wrong current password is refused plainly: it is not a sign-in attempt and
    does not count towards the lockout."""
    at = at or now()
    row = await own_account(session, user_id)
    _must_be_active(row)
    if not verify_password(row.password_hash, old_password):
        raise bad_input("The current password is not correct.", argument="oldPassword")
    problems = await validate_new_password(session, row, new_password, await load_policy(session, PasswordPolicy), at)
    if problems:
        raise bad_input("The new password does not meet the password policy: " + " ".join(problems),
                        argument="newPassword", problems=problems)
    await set_password(session, row, new_password, at)  # not temporary: must_change_password is cleared
    log_operation(session, actor_id=user_id, action="CHANGE_OWN_PASSWORD", target_type="User", target_id=row.id,
                  at=at)
    await session.flush()
    return row
