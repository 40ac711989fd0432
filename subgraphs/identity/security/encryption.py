"""Data encryption settings (数据加密, tender 5.3.9.5 (4)): the ENCRYPTION document, which keys are due
for rotation, and the encryption test (加密测试) of the admin UI.

- transport (传输加密): the protocol (HTTPS over TLS 1.3, or 1.2 for legacy peers) and the national
  algorithms offered to integrated systems (SM2, SM4), with a reference to the configured key (the name
  of a key or certificate in the deployment's key store: never the key itself);
- storage (存储加密): the encrypted personal fields (a user's name and mobile: what
  subgraphs/identity/security/crypto.py encrypts) and the algorithm, SM4-CBC with HMAC-SM3
  (encrypt-then-MAC) and an HMAC-SM3 blind index;
- keys (密钥管理): validity 30 to 365 days and automatic rotation; a key is due when it has been the
  active one for longer than the validity (the validity saved now applies to the existing keys too).
  Rotation itself is subgraphs/identity/security/rotation.py, which logs every run (key_rotation_log).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.identity import models
from subgraphs.identity.security.crypto import CryptoError, FieldCipher, MasterKey, load_keyring
from subgraphs.identity.security.policy import (
    PolicyDocument,
    PolicyError,
    check_bool,
    check_choice,
    check_range,
    load_policy,
)

TRANSPORT_PROTOCOLS = ("TLS1.3", "TLS1.2")
TRANSPORT_ALGORITHMS = ("SM2", "SM4")
STORAGE_FIELDS = ("name", "mobile")
STORAGE_ALGORITHMS = ("SM4-CBC-HMAC-SM3",)
KEY_VALIDITY_RANGE = (30, 365)


@dataclass(frozen=True)
class EncryptionPolicy(PolicyDocument):
    NAME: ClassVar[str] = "ENCRYPTION"

    # 传输加密
    transport_protocol: str = "TLS1.3"
    transport_algorithms: tuple[str, ...] = ("SM2", "SM4")
    transport_key_ref: str | None = None
    # 存储加密
    storage_fields: tuple[str, ...] = STORAGE_FIELDS
    storage_algorithm: str = "SM4-CBC-HMAC-SM3"
    # 密钥管理
    key_validity_days: int = 90
    auto_rotate: bool = True

    def validate(self) -> None:
        check_choice("transport_protocol", self.transport_protocol, TRANSPORT_PROTOCOLS)
        if not self.transport_algorithms:
            raise PolicyError("transport_algorithms", "transport_algorithms must name SM2, SM4 or both")
        for algorithm in self.transport_algorithms:
            check_choice("transport_algorithms", algorithm, TRANSPORT_ALGORITHMS)
        if self.transport_key_ref is not None and (not isinstance(self.transport_key_ref, str)
                                                   or not 0 < len(self.transport_key_ref) <= 128):
            raise PolicyError("transport_key_ref", "transport_key_ref must be a key name of 1 to 128 characters")
        if not self.storage_fields:
            raise PolicyError("storage_fields", "storage_fields must name at least one field")
        for field in self.storage_fields:
            check_choice("storage_fields", field, STORAGE_FIELDS)
        check_choice("storage_algorithm", self.storage_algorithm, STORAGE_ALGORITHMS)
        check_range("key_validity_days", self.key_validity_days, *KEY_VALIDITY_RANGE)
        check_bool("auto_rotate", self.auto_rotate)


async def keys_due_for_rotation(
    session: AsyncSession, now: datetime, policy: EncryptionPolicy | None = None
) -> list[int]:
    """The versions of the active key (at most one) older than the policy's validity at `now`."""
    policy = policy or await load_policy(session, EncryptionPolicy)
    rows = (await session.scalars(select(models.EncryptionKey).where(models.EncryptionKey.status == "ACTIVE"))).all()
    validity = timedelta(days=policy.key_validity_days)
    return [row.version for row in rows if row.created_at + validity <= now]


@dataclass(frozen=True)
class EncryptionTestResult:
    ok: bool
    key_version: int | None
    ciphertext_hex: str | None  # the whole value, as stored (format byte, version, IV, ciphertext, tag)
    decrypted: str | None
    blind_index: str | None
    tamper_detected: bool  # a value with one bit flipped was refused
    elapsed_ms: float
    error: str | None = None


async def encryption_test(session: AsyncSession, master: MasterKey, text: str) -> EncryptionTestResult:
    """Encrypt `text` with the active key, decrypt it back, and check that an altered value is refused."""
    started = time.perf_counter()
    try:
        cipher = FieldCipher(await load_keyring(session, master))
        blob = cipher.encrypt(text)
        decrypted = cipher.decrypt(blob)
        altered = bytearray(blob)
        altered[-40] ^= 1
        try:
            cipher.decrypt(bytes(altered))
            tamper_detected = False
        except CryptoError:
            tamper_detected = True
        ok = decrypted == text and tamper_detected
        return EncryptionTestResult(
            ok=ok, key_version=cipher.version_of(blob), ciphertext_hex=blob.hex(), decrypted=decrypted,
            blind_index=cipher.blind_index(text, "test"), tamper_detected=tamper_detected,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            error=None if ok else "the round trip did not give the text back or missed an alteration",
        )
    except CryptoError as exc:
        return EncryptionTestResult(False, None, None, None, None, False, (time.perf_counter() - started) * 1000,
                                    str(exc))
