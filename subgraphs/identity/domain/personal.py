"""A user's name and mobile at rest: encrypted with the database's keyring, found by blind index.

The keyring is loaded once per database and kept for `KEYRING_TTL_SECONDS` (a key rotation elsewhere is
picked up at the latest then, or at once when a row names a version the cached keyring lacks). The master
key comes from `master_key()` (JSHEALTH_MASTER_KEY, or the development key file); tests and tools give a
database another source with `use_master_key`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from subgraphs.common.errors import ErrorCode, domain_error
from subgraphs.identity import models
from subgraphs.identity.security.crypto import CryptoError, FieldCipher, MasterKey, load_keyring, master_key

NAME_INDEX = "name"
MOBILE_INDEX = "mobile"
KEYRING_TTL_SECONDS = 300.0

MasterKeySource = Callable[[], MasterKey]

_sources: dict[str, MasterKeySource] = {}
_ciphers: dict[str, tuple[float, FieldCipher]] = {}


def _database_of(session: AsyncSession) -> str:
    bind = session.bind
    # Sessions here come from a sessionmaker bound to an engine (db/engine.make_sessionmaker).
    if not isinstance(bind, AsyncEngine):  # pragma: no cover
        raise RuntimeError("the session is not bound to an engine")
    return bind.url.render_as_string(hide_password=True)


def use_master_key(database_url: str, source: MasterKeySource | None) -> None:
    """Read the master key of the database at `database_url` (as its engine renders it) from `source`;
    None goes back to the environment."""
    if source is None:
        _sources.pop(database_url, None)
    else:
        _sources[database_url] = source
    _ciphers.pop(database_url, None)


def forget_keyring(database_url: str | None = None) -> None:
    """Drop the cached keyring(s), e.g. right after a key rotation in this process."""
    if database_url is None:
        _ciphers.clear()
    else:
        _ciphers.pop(database_url, None)


def master_key_for(session: AsyncSession) -> MasterKey:
    return _sources.get(_database_of(session), master_key)()


async def fresh_cipher(session: AsyncSession) -> FieldCipher:
    """A cipher from the keyring as stored now, in the caller's transaction (creates version 1 when
    there is none); not cached, so a seed that rolls back leaves no stale keyring behind."""
    return FieldCipher(await load_keyring(session, master_key_for(session)))


async def cipher_of(sessions: async_sessionmaker[AsyncSession], *, reload: bool = False) -> FieldCipher:
    """The database's cipher, cached. Loading commits the first key version if the database has none."""
    async with sessions() as session:
        database = _database_of(session)
        cached = _ciphers.get(database)
        if cached is not None and not reload and time.monotonic() - cached[0] < KEYRING_TTL_SECONDS:
            return cached[1]
        async with session.begin():
            cipher = await fresh_cipher(session)
    _ciphers[database] = (time.monotonic(), cipher)
    return cipher


# --- normalisation -------------------------------------------------------------------------------

_NON_DIGITS = re.compile(r"\D")


def normalise_name(name: str) -> str:
    """What the name index is computed from: every blank removed (full-width ones too), so "张 三" and
    "张三" find each other."""
    return "".join(name.split())


def normalise_mobile(mobile: str) -> str:
    """Digits only, without a +86 / 0086 / 86 country prefix."""
    digits = _NON_DIGITS.sub("", mobile)
    for prefix in ("0086", "86"):
        if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
            return digits[len(prefix):]
    return digits


# --- rows ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealedPersonal:
    name_cipher: bytes | None
    name_index: str | None
    mobile_cipher: bytes | None
    mobile_index: str | None
    key_version: int

    def apply(self, row: models.User) -> None:
        row.name_cipher, row.name_index = self.name_cipher, self.name_index
        row.mobile_cipher, row.mobile_index = self.mobile_cipher, self.mobile_index
        row.key_version = self.key_version
        # The plaintext column only ever holds rows from before encryption.
        row.display_name = None

    def columns(self) -> dict[str, object]:
        return {"name_cipher": self.name_cipher, "name_index": self.name_index, "mobile_cipher": self.mobile_cipher,
                "mobile_index": self.mobile_index, "key_version": self.key_version, "display_name": None}


def seal_personal(cipher: FieldCipher, name: str | None, mobile: str | None) -> SealedPersonal:
    """Ciphertexts and blind indexes of an (already validated) name and mobile."""
    return SealedPersonal(
        name_cipher=cipher.encrypt(name) if name is not None else None,
        name_index=cipher.blind_index(normalise_name(name), NAME_INDEX) if name is not None else None,
        mobile_cipher=cipher.encrypt(mobile) if mobile is not None else None,
        mobile_index=cipher.blind_index(normalise_mobile(mobile), MOBILE_INDEX) if mobile is not None else None,
        key_version=cipher.keyring.active.version,
    )


async def reveal(sessions: async_sessionmaker[AsyncSession], blob: bytes | None) -> str | None:
    """The plaintext of a stored ciphertext; reloads the keyring once when the row names a version the
    cached keyring does not have yet."""
    if blob is None:
        return None
    cipher = await cipher_of(sessions)
    try:
        return cipher.decrypt(blob)
    except CryptoError:
        cipher = await cipher_of(sessions, reload=True)
        try:
            return cipher.decrypt(blob)
        except CryptoError as exc:
            raise domain_error(ErrorCode.INTERNAL, "A stored personal value cannot be decrypted.") from exc


def reveal_with(cipher: FieldCipher, blob: bytes | None) -> str | None:
    """Synchronous variant for bulk work (exports) that loaded a cipher first."""
    if blob is None:
        return None
    try:
        return cipher.decrypt(blob)
    except CryptoError as exc:
        raise domain_error(ErrorCode.INTERNAL, "A stored personal value cannot be decrypted.") from exc


def name_of(cipher: FieldCipher, row: models.User) -> str:
    """A user's name: decrypted, or the legacy plaintext of a row written before encryption."""
    if row.name_cipher is not None:
        return reveal_with(cipher, row.name_cipher) or ""
    return row.display_name or ""


def name_matches(cipher: FieldCipher, name: str) -> ColumnElement[bool]:
    """Users whose name is exactly `name` (blanks ignored): by blind index under every key version in use,
    and by the plaintext of legacy rows."""
    normalised = normalise_name(name)
    if not normalised:
        return false()
    return or_(models.User.name_index.in_(cipher.blind_indexes(normalised, NAME_INDEX)),
               models.User.display_name == name.strip())


def mobile_matches(cipher: FieldCipher, mobile: str) -> ColumnElement[bool]:
    normalised = normalise_mobile(mobile)
    if len(normalised) != 11:
        return false()
    return models.User.mobile_index.in_(cipher.blind_indexes(normalised, MOBILE_INDEX))
