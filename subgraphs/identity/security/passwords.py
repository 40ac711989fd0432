"""Password policy (密码策略, tender 5.3.9.5 (1)): the PASSWORD document and the rules it enforces on every
new password, whether set at registration, by the user, or by an administrator's reset.

Allowed ranges (the tender's): length 6 to 32 (the policy's own minimum and maximum lie in that range),
expiry 1 to 365 days with a reminder 7 days before, 1 to 30 days between two changes, the last 1 to 10
passwords not reusable. Composition: at least one letter (optionally both cases), one digit, one special
character; a password may hold printable ASCII only (letters, digits, space and the 32 ASCII punctuation
marks), so that it can be typed on every keyboard and input method the same way.

Strength (弱/中/强, `strength`), with four character classes (lower-case, upper-case, digit, special):
  STRONG  12+ characters of all four classes, or 16+ characters of three
  MEDIUM  8+ characters of three classes, or 12+ characters of two
  WEAK    anything else, and any password with fewer than 4 distinct characters or a common password
The policy's `min_strength` is the weakest strength it accepts.

    policy = await load_policy(session, PasswordPolicy)
    problems = await validate_new_password(session, user, new, policy, now)   # [] when acceptable
    if not problems:
        await set_password(session, user, new, now)                            # the caller commits
"""

from __future__ import annotations

import math
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar, Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.identity import models
from subgraphs.identity.security.hashing import hash_password, verify_password
from subgraphs.identity.security.policy import PolicyDocument, PolicyError, check_bool, check_choice, check_range

Strength = Literal["WEAK", "MEDIUM", "STRONG"]
STRENGTHS: tuple[Strength, ...] = ("WEAK", "MEDIUM", "STRONG")

LENGTH_RANGE = (6, 32)
EXPIRY_RANGE = (1, 365)
REMINDER_DAYS = 7  # 到期前7天提醒用户修改
INTERVAL_RANGE = (1, 30)
HISTORY_RANGE = (1, 10)
HISTORY_KEPT = 10  # history rows kept per user: the most the policy can ask for

SPECIALS = frozenset(string.punctuation)
ALLOWED = frozenset(string.ascii_letters + string.digits + string.punctuation + " ")
# The best known passwords; the lower-cased password (or it with trailing digits and specials dropped).
COMMON = frozenset({
    "password", "passw0rd", "p@ssw0rd", "p@ssword", "qwerty", "qwertyuiop", "abc123", "admin", "administrator",
    "welcome", "iloveyou", "letmein", "monkey", "dragon", "123456", "12345678", "123456789", "1qaz2wsx",
    "1q2w3e4r", "zaq12wsx", "qwe123", "a123456", "woaini", "woaini1314", "aa123456", "root", "test", "huawei",
})


@dataclass(frozen=True)
class PasswordPolicy(PolicyDocument):
    NAME: ClassVar[str] = "PASSWORD"

    # 复杂度要求 (complexity)
    min_length: int = 8
    max_length: int = 32
    require_letter: bool = True  # 至少包含1位大写/小写字母
    require_mixed_case: bool = False  # both cases, stricter than the tender's minimum
    require_digit: bool = True
    require_special: bool = True
    min_strength: str = "MEDIUM"  # WEAK | MEDIUM | STRONG
    # 有效期要求 (expiry)
    expiry_days: int = 90
    # 安全限制 (security limits)
    min_change_interval_days: int = 1
    history: int = 5

    def validate(self) -> None:
        check_range("min_length", self.min_length, *LENGTH_RANGE)
        check_range("max_length", self.max_length, *LENGTH_RANGE)
        if self.min_length > self.max_length:
            raise PolicyError("min_length", f"min_length ({self.min_length}) must not exceed max_length "
                                            f"({self.max_length})")
        for name in ("require_letter", "require_mixed_case", "require_digit", "require_special"):
            check_bool(name, getattr(self, name))
        check_choice("min_strength", self.min_strength, STRENGTHS)
        check_range("expiry_days", self.expiry_days, *EXPIRY_RANGE)
        check_range("min_change_interval_days", self.min_change_interval_days, *INTERVAL_RANGE)
        check_range("history", self.history, *HISTORY_RANGE)


def _classes(password: str) -> int:
    return sum((
        any(c in string.ascii_lowercase for c in password),
        any(c in string.ascii_uppercase for c in password),
        any(c in string.digits for c in password),
        any(c in SPECIALS or c == " " for c in password),
    ))


def _is_common(password: str) -> bool:
    lowered = password.lower()
    return lowered in COMMON or lowered.rstrip(string.digits + string.punctuation) in COMMON


def strength(password: str) -> Strength:
    """弱/中/强 by the rule in the module documentation."""
    if len(set(password)) < 4 or _is_common(password):
        return "WEAK"
    length, classes = len(password), _classes(password)
    if (length >= 12 and classes == 4) or (length >= 16 and classes >= 3):
        return "STRONG"
    if (length >= 8 and classes >= 3) or (length >= 12 and classes >= 2):
        return "MEDIUM"
    return "WEAK"


def check_new_password(policy: PasswordPolicy, password: str) -> list[str]:
    """What is wrong with `password` under `policy` by itself (history and interval aside); [] if nothing."""
    problems: list[str] = []
    if len(password) < policy.min_length:
        problems.append(f"The password must be at least {policy.min_length} characters long.")
    if len(password) > policy.max_length:
        problems.append(f"The password must be at most {policy.max_length} characters long.")
    if any(c not in ALLOWED for c in password):
        problems.append("The password may contain only letters, digits, spaces and the special characters "
                        + string.punctuation + ".")
    letters = [c for c in password if c in string.ascii_letters]
    if policy.require_letter and not letters:
        problems.append("The password must contain at least one letter.")
    if policy.require_mixed_case and not (any(c.islower() for c in letters) and any(c.isupper() for c in letters)):
        problems.append("The password must contain both an upper-case and a lower-case letter.")
    if policy.require_digit and not any(c in string.digits for c in password):
        problems.append("The password must contain at least one digit.")
    if policy.require_special and not any(c in SPECIALS for c in password):
        problems.append("The password must contain at least one special character (such as !@#$%).")
    level = strength(password)
    if STRENGTHS.index(level) < STRENGTHS.index(policy.min_strength):
        problems.append(f"The password is {level.lower()}; the policy asks for at least "
                        f"{policy.min_strength.lower()}.")
    return problems


async def recent_hashes(session: AsyncSession, user: models.User, count: int) -> list[str]:
    """The hashes of the user's last `count` passwords, the current one first."""
    rows = (await session.scalars(
        select(models.PasswordHistory.password_hash).where(models.PasswordHistory.user_id == user.id)
        .order_by(models.PasswordHistory.created_at.desc(), models.PasswordHistory.id.desc()).limit(count)
    )).all()
    hashes = list(rows)
    # A password set outside set_password (a seed, an import) is not in the history: it still counts.
    if user.password_hash is not None and (not hashes or hashes[0] != user.password_hash):
        hashes.insert(0, user.password_hash)
    return hashes[:count]


async def validate_new_password(
    session: AsyncSession, user: models.User, password: str, policy: PasswordPolicy, now: datetime,
    *, admin_reset: bool = False,
) -> list[str]:
    """Every rule: composition and length, not one of the last `history` passwords, and not within
    `min_change_interval_days` of the last change. An administrator's reset (`admin_reset`) and the
    first change after one (the user's `must_change_password`) are exempt from the interval."""
    problems = check_new_password(policy, password)
    if not admin_reset and not user.must_change_password and user.password_changed_at is not None:
        next_allowed = user.password_changed_at + timedelta(days=policy.min_change_interval_days)
        if now < next_allowed:
            problems.append(f"The password was changed less than {policy.min_change_interval_days} day(s) ago; "
                            f"it can be changed again from {next_allowed.isoformat(timespec='minutes')}.")
    if not problems:  # hashing is slow on purpose: only for an otherwise acceptable password
        for stored in await recent_hashes(session, user, policy.history):
            if verify_password(stored, password):
                problems.append(f"The password must differ from the last {policy.history} password(s).")
                break
    return problems


async def set_password(
    session: AsyncSession, user: models.User, password: str, now: datetime, *, temporary: bool = False
) -> None:
    """Store a password already validated: its hash, the time, a history row (the history keeps the last
    10 per user); `temporary` (an administrator's reset) makes the user change it at the next sign-in.
    The caller commits."""
    stored = hash_password(password)
    user.password_hash = stored
    user.password_changed_at = now
    user.must_change_password = temporary
    user.updated_at = now
    session.add(models.PasswordHistory(user_id=user.id, password_hash=stored, created_at=now))
    await session.flush()
    keep = select(models.PasswordHistory.id).where(models.PasswordHistory.user_id == user.id).order_by(
        models.PasswordHistory.created_at.desc(), models.PasswordHistory.id.desc()).limit(HISTORY_KEPT)
    await session.execute(delete(models.PasswordHistory).where(
        models.PasswordHistory.user_id == user.id, models.PasswordHistory.id.not_in(keep.scalar_subquery())))


def generate_temporary_password(policy: PasswordPolicy) -> str:
    """A random password that satisfies `policy` (for an administrator's reset, 临时密码)."""
    length = max(policy.min_length, 12)
    alphabet = string.ascii_letters + string.digits + "!@#$%^&*-_=+?"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        candidate = candidate[:-4] + secrets.choice(string.ascii_lowercase) + secrets.choice(
            string.ascii_uppercase) + secrets.choice(string.digits) + secrets.choice("!@#$%^&*")
        if not check_new_password(policy, candidate):
            return candidate


@dataclass(frozen=True)
class PasswordStatus:
    state: Literal["OK", "EXPIRING", "EXPIRED", "MUST_CHANGE"]
    expires_at: datetime | None
    days_left: int | None  # whole days until expiry, rounded up; 0 once expired

    @property
    def must_change(self) -> bool:
        return self.state in ("EXPIRED", "MUST_CHANGE")


def password_status(user: models.User, policy: PasswordPolicy, now: datetime) -> PasswordStatus:
    """MUST_CHANGE after an administrator's reset; EXPIRED from `expiry_days` after the last change;
    EXPIRING (the reminder) within the last 7 days before that; else OK. A password with no recorded
    change time counts from the account's creation."""
    since = user.password_changed_at or user.created_at
    expires_at = since + timedelta(days=policy.expiry_days)
    left = expires_at - now
    days_left = max(0, math.ceil(left / timedelta(days=1)))
    if user.must_change_password:
        return PasswordStatus("MUST_CHANGE", expires_at, days_left)
    if left <= timedelta(0):
        return PasswordStatus("EXPIRED", expires_at, 0)
    if left <= timedelta(days=REMINDER_DAYS):
        return PasswordStatus("EXPIRING", expires_at, days_left)
    return PasswordStatus("OK", expires_at, days_left)
