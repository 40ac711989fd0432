"""The set rules: duplicates across records (DQ-03, DQ-16, DQ-32). They need the whole table, so they run in
the batch job only (jobs/checks.py), never on a write. Each finder streams its findings, one per person of
the scope, from a read-only session of its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import date

from sqlalchemy import ColumnElement, and_, func, or_, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.regions import in_subtree, subtree_prefix
from subgraphs.common.validators import InvalidIdNumber, parse_resident_id
from subgraphs.population import models
from subgraphs.population.domain.rules_core import Category, Dimension, SetRule, SetScope

P, C = models.Person, models.Child
_SHOWN_OTHERS = 3
_LOOKUP_CHUNK = 1000


def _in_scope(scope: SetScope) -> ColumnElement[bool]:
    return in_subtree(P.management_region_code, scope.region) if scope.region else true()


def _others(uids: Sequence[str]) -> str:
    shown = "、".join(uids[:_SHOWN_OTHERS])
    return shown + (f" 等{len(uids)}条" if len(uids) > _SHOWN_OTHERS else "")


# --- DQ-03: a child record that carries a person's ID number without being linked to that person -----------


async def find_unlinked_child_records(session: AsyncSession, scope: SetScope) -> AsyncIterator[tuple[str, str]]:
    stmt = (select(P.uid, C.parent_uid, C.child_uid)
            .join(P, P.id_number == C.id_number)
            .where(C.deleted.is_(False), P.deleted.is_(False), C.id_number.is_not(None),
                   or_(C.child_uid.is_(None), C.child_uid != P.uid), _in_scope(scope))
            .order_by(P.uid))
    current: str | None = None
    problems: list[str] = []
    async for uid, parent_uid, child_uid in await session.stream(stmt):
        if uid != current:
            if current is not None:
                yield current, "；".join(problems)
            current, problems = uid, []
        linked = f"，却关联到个案 {child_uid}" if child_uid else "，未关联本个案"
        problems.append(f"个案 {parent_uid} 的子女/新生儿记录与本个案身份证号码相同{linked}(疑似重复录入)")
    if current is not None:
        yield current, "；".join(problems)


# --- DQ-16: the same ID number twice (a legacy 15-digit number beside its 18-digit form, or x beside X) ---


def _normalised(value: str) -> str | None:
    try:
        return parse_resident_id(value).number
    except InvalidIdNumber:
        return None


async def find_same_id_number(session: AsyncSession, scope: SetScope) -> AsyncIterator[tuple[str, str]]:
    # Exact duplicates cannot exist (a unique index); only the spellings that differ can. `substr(..) = 'x'`
    # is case-sensitive in both databases, where LIKE is not in SQLite.
    odd = select(P.uid, P.id_number, P.management_region_code).where(
        P.deleted.is_(False), P.id_number.is_not(None),
        or_(func.length(P.id_number) == 15, func.substr(P.id_number, 18, 1) == "x"))
    holders: dict[str, dict[str, str]] = defaultdict(dict)  # normalised number -> {uid: management region}
    async for uid, number, region in await session.stream(odd):
        if number and (normal := _normalised(number)) is not None:
            holders[normal][uid] = region
    normals = sorted(holders)
    for start in range(0, len(normals), _LOOKUP_CHUNK):
        rows = await session.execute(select(P.uid, P.id_number, P.management_region_code)
                                     .where(P.id_number.in_(normals[start:start + _LOOKUP_CHUNK]),
                                            P.deleted.is_(False)))
        for uid, number, region in rows:
            if number:
                holders[number][uid] = region
    for members in holders.values():
        if len(members) < 2:
            continue
        for uid, region in sorted(members.items()):
            if _region_in_scope(region, scope):
                others = sorted(u for u in members if u != uid)
                yield uid, f"与个案 {_others(others)} 为同一身份证号码(15/18位或大小写写法不同)，同人多记录"


def _region_in_scope(region: str, scope: SetScope) -> bool:
    return scope.region is None or region.startswith(subtree_prefix(scope.region))


# --- DQ-32: same name, birth date and ethnicity -----------------------------------------------------------


async def find_same_person_fields(session: AsyncSession, scope: SetScope) -> AsyncIterator[tuple[str, str]]:
    key = (P.name, P.birth_date, P.ethnicity)
    groups = select(*key).where(P.deleted.is_(False)).group_by(*key).having(func.count() > 1)
    if scope.region:
        groups = groups.where(tuple_(*key).in_(
            select(*key).where(P.deleted.is_(False), in_subtree(P.management_region_code, scope.region))))
    g = groups.subquery()
    stmt = (select(P.uid, P.name, P.birth_date, P.ethnicity, P.id_number, P.management_region_code)
            .join(g, and_(P.name == g.c.name, P.birth_date == g.c.birth_date, P.ethnicity == g.c.ethnicity))
            .where(P.deleted.is_(False))
            .order_by(P.name, P.birth_date, P.ethnicity, P.uid))
    group: list[tuple[str, str | None, str]] = []
    current: tuple[str, date, str] | None = None
    async for uid, name, born, ethnicity, number, region in await session.stream(stmt):
        if (name, born, ethnicity) != current:
            for found in _same_fields(group, scope):
                yield found
            current, group = (name, born, ethnicity), []
        group.append((uid, number, region))
    for found in _same_fields(group, scope):
        yield found


def _same_fields(group: list[tuple[str, str | None, str]], scope: SetScope) -> list[tuple[str, str]]:
    if len(group) < 2:
        return []
    found = []
    for uid, number, region in group:
        if not _region_in_scope(region, scope):
            continue
        others = [u for u, _, _ in group if u != uid]
        if number is None and any(n is None for u, n, _ in group if u != uid):
            what = "均无身份证号码，疑似重复录入"
        else:
            what = "身份证号码不同，请核实是否同一人(保留最新、最完整的记录)"
        found.append((uid, f"与个案 {_others(others)} 姓名、出生日期、民族相同，{what}"))
    return found


SET_RULES: tuple[SetRule, ...] = (
    SetRule("DQ-03", Dimension.UNIQUENESS, Category.DUPLICATE,
            "新生儿/子女身份证号码唯一：子女记录的身份证号码与某个案相同时，须关联该个案(一键建卡)，避免重复录入",
            "A child or newborn record carrying a person's ID number is linked to that person (no duplicate entry)",
            ("DQ-03", "DQ-16"), find_unlinked_child_records),
    SetRule("DQ-16", Dimension.UNIQUENESS, Category.DUPLICATE,
            "以身份证号为核心建立唯一标识：同一号码的15位/18位或大小写写法不得分属多条记录(同人多记录)",
            "The ID number identifies a person: its 15- and 18-digit forms, or x and X, are not on two records",
            ("DQ-16",), find_same_id_number),
    SetRule("DQ-32", Dimension.UNIQUENESS, Category.DUPLICATE,
            "姓名、出生日期、民族相同的记录视为重复：身份证号码不同的须人工核实(同市、跨市重复)",
            "Records with the same name, birth date and ethnicity are duplicates to review (same or other city)",
            ("DQ-32", "DQ-16"), find_same_person_fields, reviewable=True),
)
