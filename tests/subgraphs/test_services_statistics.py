"""办件统计 against hand-counted fixtures: a database seeded with no persons (so no seeded applications),
ten applications with known histories at fixed China times around the period edges, and every figure
compared with the count worked out by hand in the comments.

"Today" is Wednesday 2025-01-08 (China). The periods are then
  THIS_WEEK  TW = 2025-01-06 (Mon) .. 2025-01-08
  LAST_WEEK  LW = 2024-12-30 (Mon) .. 2025-01-05 (Sun)   (across the year edge)
  LAST_MONTH LM = 2024-12-10 .. 2025-01-08              (30 days, across the month and year edges)
  THIS_YEAR  TY = 2025-01-01 .. 2025-01-08
  LAST_YEAR  LY = 2024-01-01 .. 2024-12-31
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from support import TEST_SEED, create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime, SeedOptions
from subgraphs.common.caller import Caller
from subgraphs.services import models
from subgraphs.services.app import definition
from subgraphs.services.seed_applications import replay

CHINA = timezone(timedelta(hours=8))
EMPTY = SeedOptions(seed=TEST_SEED, persons=0)
NANJING, SUZHOU = ("320100", "org-320100-hc"), ("320500", "org-320500-hc")
NURSE, PUBLIC_PLACE = "bi-006-01", "bi-032-01"  # items item-006 护士执业注册, item-032 公共场所卫生许可


def cn(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, s, tzinfo=CHINA).astimezone(UTC)


# (id, channel, applicant type, business item, region, due date, rating, [(action, from, to, China time)])
# Times are chosen on the edges: Monday 00:00, Sunday 23:59, 31 Dec 23:59:59, 1 Jan 00:00 (16:00 UTC the
# day before), the first day of the 30 days, the day before it, the end of today, tomorrow.
FIXTURES: list[tuple[str, str, str, str, tuple[str, str], datetime | None, int | None,
                     list[tuple[str, str | None, str, datetime]]]] = [
    ("A", "ONLINE", "INDIVIDUAL", NURSE, NANJING, cn(2024, 12, 31), 5, [
        ("SUBMIT", "NEW", "PRE_REVIEW", cn(2024, 12, 9, 10)),
        ("ACCEPT", "PRE_REVIEW", "ACCEPTED", cn(2024, 12, 9, 23, 59)),  # LY only (the day before LM)
        ("SEND_TO_SECTION_REVIEW", "ACCEPTED", "SECTION_REVIEW", cn(2024, 12, 10, 9)),
        ("SECTION_AGREE", "SECTION_REVIEW", "LEADER_APPROVAL", cn(2024, 12, 10, 13)),  # 4 h in review
        ("APPROVE", "LEADER_APPROVAL", "APPROVED", cn(2024, 12, 11, 9)),  # 20 h at the leader; on time
        ("EVALUATE", "APPROVED", "APPROVED", cn(2025, 1, 6)),  # rating 5, Monday 00:00: TW
    ]),
    ("B", "WINDOW", "LEGAL_ENTITY", PUBLIC_PLACE, NANJING, cn(2025, 1, 7), None, [
        ("RECEIVE_WALK_IN", "NEW", "RECEIVED", cn(2024, 12, 30, 9)),
        ("HANDOVER", "RECEIVED", "HANDOVER", cn(2024, 12, 30, 15)),
        ("COMPLETE_MATERIALS", "HANDOVER", "MATERIALS_COMPLETED", cn(2024, 12, 31, 10)),
        ("ACCEPT", "MATERIALS_COMPLETED", "ACCEPTED", cn(2024, 12, 31, 23, 59, 59)),  # LW, LM, LY
        ("SEND_TO_INSPECTION", "ACCEPTED", "SITE_INSPECTION", cn(2025, 1, 2, 9)),
        ("INSPECTION_FAILED", "SITE_INSPECTION", "SITE_INSPECTION", cn(2025, 1, 3, 9)),
        ("SEND_TO_SECTION_REVIEW", "SITE_INSPECTION", "SECTION_REVIEW", cn(2025, 1, 6, 9)),  # 96 h inspecting
    ]),  # still in review, due 7 Jan: overdue
    ("C", "ONLINE", "INDIVIDUAL", NURSE, NANJING, cn(2025, 1, 7), None, [
        ("SUBMIT", "NEW", "PRE_REVIEW", cn(2025, 1, 2, 10)),
        ("ACCEPT", "PRE_REVIEW", "ACCEPTED", cn(2025, 1, 5, 23, 59)),  # Sunday night: LW, LM, TY
        ("SEND_TO_SECTION_REVIEW", "ACCEPTED", "SECTION_REVIEW", cn(2025, 1, 6, 10)),
        ("SECTION_DISAGREE", "SECTION_REVIEW", "LEADER_APPROVAL", cn(2025, 1, 6, 12)),  # 2 h
        ("DENY", "LEADER_APPROVAL", "REJECTED", cn(2025, 1, 8, 23, 59)),  # 59 h 59 min; after the due date
    ]),
    ("D", "WINDOW", "INDIVIDUAL", NURSE, NANJING, None, None, [
        ("RECEIVE_WALK_IN", "NEW", "RECEIVED", cn(2025, 1, 1)),  # 1 Jan 00:00 China = 31 Dec 16:00 UTC
        ("REFUSE", "RECEIVED", "NOT_ACCEPTED", cn(2025, 1, 6)),  # TW
    ]),
    ("E", "ONLINE", "LEGAL_ENTITY", PUBLIC_PLACE, NANJING, cn(2025, 1, 8), 1, [
        ("SUBMIT", "NEW", "PRE_REVIEW", cn(2024, 12, 9, 9)),
        ("ACCEPT", "PRE_REVIEW", "ACCEPTED", cn(2024, 12, 10)),  # the first day of LM
        ("SEND_TO_SECTION_REVIEW", "ACCEPTED", "SECTION_REVIEW", cn(2024, 12, 10, 8)),
        ("SECTION_AGREE", "SECTION_REVIEW", "LEADER_APPROVAL", cn(2024, 12, 11, 8)),  # 24 h
        ("APPROVE", "LEADER_APPROVAL", "APPROVED", cn(2024, 12, 12, 8)),  # 24 h; on time
        ("ISSUE_CERTIFICATE", "APPROVED", "APPROVED", cn(2024, 12, 13, 9)),
        ("MAIL", "APPROVED", "APPROVED", cn(2024, 12, 16, 9)),
        ("EVALUATE", "APPROVED", "APPROVED", cn(2025, 1, 5, 12)),  # rating 1: LW, LM, TY
    ]),
    ("F", "ONLINE", "INDIVIDUAL", NURSE, NANJING, cn(2025, 2, 10), None, [
        ("SUBMIT", "NEW", "PRE_REVIEW", cn(2025, 1, 3, 9)),
        ("ACCEPT", "PRE_REVIEW", "ACCEPTED", cn(2025, 1, 6)),  # Monday 00:00: TW
    ]),
    ("G", "ONLINE", "INDIVIDUAL", NURSE, NANJING, cn(2025, 2, 12), None, [
        ("SUBMIT", "NEW", "PRE_REVIEW", cn(2025, 1, 8, 10)),
        ("ACCEPT", "PRE_REVIEW", "ACCEPTED", cn(2025, 1, 9)),  # tomorrow: in no period
    ]),
    ("H", "ONLINE", "INDIVIDUAL", NURSE, NANJING, cn(2024, 2, 1), 2, [
        ("SUBMIT", "NEW", "PRE_REVIEW", cn(2023, 12, 31, 10)),
        ("ACCEPT", "PRE_REVIEW", "ACCEPTED", cn(2024, 1, 1)),  # LY's first moment
        ("SEND_TO_SECTION_REVIEW", "ACCEPTED", "SECTION_REVIEW", cn(2024, 2, 28, 10)),
        ("SECTION_AGREE", "SECTION_REVIEW", "LEADER_APPROVAL", cn(2024, 2, 29, 10)),  # 24 h
        ("APPROVE", "LEADER_APPROVAL", "APPROVED", cn(2024, 3, 1, 10)),  # 24 h; late
        ("EVALUATE", "APPROVED", "APPROVED", cn(2024, 3, 2, 10)),  # rating 2
    ]),
    ("I", "ONLINE", "INDIVIDUAL", NURSE, NANJING, cn(2024, 1, 30), None, [
        ("SUBMIT", "NEW", "PRE_REVIEW", cn(2023, 12, 30, 9)),
        ("ACCEPT", "PRE_REVIEW", "ACCEPTED", cn(2023, 12, 31, 23, 59)),  # the year before LY
    ]),  # open since, overdue
    ("J", "ONLINE", "INDIVIDUAL", NURSE, SUZHOU, cn(2025, 1, 8), None, [
        ("SUBMIT", "NEW", "PRE_REVIEW", cn(2025, 1, 7, 9)),
        ("ACCEPT", "PRE_REVIEW", "ACCEPTED", cn(2025, 1, 7, 10)),  # TW, in Suzhou; due 8 Jan: overdue
    ]),
]

QUERY = """query($period: ApplicationPeriod, $regionCode: String, $itemId: ID, $organizationId: ID) {
  applicationStatistics(period: $period, today: "2025-01-08", regionCode: $regionCode, itemId: $itemId,
                        organizationId: $organizationId) {
    from to
    totals { accepted { online window total } completed { online window total } overdueCompleted }
    submittedIndividual submittedLegalEntity mailed overdueOpen
    outcomes { status count }
    byItem { itemId itemName counts { accepted { online window } completed { online window } overdueCompleted } }
    byBusinessItem { businessItemId counts { accepted { total } } }
    byStep { step entered left averageHours }
    evaluations { count averageRating distribution { rating count } bad }
  } }"""


async def fixture_runtime(url: str) -> Runtime:
    runtime = await make_runtime(definition, url, seed_options=EMPTY)
    async with runtime.sessions() as session, session.begin():
        assert not (await session.execute(models.Application.__table__.select())).first(), "seeded applications"
        for key, channel, kind, business_item, (region, org), due, rating, events in FIXTURES:
            assert replay([(a, f, t) for a, f, t, _ in events]).value == events[-1][2]
            first = {action: at for action, _, _, at in reversed(events)}
            completed = next((at for a, _, t, at in events if t in (
                "NOT_ACCEPTED", "APPROVED", "REJECTED") and a not in ("EVALUATE", "MAIL", "ISSUE_CERTIFICATE")),
                None)
            session.add(models.Application(
                id=f"app-{key}", number=f"JSTEST{key}", business_item_id=business_item, applicant_uid=f"P-{key}",
                status=events[-1][2], created_at=events[0][3] - timedelta(minutes=5),
                submitted_at=first.get("SUBMIT", first.get("RECEIVE_WALK_IN")), updated_at=events[-1][3],
                applicant_type=kind, region_code=region, organization_id=org, channel=channel,
                accepted_at=first.get("ACCEPT"), completed_at=completed, due_at=due, rating=rating,
                evaluated_at=first.get("EVALUATE")))
            await session.flush()
            for seq, (action, from_status, to_status, at) in enumerate(events, start=1):
                session.add(models.ApplicationEvent(application_id=f"app-{key}", seq=seq, action=action,
                                                    from_status=from_status, to_status=to_status, actor="usr-test",
                                                    at=at, documents=[]))
    return runtime


async def stats(runtime: Runtime, period: str, caller: Caller | None = None, **filters: str) -> dict[str, Any]:
    data = await execute(runtime, QUERY, {"period": period, **filters}, caller=caller)
    result: dict[str, Any] = data["applicationStatistics"]
    return result


def steps(figures: dict[str, Any]) -> dict[str, tuple[int, int, float | None]]:
    return {s["step"]: (s["entered"], s["left"], s["averageHours"]) for s in figures["byStep"]}


def outcomes(figures: dict[str, Any]) -> dict[str, int]:
    return {o["status"]: o["count"] for o in figures["outcomes"] if o["count"]}


def ratings(figures: dict[str, Any]) -> tuple[int, float | None, dict[int, int], int]:
    e = figures["evaluations"]
    return e["count"], e["averageRating"], {d["rating"]: d["count"] for d in e["distribution"] if d["count"]}, e["bad"]


# Overdue open cases at the end of today, whatever the period: B (due 7 Jan), I (due 2024-01-30),
# J (due 8 Jan); not F or G (due in February; G is accepted tomorrow anyway).
OVERDUE_OPEN = 3


async def check_every_period(runtime: Runtime) -> None:
    # THIS_WEEK: accepted F, J (online); completed C (online, late), D (window); submitted G, J;
    # evaluations A (5); steps: B and C enter review (C leaves after 2 h), C at the leader 59 h 59 min.
    tw = await stats(runtime, "THIS_WEEK")
    assert (tw["from"], tw["to"]) == ("2025-01-06", "2025-01-08")
    assert tw["totals"] == {"accepted": {"online": 2, "window": 0, "total": 2},
                           "completed": {"online": 1, "window": 1, "total": 2}, "overdueCompleted": 1}
    assert (tw["submittedIndividual"], tw["submittedLegalEntity"], tw["mailed"], tw["overdueOpen"]) == (
        2, 0, 0, OVERDUE_OPEN)
    assert outcomes(tw) == {"REJECTED": 1, "NOT_ACCEPTED": 1}
    assert steps(tw) == {"SITE_INSPECTION": (0, 0, None), "EXPERT_REVIEW": (0, 0, None),
                         "SECTION_REVIEW": (2, 1, 2.0), "LEADER_APPROVAL": (1, 1, 59.98)}
    assert ratings(tw) == (1, 5.0, {5: 1}, 0)

    # LAST_WEEK (30 Dec - 5 Jan): accepted B (window, 31 Dec 23:59:59) and C (online, Sunday 23:59); nothing
    # completed; submitted B (legal entity), C, D (1 Jan 00:00), F; evaluation E (1); B's inspection visit
    # began 2 Jan: 24 h to the failed inspection + 72 h to the review = 96 h.
    lw = await stats(runtime, "LAST_WEEK")
    assert (lw["from"], lw["to"]) == ("2024-12-30", "2025-01-05")
    assert lw["totals"] == {"accepted": {"online": 1, "window": 1, "total": 2},
                           "completed": {"online": 0, "window": 0, "total": 0}, "overdueCompleted": 0}
    assert (lw["submittedIndividual"], lw["submittedLegalEntity"], lw["mailed"]) == (3, 1, 0)
    assert outcomes(lw) == {}
    assert steps(lw)["SITE_INSPECTION"] == (1, 1, 96.0)
    assert steps(lw)["SECTION_REVIEW"] == (0, 0, None)
    assert ratings(lw) == (1, 1.0, {1: 1}, 1)

    # LAST_MONTH (10 Dec - 8 Jan): accepted B (window), C, E (10 Dec 00:00), F, J; not A (9 Dec 23:59) or G
    # (tomorrow). Completed A, C (late), E online, D window. Submitted B (legal), C, D, F, G, J; A and E
    # submitted 9 Dec. E's certificate mailed 16 Dec. Evaluations A (5), E (1).
    # Review visits: A 4 h, E 24 h, C 2 h, B still there = 4 entered, 3 left, 30 h / 3 = 10 h.
    # Leader visits: A 20 h, E 24 h, C 59 h 59 min = 103.98 h / 3 = 34.66 h.
    lm = await stats(runtime, "LAST_MONTH")
    assert (lm["from"], lm["to"]) == ("2024-12-10", "2025-01-08")
    assert lm["totals"] == {"accepted": {"online": 4, "window": 1, "total": 5},
                           "completed": {"online": 3, "window": 1, "total": 4}, "overdueCompleted": 1}
    assert (lm["submittedIndividual"], lm["submittedLegalEntity"], lm["mailed"]) == (5, 1, 1)
    assert outcomes(lm) == {"APPROVED": 2, "REJECTED": 1, "NOT_ACCEPTED": 1}
    assert steps(lm) == {"SITE_INSPECTION": (1, 1, 96.0), "EXPERT_REVIEW": (0, 0, None),
                         "SECTION_REVIEW": (4, 3, 10.0), "LEADER_APPROVAL": (3, 3, 34.66)}
    assert ratings(lm) == (2, 3.0, {1: 1, 5: 1}, 1)
    # By item: 护士执业注册 accepted C, F, J and completed A, C (late) online, D window; 公共场所卫生许可
    # accepted E online, B window, completed E.
    assert lm["byItem"] == [
        {"itemId": "item-006", "itemName": "护士执业注册",
         "counts": {"accepted": {"online": 3, "window": 0}, "completed": {"online": 2, "window": 1},
                    "overdueCompleted": 1}},
        {"itemId": "item-032", "itemName": "公共场所卫生许可",
         "counts": {"accepted": {"online": 1, "window": 1}, "completed": {"online": 1, "window": 0},
                    "overdueCompleted": 0}},
    ]
    assert [(b["businessItemId"], b["counts"]["accepted"]["total"]) for b in lm["byBusinessItem"]] == [
        (NURSE, 3), (PUBLIC_PLACE, 2)]

    # THIS_YEAR (1 - 8 Jan): accepted C, F, J; not B (31 Dec 23:59:59 China, though 1 Jan would begin at
    # 31 Dec 16:00 UTC). Completed C, D. Submitted C, D (1 Jan 00:00 China), F, G, J.
    ty = await stats(runtime, "THIS_YEAR")
    assert (ty["from"], ty["to"]) == ("2025-01-01", "2025-01-08")
    assert ty["totals"] == {"accepted": {"online": 3, "window": 0, "total": 3},
                           "completed": {"online": 1, "window": 1, "total": 2}, "overdueCompleted": 1}
    assert (ty["submittedIndividual"], ty["submittedLegalEntity"], ty["mailed"]) == (5, 0, 0)
    assert steps(ty) == {"SITE_INSPECTION": (1, 1, 96.0), "EXPERT_REVIEW": (0, 0, None),
                         "SECTION_REVIEW": (2, 1, 2.0), "LEADER_APPROVAL": (1, 1, 59.98)}
    assert ratings(ty) == (2, 3.0, {1: 1, 5: 1}, 1)

    # LAST_YEAR (2024): accepted A, E, H (1 Jan 00:00) online, B window; not I (31 Dec 2023 23:59).
    # Completed A, E, H (late). Submitted A, B (legal), E (legal); H and I submitted in 2023.
    # Review: A 4 h, E 24 h, H 24 h = 52 / 3; leader: A 20 h, E 24 h, H 24 h = 68 / 3.
    ly = await stats(runtime, "LAST_YEAR")
    assert (ly["from"], ly["to"]) == ("2024-01-01", "2024-12-31")
    assert ly["totals"] == {"accepted": {"online": 3, "window": 1, "total": 4},
                           "completed": {"online": 3, "window": 0, "total": 3}, "overdueCompleted": 1}
    assert (ly["submittedIndividual"], ly["submittedLegalEntity"], ly["mailed"]) == (1, 2, 1)
    assert outcomes(ly) == {"APPROVED": 3}
    assert steps(ly) == {"SITE_INSPECTION": (0, 0, None), "EXPERT_REVIEW": (0, 0, None),
                         "SECTION_REVIEW": (3, 3, 17.33), "LEADER_APPROVAL": (3, 3, 22.67)}
    assert ratings(ly) == (1, 2.0, {2: 1}, 1)


async def check_filters_and_access(runtime: Runtime) -> None:
    # Nanjing only: J (Suzhou) drops out: accepted in TW just F; overdue B and I.
    nanjing = await stats(runtime, "THIS_WEEK", regionCode="320100")
    assert (nanjing["totals"]["accepted"]["total"], nanjing["overdueOpen"]) == (1, 2)
    # 公共场所卫生许可 in the last 30 days: accepted E online and B window, completed E.
    public = await stats(runtime, "LAST_MONTH", itemId="item-032")
    assert public["totals"]["accepted"] == {"online": 1, "window": 1, "total": 2}
    assert public["totals"]["completed"]["total"] == 1 and public["overdueOpen"] == 1  # B
    assert (await stats(runtime, "LAST_MONTH", organizationId="org-320500-hc"))["totals"]["accepted"]["total"] == 1
    # A Suzhou approver sees Suzhou's cases only (J); a caller without a service-hall role is refused.
    suzhou = Caller(subject="usr-sz", client_id="portal", scopes=frozenset(), organization_id="org-320500-hc",
                    region_code="320500", roles=("SERVICE_APPROVER",), data_scope="OWN_ORG")
    mine = await stats(runtime, "THIS_WEEK", caller=suzhou)
    assert (mine["totals"]["accepted"]["total"], mine["overdueOpen"]) == (1, 1)
    nobody = Caller(subject="usr-x", client_id="portal", scopes=frozenset(), roles=("MEDICAL_STAFF",))
    errors = await errors_of(runtime, QUERY, {"period": "THIS_WEEK"}, caller=nobody)
    assert errors[0].extensions["code"] == "FORBIDDEN"


BAD_ARGUMENTS = [
    ('period: THIS_WEEK, from: "2025-01-01", to: "2025-01-02"', "period"),
    ('from: "2025-01-02", to: "2025-01-01"', "to"),
    ('from: "2025-01-02"', "to"),
    ('from: "2020-01-01", to: "2025-01-01"', "to"),
    ("top: 0", "top"),
]


async def test_statistics_match_the_hand_counts(tmp_path: Path) -> None:
    # One database for every check: seeding even an empty world takes seconds.
    runtime = await fixture_runtime(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    try:
        await check_every_period(runtime)
        await check_filters_and_access(runtime)
        # 31 Dec 2024 alone (China): B accepted at 23:59:59 (window); nothing else.
        data = await execute(runtime, """{ applicationStatistics(from: "2024-12-31", to: "2024-12-31") {
            totals { accepted { online window } } } }""")
        assert data["applicationStatistics"]["totals"]["accepted"] == {"online": 0, "window": 1}
        for arguments, argument in BAD_ARGUMENTS:
            errors = await errors_of(runtime, "{ applicationStatistics(" + arguments + ") { from } }")
            assert errors[0].extensions["code"] == "BAD_USER_INPUT", arguments
            assert errors[0].extensions["argument"] == argument, arguments
    finally:
        await runtime.engine.dispose()


@pytest.mark.postgres
async def test_postgresql_counts_the_same() -> None:
    url = await create_pg_database("jshealth_svc")
    runtime = await fixture_runtime(url)
    try:
        await check_every_period(runtime)
        await check_filters_and_access(runtime)
    finally:
        await runtime.engine.dispose()
        await drop_pg_database(url)
