"""Seeds population from the synthetic Jiangsu world (db/seed/population.py): the region tree down to groups
(with historic codes), households, persons with every attribute, marriage events, children, death reports
and their steps, pending dispatch orders, support enrolments and the number counters; then the statistics
tallies are rebuilt from the records, so they are exact.

The rows of each table come from `block_rows`, which the population bench (bench/population.py) also uses to
load millions of persons with COPY: both paths write the same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.seed.chunks import chunked
from db.seed.population import (
    SEED_ACTOR,
    WORLD_MOMENT,
    ChildRecord,
    DeathReport,
    PopulationBlock,
    PopulationPerson,
    population_blocks,
    region_tree,
)
from db.seed.regions import COUNTY_CODES
from subgraphs.common.app import SeedOptions
from subgraphs.population import models
from subgraphs.population.domain import tally

CHUNK = 5000
PERSON_NO_COUNTER = "person-no"


def household_counter_name(county: str) -> str:
    return f"household:{county}"


Row = tuple[Any, ...]

# The tables a seed fills from the world, in load order (referenced tables first), with their columns.
COLUMNS: dict[str, tuple[str, ...]] = {
    "household": ("number", "region_code", "address", "house_number", "created_at"),
    "person": (
        "uid", "person_no", "identity_code", "identity_kind", "id_number", "other_id_number", "name", "sex",
        "birth_date", "ethnicity", "marital_status", "hukou_type", "education", "person_type", "mobility",
        "occupation", "phone", "household_region_code", "residence_region_code", "management_region_code",
        "household_address", "residence_address", "household_no", "relation_to_head", "children_count",
        "boys_count", "youngest_child_birth_date", "status", "deleted", "cancelled_on", "cancel_reason",
        "death_date", "created_at", "updated_at", "version",
    ),
    "marriage_event": (
        "id", "person_uid", "kind", "event_date", "reported_on", "spouse_name", "spouse_id_number",
        "spouse_ethnicity", "spouse_birth_date", "spouse_education", "spouse_phone", "spouse_household_region_code",
        "spouse_residence_region_code", "deleted", "created_at",
    ),
    "child": (
        "id", "parent_uid", "child_uid", "name", "sex", "birth_date", "id_number", "blood_relation",
        "policy_attribute", "birth_order", "health_status", "birth_certificate_no", "change_date", "reported_on",
        "death_date", "source", "region_code", "deleted", "created_at",
    ),
    "support_enrollment": (
        "id", "person_uid", "kind", "policy", "start_date", "end_date", "reason", "exit_reason", "created_at",
    ),
    "death_record": (
        "id", "person_uid", "id_number", "name", "source", "police_deregistration_no", "death_certificate_no",
        "death_date", "cause", "responsible_region_code", "routed_by", "status", "claimed_by", "claimed_at",
        "return_reason", "return_count", "feedback", "processed_by", "processed_at", "synced_at", "created_at",
    ),
    "death_record_event": (
        "id", "death_record_id", "at", "actor", "action", "from_status", "to_status", "region_code", "comment",
    ),
    "dispatch_order": (
        "id", "person_uid", "direction", "scope", "origin_region_code", "target_region_code", "address", "contact",
        "contact_phone", "reason", "status", "created_by", "created_at", "decided_by", "decided_at",
        "decision_comment", "origin_acknowledged_at",
    ),
    "dispatch_event": ("id", "order_id", "at", "actor", "action", "from_status", "to_status", "comment"),
}  # fmt: skip
assert all(set(cols) == {c.name for c in models.Base.metadata.tables[t].columns} for t, cols in COLUMNS.items()), \
    "the seed must give every column of every table it fills"


def _person_row(p: PopulationPerson) -> Row:
    w = p.world
    return (
        w.uid, p.person_no, p.identity_code, p.identity_kind, p.id_number, p.other_id_number, w.name, w.sex,
        w.birth_date, p.ethnicity, p.marital_status, p.hukou_type, p.education, p.person_type, p.mobility,
        p.occupation, w.phone, p.household_region, p.residence_region, p.management_region, p.household_address,
        p.residence_address, p.household_no, p.relation_to_head, p.children_count, p.boys_count,
        p.youngest_child_birth_date, p.status, False, p.cancelled_on, p.cancel_reason, p.death_date, WORLD_MOMENT,
        None, 1,
    )


def _death_rows(report: DeathReport, person_uid: str | None, rows: dict[str, list[Row]]) -> None:
    rows["death_record"].append((
        report.id, person_uid, report.id_number, report.name, report.source, report.police_deregistration_no,
        report.death_certificate_no, report.death_date, report.cause, report.responsible_region, report.routed_by,
        report.status, SEED_ACTOR if report.claimed_at else None, report.claimed_at, report.return_reason,
        report.return_count, report.feedback, SEED_ACTOR if report.processed_at else None, report.processed_at,
        report.synced_at, report.created_at,
    ))
    rows["death_record_event"].extend(
        (s.id, report.id, s.at, SEED_ACTOR, s.action, s.from_status, s.to_status, s.region_code, s.comment)
        for s in report.steps
    )


def block_rows(block: PopulationBlock, count: int, child_ids: set[str] | None = None) -> dict[str, list[Row]]:
    """The rows of every table for the block's persons below `count`, in COLUMNS order.

    `child_ids`: the children's ID numbers already given out (updated here); a child whose number is taken
    keeps none, so the first child in index order keeps a number. None leaves duplicates for the caller to
    clear (the bench does it in SQL after COPY, with the same rule)."""
    rows: dict[str, list[Row]] = {table: [] for table in COLUMNS}
    rows["household"] = [(h.number, h.region_code, h.address, h.house_number, WORLD_MOMENT)
                         for h in block.households if h.first_index < count]
    for p in block.persons:
        if p.index >= count:
            break
        uid = p.uid
        rows["person"].append(_person_row(p))
        rows["marriage_event"].extend(
            (m.id, uid, m.kind, m.event_date, m.reported_on, m.spouse.name, m.spouse.id_number, m.spouse.ethnicity,
             m.spouse.birth_date, m.spouse.education, m.spouse.phone, m.spouse.household_region,
             m.spouse.residence_region, False, WORLD_MOMENT)
            for m in p.marriages
        )
        rows["child"].extend(_child_row(p, c, count, child_ids) for c in p.children)
        rows["support_enrollment"].extend(
            (s.id, uid, s.kind, s.policy, s.start_date, s.end_date, s.reason, s.exit_reason, WORLD_MOMENT)
            for s in p.support
        )
        if p.death is not None:
            _death_rows(p.death, uid, rows)
        if (d := p.dispatch) is not None:
            rows["dispatch_order"].append((
                d.id, uid, d.direction, d.scope, d.origin_region, d.target_region, d.address, d.contact,
                d.contact_phone, d.reason, "PENDING", SEED_ACTOR, d.created_at, None, None, None, None,
            ))
            rows["dispatch_event"].append((d.event_id, d.id, d.created_at, SEED_ACTOR, "PUSHED", None, "PENDING",
                                           d.reason))
    for virtual_index, report in block.unmatched_deaths:
        if virtual_index < count:
            _death_rows(report, None, rows)
    return rows


def _child_row(mother: PopulationPerson, c: ChildRecord, count: int, taken: set[str] | None) -> Row:
    number = c.id_number
    if taken is not None and number is not None:
        if number in taken:
            number = None
        else:
            taken.add(number)
    # A child who is a person of this seed has a case of its own (一键建卡 done).
    child_uid = c.child_uid if c.child_index is not None and c.child_index < count else None
    return (
        c.id, mother.uid, child_uid, c.name, c.sex, c.birth_date, number, c.blood_relation, c.policy_attribute,
        c.birth_order, c.health_status, c.birth_certificate_no, None, c.reported_on, c.death_date, c.source,
        mother.management_region, False, WORLD_MOMENT,
    )


def region_rows() -> list[dict[str, Any]]:
    return [{"code": r.code, "name": r.name, "full_name": r.full_name, "level": r.level,
             "parent_code": r.parent_code, "valid_from": r.valid_from, "valid_to": r.valid_to}
            for r in region_tree()]


class CounterTracker:
    """The last household number per county and the person count, so the counters continue the sequences."""

    def __init__(self) -> None:
        self.households: dict[str, int] = dict.fromkeys(COUNTY_CODES, 0)
        self.persons = 0

    def add(self, rows: dict[str, list[Row]]) -> None:
        for household in rows["household"]:
            number: str = household[0]
            county = number[:6]
            self.households[county] = max(self.households[county], int(number[6:]))
        self.persons += len(rows["person"])

    def rows(self) -> list[dict[str, Any]]:
        out = [{"name": household_counter_name(county), "last_value": value}
               for county, value in sorted(self.households.items())]
        out.append({"name": PERSON_NO_COUNTER, "last_value": self.persons})
        return out


async def is_seeded(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(models.Region)))


@lru_cache(maxsize=1 << 16)
def _sqlite_value(value: date) -> str:
    # SQLAlchemy's own SQLite storage formats (so that its comparisons and parsing see the same strings).
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value.isoformat()


def _sqlite_rows(rows: list[Row], temporal: Sequence[int]) -> list[Row]:
    out: list[Row] = []
    for row in rows:
        values = list(row)
        for i in temporal:
            if (value := values[i]) is not None:
                values[i] = _sqlite_value(value)
        out.append(tuple(values))
    return out


def _is_temporal(column_type: Any) -> bool:
    try:
        return issubclass(column_type.python_type, date)
    except NotImplementedError:
        return False


async def _insert(session: AsyncSession, table: Table, columns: Sequence[str], rows: list[Row]) -> None:
    """Bulk insert through the driver of the session's connection (same transaction): COPY on PostgreSQL,
    executemany of plain tuples on SQLite. SQLAlchemy's per-value bind processing would take most of the seed's
    time at 20,000 persons."""
    connection = await session.connection()
    driver: Any = (await connection.get_raw_connection()).driver_connection
    dialect = connection.dialect.name
    if dialect == "postgresql":
        await driver.copy_records_to_table(table.name, records=rows, columns=list(columns))
        return
    if dialect == "sqlite":
        temporal = [i for i, c in enumerate(columns) if _is_temporal(table.c[c].type)]
        sql = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({", ".join("?" for _ in columns)})'
        for chunk in chunked(rows, CHUNK):
            await driver.executemany(sql, _sqlite_rows(chunk, temporal))
        return
    for chunk in chunked(rows, CHUNK):
        await session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in chunk])


async def seed(session: AsyncSession, options: SeedOptions) -> None:
    tables = models.Base.metadata.tables
    await session.execute(insert(models.Region), region_rows())
    counters = CounterTracker()
    child_ids: set[str] = set()
    for block in population_blocks(options.seed, options.persons, progress=options.progress):
        rows = block_rows(block, options.persons, child_ids)
        counters.add(rows)
        for table, columns in COLUMNS.items():
            if rows[table]:
                await _insert(session, tables[table], columns, rows[table])
    await session.execute(insert(models.Counter), counters.rows())
    await tally.rebuild(session, progress=options.progress)
    # The data-quality rules over the seeded records, so that the seeded invalid ID numbers and the rest are
    # on the check-item cards from the first start (the batch job does the same for a loaded database).
    from subgraphs.population.jobs.checks import check_in_session

    await check_in_session(session)

