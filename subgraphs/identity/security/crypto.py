"""Personal data at rest, national-crypto profile: SM4 encryption with HMAC-SM3 integrity, and an HMAC-SM3
blind index so that exact lookup works on encrypted values.

    keyring = await load_keyring(session, master_key())       # the key versions, unwrapped
    cipher = FieldCipher(keyring)
    blob = cipher.encrypt("张三")                              # b"\\x01" + version + iv + ciphertext + tag
    cipher.decrypt(blob)                                      # "张三"
    cipher.blind_index("13800000000", "mobile")              # with the active version's index key
    cipher.blind_indexes("13800000000", "mobile")            # with every version in use (during rotation)
    select(User).where(index_lookup(cipher, User.mobile_index, "13800000000", MOBILE_INDEX))

A user's fields: `write_user_fields` encrypts a name and mobile into the row (ciphertext, blind index,
key version; the legacy plaintext `display_name` cleared), `user_name` / `user_mobile` read them back
whatever version wrote them. The blind-index kinds of the users table are NAME_INDEX and MOBILE_INDEX.

Each key version holds a 16-byte SM4 key, a 32-byte MAC key and a 32-byte index key, all random, stored
in `encryption_key` wrapped (encrypted and authenticated) under the master key; the master key comes from
the environment (JSHEALTH_MASTER_KEY, 64 hex digits) and is never stored in the database. In the embedded
development mode a master key is generated once into var/ (see `master_key`). Rotation adds a version,
makes it active, and a job re-encrypts the rows (see subgraphs/identity/security/rotation.py); until it
finishes, reads decrypt with the version each row names and lookups use `blind_indexes`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.identity import models

FORMAT = 1
NAME_INDEX = "name"  # blind-index kinds of users.name_index and users.mobile_index
MOBILE_INDEX = "mobile"
MASTER_KEY_ENV = "JSHEALTH_MASTER_KEY"
DEV_MASTER_KEY_FILE = Path("var/identity-master.key")


class CryptoError(Exception):
    """A value cannot be decrypted: unknown key version, or it was altered (the tag does not verify)."""


def _hmac_sm3(key: bytes, data: bytes) -> bytes:
    # hashlib's "sm3" is OpenSSL's; the cryptography package exposes the same algorithm.
    return hmac.new(key, data, lambda: hashlib.new("sm3")).digest()


def _sm4_cbc(key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.SM4(key), modes.CBC(iv))
    if encrypt:
        padder = padding.PKCS7(128).padder()
        encryptor = cipher.encryptor()
        return encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()
    decryptor = cipher.decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    padded = decryptor.update(data) + decryptor.finalize()
    return unpadder.update(padded) + unpadder.finalize()


def seal(enc_key: bytes, mac_key: bytes, plaintext: bytes, header: bytes = b"") -> bytes:
    """Encrypt-then-MAC: header + iv + SM4-CBC ciphertext + HMAC-SM3(header + iv + ciphertext)."""
    iv = secrets.token_bytes(16)
    body = header + iv + _sm4_cbc(enc_key, iv, plaintext, encrypt=True)
    return body + _hmac_sm3(mac_key, body)


def unseal(enc_key: bytes, mac_key: bytes, blob: bytes, header_length: int = 0) -> bytes:
    if len(blob) < header_length + 16 + 16 + 32:
        raise CryptoError("the value is too short to be a ciphertext")
    body, tag = blob[:-32], blob[-32:]
    if not hmac.compare_digest(_hmac_sm3(mac_key, body), tag):
        raise CryptoError("the value was altered or belongs to another key")
    iv = body[header_length:header_length + 16]
    try:
        return _sm4_cbc(enc_key, iv, body[header_length + 16:], encrypt=False)
    except ValueError as exc:
        raise CryptoError("the value does not decrypt") from exc


@dataclass(frozen=True)
class KeyVersion:
    version: int
    enc_key: bytes
    mac_key: bytes
    index_key: bytes
    active: bool

    def material(self) -> bytes:
        return self.enc_key + self.mac_key + self.index_key

    @classmethod
    def generate(cls, version: int, active: bool = True) -> KeyVersion:
        return cls(version, secrets.token_bytes(16), secrets.token_bytes(32), secrets.token_bytes(32), active)

    @classmethod
    def from_material(cls, version: int, material: bytes, active: bool) -> KeyVersion:
        if len(material) != 80:
            raise CryptoError(f"key version {version} has {len(material)} bytes of material, not 80")
        return cls(version, material[:16], material[16:48], material[48:], active)


@dataclass(frozen=True)
class MasterKey:
    """Wraps key versions: an SM4 key and an HMAC-SM3 key derived from 32 secret bytes."""

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) != 32:
            raise ValueError("the master key is 32 bytes (64 hex digits)")

    @property
    def _keys(self) -> tuple[bytes, bytes]:
        derived = _hmac_sm3(self.secret, b"jshealth identity key wrap")
        return derived[:16], _hmac_sm3(self.secret, b"jshealth identity key wrap mac")

    def wrap(self, key: KeyVersion) -> bytes:
        enc, mac = self._keys
        return seal(enc, mac, key.material(), struct.pack(">I", key.version))

    def unwrap(self, version: int, wrapped: bytes, active: bool) -> KeyVersion:
        enc, mac = self._keys
        if wrapped[:4] != struct.pack(">I", version):
            raise CryptoError(f"wrapped key {version} names another version")
        return KeyVersion.from_material(version, unseal(enc, mac, wrapped, header_length=4), active)


def master_key(environ: Mapping[str, str] | None = None, dev_file: Path | None = DEV_MASTER_KEY_FILE) -> MasterKey:
    """The master key from JSHEALTH_MASTER_KEY; without it, the development key file (created on first use
    with mode 0600) when `dev_file` is given, else an error."""
    environ = os.environ if environ is None else environ
    value = environ.get(MASTER_KEY_ENV)
    if value is None and dev_file is not None:
        if not dev_file.exists():
            dev_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(dev_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        value = dev_file.read_text(encoding="ascii").strip()
    if value is None:
        raise CryptoError(f"{MASTER_KEY_ENV} is not set")
    try:
        return MasterKey(bytes.fromhex(value.strip()))
    except ValueError as exc:
        raise CryptoError(f"{MASTER_KEY_ENV} must be 64 hex digits") from exc


class Keyring:
    def __init__(self, versions: list[KeyVersion]) -> None:
        self.versions = {v.version: v for v in versions}
        active = [v for v in versions if v.active]
        if len(active) != 1:
            raise CryptoError(f"exactly one key version must be active, found {len(active)}")
        self.active = active[0]


class FieldCipher:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def encrypt(self, plaintext: str) -> bytes:
        key = self.keyring.active
        return seal(key.enc_key, key.mac_key, plaintext.encode("utf-8"), struct.pack(">BI", FORMAT, key.version))

    @staticmethod
    def version_of(blob: bytes) -> int:
        if len(blob) < 5 or blob[0] != FORMAT:
            raise CryptoError("not a ciphertext of this format")
        return int(struct.unpack(">I", blob[1:5])[0])

    def decrypt(self, blob: bytes) -> str:
        version = self.version_of(blob)
        key = self.keyring.versions.get(version)
        if key is None:
            raise CryptoError(f"key version {version} is not in the keyring")
        return unseal(key.enc_key, key.mac_key, blob, header_length=5).decode("utf-8")

    @staticmethod
    def _index(key: KeyVersion, value: str, kind: str) -> str:
        return _hmac_sm3(key.index_key, f"{kind}\x00{value}".encode()).hex()

    def blind_index(self, value: str, kind: str) -> str:
        """The lookup token of `value` (already normalised by the caller) for a column of `kind`."""
        return self._index(self.keyring.active, value, kind)

    def blind_indexes(self, value: str, kind: str) -> list[str]:
        """Its token under every version, for lookups while a rotation is under way."""
        return [self._index(key, value, kind) for key in self.keyring.versions.values()]


async def load_keyring(session: AsyncSession, master: MasterKey, *, create: bool = True) -> Keyring:
    """The key versions from the database, unwrapped; the first version is created when there is none."""
    rows = (await session.scalars(select(models.EncryptionKey).order_by(models.EncryptionKey.version))).all()
    if not rows and create:
        first = KeyVersion.generate(1)
        session.add(models.EncryptionKey(version=1, wrapped_key=master.wrap(first), status="ACTIVE",
                                         created_at=datetime.now(UTC)))
        await session.flush()
        return Keyring([first])
    return Keyring([master.unwrap(r.version, r.wrapped_key, r.status == "ACTIVE") for r in rows
                    if r.status in ("ACTIVE", "RETIRED")])


def index_lookup(cipher: FieldCipher, column: ColumnElement[str | None] | Any, value: str, kind: str
                 ) -> ColumnElement[bool]:
    """`column` (a blind-index column) matches `value` under any key version in the keyring: exact
    lookup that keeps working while a rotation re-encrypts the rows."""
    return column.in_(cipher.blind_indexes(value, kind))


def user_name(cipher: FieldCipher, user: models.User) -> str | None:
    """The user's name: decrypted, or the legacy plaintext of a row not yet encrypted."""
    if user.name_cipher is not None:
        return cipher.decrypt(user.name_cipher)
    return user.display_name


def user_mobile(cipher: FieldCipher, user: models.User) -> str | None:
    return cipher.decrypt(user.mobile_cipher) if user.mobile_cipher is not None else None


def write_user_fields(cipher: FieldCipher, user: models.User, *, name: str | None, mobile: str | None) -> None:
    """Encrypt the name and mobile (already normalised) into the row with the active key version."""
    user.name_cipher = cipher.encrypt(name) if name is not None else None
    user.name_index = cipher.blind_index(name, NAME_INDEX) if name is not None else None
    user.mobile_cipher = cipher.encrypt(mobile) if mobile is not None else None
    user.mobile_index = cipher.blind_index(mobile, MOBILE_INDEX) if mobile is not None else None
    user.display_name = None
    user.key_version = cipher.keyring.active.version
