"""The library's signing keys: the current one signs the face digest of every electronic licence and the
holders' presentation tokens, so a verifier holding the public key can tell a genuine face or token from a
forged one.

The keys are Ed25519. Production configures the current key with LICENCES_SIGNING_KEY (a PEM-encoded PKCS#8
private key, or a path to one); where none is configured (the embedded mode, tests) the library creates one
at first use and keeps it in its own database, so that signatures survive restarts.

Every key that ever signed is kept in the key ring (models.SigningKey) with its public key, and a signature
is verified with the key that made it (the electronic licence's `key_id`, the token's `kid`), never with
whichever key is current: rotating the key leaves every earlier licence verifiable. A configured key's
private part is never stored; its public part is entered in the ring the first time it signs.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.licences import models

KEY_ENV = "LICENCES_SIGNING_KEY"


def key_id_of(public: Ed25519PublicKey) -> str:
    """A key's id: the first 16 hex digits of the SHA-256 of its raw public key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class VerifyingKey:
    """A key of the ring as a verifier needs it: its id and public key."""

    key_id: str
    public: Ed25519PublicKey

    def verify(self, message: bytes, signature: str) -> bool:
        try:
            raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
            self.public.verify(raw, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def public_pem(self) -> str:
        return self.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def sign(self, message: bytes) -> str:
        return base64.urlsafe_b64encode(self.private.sign(message)).decode().rstrip("=")

    def verify(self, message: bytes, signature: str) -> bool:
        return self.verifying().verify(message, signature)

    def verifying(self) -> VerifyingKey:
        return VerifyingKey(self.key_id, self.public)

    def public_pem(self) -> str:
        return self.verifying().public_pem()


def _from_pem(pem: str) -> SigningKey:
    private = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError(f"{KEY_ENV} must hold an Ed25519 private key")
    return SigningKey(key_id=key_id_of(private.public_key()), private=private)


@functools.cache
def _public_from_pem(pem: str) -> VerifyingKey:
    public = serialization.load_pem_public_key(pem.encode())
    if not isinstance(public, Ed25519PublicKey):
        raise ValueError("the key ring holds an Ed25519 public key only")
    return VerifyingKey(key_id_of(public), public)


def _configured() -> SigningKey | None:
    return _configured_key(os.environ.get(KEY_ENV, "").strip())


@functools.cache
def _configured_key(value: str) -> SigningKey | None:
    """The key a configuration value names, parsed once (not on every signature or verification)."""
    if not value:
        return None
    if not value.startswith("-----BEGIN"):
        value = Path(value).read_text()
    return _from_pem(value)


def _bind_key(session: AsyncSession) -> str:
    bind = session.get_bind()
    return str(bind.engine.url if hasattr(bind, "engine") else bind)


# Per database: its generated signing key, and the ids of configured keys known to be in its ring. Only
# what was found committed in the database is remembered (see signing_key).
_cache: dict[str, SigningKey] = {}
_registered: set[tuple[str, str]] = set()


async def signing_key(session: AsyncSession) -> SigningKey:
    """The key to sign with: the configured one, else the database's (created on first use). Either way
    the key is in the database's key ring before it signs anything."""
    configured = _configured()
    bind_key = _bind_key(session)
    if configured is not None:
        if (bind_key, configured.key_id) not in _registered:
            if await session.get(models.SigningKey, configured.key_id) is None:
                # The public part only: a configured key's private part stays in the configuration. Not
                # remembered as registered: the caller's transaction may still roll back.
                await _add(session, models.SigningKey(id=configured.key_id, public_pem=configured.public_pem(),
                                                      private_pem=None, created_at=datetime.now(UTC)))
            else:
                _registered.add((bind_key, configured.key_id))
        return configured
    if bind_key in _cache:
        return _cache[bind_key]
    K = models.SigningKey
    row = await session.scalar(select(K).where(K.private_pem.is_not(None))
                               .order_by(K.created_at.desc(), K.id).limit(1))
    if row is None or row.private_pem is None:
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        key = _from_pem(pem)
        await _add(session, K(id=key.key_id, public_pem=key.public_pem(), private_pem=pem,
                              created_at=datetime.now(UTC)))
        # Not remembered: the caller's transaction may still roll back, and a key that was never stored
        # must not sign anything later. The next call finds it in the database once it is committed.
        return key
    key = _from_pem(row.private_pem)
    _cache[bind_key] = key
    return key


async def _add(session: AsyncSession, row: models.SigningKey) -> None:
    """Enter a key in the ring; a concurrent caller that entered the same key first is as good."""
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        pass


async def verifying_key(session: AsyncSession, key_id: str) -> VerifyingKey | None:
    """The key of the ring with this id (current or retired); None when the ring never held it."""
    configured = _configured()
    if configured is not None and configured.key_id == key_id:
        return configured.verifying()
    row = await session.get(models.SigningKey, key_id)
    if row is None:
        return None
    key = _public_from_pem(row.public_pem)
    # The id is the digest of the public key: a row whose key does not match its id is not trusted.
    return key if key.key_id == key_id else None
