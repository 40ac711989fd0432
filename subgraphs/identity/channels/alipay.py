"""Alipay login: the OpenAPI gateway's alipay.system.oauth.token (auth_code → access token) and
alipay.user.info.share (access token → nick name, avatar), public-key mode with RSA2 signatures.

Request: POST {base}/gateway.do, form-encoded UTF-8, with the common parameters app_id, method, format=JSON,
charset=utf-8, sign_type=RSA2, timestamp ("yyyy-MM-dd HH:mm:ss", Beijing time), version=1.0, the method's
own parameters, and `sign`: SHA256withRSA (PKCS#1 v1.5) with the app private key over the parameters
except `sign` whose value is not empty, sorted by name and joined as `k=v&k=v` (raw values, no URL
encoding), base64.

Response: `{"<method with _ for .>_response": {...}, "sign": "..."}` or `{"error_response": {...}, "sign":
"..."}`. The signature covers the exact text of the `..._response` value as sent, so the value's raw
text is cut out of the body (never re-serialised) and verified with Alipay's public key.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from subgraphs.identity.channels.base import ChannelError, ChannelSettings, ConfigError, ExternalProfile
from subgraphs.identity.channels.transport import Http, TransientError

DEFAULT_BASE_URL = "https://openapi.alipay.com"
DEFAULT_AUTHORIZE_BASE_URL = "https://openauth.alipay.com"
TOKEN_METHOD = "alipay.system.oauth.token"
USER_INFO_METHOD = "alipay.user.info.share"
SUCCESS = "10000"
# 20000 is "Service Currently Unavailable"; isp.* sub-codes are the provider's own faults. Everything
# else (40001 missing arguments, 40002 invalid arguments, 40004 business failure, 40006 insufficient
# permissions, 20001 token) is the caller's problem and will not change on a retry.
RETRYABLE_CODES = frozenset({"20000"})
# Beijing time has had no daylight saving since 1991: a fixed offset is exact and needs no tz database.
BEIJING = datetime.timezone(datetime.timedelta(hours=8), "Asia/Shanghai")


def authorize_url(settings: ChannelSettings, redirect_uri: str, state: str, *, scope: str = "auth_user") -> str:
    """The Alipay authorisation page (its web version shows the QR code); it redirects back with auth_code."""
    base = str(settings.extra.get("authorize_base_url") or DEFAULT_AUTHORIZE_BASE_URL).rstrip("/")
    query = urlencode([("app_id", settings.app_id), ("scope", scope), ("redirect_uri", redirect_uri),
                       ("state", state)], quote_via=quote, safe="")
    return f"{base}/oauth2/publicAppAuthorize.htm?{query}"


# --- signatures ----------------------------------------------------------------------------------------------


def signing_string(params: Mapping[str, str]) -> str:
    return "&".join(f"{key}={params[key]}" for key in sorted(params) if key != "sign" and params[key] != "")


def _key_bytes(text: str) -> tuple[bytes, bool]:
    """(bytes, is_pem): Alipay's console hands out keys as bare base64 DER; PEM files work too."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        return text.encode(), True
    try:
        return base64.b64decode("".join(text.split()), validate=True), False
    except binascii.Error:
        raise ConfigError("ALIPAY: a key is neither PEM nor base64 DER") from None


@functools.lru_cache(maxsize=16)
def load_private_key(text: str) -> rsa.RSAPrivateKey:
    raw, pem = _key_bytes(text)
    try:
        key = (serialization.load_pem_private_key(raw, password=None) if pem
               else serialization.load_der_private_key(raw, password=None))
    except (ValueError, TypeError):
        raise ConfigError("ALIPAY: the app private key cannot be read (PKCS#8 or PKCS#1, unencrypted)") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError("ALIPAY: the app private key is not an RSA key")
    return key


@functools.lru_cache(maxsize=16)
def load_public_key(text: str) -> rsa.RSAPublicKey:
    raw, pem = _key_bytes(text)
    try:
        key = serialization.load_pem_public_key(raw) if pem else serialization.load_der_public_key(raw)
    except (ValueError, TypeError):
        raise ConfigError("ALIPAY: the Alipay public key cannot be read") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigError("ALIPAY: the Alipay public key is not an RSA key")
    return key


def rsa2_sign(content: str, private_key: rsa.RSAPrivateKey) -> str:
    return base64.b64encode(private_key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa2_verify(content: str, signature: str, public_key: rsa.RSAPublicKey) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), content.encode("utf-8"), padding.PKCS1v15(),
                          hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def sign_params(params: Mapping[str, str], private_key: rsa.RSAPrivateKey) -> dict[str, str]:
    return {**params, "sign": rsa2_sign(signing_string(params), private_key)}


def raw_members(text: str) -> dict[str, str]:
    """The top-level members of a JSON object as raw text slices, exactly as sent: the response signature
    covers these bytes, and re-serialising the parsed value (key order, escapes, spacing) would not
    reproduce them."""
    decoder = json.JSONDecoder()
    members: dict[str, str] = {}

    def skip(index: int) -> int:
        while index < len(text) and text[index] in " \t\r\n":
            index += 1
        return index

    index = skip(0)
    if not text.startswith("{", index):
        raise ValueError("not a JSON object")
    index = skip(index + 1)
    if text.startswith("}", index):
        return members
    while True:
        key, index = decoder.raw_decode(text, index)
        if not isinstance(key, str):
            raise ValueError("object key is not a string")
        index = skip(index)
        if not text.startswith(":", index):
            raise ValueError("expected ':'")
        start = skip(index + 1)
        _, end = decoder.raw_decode(text, start)
        members[key] = text[start:end]
        index = skip(end)
        if text.startswith("}", index):
            if skip(index + 1) != len(text):
                raise ValueError("trailing data after the object")
            return members
        if not text.startswith(",", index):
            raise ValueError("expected ',' or '}'")
        index = skip(index + 1)


def response_node_name(method: str) -> str:
    return method.replace(".", "_") + "_response"


# --- the calls -----------------------------------------------------------------------------------------------


def beijing_timestamp(now: datetime.datetime | None = None) -> str:
    return (now or datetime.datetime.now(BEIJING)).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


async def call(http: Http, settings: ChannelSettings, method: str, params: Mapping[str, str]) -> dict[str, Any]:
    """One signed gateway call, retried on transient failures; the verified response node, or ChannelError."""
    private_key = load_private_key(settings.secret)
    alipay_key = settings.extra.get("alipay_public_key")
    if not isinstance(alipay_key, str) or not alipay_key.strip():
        raise ConfigError("ALIPAY: settings.extra['alipay_public_key'] is required to verify responses")
    public_key = load_public_key(alipay_key)
    url = f"{(settings.base_url or DEFAULT_BASE_URL).rstrip('/')}/gateway.do"

    async def attempt() -> dict[str, Any]:
        # A new timestamp per attempt: the gateway refuses stale ones.
        common = {"app_id": settings.app_id, "method": method, "format": "JSON", "charset": "utf-8",
                  "sign_type": "RSA2", "timestamp": beijing_timestamp(), "version": "1.0"}
        form = sign_params({**common, **params}, private_key)
        reply = await http.request("POST", url, body=urlencode(form).encode("ascii"), headers={
            "content-type": "application/x-www-form-urlencoded;charset=utf-8"})
        return checked_response(reply.text("ALIPAY"), method, public_key)

    return await http.retrying(method, attempt)


def checked_response(text: str, method: str, public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    """The method's response node once its signature is verified; ChannelError for refusals.

    Alipay may leave `sign` out of some error responses (an unknown app id has no key pair to speak
    of); an error is a refusal whether or not it is signed, so an unsigned or badly signed error is
    still reported with its code, but never retried: we do not let an unauthenticated "busy" make us
    hammer the gateway. A success must carry a valid signature.
    """
    try:
        members = raw_members(text)
    except ValueError:
        raise ChannelError("ALIPAY answered a body that is not a JSON object", code="bad_response") from None
    name = response_node_name(method)
    node_text = members.get(name) or members.get("error_response")
    if node_text is None:
        raise ChannelError(f"ALIPAY answered without {name}", code="bad_response")
    node = json.loads(node_text)
    if not isinstance(node, dict):
        raise ChannelError(f"ALIPAY's {name} is not an object", code="bad_response")
    sign = json.loads(members["sign"]) if "sign" in members else None
    verified = isinstance(sign, str) and rsa2_verify(node_text, sign, public_key)
    code = str(node.get("code") or "")
    # alipay.system.oauth.token answers success without a `code`; other methods say 10000.
    failed = (code not in ("", SUCCESS)) or name not in members
    if not failed:
        if not verified:
            raise ChannelError(f"ALIPAY {method}: response signature missing or invalid", code="bad_signature")
        return node
    sub_code = str(node.get("sub_code") or "")
    message = " ".join(part for part in (f"ALIPAY {method} refused:", code, str(node.get("msg") or ""),
                                         f"({sub_code})" if sub_code else "") if part)
    if verified and (code in RETRYABLE_CODES or sub_code.startswith("isp.")):
        raise TransientError(message, code=sub_code or code)
    raise ChannelError(message, code=sub_code or code or None)


async def authenticate(http: Http, params: Mapping[str, str], settings: ChannelSettings) -> ExternalProfile:
    auth_code = params.get("auth_code") or params.get("code")
    if not auth_code:
        raise ChannelError("ALIPAY: the redirect brought no auth_code", code="isv.code-invalid")
    token = await call(http, settings, TOKEN_METHOD, {"grant_type": "authorization_code", "code": auth_code})
    # Apps created since 2023 get an open_id instead of the 2088… user_id; either identifies the person
    # for this app.
    subject = _text(token, "user_id") or _text(token, "open_id")
    access_token = _text(token, "access_token")
    if not subject or not access_token:
        raise ChannelError("ALIPAY: the token response lacks user_id/open_id or access_token", code="bad_response")
    # The share call doubles as the tender's "Token验证接口": a token Alipay does not honour fails here.
    info = await call(http, settings, USER_INFO_METHOD, {"auth_token": access_token})
    info_subject = _text(info, "user_id") or _text(info, "open_id")
    if info_subject and info_subject != subject:
        raise ChannelError("ALIPAY: user.info.share answered for another user", code="bad_response")
    return ExternalProfile(channel="ALIPAY", subject=subject, name=_text(info, "nick_name"),
                           mobile=_text(info, "mobile"), avatar_url=_text(info, "avatar"))


def _text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) and value else None
