"""攻防演练 (5.3.12 攻防演练管理): drills, their files per phase, who may see them and the view log.

A drill is visible only to administrators and to the principals granted it, up to a sensitivity level:
a user ("usr-...") or an organisation's heads ("org:<id>": callers of that organisation holding Role.UNIT).
A drill above the viewer's level is treated exactly like a missing one (null, absent from lists), so its
existence does not leak. Every look at a drill or a file is written to the view log.

Uploads are checked by content, never by name ("malicious-file check"): an allow-list of formats
recognised from their leading bytes, executables and scripts refused outright, and a size limit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import uuid
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.errors import ErrorCode, bad_input, domain_error, forbidden
from subgraphs.common.outbox import emit
from subgraphs.security import models
from subgraphs.security.access import Role, actor_of, check_admin, has_role, is_admin

MAX_FILE_ENV = "SECURITY_MAX_FILE_BYTES"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DRILL_TYPES = {"LIVE": "实战攻防", "TABLETOP": "桌面推演"}
PHASES = {"PLAN": "方案制定", "EXECUTION": "演练实施", "EVALUATION": "结果评估"}
MAX_SENSITIVITY = 3
DRILL_FORMATS = frozenset({"PDF", "DOCX", "XLSX", "PNG", "JPEG", "TEXT"})

# Leading bytes of programs: refused whatever the file is called (an EXE renamed .pdf stays an EXE).
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"#!", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe",
                     b"\xca\xfe\xba\xbe")
# Members of an archive the file check looks at, at most: a document has tens to hundreds; more is refused.
MAX_ZIP_MEMBERS = 10_000
_RISKY_MEMBER_SUFFIXES = (".exe", ".dll", ".scr", ".bat", ".cmd", ".com", ".ps1", ".vbs", ".js", ".jar", ".sh",
                          ".msi", ".lnk")


def max_bytes(env: str = MAX_FILE_ENV) -> int:
    raw = os.environ.get(env, "")
    return int(raw) if raw.strip().isdigit() else DEFAULT_MAX_BYTES


class TooManyMembers(ValueError):
    """An archive with more members than the file check looks at: refused, never passed half-checked."""


def _zip_format(content: bytes) -> str | None:
    """DOCX, XLSX or a plain ZIP; None when the archive is broken or carries a program. Every member is
    checked; an archive of more than MAX_ZIP_MEMBERS members raises TooManyMembers."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()
            if len(names) > MAX_ZIP_MEMBERS:
                raise TooManyMembers(f"The archive has {len(names)} entries; the file check accepts at most "
                                     f"{MAX_ZIP_MEMBERS}.")
            for info in archive.infolist():
                if info.filename.lower().endswith(_RISKY_MEMBER_SUFFIXES):
                    return None
                if info.file_size and not info.is_dir():
                    # Only the first bytes: enough to spot a program, never inflating a zip bomb.
                    with archive.open(info) as member:
                        if member.read(4).startswith(_EXECUTABLE_MAGIC):
                            return None
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError):
        return None
    if "[Content_Types].xml" in names:
        if any(n.startswith("word/") for n in names):
            return "DOCX"
        if any(n.startswith("xl/") for n in names):
            return "XLSX"
    return "ZIP"


def _is_text(content: bytes) -> bool:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c >= " " or c in "\t\n\r\f" for c in text)


def sniff(content: bytes) -> str | None:
    """The format of `content` by its bytes: PDF, DOCX, XLSX, ZIP, PNG, JPEG, TEXT; None for anything else
    (TooManyMembers for an archive too large to check)."""
    if content.startswith(_EXECUTABLE_MAGIC):
        return None
    if content.startswith(b"%PDF-"):
        return "PDF"
    if content.startswith(b"PK\x03\x04"):
        return _zip_format(content)
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if content.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    return "TEXT" if content and _is_text(content) else None


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content: bytes
    content_type: str
    sha256: str


def check_file(name: str, content_base64: str, allowed: frozenset[str], limit: int) -> CheckedFile:
    """Decode and check an upload: a known, allowed format within the size limit."""
    file_name = name.strip()
    if not file_name or len(file_name) > 200:
        raise bad_input("The file name is required (at most 200 characters).", field="name")
    try:
        content = base64.b64decode(content_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise bad_input("The file content is not valid base64.", field="contentBase64") from exc
    if not content:
        raise bad_input("The file is empty.", field="contentBase64")
    if len(content) > limit:
        raise bad_input(f"The file is {len(content)} bytes; the limit is {limit}.", field="contentBase64",
                        limit=limit)
    try:
        kind = sniff(content)
    except TooManyMembers as exc:
        raise bad_input(f"{file_name} was refused by the file check: {exc}", field="contentBase64",
                        maximum=MAX_ZIP_MEMBERS) from exc
    if kind is None or kind not in allowed:
        raise bad_input(f"{file_name} was refused by the file check: only {', '.join(sorted(allowed))} files "
                        "are accepted, never programs or scripts.", field="contentBase64",
                        detected=kind or "UNKNOWN", allowed=sorted(allowed))
    return CheckedFile(file_name, content, kind, hashlib.sha256(content).hexdigest())


def principals(caller: Caller | None) -> list[str]:
    """The grant principals a caller answers to: their user id, and their organisation when a unit head."""
    if caller is None or caller.anonymous:
        return []
    out = [caller.user_id] if caller.user_id else []
    if caller.organization_id and has_role(caller, Role.UNIT):
        out.append(f"org:{caller.organization_id}")
    return out


def visible(caller: Caller | None) -> ColumnElement[bool]:
    """Drills the caller holds a grant for at or above their sensitivity (admins: all)."""
    if is_admin(caller):
        return true()
    v = models.DrillViewer
    return exists().where(v.drill_id == models.Drill.id, v.principal.in_(principals(caller)),
                          v.max_sensitivity >= models.Drill.sensitivity)


async def viewable(session: AsyncSession, caller: Caller | None, drill_id: str) -> models.Drill | None:
    row = await session.scalar(select(models.Drill).where(models.Drill.id == drill_id, visible(caller)))
    return row


def log_view(session: AsyncSession, caller: Caller | None, drill_id: str, content: str, now: datetime) -> None:
    session.add(models.DrillViewLog(drill_id=drill_id, viewer=actor_of(caller), content=content[:200], at=now))


def _event(session: AsyncSession, action: str, row: models.Drill, **extra: Any) -> None:
    emit(session, models.OutboxEvent, f"security.drill.{action}",
         {"drillId": row.id, "drillType": row.drill_type, "sensitivity": row.sensitivity, **extra})


def _check_sensitivity(value: int) -> int:
    if not 1 <= value <= MAX_SENSITIVITY:
        raise bad_input(f"The sensitivity level is 1 to {MAX_SENSITIVITY}.", field="sensitivity")
    return value


async def create(session: AsyncSession, caller: Caller | None, *, name: str, drill_type: str, sensitivity: int,
                 org_ids: list[str], started_on: date | None, ended_on: date | None,
                 now: datetime) -> models.Drill:
    check_admin(caller, "Creating a drill")
    if not name.strip():
        raise bad_input("The drill's name is required.", field="name")
    if drill_type not in DRILL_TYPES:
        raise bad_input(f"Unknown drill type {drill_type}.", field="drillType", allowed=list(DRILL_TYPES))
    if started_on and ended_on and ended_on < started_on:
        raise bad_input("The drill ends before it starts.", field="endedOn")
    row = models.Drill(id=f"drl-{uuid.uuid4().hex[:24]}", name=name.strip(), drill_type=drill_type,
                       sensitivity=_check_sensitivity(sensitivity), org_ids=sorted(set(org_ids)),
                       started_on=started_on, ended_on=ended_on, created_by=actor_of(caller), created_at=now)
    session.add(row)
    _event(session, "created", row, orgIds=row.org_ids)
    await session.flush()
    return row


async def _get(session: AsyncSession, drill_id: str) -> models.Drill:
    row = await session.get(models.Drill, drill_id)
    if row is None:
        raise domain_error(ErrorCode.NOT_FOUND, f"No drill {drill_id}.")
    return row


async def set_score(session: AsyncSession, caller: Caller | None, drill_id: str, score: int) -> models.Drill:
    check_admin(caller, "Scoring a drill")
    if not 0 <= score <= 100:
        raise bad_input("The score is 0 to 100.", field="score")
    row = await _get(session, drill_id)
    row.score = score
    _event(session, "scored", row, score=score)
    return row


async def upload(session: AsyncSession, caller: Caller | None, drill_id: str, phase: str, name: str,
                 content_base64: str, now: datetime) -> models.DrillFile:
    """Admins, and the heads of a participating unit who may see the drill, upload its files."""
    row = await _get(session, drill_id)
    participant = (caller is not None and caller.organization_id in row.org_ids and has_role(caller, Role.UNIT)
                   and await viewable(session, caller, drill_id) is not None)
    if not (is_admin(caller) or participant):
        raise forbidden("Uploading drill files is for administrators and the participating units.")
    if phase not in PHASES:
        raise bad_input(f"Unknown phase {phase}.", field="phase", allowed=list(PHASES))
    checked = check_file(name, content_base64, DRILL_FORMATS, max_bytes())
    file = models.DrillFile(id=f"dfl-{uuid.uuid4().hex[:24]}", drill_id=row.id, phase=phase, name=checked.name,
                            content_type=checked.content_type, size=len(checked.content), sha256=checked.sha256,
                            content=checked.content, uploaded_by=actor_of(caller), uploaded_at=now)
    session.add(file)
    _event(session, "file-uploaded", row, fileId=file.id, phase=phase)
    await session.flush()
    return file


def _check_principal(principal: str) -> str:
    p = principal.strip()
    if not (p.startswith("usr-") or (p.startswith("org:") and len(p) > 4)) or len(p) > 64:
        raise bad_input("A viewer is a user id (usr-...) or an organisation's heads (org:<id>).",
                        field="principal")
    return p


async def grant(session: AsyncSession, caller: Caller | None, drill_id: str, principal: str,
                max_sensitivity: int, now: datetime) -> models.DrillViewer:
    check_admin(caller, "Granting drill access")
    row = await _get(session, drill_id)
    p = _check_principal(principal)
    level = _check_sensitivity(max_sensitivity)
    viewer = await session.scalar(select(models.DrillViewer).where(models.DrillViewer.drill_id == row.id,
                                                                   models.DrillViewer.principal == p))
    if viewer is None:
        viewer = models.DrillViewer(drill_id=row.id, principal=p, max_sensitivity=level,
                                    granted_by=actor_of(caller), granted_at=now)
        session.add(viewer)
    else:
        viewer.max_sensitivity, viewer.granted_by, viewer.granted_at = level, actor_of(caller), now
    _event(session, "viewer-granted", row, principal=p, maxSensitivity=level)
    await session.flush()
    return viewer


async def revoke(session: AsyncSession, caller: Caller | None, drill_id: str, principal: str) -> bool:
    check_admin(caller, "Revoking drill access")
    row = await _get(session, drill_id)
    viewer = await session.scalar(select(models.DrillViewer).where(models.DrillViewer.drill_id == row.id,
                                                                   models.DrillViewer.principal == principal))
    if viewer is None:
        return False
    await session.delete(viewer)
    _event(session, "viewer-revoked", row, principal=principal)
    return True
