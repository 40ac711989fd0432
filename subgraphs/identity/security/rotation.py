"""Key rotation (密钥自动轮换) of the personal data at rest, without downtime:

    result = await rotate_keys(sessions, master_key(), batch=500, progress=lambda done, total: ...)

1. A new key version is added and made ACTIVE in one transaction; the previous active version becomes
   RETIRED (still in the keyring: everything it encrypted stays readable). From that commit on, every
   writer encrypts with the new version, every reader decrypts by the version named in each value, and
   lookups match `FieldCipher.blind_indexes` (the index under every version).
2. The users rows not yet under the new version are re-encrypted in batches of `batch`, one transaction
   per batch (name and mobile decrypted with whatever version wrote them, encrypted with the new one,
   blind indexes recomputed; a legacy row with a plaintext `display_name` and no `name_cipher` is
   encrypted and its plaintext cleared). Each batch also adds its count to the run's key_rotation_log row.
   Passes repeat until no row is left (a row written with the old version by a request that loaded the
   keyring just before step 1 is caught by the next pass).
3. The log row goes RUNNING -> DONE, or FAILED when a row could not be decrypted (it is left as it was
   and counted) or the job stopped on an error.

Restartable: a crash anywhere leaves every row readable (each row is either still under its old version,
which stays in the keyring, or under the new one). Running the job again finds the unfinished run (its
log row RUNNING or FAILED, its target version still the active one) and finishes it instead of adding
another version; `resume=False` starts a new rotation regardless.

CLI (progress bar on stderr):  python -m subgraphs.identity.security.rotation [--batch 500] [--if-due]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.identity import models
from subgraphs.identity.security.crypto import (
    CryptoError,
    FieldCipher,
    KeyVersion,
    MasterKey,
    load_keyring,
    user_mobile,
    user_name,
    write_user_fields,
)
from subgraphs.identity.security.encryption import EncryptionPolicy, keys_due_for_rotation
from subgraphs.identity.security.policy import load_policy

Progress = Callable[[int, int], None]  # (rows done in this run, rows to do)
MAX_PASSES = 5


@dataclass
class RotationResult:
    log_id: int
    from_version: int | None
    to_version: int
    records: int  # rows re-encrypted by this rotation (over every run of it)
    status: str  # DONE | FAILED
    resumed: bool
    unreadable: list[str] = field(default_factory=list)  # ids of rows that could not be decrypted


def _now() -> datetime:
    return datetime.now(UTC)


async def _start(session: AsyncSession, master: MasterKey, now: datetime, resume: bool,
                 operator_id: str | None) -> tuple[models.KeyRotationLog, bool]:
    """The run to work on: the unfinished one, or a new key version and its log row."""
    active = (await session.scalars(select(models.EncryptionKey).where(models.EncryptionKey.status == "ACTIVE")
                                    .with_for_update())).first()
    if resume and active is not None:
        last = (await session.scalars(select(models.KeyRotationLog).order_by(models.KeyRotationLog.id.desc())
                                      .limit(1))).first()
        if last is not None and last.status in ("RUNNING", "FAILED") and last.to_version == active.version:
            last.status = "RUNNING"
            last.finished_at = None
            return last, True
    policy = await load_policy(session, EncryptionPolicy)
    if active is None:  # no key yet: the first version, which encrypts the legacy plaintext rows
        await load_keyring(session, master)
        first = (await session.scalars(select(models.EncryptionKey)
                                       .where(models.EncryptionKey.status == "ACTIVE"))).one()
        first.expires_at = now + timedelta(days=policy.key_validity_days)
        from_version, version = None, first.version
    else:
        newest = await session.scalar(select(func.max(models.EncryptionKey.version)))
        from_version, version = active.version, int(newest or 0) + 1
        active.status = "RETIRED"
        await session.flush()  # one ACTIVE row at any time
        session.add(models.EncryptionKey(version=version, wrapped_key=master.wrap(KeyVersion.generate(version)),
                                         status="ACTIVE", created_at=now,
                                         expires_at=now + timedelta(days=policy.key_validity_days)))
    log = models.KeyRotationLog(from_version=from_version, to_version=version, started_at=now, records=0,
                                status="RUNNING", operator_id=operator_id)
    session.add(log)
    await session.flush()
    return log, False


def _pending(version: int) -> ColumnElement[bool]:
    users = models.User
    return and_(
        or_(users.key_version.is_(None), users.key_version != version),
        or_(users.name_cipher.is_not(None), users.mobile_cipher.is_not(None), users.display_name.is_not(None)),
    )


async def rotate_keys(
    sessions: async_sessionmaker[AsyncSession], master: MasterKey, *, batch: int = 500,
    progress: Progress | None = None, resume: bool = True, operator_id: str | None = None,
    now: Callable[[], datetime] = _now,
) -> RotationResult:
    """Rotate to a new key version and re-encrypt every user row (see the module documentation)."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    async with sessions() as session, session.begin():
        log, resumed = await _start(session, master, now(), resume, operator_id)
        log_id, from_version, to_version = log.id, log.from_version, log.to_version
    unreadable: list[str] = []
    try:
        done = 0
        for _pass in range(MAX_PASSES):
            async with sessions() as session:
                cipher = FieldCipher(await load_keyring(session, master, create=False))
                total = int(await session.scalar(select(func.count()).select_from(models.User)
                                                 .where(_pending(to_version), models.User.id.not_in(unreadable)))
                            or 0)
            if total == 0:
                break
            done = 0
            if progress is not None:
                progress(0, total)
            last_id = ""
            while True:
                async with sessions() as session, session.begin():
                    rows = list((await session.scalars(
                        select(models.User).where(_pending(to_version), models.User.id > last_id)
                        .order_by(models.User.id).limit(batch).with_for_update()
                    )).all())
                    if not rows:
                        break
                    changed = 0
                    for row in rows:
                        try:
                            name, mobile = user_name(cipher, row), user_mobile(cipher, row)
                        except CryptoError:
                            if row.id not in unreadable:
                                unreadable.append(row.id)
                            continue
                        write_user_fields(cipher, row, name=name, mobile=mobile)
                        changed += 1
                    entry = await session.get(models.KeyRotationLog, log_id)
                    assert entry is not None
                    entry.records += changed
                    last_id = rows[-1].id
                done += len(rows)
                if progress is not None:
                    progress(min(done, total), total)
            async with sessions() as session:
                left = int(await session.scalar(select(func.count()).select_from(models.User)
                                                .where(_pending(to_version), models.User.id.not_in(unreadable)))
                           or 0)
            if left == 0:
                break
    except Exception:
        async with sessions() as session, session.begin():
            entry = await session.get(models.KeyRotationLog, log_id)
            if entry is not None:
                entry.status = "FAILED"
                entry.finished_at = now()
        raise
    async with sessions() as session, session.begin():
        entry = await session.get(models.KeyRotationLog, log_id)
        assert entry is not None
        entry.status = "FAILED" if unreadable else "DONE"
        entry.finished_at = now()
        records = entry.records
    return RotationResult(log_id, from_version, to_version, records, "FAILED" if unreadable else "DONE", resumed,
                          unreadable)


async def rotate_if_due(sessions: async_sessionmaker[AsyncSession], master: MasterKey, *, batch: int = 500,
                        progress: Progress | None = None, now: Callable[[], datetime] = _now
                        ) -> RotationResult | None:
    """The automatic rotation (for a scheduler): rotate when the policy allows it and the active key is
    older than its validity, or finish an unfinished rotation; None when there was nothing to do."""
    async with sessions() as session:
        policy = await load_policy(session, EncryptionPolicy)
        due = await keys_due_for_rotation(session, now(), policy)
        last = (await session.scalars(select(models.KeyRotationLog).order_by(models.KeyRotationLog.id.desc())
                                      .limit(1))).first()
        unfinished = last is not None and last.status == "RUNNING"
    if unfinished or (policy.auto_rotate and due):
        return await rotate_keys(sessions, master, batch=batch, progress=progress, now=now)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m subgraphs.identity.security.rotation",
                                     description="Rotate identity's data keys and re-encrypt the users rows.")
    parser.add_argument("--batch", type=int, default=500, help="rows per transaction (default 500)")
    parser.add_argument("--if-due", action="store_true", help="only when the active key is past its validity "
                        "(ENCRYPTION policy) or a rotation is unfinished")
    parser.add_argument("--new", action="store_true", help="start a new rotation even if one is unfinished")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from db.engine import make_engine, make_sessionmaker
    from subgraphs.identity.security.crypto import master_key

    async def run() -> RotationResult | None:
        engine = make_engine("identity")
        bar = tqdm(unit="row", desc="re-encrypting", file=sys.stderr)

        def progress(done: int, total: int) -> None:
            if bar.total != total:
                bar.reset(total=total)
            bar.n = done
            bar.refresh()

        try:
            sessions = make_sessionmaker(engine)
            if args.if_due:
                return await rotate_if_due(sessions, master_key(), batch=args.batch, progress=progress)
            return await rotate_keys(sessions, master_key(), batch=args.batch, progress=progress,
                                     resume=not args.new)
        finally:
            bar.close()
            await engine.dispose()

    result = asyncio.run(run())
    if result is None:
        print("no rotation due")
        return 0
    origin = "no key" if result.from_version is None else f"key version {result.from_version}"
    print(f"{origin} -> key version {result.to_version}: {result.records} rows re-encrypted, "
          f"{result.status}{' (resumed)' if result.resumed else ''}")
    if result.unreadable:
        print(f"{len(result.unreadable)} rows could not be decrypted: {', '.join(result.unreadable[:20])}")
    return 0 if result.status == "DONE" else 1


if __name__ == "__main__":
    raise SystemExit(main())
