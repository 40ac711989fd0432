"""The library's signing key: it signs the face digest of every electronic licence and the holders'
presentation tokens, so a verifier holding the public key can tell a genuine face or token from a forged one.

The key is Ed25519. Production configures it with LICENCES_SIGNING_KEY (a PEM-encoded PKCS#8 private key,
or a path to one); where none is configured (the embedded mode, tests) the library creates one at first use
and keeps it in its own database (models.SigningKey), so that signatures survive restarts.
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
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.licences import models

KEY_ENV = "LICENCES_SIGNING_KEY"


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
        try:
            raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
            self.public.verify(raw, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def public_pem(self) -> str:
        return self.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _from_pem(pem: str) -> SigningKey:
    private = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError(f"{KEY_ENV} must hold an Ed25519 private key")
    public_raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return SigningKey(key_id=hashlib.sha256(public_raw).hexdigest()[:16], private=private)


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


_cache: dict[str, SigningKey] = {}


async def signing_key(session: AsyncSession) -> SigningKey:
    """The key to sign with: the configured one, else the database's (created on first use)."""
    configured = _configured()
    if configured is not None:
        return configured
    bind = session.get_bind()
    bind_key = str(bind.engine.url if hasattr(bind, "engine") else bind)
    if bind_key in _cache:
        return _cache[bind_key]
    row = await session.scalar(select(models.SigningKey).order_by(models.SigningKey.created_at.desc()).limit(1))
    if row is None:
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        key = _from_pem(pem)
        async with session.begin_nested():
            session.add(models.SigningKey(id=key.key_id, private_pem=pem, created_at=datetime.now(UTC)))
        # Not remembered: the caller's transaction may still roll back, and a key that was never stored
        # must not sign anything later. The next call finds it in the database once it is committed.
        return key
    key = _from_pem(row.private_pem)
    _cache[bind_key] = key
    return key
