"""Generation of the electronic licence (证照生成, 5.1.3.3.2): the face matched to its type's template
(底板), rendered for 在线预览 and 下载, digested and signed.

The provincial government e-licence interface (政务电子证照接口) that applies the official seal is not
reachable from here; the library signs the face digest with its own key instead (domain/signing.py), which is
what presentation and verification check. Generation is idempotent: regenerating an unchanged face changes
nothing; a changed face (a later record with the same primary key) makes a new generation.
"""

from __future__ import annotations

import hashlib
import html
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.licences import models
from subgraphs.licences.codes import type_info
from subgraphs.licences.domain.face import canonical, face_of
from subgraphs.licences.domain.signing import SigningKey, VerifyingKey, signing_key, verifying_key
from subgraphs.licences.ids import derived_hex

log = logging.getLogger(__name__)

# Labels of the envelope on the rendered face; type fields show their data-element names when the caller
# passes them, else their codes.
ENVELOPE_LABELS = {
    "number": "证照编号", "holderName": "持证人", "holderSex": "性别", "holderIdType": "证件类型",
    "holderIdNumber": "证件号码", "holderCreditCode": "统一社会信用代码", "issuerName": "发证机关",
    "issuedAt": "核发日期", "validFrom": "有效期自", "validUntil": "有效期至",
    "practiceInstitutionName": "执业地点", "practiceCategory": "执业类别", "registeredAt": "注册日期",
}
# Licence ids per IN (...) lookup: well under SQLite's and PostgreSQL's bound-parameter limits.
LOOKUP_CHUNK = 1000
_HIDDEN_ON_FACE = frozenset({"type", "typeName", "photo", "qrCode"})


def face_digest(face: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(face)).hexdigest()


def render_preview(face: dict[str, Any], labels: dict[str, str] | None = None) -> str:
    """The face as an SVG page: the type's name as the title, then one line per printed field."""
    labels = {**ENVELOPE_LABELS, **(labels or {})}
    lines = [(labels.get(k, k), v) for k, v in face.items() if k not in _HIDDEN_ON_FACE]
    height = 120 + 28 * len(lines)
    rows = "".join(
        f'<text x="40" y="{110 + 28 * i}" font-size="16">{html.escape(str(label))}：'
        f'{html.escape(", ".join(map(str, value)) if isinstance(value, list) else str(value))}</text>'
        for i, (label, value) in enumerate(lines)
    )
    title = html.escape(face["typeName"])
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="{height}" viewBox="0 0 640 {height}">'
        f'<rect x="8" y="8" width="624" height="{height - 16}" fill="#fffdf5" stroke="#b22" stroke-width="4"/>'
        f'<text x="320" y="60" font-size="28" text-anchor="middle" fill="#b22">{title}</text>{rows}</svg>'
    )


def signed_message(licence_id: str, digest: str) -> bytes:
    return f"licence:{licence_id}:{digest}".encode()


async def generate(session: AsyncSession, licence: models.Licence, *, mode: str,
                   labels: dict[str, str] | None = None, key: SigningKey | None = None,
                   now: datetime | None = None) -> tuple[models.ElectronicLicence, bool]:
    """The licence's electronic licence, generated or regenerated; True when this call changed it."""
    [(electronic, changed)] = await generate_many(session, [licence], mode=mode, labels=labels, key=key, now=now)
    return electronic, changed


async def generate_many(session: AsyncSession, licences: Sequence[models.Licence], *, mode: str,
                        labels: dict[str, str] | None = None, key: SigningKey | None = None,
                        now: datetime | None = None) -> list[tuple[models.ElectronicLicence, bool]]:
    """`generate` for many licences with one lookup of their electronic licences (an ingestion batch)."""
    now = now or datetime.now(UTC)
    found: dict[str, models.ElectronicLicence] = {}
    ids = [licence.id for licence in licences]
    for start in range(0, len(ids), LOOKUP_CHUNK):
        rows = await session.scalars(select(models.ElectronicLicence).where(
            models.ElectronicLicence.licence_id.in_(ids[start:start + LOOKUP_CHUNK])))
        found.update((row.licence_id, row) for row in rows)
    out: list[tuple[models.ElectronicLicence, bool]] = []
    for licence in licences:
        face = face_of(licence)
        digest = face_digest(face)
        existing = found.get(licence.id)
        if existing is not None and existing.face_digest == digest:
            out.append((existing, False))
            continue
        key = key or await signing_key(session)
        signature = key.sign(signed_message(licence.id, digest))
        preview = render_preview(face, labels)
        if existing is None:
            existing = models.ElectronicLicence(
                id=f"el-{derived_hex(licence.id)}", licence_id=licence.id,
                template_id=type_info(licence.type_code).template_id,
                generation_mode=mode, preview=preview, face_digest=digest, signature=signature, key_id=key.key_id,
                generated_at=now, generation=1)
            session.add(existing)
            found[licence.id] = existing
        else:
            existing.preview, existing.face_digest, existing.signature = preview, digest, signature
            existing.key_id, existing.generated_at, existing.generation = key.key_id, now, existing.generation + 1
            existing.generation_mode = mode
        out.append((existing, True))
    return out


class FaceCheck(Enum):
    """What checking an electronic licence against its licence came to (the value is the reason)."""

    AUTHENTIC = "the face matches its signed digest"
    CHANGED = "the face no longer matches its signed digest (changed outside the write path)"
    BAD_SIGNATURE = "the signature does not verify with the key that made it"
    UNKNOWN_KEY = "the key that signed it is not in the library's key ring"


def face_is_authentic(licence: models.Licence, electronic: models.ElectronicLicence,
                      key: SigningKey | VerifyingKey | None) -> bool:
    """Whether the stored face still matches its digest and the digest its signature, checked with `key`,
    which must be the key that signed it (the electronic licence's key_id)."""
    return _face_check(licence, electronic, key) is FaceCheck.AUTHENTIC


def _face_check(licence: models.Licence, electronic: models.ElectronicLicence,
                key: SigningKey | VerifyingKey | None) -> FaceCheck:
    digest = face_digest(face_of(licence))
    if digest != electronic.face_digest:
        return FaceCheck.CHANGED
    if key is None or key.key_id != electronic.key_id:
        return FaceCheck.UNKNOWN_KEY
    if not key.verify(signed_message(licence.id, digest), electronic.signature):
        return FaceCheck.BAD_SIGNATURE
    return FaceCheck.AUTHENTIC


async def check_face(session: AsyncSession, licence: models.Licence,
                     electronic: models.ElectronicLicence) -> FaceCheck:
    """`face_is_authentic` with the key of the ring that signed the electronic licence, current or retired."""
    check = _face_check(licence, electronic, await verifying_key(session, electronic.key_id))
    if check is not FaceCheck.AUTHENTIC:
        log.warning("electronic licence %s of licence %s is not authentic: %s (key %s)", electronic.id,
                    licence.id, check.value, electronic.key_id)
    return check
