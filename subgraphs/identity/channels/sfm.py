"""苏服码 (Jiangsu government-service code) login: code check, then the real-name record.

The platform's interface is not public; this is our design after the common shape of Chinese government
open platforms (app id + integration key, timestamp + nonce against replay, a keyed SM3 signature, a
string `code` with "0" for success). docs/channels.md is its specification; the stand-in in
tests/channel_standins.py is its reference server.

    POST {base}/api/v1/code/verify    {app_id, timestamp, nonce, sign_method, code, sign}
        → {code: "0", msg, data: {user_id, access_token, expires_in, auth_level}}
    POST {base}/api/v1/user/realname  {app_id, timestamp, nonce, sign_method, user_id, access_token, sign}
        → {code: "0", msg, data: {user_id, name, cert_type, cert_no, mobile, auth_level}}

Request `sign` = lowercase hex HMAC-SM3(integration key, canonical string), the canonical string being the
body's members except `sign` with non-empty values, sorted by name, joined `k=v&k=v` (raw UTF-8, no
escaping). Responses carry `X-SFM-Timestamp` and `X-SFM-Signature` = hex HMAC-SM3(key, request nonce +
"\\n" + timestamp + "\\n" + raw body): binding our nonce means a recorded answer cannot be replayed to
another request.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from subgraphs.common.validators import InvalidIdNumber, parse_resident_id
from subgraphs.identity.channels.base import ChannelError, ChannelSettings, ConfigError, ExternalProfile
from subgraphs.identity.channels.transport import Http, Reply, TransientError

SIGN_METHOD = "HMAC-SM3"
VERIFY_PATH = "/api/v1/code/verify"
REALNAME_PATH = "/api/v1/user/realname"
TIMESTAMP_HEADER = "x-sfm-timestamp"
SIGNATURE_HEADER = "x-sfm-signature"
MAX_CLOCK_SKEW_SECONDS = 300
SUCCESS = "0"
RESIDENT_ID_CARD = "111"  # 居民身份证 in the public-security certificate type codes

# Our error code table (docs/channels.md lists the same).
ERROR_CODES = {
    "1001": "unknown or disabled app_id",
    "1002": "signature invalid",
    "1003": "timestamp outside the allowed window",
    "1004": "nonce already used",
    "1005": "missing or invalid parameter",
    "2001": "code invalid or expired",
    "2002": "code already used",
    "2003": "access token invalid or expired",
    "2004": "user has not completed real-name verification",
    "4290": "rate limited",
    "5000": "system busy",
}
RETRYABLE_CODES = frozenset({"4290", "5000"})


def now_millis() -> int:
    return int(time.time() * 1000)


def canonical_string(params: Mapping[str, str]) -> str:
    return "&".join(f"{key}={params[key]}" for key in sorted(params) if key != "sign" and params[key] != "")


def hmac_sm3(key: str, message: bytes) -> str:
    # OpenSSL's SM3 through hashlib; the identity subgraph's field encryption relies on the same build.
    return hmac.new(key.encode("utf-8"), message, "sm3").hexdigest()


def sign_request(params: Mapping[str, str], key: str) -> dict[str, str]:
    return {**params, "sign": hmac_sm3(key, canonical_string(params).encode("utf-8"))}


def response_signature(key: str, request_nonce: str, timestamp: str, body: bytes) -> str:
    return hmac_sm3(key, f"{request_nonce}\n{timestamp}\n".encode() + body)


def authorize_url(settings: ChannelSettings, redirect_uri: str, state: str) -> str:
    """The platform's authorisation page (shows the QR code the 苏服办 app scans); redirects back with `code`."""
    base = str(settings.extra.get("authorize_base_url") or settings.base_url).rstrip("/")
    query = urlencode([("app_id", settings.app_id), ("redirect_uri", redirect_uri), ("response_type", "code"),
                       ("state", state)], quote_via=quote, safe="")
    return f"{base}/oauth2/authorize?{query}"


async def call(http: Http, settings: ChannelSettings, path: str, step: str,
               params: Mapping[str, str]) -> dict[str, Any]:
    if not settings.secret:
        raise ConfigError("SFM: the integration key (secret) is empty")
    if not settings.base_url:
        raise ConfigError("SFM: base_url is required (the platform has no public default address)")
    url = f"{settings.base_url.rstrip('/')}{path}"

    async def attempt() -> dict[str, Any]:
        # A fresh timestamp and nonce per attempt: the platform refuses a nonce it has seen.
        nonce = secrets.token_hex(16)
        body = sign_request({"app_id": settings.app_id, "timestamp": str(now_millis()), "nonce": nonce,
                             "sign_method": SIGN_METHOD, **params}, settings.secret)
        reply = await http.request("POST", url, body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                                   headers={"content-type": "application/json;charset=utf-8"})
        return checked_response(reply, settings.secret, nonce)

    return await http.retrying(step, attempt)


def checked_response(reply: Reply, key: str, request_nonce: str) -> dict[str, Any]:
    """`data` of a verified, fresh success; ChannelError otherwise. As with Alipay, an error whose signature
    does not verify is still a refusal (reported, never retried), while a success must verify."""
    try:
        body = json.loads(reply.text("SFM"))
    except ValueError:
        raise ChannelError("SFM answered a body that is not JSON", code="bad_response") from None
    if not isinstance(body, dict):
        raise ChannelError("SFM answered a body that is not a JSON object", code="bad_response")
    timestamp = reply.headers.get(TIMESTAMP_HEADER, "")
    signature = reply.headers.get(SIGNATURE_HEADER, "")
    verified = bool(signature) and hmac.compare_digest(
        signature.lower(), response_signature(key, request_nonce, timestamp, reply.body))
    code = str(body.get("code", ""))
    if code != SUCCESS:
        meaning = ERROR_CODES.get(code) or str(body.get("msg") or "error")
        message = f"SFM refused: {code} {meaning}"
        if verified and code in RETRYABLE_CODES:
            raise TransientError(message, code=code)
        raise ChannelError(message, code=code or None)
    if not verified:
        raise ChannelError("SFM: response signature missing or invalid", code="bad_signature")
    if not timestamp.isdigit() or abs(now_millis() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS * 1000:
        raise ChannelError("SFM: response timestamp outside the allowed window", code="stale_response")
    data = body.get("data")
    if not isinstance(data, dict):
        raise ChannelError("SFM: success without data", code="bad_response")
    return data


async def authenticate(http: Http, params: Mapping[str, str], settings: ChannelSettings) -> ExternalProfile:
    code = params.get("code")
    if not code:
        raise ChannelError("SFM: no code to check", code="1005")
    checked = await call(http, settings, VERIFY_PATH, "code check", {"code": code})
    user_id = _text(checked, "user_id")
    access_token = _text(checked, "access_token")
    if not user_id or not access_token:
        raise ChannelError("SFM: the code check answered without user_id or access_token", code="bad_response")
    person = await call(http, settings, REALNAME_PATH, "real-name query",
                        {"user_id": user_id, "access_token": access_token})
    if _text(person, "user_id") != user_id:
        raise ChannelError("SFM: the real-name record is for another user", code="bad_response")
    return ExternalProfile(channel="SFM", subject=user_id, name=_text(person, "name"),
                           mobile=_text(person, "mobile"), id_number=_id_number(person))


def _id_number(person: Mapping[str, Any]) -> str | None:
    """The GB 11643 number, normalised, for a resident ID card; None for other certificates (passport, HK/Macau
    permit), whose numbers must not be matched against resident ID numbers."""
    number = _text(person, "cert_no")
    if number is None or (_text(person, "cert_type") or RESIDENT_ID_CARD) != RESIDENT_ID_CARD:
        return None
    try:
        return parse_resident_id(number).number
    except InvalidIdNumber as exc:
        # exc names the failed rule only, never the number: this message reaches logs.
        raise ChannelError(f"SFM: the real-name record's ID number is not valid ({exc.reason})",
                           code="bad_response") from None


def _text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) and value else None
