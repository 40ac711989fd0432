"""Password hashing with scrypt (memory-hard; RFC 7914), self-describing so parameters can grow:

    stored = hash_password("s3cret!")        # "scrypt$n=16384,r=8,p=1$<salt b64>$<hash b64>"
    verify_password(stored, "s3cret!")       # True
    needs_rehash(stored)                     # True once the parameters below are raised

The comparison is constant-time; a malformed stored value never verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
# 16 MiB of memory per hash (128 * r * n bytes): about 50 ms on one core here.
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
HASH_BYTES = 32
MAX_PASSWORD_BYTES = 1024  # longer input is refused before hashing: no denial of service by length


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024,
                          dklen=HASH_BYTES)


def hash_password(password: str) -> str:
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise ValueError("the password is too long")
    salt = secrets.token_bytes(SALT_BYTES)
    return f"{SCHEME}$n={N},r={R},p={P}${_b64(salt)}${_b64(_derive(password, salt, N, R, P))}"


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    try:
        scheme, params, salt, digest = stored.split("$")
        if scheme != SCHEME:
            return None
        values = dict(item.split("=", 1) for item in params.split(","))
        n, r, p = int(values["n"]), int(values["r"]), int(values["p"])
        if not (2 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
            return None
        return n, r, p, base64.b64decode(salt, validate=True), base64.b64decode(digest, validate=True)
    except (ValueError, KeyError):
        return None


def verify_password(stored: str | None, password: str) -> bool:
    parsed = _parse(stored or "")
    if parsed is None or len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return False
    n, r, p, salt, digest = parsed
    return hmac.compare_digest(_derive(password, salt, n, r, p), digest)


def needs_rehash(stored: str) -> bool:
    parsed = _parse(stored)
    return parsed is None or parsed[:3] != (N, R, P)
