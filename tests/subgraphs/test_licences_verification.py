"""licences: holder presentation tokens (QR) and their verification (核验), number lookups for regulators,
and the hash chains of the records: tampering found by the GraphQL check and by the job's exit code."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, func, select, update
from support import create_pg_database, drop_pg_database, errors_of, execute, make_runtime

from subgraphs.common.app import Runtime
from subgraphs.common.caller import Caller
from subgraphs.licences import models
from subgraphs.licences.app import definition
from subgraphs.licences.domain import generation, signing, tokens
from subgraphs.licences.domain.chain import ChainName, content_of, link_hash
from subgraphs.licences.jobs import chain as chain_job
from subgraphs.licences.status import LicenceStatus, licence_status, today_in_china

CREATE = "mutation($id: ID!) { createPresentationToken(licenceId: $id) { token expiresAt } }"
VERIFY = "mutation($t: String!) { verifyPresentation(token: $t) { outcome disclosure verifiedAt } }"
LOOKUP = """mutation($type: LicenceTypeCode!, $number: String!, $id: String!) {
    verifyLicence(type: $type, number: $number, idNumber: $id) { authentic status } }"""
RECORDS = """query($filter: VerificationRecordFilter) { verificationRecords(filter: $filter, first: 100) {
    nodes { seq verifier method type licenceId outcome } } }"""
CHAINS = "{ verifyRecordChains { chain intact length brokenAt reason headHash } }"
REGULATOR = Caller(subject="u-inspector", client_id="inspection-app", scopes=frozenset({"licences:verify"}))
CLERK = Caller(subject="u-clerk", client_id="portal", scopes=frozenset(), roles=("CLERK",))


def holder_of(licence: models.Licence) -> Caller:
    return Caller(subject=f"citizen-{licence.holder_uid}", client_id="sfb-app", scopes=frozenset(),
                  person_uid=licence.holder_uid)


async def fresh(tmp_path: Path) -> tuple[Runtime, str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'l.db'}"
    return await make_runtime(definition, url), url


async def nurse_licences(runtime: Runtime, count: int = 2) -> list[models.Licence]:
    """Valid, generated nurse certificates of people."""
    async with runtime.sessions() as session:
        rows = (await session.scalars(
            select(models.Licence).join(models.ElectronicLicence,
                                        models.ElectronicLicence.licence_id == models.Licence.id)
            .where(models.Licence.type_code == "NURSE_PRACTICE", models.Licence.holder_uid.is_not(None))
            .order_by(models.Licence.id))).all()
    today = today_in_china()
    return [r for r in rows if licence_status(r, today) is LicenceStatus.VALID][:count]


async def token_for(runtime: Runtime, licence: models.Licence) -> str:
    data = await execute(runtime, CREATE, {"id": licence.id}, caller=holder_of(licence))
    return str(data["createPresentationToken"]["token"])


async def verify(runtime: Runtime, token: str) -> dict[str, Any]:
    return dict((await execute(runtime, VERIFY, {"t": token}, caller=REGULATOR))["verifyPresentation"])


# --- tokens ---------------------------------------------------------------------------------------------


async def test_a_holder_token_verifies_once_with_minimal_disclosure(tmp_path: Path) -> None:
    runtime, _ = await fresh(tmp_path)
    licence = (await nurse_licences(runtime, 1))[0]
    issued = (await execute(runtime, CREATE, {"id": licence.id}, caller=holder_of(licence)))["createPresentationToken"]
    token = issued["token"]
    assert token.startswith("v1.") and len(token) < 300  # comfortably one QR code
    lifetime = datetime.fromisoformat(issued["expiresAt"]) - datetime.now(UTC)
    assert timedelta(seconds=100) < lifetime <= timedelta(seconds=120)

    first = await verify(runtime, token)
    assert first["outcome"] == "AUTHENTIC_VALID"
    disclosure = first["disclosure"]
    assert set(disclosure) <= {"type", "typeName", "holderName", "issuerName", "validFrom", "validUntil", "status"}
    assert disclosure["status"] == "VALID" and disclosure["issuerName"] == licence.issuer_name
    assert disclosure["holderName"] != licence.holder_name and disclosure["holderName"][0] == licence.holder_name[0]
    assert "holderIdNumber" not in disclosure and "number" not in disclosure

    replayed = await verify(runtime, token)
    assert replayed == {**replayed, "outcome": "REPLAYED", "disclosure": None}

    logged = (await execute(runtime, RECORDS, {"filter": {"method": "TOKEN"}}))["verificationRecords"]["nodes"]
    assert [(r["outcome"], r["verifier"], r["licenceId"]) for r in logged] == [
        ("REPLAYED", "u-inspector", licence.id), ("AUTHENTIC_VALID", "u-inspector", licence.id)]


async def test_only_the_holder_gets_a_token(tmp_path: Path) -> None:
    runtime, _ = await fresh(tmp_path)
    mine, theirs = await nurse_licences(runtime, 2)
    for caller in (holder_of(theirs), Caller(subject="citizen-x", client_id="sfb", scopes=frozenset()), None):
        errors = await errors_of(runtime, CREATE, {"id": mine.id}, caller=caller)
        assert errors[0].extensions["code"] == "FORBIDDEN"
    errors = await errors_of(runtime, CREATE, {"id": "lic-none"}, caller=holder_of(mine))
    assert errors[0].extensions["code"] == "NOT_FOUND"


async def test_tampered_tokens_are_refused(tmp_path: Path) -> None:
    runtime, _ = await fresh(tmp_path)
    mine, other = await nurse_licences(runtime, 2)
    token = await token_for(runtime, mine)
    version, payload, signature = token.split(".")

    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(orjson.dumps({**claims, "lid": other.id})).decode().rstrip("=")
    for bad in (f"{version}.{payload}.{flipped}", f"{version}.{forged}.{signature}", "not-a-token",
                f"v2.{payload}.{signature}", f"{version}.{payload}"):
        result = await verify(runtime, bad)
        assert result["outcome"] == "TAMPERED" and result["disclosure"] is None, bad
    # The genuine token was never used by those attempts.
    assert (await verify(runtime, token))["outcome"] == "AUTHENTIC_VALID"


async def test_expired_tokens_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime, _ = await fresh(tmp_path)
    licence = (await nurse_licences(runtime, 1))[0]
    token = await token_for(runtime, licence)
    later = datetime.now(UTC) + timedelta(seconds=121)
    monkeypatch.setattr(tokens, "utcnow", lambda: later)
    assert (await verify(runtime, token))["outcome"] == "EXPIRED_TOKEN"


async def test_token_lifetime_is_configurable_up_to_ten_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tokens.LIFETIME_ENV, "300")
    assert tokens.lifetime() == timedelta(seconds=300)
    monkeypatch.setenv(tokens.LIFETIME_ENV, "86400")
    assert tokens.lifetime() == timedelta(seconds=600)


async def test_a_face_changed_outside_the_library_is_tampered(tmp_path: Path) -> None:
    runtime, _ = await fresh(tmp_path)
    licence = (await nurse_licences(runtime, 1))[0]
    token = await token_for(runtime, licence)
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(models.Licence).where(models.Licence.id == licence.id)
                              .values(practice_category="临床"))
    result = await verify(runtime, token)
    assert result["outcome"] == "TAMPERED" and result["disclosure"] is None


# --- key rotation ---------------------------------------------------------------------------------------


def new_key_pem() -> str:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


async def lookup(runtime: Runtime, licence: models.Licence) -> dict[str, Any]:
    variables = {"type": "NURSE_PRACTICE", "number": licence.number, "id": licence.holder_id_number}
    return dict((await execute(runtime, LOOKUP, variables, caller=REGULATOR))["verifyLicence"])


async def electronic_of(runtime: Runtime, licence: models.Licence) -> models.ElectronicLicence:
    async with runtime.sessions() as session:
        row = await session.scalar(select(models.ElectronicLicence)
                                   .where(models.ElectronicLicence.licence_id == licence.id))
    assert row is not None
    return row


async def regenerate(runtime: Runtime, licence: models.Licence, category: str) -> models.ElectronicLicence:
    """A change of the face through the library: the licence is signed again with the current key."""
    async with runtime.sessions() as session, session.begin():
        row = await session.get(models.Licence, licence.id)
        assert row is not None
        row.practice_category = category
        assert (await generation.generate(session, row, mode="APPLICATION"))[1]
    return await electronic_of(runtime, licence)


async def test_licences_and_tokens_signed_before_a_key_rotation_still_verify(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime, _ = await fresh(tmp_path)
    stored, first, second = await nurse_licences(runtime, 3)
    stored_key = (await electronic_of(runtime, stored)).key_id  # the key the database made for the seed

    # Configure a key: what it signs carries its id; what the stored key signed still verifies.
    monkeypatch.setenv(signing.KEY_ENV, new_key_pem())
    signed_first = await regenerate(runtime, first, "临床护理")
    assert signed_first.key_id != stored_key
    early_token = await token_for(runtime, second)

    # Rotate: configure another key. The first configured key is now retired: only its public part is kept.
    monkeypatch.setenv(signing.KEY_ENV, new_key_pem())
    signed_second = await regenerate(runtime, second, "社区护理")
    assert signed_second.key_id not in {stored_key, signed_first.key_id}
    for licence in (stored, first, second):
        assert await lookup(runtime, licence) == {"authentic": True, "status": "VALID"}, licence.id
    assert (await verify(runtime, early_token))["outcome"] == "AUTHENTIC_VALID"
    assert (await verify(runtime, await token_for(runtime, first)))["outcome"] == "AUTHENTIC_VALID"
    async with runtime.sessions() as session:
        ring = {k.id: k for k in await session.scalars(select(models.SigningKey))}
    assert set(ring) == {stored_key, signed_first.key_id, signed_second.key_id}
    assert ring[stored_key].private_pem is not None  # made by the library itself
    assert ring[signed_first.key_id].private_pem is None and ring[signed_second.key_id].private_pem is None

    # A face changed outside the library still fails, whichever key signed it.
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(models.Licence).where(models.Licence.id == first.id)
                              .values(practice_category="临床"))
    assert await lookup(runtime, first) == {"authentic": False, "status": None}

    # A licence signed by a key the ring never held fails, with that reason.
    E = models.ElectronicLicence
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(E).where(E.licence_id == stored.id).values(key_id="0123456789abcdef"))
    assert await lookup(runtime, stored) == {"authentic": False, "status": None}
    async with runtime.sessions() as session:
        row, electronic = await session.get(models.Licence, stored.id), await electronic_of(runtime, stored)
        assert row is not None
        assert await generation.check_face(session, row, electronic) is generation.FaceCheck.UNKNOWN_KEY
    logged = (await execute(runtime, RECORDS, {"filter": {"method": "NUMBER"}}))["verificationRecords"]["nodes"]
    assert [r["outcome"] for r in logged][:2] == ["TAMPERED", "TAMPERED"]


async def test_a_token_naming_a_key_the_ring_never_held_is_refused(tmp_path: Path) -> None:
    runtime, _ = await fresh(tmp_path)
    licence = (await nurse_licences(runtime, 1))[0]
    version, payload, _ = (await token_for(runtime, licence)).split(".")
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    stranger = signing.SigningKey("0123456789abcdef", Ed25519PrivateKey.generate())
    forged = base64.urlsafe_b64encode(orjson.dumps({**claims, "kid": stranger.key_id})).decode().rstrip("=")
    token = f"{version}.{forged}.{stranger.sign(f'{version}.{forged}'.encode())}"
    assert (await verify(runtime, token))["outcome"] == "TAMPERED"


# --- number lookups for regulators -----------------------------------------------------------------------


async def test_regulators_learn_authenticity_and_status_only(tmp_path: Path) -> None:
    runtime, _ = await fresh(tmp_path)
    licence = (await nurse_licences(runtime, 1))[0]
    variables = {"type": "NURSE_PRACTICE", "number": licence.number, "id": licence.holder_id_number}

    assert (await execute(runtime, LOOKUP, variables, caller=REGULATOR))["verifyLicence"] == {
        "authentic": True, "status": "VALID"}
    wrong = {**variables, "id": "320102199003071239"}
    assert (await execute(runtime, LOOKUP, wrong, caller=REGULATOR))["verifyLicence"] == {
        "authentic": False, "status": None}
    assert (await execute(runtime, LOOKUP, {**variables, "number": "000000000000"}, caller=REGULATOR))[
        "verifyLicence"] == {"authentic": False, "status": None}
    assert (await errors_of(runtime, LOOKUP, variables, caller=CLERK))[0].extensions["code"] == "FORBIDDEN"

    async with runtime.sessions() as session, session.begin():
        await session.execute(update(models.Licence).where(models.Licence.id == licence.id)
                              .values(revoked_at=date(2026, 1, 2)))
    # Revocation is not part of the face: still authentic, now invalid.
    assert (await execute(runtime, LOOKUP, variables, caller=REGULATOR))["verifyLicence"] == {
        "authentic": True, "status": "INVALID"}

    logged = (await execute(runtime, RECORDS, {"filter": {"method": "NUMBER"}}))["verificationRecords"]["nodes"]
    assert [r["outcome"] for r in logged] == ["AUTHENTIC_INVALID", "NOT_FOUND", "NOT_FOUND", "AUTHENTIC_VALID"]
    assert logged[-1]["licenceId"] == licence.id and logged[1]["licenceId"] is None


# --- the hash chains -------------------------------------------------------------------------------------


async def verifications(runtime: Runtime, licence: models.Licence, count: int) -> None:
    variables = {"type": "NURSE_PRACTICE", "number": licence.number, "id": licence.holder_id_number}
    for _ in range(count):
        await execute(runtime, LOOKUP, variables, caller=REGULATOR)


async def chains(runtime: Runtime) -> dict[str, dict[str, Any]]:
    return {c["chain"]: c for c in (await execute(runtime, CHAINS))["verifyRecordChains"]}


async def run_job(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "subgraphs.licences.jobs.chain", "--quiet", *args],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


async def test_an_edited_record_breaks_the_chain_at_its_seq(tmp_path: Path) -> None:
    runtime, url = await fresh(tmp_path)
    await verifications(runtime, (await nurse_licences(runtime, 1))[0], 4)
    before = await chains(runtime)
    assert before["VERIFICATION"] == {**before["VERIFICATION"], "intact": True, "length": 4, "brokenAt": None}
    assert before["PRESENTATION"]["intact"]  # the seeded history links up too
    job = await run_job(url)
    assert job.returncode == 0, job.stdout + job.stderr
    assert "verification: intact, 4 records" in job.stdout

    V = models.VerificationRecord
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(V).where(V.seq == 2).values(outcome="AUTHENTIC_EXPIRED"))
    after = (await chains(runtime))["VERIFICATION"]
    assert after["intact"] is False and after["brokenAt"] == 2 and "edited" in after["reason"]
    job = await run_job(url, "--chain", "verification")
    assert job.returncode == 1 and "BROKEN at seq 2" in job.stdout


async def test_an_edited_presentation_scenario_is_found(tmp_path: Path) -> None:
    runtime, url = await fresh(tmp_path)
    P = models.PresentationRecord
    async with runtime.sessions() as session:
        length = await session.scalar(select(func.count()).select_from(P))
    if not length:
        pytest.skip("the seed wrote no presentation history")
    middle = max(1, int(length or 0) // 2)
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(P).where(P.seq == middle).values(scenario="OTHER_PURPOSE"))
    after = (await chains(runtime))["PRESENTATION"]
    assert after["intact"] is False and after["brokenAt"] == middle
    assert (await chain_job.run(url, [ChainName.PRESENTATION], progress=False)) == 1


async def test_a_deleted_record_breaks_the_chain(tmp_path: Path) -> None:
    runtime, url = await fresh(tmp_path)
    await verifications(runtime, (await nurse_licences(runtime, 1))[0], 5)
    async with runtime.sessions() as session, session.begin():
        await session.execute(delete(models.VerificationRecord).where(models.VerificationRecord.seq == 3))
    after = (await chains(runtime))["VERIFICATION"]
    assert after["intact"] is False and after["brokenAt"] == 3 and "missing" in after["reason"]
    assert (await chain_job.run(url, [ChainName.VERIFICATION], progress=False)) == 1


async def test_a_deleted_last_record_is_found_by_the_head(tmp_path: Path) -> None:
    runtime, url = await fresh(tmp_path)
    await verifications(runtime, (await nurse_licences(runtime, 1))[0], 3)
    async with runtime.sessions() as session, session.begin():
        await session.execute(delete(models.VerificationRecord).where(models.VerificationRecord.seq == 3))
    after = (await chains(runtime))["VERIFICATION"]
    assert after["intact"] is False and after["brokenAt"] == 3 and "end" in after["reason"]
    job = await run_job(url, "--chain", "verification")
    assert job.returncode == 1 and "BROKEN at seq 3" in job.stdout


async def test_chain_verification_is_for_managers(tmp_path: Path) -> None:
    runtime, _ = await fresh(tmp_path)
    assert (await errors_of(runtime, CHAINS, caller=CLERK))[0].extensions["code"] == "FORBIDDEN"
    assert (await errors_of(runtime, RECORDS, caller=CLERK))[0].extensions["code"] == "FORBIDDEN"


@pytest.mark.postgres
async def test_one_token_scanned_at_once_verifies_once_on_postgresql() -> None:
    url = await create_pg_database("jshealth_lic")
    try:
        runtime = await make_runtime(definition, url)
        try:
            licence = (await nurse_licences(runtime, 1))[0]
            token = await token_for(runtime, licence)
            results = await asyncio.gather(*(verify(runtime, token) for _ in range(6)))
            assert sorted(r["outcome"] for r in results) == ["AUTHENTIC_VALID"] + ["REPLAYED"] * 5
            verdicts = await chains(runtime)
            assert verdicts["VERIFICATION"]["intact"] and verdicts["VERIFICATION"]["length"] == 6
            assert verdicts["PRESENTATION"]["intact"]
            job = await run_job(url)
            assert job.returncode == 0, job.stdout + job.stderr
        finally:
            await runtime.engine.dispose()
    finally:
        await drop_pg_database(url)


async def test_a_chain_rewritten_whole_is_found_by_an_anchored_head(tmp_path: Path) -> None:
    runtime, url = await fresh(tmp_path)
    await verifications(runtime, (await nurse_licences(runtime, 1))[0], 3)
    job = await run_job(url, "--chain", "verification")
    anchor = job.stdout.split("head ", 1)[1].split(")", 1)[0]
    assert anchor.startswith("3:")
    assert (await run_job(url, "--chain", "verification", "--anchor", anchor)).returncode == 0

    # A forger with write access edits record 2 and recomputes every later link and the head.
    V = models.VerificationRecord
    async with runtime.sessions() as session, session.begin():
        rows = list((await session.scalars(select(V).order_by(V.seq))).all())
        rows[1].outcome = "NOT_FOUND"
        for previous, row in pairwise(rows):
            row.prev_hash = previous.hash
            row.hash = link_hash(row.prev_hash, content_of({c.key: getattr(row, c.key) for c in V.__table__.columns},
                                                           V))
        await session.execute(update(models.ChainHead).where(models.ChainHead.name == "verification")
                              .values(last_hash=rows[-1].hash))
    assert (await run_job(url, "--chain", "verification")).returncode == 0  # consistent on its own
    anchored = await run_job(url, "--chain", "verification", "--anchor", anchor)
    assert anchored.returncode == 1 and "rewritten" in anchored.stdout
