"""The seeded applications: every status, histories that replay through the state machine, consistent
timestamps and fields, the volume, determinism."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import select
from support import TEST_PERSONS, TEST_SEED

from db.seed.world import applicants, person
from subgraphs.common.app import Runtime
from subgraphs.services import models
from subgraphs.services.app import definition
from subgraphs.services.catalogue import load_catalogue
from subgraphs.services.domain.guides import HOLIDAYS, add_working_days, promised_due
from subgraphs.services.seed_applications import (
    CHINA,
    NOW,
    PROMISED_WORKING_DAYS,
    Walk,
    after_working,
    applications,
    promised_days,
    replay,
)
from subgraphs.services.status import STAGE_OF, Action, ApplicationStage, ApplicationStatus

COMPLETED = {s.value for s, stage in STAGE_OF.items() if stage is ApplicationStage.COMPLETED}
DOCUMENT_OF = {"RECEIVE_WALK_IN": "INTAKE_RECEIPT", "ACCEPT": "ACCEPTANCE_NOTICE", "REFUSE": "REFUSAL_DECISION",
               "REQUEST_CORRECTION": "CORRECTION_NOTICE", "RETURN": "CORRECTION_NOTICE",
               "APPROVE": "APPROVAL_DECISION", "DENY": "DENIAL_DECISION"}


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def utc(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


async def seeded(sqlite_runtime: Any) -> tuple[list[models.Application], dict[str, list[models.ApplicationEvent]],
                                               list[models.ApplicationDocument]]:
    runtime: Runtime = await sqlite_runtime(definition)
    async with runtime.sessions() as session:
        apps = list((await session.scalars(select(models.Application).order_by(models.Application.id))).all())
        events: dict[str, list[models.ApplicationEvent]] = defaultdict(list)
        stmt = select(models.ApplicationEvent).order_by(models.ApplicationEvent.application_id,
                                                        models.ApplicationEvent.seq)
        for event in (await session.scalars(stmt)).all():
            events[event.application_id].append(event)
        documents = list((await session.scalars(select(models.ApplicationDocument))).all())
    return apps, events, documents


async def test_every_status_appears_and_every_history_replays(sqlite_runtime: Any) -> None:
    apps, events, _ = await seeded(sqlite_runtime)
    assert Counter(a.status for a in apps).keys() == {s.value for s in ApplicationStatus}
    for app in apps:
        history = events.get(app.id, [])
        assert [e.seq for e in history] == list(range(1, len(history) + 1))
        assert replay([(e.action, e.from_status, e.to_status) for e in history]).value == app.status, app.id
        if app.channel == "WINDOW":
            assert [e.action for e in history[:3]] == ["RECEIVE_WALK_IN", "HANDOVER", "COMPLETE_MATERIALS"][
                :len(history)], app.id


async def test_timestamps_follow_the_history(sqlite_runtime: Any) -> None:
    apps, events, _ = await seeded(sqlite_runtime)
    for app in apps:
        history = events.get(app.id, [])
        times = [aware(e.at) for e in history]
        assert all(a < b for a, b in pairwise(times)), app.id
        created, submitted = utc(app.created_at), utc(app.submitted_at)
        accepted, completed = utc(app.accepted_at), utc(app.completed_at)
        assert created is not None
        assert datetime(2025, 1, 1, tzinfo=UTC) <= created and utc(app.updated_at) == (times[-1] if times else created)
        steps = [created, submitted, accepted, completed]
        present = [t for t in steps if t is not None]
        assert present == sorted(present), app.id
        assert all(created <= t < NOW for t in times)
        first = {e.action: aware(e.at) for e in reversed(history)}
        assert submitted == min((first[a] for a in ("SUBMIT", "RECEIVE_WALK_IN") if a in first), default=None)
        assert accepted == first.get("ACCEPT")
        assert (completed is not None) is (app.status in COMPLETED)
        assert (app.due_at is None) is (accepted is None), app.id
        assert utc(app.evaluated_at) == first.get("EVALUATE")
        for moment in times:
            local = moment.astimezone(CHINA)
            # Working days, office hours (public holidays are not modelled).
            assert local.weekday() < 5 and 9 <= local.hour < 17, (app.id, local)


async def test_fields_follow_the_path(sqlite_runtime: Any) -> None:
    apps, events, documents = await seeded(sqlite_runtime)
    docs = {d.id: d for d in documents}
    for app in apps:
        history = events.get(app.id, [])
        actions = [e.action for e in history]
        assert (app.submitted_at is None) is (app.status in ("NEW", "DRAFT"))
        assert (app.applicant_org_id is not None) is (app.applicant_type == "LEGAL_ENTITY")
        assert app.region_code and app.organization_id == f"org-{app.region_code}-hc"
        approved = app.status == "APPROVED"
        assert (app.certificate_status is not None) is approved
        assert (app.certificate_status == "ISSUED") is ("ISSUE_CERTIFICATE" in actions)
        assert (app.delivery_status is not None) is ("MAIL" in actions)
        assert (app.rating is not None) is ("EVALUATE" in actions) and (app.rating is None or approved)
        for event in history:
            kinds = [docs[d].kind for d in event.documents]
            assert kinds == ([DOCUMENT_OF[event.action]] if event.action in DOCUMENT_OF else []), event.action
            assert event.actor == app.applicant_uid or event.actor.startswith("usr-")
    assert len({d.number for d in documents}) == len(documents)
    assert all(d.number.startswith("苏卫") and d.number.endswith("号") for d in documents)
    # Realistic shares: ~80 % online, mostly 5 stars but some bad reviews, some cases past their due date.
    channels = Counter(a.channel for a in apps)
    assert 0.7 < channels["ONLINE"] / len(apps) < 0.9
    ratings = Counter(a.rating for a in apps if a.rating is not None)
    assert ratings.most_common(1)[0][0] == 5 and ratings[1] + ratings[2] > 0
    overdue = [a for a in apps if a.completed_at is None and a.due_at is not None and aware(a.due_at) < NOW]
    late = [a for a in apps if a.completed_at and a.due_at and aware(a.completed_at) > aware(a.due_at)]
    assert overdue and late
    assert {a.applicant_type for a in apps} == {"INDIVIDUAL", "LEGAL_ENTITY"}


async def test_every_world_applicant_applies_and_the_volume_is_provincial(sqlite_runtime: Any) -> None:
    apps, _, _ = await seeded(sqlite_runtime)
    uids = {a.applicant_uid for a in apps}
    assert {person(TEST_SEED, i).uid for i in applicants(TEST_SEED, TEST_PERSONS)} <= uids
    # At least one application per person of the world: 20,000 persons give more than 20,000 cases.
    assert len(apps) >= TEST_PERSONS


def test_the_seed_is_deterministic() -> None:
    catalogue = load_catalogue()
    first = list(applications(TEST_SEED, 150, catalogue))
    assert first == list(applications(TEST_SEED, 150, catalogue))
    assert first != list(applications(TEST_SEED + 1, 150, catalogue))


def test_an_illegal_step_cannot_be_generated() -> None:
    walk = Walk(random.Random(1), datetime(2025, 3, 3, 9, tzinfo=CHINA), "P-1", ["usr-1"], 1.0)
    with pytest.raises(AssertionError, match="ACCEPT is not allowed from NEW"):
        walk.do(Action.ACCEPT, 60)
    with pytest.raises(AssertionError):
        replay([("SUBMIT", "NEW", "PRE_REVIEW"), ("APPROVE", "PRE_REVIEW", "APPROVED")])


def test_working_time() -> None:
    friday = datetime(2025, 3, 7, 16, 30, tzinfo=CHINA)
    # Half an hour left on Friday, the rest on Monday morning.
    assert after_working(friday, 90) == datetime(2025, 3, 10, 10, 0, tzinfo=CHINA)
    assert after_working(datetime(2025, 3, 8, 12, tzinfo=CHINA), 1) == datetime(2025, 3, 10, 9, 1, tzinfo=CHINA)


def weekdays_only(start: datetime, days: int) -> date:
    """The due day as the seed used to count it (Monday to Friday, no holidays): what the live path disagrees
    with across a public holiday."""
    day = start.astimezone(CHINA).date()
    while days:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


async def test_seeded_due_dates_are_what_the_live_path_gives(sqlite_runtime: Any) -> None:
    # workflow's accept sets due_at with domain/guides.promised_due: the guide of the business item nearest to
    # the case's region, its promised working days, the holiday calendar.
    apps, _, _ = await seeded(sqlite_runtime)
    runtime: Runtime = await sqlite_runtime(definition)
    accepted = [a for a in apps if a.accepted_at is not None]
    assert len(accepted) > 50
    async with runtime.sessions() as session:
        for app in accepted:
            assert utc(app.due_at) == await promised_due(session, app, utc(app.accepted_at)), app.id
    promises = {promised_days(a.business_item_id, a.region_code) for a in accepted}
    assert len(promises) >= 3, promises  # not one constant limit


def test_seeded_cases_mostly_finish_within_their_promise() -> None:
    rows = [row for row, _, _ in applications(TEST_SEED, 2000, load_catalogue()) if row["accepted_at"]]
    done = [r for r in rows if r["completed_at"]]
    late = [r for r in done if r["completed_at"] > r["due_at"]]
    # About SLOW_P of them drag on purpose (超期办结); most end inside their guide's promise, short or long.
    assert 0.03 < len(late) / len(done) < 0.25, (len(late), len(done))
    short = [r for r in done if promised_days(r["business_item_id"], r["region_code"]) <= 10]
    assert short and sum(r in late for r in short) / len(short) < 0.25


def test_seeded_due_dates_follow_the_live_calendar_across_national_day() -> None:
    accepted = [row for row, _, _ in applications(TEST_SEED, 200, load_catalogue()) if row["accepted_at"]]
    # The live path (workflow's accept → domain/guides.promised_due) ends the time limit with this function.
    for row in accepted:
        days = promised_days(row["business_item_id"], row["region_code"])
        assert row["due_at"] == add_working_days(row["accepted_at"], days), row["id"]
    national_day = date(2025, 10, 1)
    assert national_day in HOLIDAYS
    across = [row for row in accepted
              if row["accepted_at"].astimezone(CHINA).date() < national_day <= row["due_at"].astimezone(CHINA).date()]
    assert across, "no seeded case runs over 国庆: the test proves nothing"
    for row in across:
        due = row["due_at"].astimezone(CHINA)
        # 国庆·中秋 (10-1 … 10-8) is not counted, the worked Sunday 9-28 and Saturday 10-11 are.
        days = promised_days(row["business_item_id"], row["region_code"])
        assert due.date() > weekdays_only(row["accepted_at"], days), row["id"]
        assert (due.hour, due.minute, due.second) == (23, 59, 59)
    # One by hand: accepted Tuesday 9-9, the 20th working day is Monday 10-13.
    assert add_working_days(datetime(2025, 9, 9, 15, 2, tzinfo=CHINA), PROMISED_WORKING_DAYS) == datetime(
        2025, 10, 13, 23, 59, 59, tzinfo=CHINA).astimezone(UTC)
