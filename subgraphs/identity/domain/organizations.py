"""组织机构: the tree's rules (levels, regions, no cycles), deletion only of empty leaves, and merging.

Other domains refer to organisations by id (security's assets, licences' employers), so a merge and a
deletion are announced on the outbox in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from subgraphs.common.errors import bad_input
from subgraphs.common.outbox import emit
from subgraphs.common.regions import subtree_prefix
from subgraphs.identity import models
from subgraphs.identity.domain import validation
from subgraphs.identity.domain.oplog import log_operation, now
from subgraphs.identity.domain.problems import conflict, field_error, not_found

LEVELS: tuple[str, ...] = ("PROVINCE", "CITY", "COUNTY", "TOWNSHIP", "VILLAGE")
MERGED_TOPIC = "identity.organization.merged"
DELETED_TOPIC = "identity.organization.deleted"
MAX_MERGE_SOURCES = 100


def subtree_ids(root_id: str) -> Select[tuple[str]]:
    """The ids of an organisation and all its descendants (a recursive query: the tree is by parent, and
    an organisation's region need not lie under its parent's, e.g. a clinic under a county commission)."""
    tree = select(models.Organization.id).where(models.Organization.id == root_id).cte("org_tree", recursive=True)
    child = models.Organization.__table__.alias("child")
    tree = tree.union_all(select(child.c.id).where(child.c.parent_id == tree.c.id))
    return select(tree.c.id)


async def descendants(session: AsyncSession, root_id: str) -> set[str]:
    return {str(row_id) for row_id in (await session.scalars(subtree_ids(root_id))).all()}


async def get(session: AsyncSession, org_id: str, argument: str = "id") -> models.Organization:
    row = await session.get(models.Organization, org_id)
    if row is None:
        raise not_found("organisation", org_id, argument)
    return row


@dataclass
class OrganizationFields:
    name: str
    kind: str
    level: str
    region_code: str
    credit_code: str
    parent_id: str | None
    code: str | None = None
    person_in_charge: str | None = None
    address: str | None = None
    contact: str | None = None


def _clean(fields: OrganizationFields) -> OrganizationFields:
    try:
        return OrganizationFields(
            name=validation.required_text("name", fields.name, 128),
            kind=fields.kind,
            level=fields.level,
            region_code=fields.region_code.strip(),
            credit_code=validation.credit_code(fields.credit_code),
            parent_id=fields.parent_id,
            code=validation.text("code", fields.code or "", 32),
            person_in_charge=validation.text("personInCharge", fields.person_in_charge or "", 64),
            address=validation.text("address", fields.address or "", 256),
            contact=validation.text("contact", fields.contact or "", 64),
        )
    except validation.FieldProblem as problem:
        raise field_error(problem) from None


async def _check_place(session: AsyncSession, fields: OrganizationFields, org_id: str | None) -> None:
    """Region code well-formed; a parent that exists, is not the organisation itself or below it, sits at
    the same or a higher level, and whose region contains the organisation's."""
    subtree_prefix(fields.region_code)  # raises BAD_USER_INPUT for a malformed code
    if fields.parent_id is None:
        if fields.level != "PROVINCE":
            raise bad_input("Only a province-level organisation may have no parent.", field="parentId")
        return
    parent = await get(session, fields.parent_id, "parentId")
    if org_id is not None and parent.id in await descendants(session, org_id):
        raise bad_input("An organisation cannot be moved under itself or one of its descendants.",
                        field="parentId")
    if LEVELS.index(fields.level) < LEVELS.index(parent.level):
        raise bad_input(f"A {fields.level} organisation cannot report to a {parent.level} one.", field="level")
    if not fields.region_code.startswith(subtree_prefix(parent.region_code)):
        raise bad_input(f"Region {fields.region_code} does not lie in the parent's region {parent.region_code}.",
                        field="regionCode")


async def _check_unique(session: AsyncSession, fields: OrganizationFields, org_id: str | None) -> None:
    others = select(models.Organization.id)
    if org_id is not None:
        others = others.where(models.Organization.id != org_id)
    if fields.code is not None and await session.scalar(others.where(models.Organization.code == fields.code)):
        raise conflict(f"Organisation code {fields.code} is already in use.", field="code")
    if await session.scalar(others.where(models.Organization.credit_code == fields.credit_code)):
        raise conflict("That unified social credit code belongs to another organisation.", field="creditCode")


async def create_organization(
    session: AsyncSession, fields: OrganizationFields, actor_id: str | None
) -> models.Organization:
    fields = _clean(fields)
    await _check_place(session, fields, None)
    await _check_unique(session, fields, None)
    row = models.Organization(id=f"org-{uuid.uuid4().hex[:16]}", created_at=now(), **vars(fields))
    session.add(row)
    log_operation(session, actor_id=actor_id, action="CREATE_ORGANIZATION", target_type="Organization",
                  target_id=row.id, detail={"name": row.name, "parentId": row.parent_id})
    await session.flush()
    return row


async def update_organization(
    session: AsyncSession, org_id: str, changes: dict[str, Any], actor_id: str | None
) -> models.Organization:
    """`changes` holds only the fields given (a None clears an optional one)."""
    row = await get(session, org_id)
    current = OrganizationFields(
        name=row.name, kind=row.kind, level=row.level, region_code=row.region_code, credit_code=row.credit_code,
        parent_id=row.parent_id, code=row.code, person_in_charge=row.person_in_charge, address=row.address,
        contact=row.contact,
    )
    for key, value in changes.items():
        if value is None and key in ("name", "kind", "level", "region_code", "credit_code"):
            raise bad_input(f"{key} cannot be cleared.", field=key)
        setattr(current, key, value)
    fields = _clean(current)
    if {"parent_id", "level", "region_code"} & changes.keys():
        await _check_place(session, fields, row.id)
    await _check_unique(session, fields, row.id)
    before = {k: getattr(row, k) for k in changes}
    for key, value in vars(fields).items():
        setattr(row, key, value)
    log_operation(session, actor_id=actor_id, action="UPDATE_ORGANIZATION", target_type="Organization",
                  target_id=row.id, detail={"before": before, "after": {k: getattr(row, k) for k in changes}})
    await session.flush()
    return row


async def _count(session: AsyncSession, column: Any, org_ids: list[str]) -> int:
    return int(await session.scalar(select(func.count()).where(column.in_(org_ids))) or 0)


async def delete_organization(session: AsyncSession, org_id: str, actor_id: str | None) -> None:
    """Only an organisation with no sub-organisations, no users and no API clients may go (无下级机构、无关联用户)."""
    row = await get(session, org_id)
    children = await _count(session, models.Organization.parent_id, [org_id])
    users = await _count(session, models.User.organization_id, [org_id])
    clients = await _count(session, models.Client.organization_id, [org_id])
    if children or users or clients:
        parts = [f"{n} {what}" for n, what in ((children, "sub-organisation(s)"), (users, "user(s)"),
                                               (clients, "API client(s)")) if n]
        raise conflict(f"{row.name} still has {', '.join(parts)}; move or merge them first.",
                       children=children, users=users, clients=clients)
    await session.delete(row)
    log_operation(session, actor_id=actor_id, action="DELETE_ORGANIZATION", target_type="Organization",
                  target_id=org_id, detail={"name": row.name, "code": row.code, "creditCode": row.credit_code})
    emit(session, models.OutboxEvent, DELETED_TOPIC, {"organizationId": org_id})
    await session.flush()


@dataclass(frozen=True)
class MergeResult:
    target: models.Organization
    users_moved: int
    children_moved: int


async def merge(
    session: AsyncSession, source_ids: list[str], target_id: str, actor_id: str | None, reason: str | None = None
) -> MergeResult:
    """合并: the sources' users, sub-organisations and API clients move to the target, then the sources are
    deleted; one transaction (the caller's), so either all of it happens or none."""
    sources = list(dict.fromkeys(source_ids))
    if not sources:
        raise bad_input("Name at least one organisation to merge.", argument="sourceIds")
    if len(sources) > MAX_MERGE_SOURCES:
        raise bad_input(f"At most {MAX_MERGE_SOURCES} organisations can be merged at once.", argument="sourceIds",
                        maximum=MAX_MERGE_SOURCES)
    if target_id in sources:
        raise bad_input("The target cannot also be a source.", argument="sourceIds")
    target = await get(session, target_id, "targetId")
    rows = (await session.scalars(select(models.Organization).where(models.Organization.id.in_(sources)))).all()
    missing = sorted(set(sources) - {r.id for r in rows})
    if missing:
        raise not_found("organisation", ", ".join(missing), "sourceIds")
    for source in sources:
        if target_id in await descendants(session, source):
            raise bad_input(f"The target lies under {source}; merging would put the tree in a cycle.",
                            argument="targetId")
    moved_users = await _count(session, models.User.organization_id, sources)
    moved_children = int(await session.scalar(
        select(func.count()).where(models.Organization.parent_id.in_(sources), models.Organization.id.not_in(sources))
    ) or 0)
    await session.execute(
        update(models.User).where(models.User.organization_id.in_(sources))
        .values(organization_id=target_id, updated_at=now())
    )
    await session.execute(
        update(models.Organization)
        .where(models.Organization.parent_id.in_(sources), models.Organization.id.not_in(sources))
        .values(parent_id=target_id)
    )
    await session.execute(
        update(models.Client).where(models.Client.organization_id.in_(sources)).values(organization_id=target_id)
    )
    # Sources may hang under each other; clearing their parents first lets one DELETE remove them all.
    await session.execute(
        update(models.Organization).where(models.Organization.id.in_(sources)).values(parent_id=literal(None))
    )
    await session.execute(delete(models.Organization).where(models.Organization.id.in_(sources)))
    detail: dict[str, Any] = {
        "sources": [{"id": r.id, "name": r.name, "code": r.code} for r in rows],
        "usersMoved": moved_users, "childrenMoved": moved_children,
    }
    if reason:
        detail["reason"] = reason
    log_operation(session, actor_id=actor_id, action="MERGE_ORGANIZATIONS", target_type="Organization",
                  target_id=target_id, detail=detail)
    emit(session, models.OutboxEvent, MERGED_TOPIC, {"sourceIds": sources, "targetId": target_id})
    await session.flush()
    # The ORM copies of moved rows are stale after the bulk updates.
    session.expire_all()
    target = await get(session, target_id, "targetId")
    return MergeResult(target, moved_users, moved_children)
