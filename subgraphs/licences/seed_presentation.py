"""Seeds the presenting systems (调用系统) the tender names as likely callers (licences.md §5.1) and a month
of past presentation records for the statistics, deterministic from the seed.

The history is appended through the hash chain (domain/chain.py), so the seeded chain verifies, and it is
counted in PresentationUsage as live calls would have been. It presents only licences that are already
generated; with none (a seed that has not generated electronic licences) only the clients are registered.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.licences import models
from subgraphs.licences.codes import LicenceTypeCode, PresentationResult
from subgraphs.licences.domain.chain import ChainName, append
from subgraphs.licences.domain.face import Disclosure
from subgraphs.licences.status import today_in_china

T = LicenceTypeCode
PERSONAL_TYPES: list[LicenceTypeCode] = [
    t for t in LicenceTypeCode if t not in (T.MEDICAL_INSTITUTION_PRACTICE, T.TCM_CLINIC_FILING)]
PRACTITIONER_TYPES: list[LicenceTypeCode] = [
    T.PHYSICIAN_PRACTICE, T.NURSE_PRACTICE, T.PHYSICIAN_QUALIFICATION, T.RURAL_DOCTOR_PRACTICE,
    T.TCM_SPECIALTY_PRACTICE, T.TCM_SPECIALTY_QUALIFICATION, T.MEDICAL_INSTITUTION_PRACTICE]

# (client id, name, types, scenarios, disclosure, daily limit, yearly limit, operators)
CLIENTS: list[tuple[str, str, list[LicenceTypeCode], list[str], Disclosure, int, int, list[str]]] = [
    # The holder's own wallet in the 苏服办 app (L732): the holder sees the whole face.
    ("client-sfb-wallet", "苏服办电子证照夹", PERSONAL_TYPES, ["WALLET_DISPLAY"], Disclosure.FULL,
     20_000, 3_000_000, ["sfb-app"]),
    # Window staff scan the 苏服码 and call up the applicant's licences (L4752, L4760).
    ("client-services-window", "政务服务窗口", list(LicenceTypeCode), ["WINDOW_SERVICE", "ONLINE_APPLICATION"],
     Disclosure.MASKED, 5_000, 1_000_000, ["u-window-0012", "u-window-0031", "u-window-0047"]),
    # 江苏健康通: residents' personal licences in the health record (L7222).
    ("client-jkt", "江苏健康通", [T.BLOOD_DONATION, T.BLOOD_DONATION_HONOUR, T.HEALTH_CERTIFICATE],
     ["HEALTH_RECORD_VIEW"], Disclosure.MASKED, 10_000, 2_000_000, ["jkt-app"]),
    # Internet-hospital supervision compares practising-certificate numbers (L8240).
    ("client-ih-supervision", "互联网医院监管", PRACTITIONER_TYPES, ["PRACTITIONER_CHECK"], Disclosure.MASKED,
     2_000, 500_000, ["ih-supervision-batch", "u-supervisor-0003"]),
]
HISTORY_DAYS = 30
HISTORY_RECORDS = 48


async def seed_presentation(session: AsyncSession, seed: int, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    if await session.scalar(select(func.count()).select_from(models.PresentationClient)):
        return
    registered = now - timedelta(days=HISTORY_DAYS + 1)
    for client_id, name, types, scenarios, disclosure, daily, yearly, _ in CLIENTS:
        session.add(models.PresentationClient(
            client_id=client_id, name=name, allowed_types=[str(t.value) for t in types],
            allowed_scenarios=scenarios, disclosure=disclosure.value, daily_limit=daily, yearly_limit=yearly,
            registered_by="seed", registered_at=registered))
    await session.flush()
    await _history(session, seed, now)


async def _history(session: AsyncSession, seed: int, now: datetime) -> None:
    L, E = models.Licence, models.ElectronicLicence
    licences = list((await session.scalars(select(L).join(E, E.licence_id == L.id).order_by(L.id).limit(200))).all())
    if not licences:
        return
    rng = random.Random(f"jshealth-licences-presentation:{seed}")
    moments = sorted(now - timedelta(seconds=rng.randrange(1, HISTORY_DAYS * 86_400)) for _ in range(HISTORY_RECORDS))
    usage: dict[tuple[str, date], int] = {}
    for at in moments:
        licence = rng.choice(licences)
        code = LicenceTypeCode(licence.type_code)
        callers = [c for c in CLIENTS if code in c[2]]
        if not callers:
            continue
        client_id, _, _, scenarios, _, _, _, operators = rng.choice(callers)
        result = rng.choices([PresentationResult.PRESENTED, PresentationResult.NOT_FOUND], weights=[9, 1])[0]
        found = result is PresentationResult.PRESENTED
        # A miss asks for a number no licence has (one digit too many, as a mistyped number would).
        by_number = not found or rng.random() < 0.4
        await append(session, ChainName.PRESENTATION, models.PresentationRecord(
            id=f"pr-seed-{rng.getrandbits(64):016x}", presented_at=at, client_id=client_id,
            operator=rng.choice(operators), scenario=rng.choice(scenarios), type_code=code.value,
            licence_id=licence.id if found else None,
            licence_number=licence.number if found else f"{licence.number}9",
            holder_name=licence.holder_name if found else None,
            holder_id_number=licence.holder_id_number if found else None,
            query={"by": "licenceNumber" if by_number else "holderIdNumber"}, result=result.value))
        day = today_in_china(at)
        usage[(client_id, day)] = usage.get((client_id, day), 0) + 1
    for (client_id, day), calls in sorted(usage.items(), key=lambda item: item[0]):
        session.add(models.PresentationUsage(client_id=client_id, day=day, calls=calls))
    await session.flush()
