"""Personal data of a person: masked by default, in clear only for the roles that may see it, and every clear
read audited (models.PersonalDataAccess) before the data leaves the service.

* Who may unmask: a caller holding one of the roles in POPULATION_UNMASK_ROLES (comma-separated role codes,
  default POPULATION_OFFICER). Anonymous callers never, whatever JSHEALTH_ANONYMOUS_SCOPE says.
* Who may read the audit: a caller holding one of POPULATION_AUDIT_ROLES (default SECURITY_AUDITOR and
  SYSTEM_ADMIN).
* Masking: names keep their first character (张**), ID and document numbers their first 3 and last 4
  characters, phones 3 + 4 (138****5678), addresses their administrative part (江苏省苏州市虎丘区****), identity
  codes their class letter and, for a newborn, birth month, sex and order, the numbers inside masked.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.common.caller import Caller
from subgraphs.common.errors import bad_input, forbidden
from subgraphs.common.masking import mask_address, mask_id_number_narrow, mask_name, mask_phone
from subgraphs.common.outbox import utcnow
from subgraphs.population import models
from subgraphs.population.domain import identity_code as codes

UNMASK_ROLES_ENV = "POPULATION_UNMASK_ROLES"
DEFAULT_UNMASK_ROLES = "POPULATION_OFFICER"
AUDIT_ROLES_ENV = "POPULATION_AUDIT_ROLES"
DEFAULT_AUDIT_ROLES = "SECURITY_AUDITOR,SYSTEM_ADMIN"
MAX_PURPOSE = 200

# The personal fields of a person, as GraphQL names, in the order PersonalData lists them.
PERSONAL_FIELDS = ("name", "idNumber", "otherIdNumber", "phone", "householdAddress", "residenceAddress")


def mask_identity_code(code: str | None) -> str | None:
    """An identity code for display: the class letter stays, any number inside is masked like an ID number."""
    if code is None:
        return None
    try:
        parsed = codes.parse(code)
    except codes.InvalidIdentityCode:
        return mask_id_number_narrow(code)
    if parsed.kind == codes.NEWBORN:
        assert parsed.mother is not None
        return parsed.text[:10] + (mask_identity_code(parsed.mother.text) or "")
    if parsed.kind == codes.RESIDENT:
        return mask_id_number_narrow(parsed.text)
    # A, T and O: the letter, then the rest as a number (an O code holds a region, birth date and sex).
    return parsed.text[0] + mask_id_number_narrow(parsed.text[1:])


# Column -> how history and display mask it; columns not listed are not personal and shown as they are.
MASKS: dict[str, Callable[[str | None], str | None]] = {
    "name": mask_name,
    "id_number": mask_id_number_narrow,
    "other_id_number": mask_id_number_narrow,
    "identity_code": mask_identity_code,
    "phone": mask_phone,
    "household_address": mask_address,
    "residence_address": mask_address,
}


def masked_value(column: str, value: Any) -> str | None:
    """A stored value (from a history snapshot) as text, masked when the column is personal."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    mask = MASKS.get(column)
    return mask(text) if mask is not None else text


def _roles(env: str, default: str) -> frozenset[str]:
    return frozenset(r.strip() for r in os.environ.get(env, default).split(",") if r.strip())


def unmask_roles() -> frozenset[str]:
    return _roles(UNMASK_ROLES_ENV, DEFAULT_UNMASK_ROLES)


def audit_roles() -> frozenset[str]:
    return _roles(AUDIT_ROLES_ENV, DEFAULT_AUDIT_ROLES)


def may_unmask(caller: Caller | None) -> bool:
    return caller is not None and not caller.anonymous and bool(unmask_roles() & set(caller.roles))


def check_may_audit(caller: Caller | None) -> None:
    if caller is None or caller.anonymous or not audit_roles() & set(caller.roles):
        roles = ", ".join(sorted(audit_roles()))
        raise forbidden(f"Reading the personal-data access log needs one of the roles {roles}.")


def check_purpose(purpose: str) -> str:
    text = purpose.strip()
    if not text:
        raise bad_input("Say why you need the personal data in clear (purpose).", argument="purpose")
    if len(text) > MAX_PURPOSE:
        raise bad_input(f"The purpose has at most {MAX_PURPOSE} characters.", argument="purpose", maximum=MAX_PURPOSE)
    return text


async def record_access(sessions: async_sessionmaker[AsyncSession], caller: Caller | None, person_uid: str,
                        purpose: str, fields: Sequence[str]) -> models.PersonalDataAccess:
    """Writes and commits one access record in its own transaction: the data is handed out only once the
    record of handing it out is durable, whatever happens to the rest of the request."""
    row = models.PersonalDataAccess(
        id=str(uuid.uuid4()), at=utcnow(), subject=caller.subject if caller else None,
        client_id=caller.client_id if caller else None, organization_id=caller.organization_id if caller else None,
        person_uid=person_uid, purpose=purpose, fields=",".join(fields)[:200])
    async with sessions() as session, session.begin():
        session.add(row)
    return row


async def unmask(sessions: async_sessionmaker[AsyncSession], caller: Caller | None, person: models.Person,
                 purpose: str, fields: Sequence[str]) -> None:
    """Refuses a caller without an unmasking role (FORBIDDEN) or a blank purpose (BAD_USER_INPUT), then records
    the access. The caller hands out the data only after this returns."""
    if not may_unmask(caller):
        raise forbidden(f"Personal data in clear needs one of the roles {', '.join(sorted(unmask_roles()))}.")
    await record_access(sessions, caller, person.uid, check_purpose(purpose), fields)
