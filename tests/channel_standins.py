"""Local stand-ins for the login providers (WeChat, Alipay, 苏服码), speaking their HTTP protocols over real
sockets so the channel code is tested end to end without reaching the providers.

    wechat = WeChatStandIn("wx-app", "wx-secret")
    with serve_standins(wechat) as (base,):          # "http://127.0.0.1:PORT"
        code = wechat.issue_code("openid-1", nickname="张三")
        ...
    wechat.fail_next("http_500", "busy")              # the next two requests fail, whatever their path

Each stand-in is strict the way its provider is: it checks app credentials and OUR signatures (Alipay
RSA2 with the app public key; 苏服码 HMAC-SM3 with the integration key, its timestamp window and nonce
memory), issues codes that work once and expire, signs its own answers (Alipay with a test "Alipay
private key"; 苏服码 with the shared key) and answers errors in the provider's shapes. `tamper_next()`
alters the next signed success body after signing, to test that the client rejects it (WeChat signs
nothing: its answers rest on TLS alone).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import hmac
import json
import secrets
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from subgraphs.identity.channels import alipay, sfm

FAULTS = ("ok", "http_500", "busy", "hang")  # "ok": this request passes (to aim a fault at a later step)


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def private_base64(key: rsa.RSAPrivateKey) -> str:
    """The form Alipay's key tool hands out: bare base64 of the PKCS#8 DER, no PEM armour."""
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return base64.b64encode(der).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass
class IssuedCode:
    payload: dict[str, Any]
    expires_at: float
    used: bool = False


@dataclass
class StandIn:
    """What every stand-in shares: issued codes, injected faults and a request count per path."""

    name: str = "standin"
    hang_seconds: float = 1.0
    faults: deque[str] = field(default_factory=deque)
    hits: Counter[str] = field(default_factory=Counter)
    codes: dict[str, IssuedCode] = field(default_factory=dict)
    tampering: bool = False

    def fail_next(self, *faults: str) -> None:
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {FAULTS}")
        self.faults.extend(faults)

    def tamper_next(self) -> None:
        self.tampering = True

    def reset(self) -> None:
        self.faults.clear()
        self.hits.clear()
        self.tampering = False

    def _issue(self, payload: dict[str, Any], ttl: float) -> str:
        code = secrets.token_urlsafe(24)
        self.codes[code] = IssuedCode(payload, time.time() + ttl)
        return code

    def _redeem(self, code: str) -> tuple[str, dict[str, Any] | None]:
        """("ok", payload) | ("used", None) | ("invalid", None); expired codes are invalid."""
        issued = self.codes.get(code)
        if issued is None or issued.expires_at < time.time():
            return "invalid", None
        if issued.used:
            return "used", None
        issued.used = True
        return "ok", issued.payload

    def _take_tamper(self) -> bool:
        tamper, self.tampering = self.tampering, False
        return tamper

    async def _fault(self, request: Request) -> str | None:
        """Count the request and apply the next injected fault: "hang" sleeps (the client should time out)
        and then answers normally; the others are answered by `respond_fault`."""
        self.hits[request.url.path] += 1
        if not self.faults:
            return None
        fault = self.faults.popleft()
        if fault == "ok":
            return None
        if fault == "hang":
            await asyncio.sleep(self.hang_seconds)
            return None
        return fault

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def app(self) -> Starlette:
        async def health(_: Request) -> Response:
            return PlainTextResponse("ok")
        return Starlette(routes=[*self.routes(), Route("/health", health)])


# --- WeChat ---------------------------------------------------------------------------------------------------


class WeChatStandIn(StandIn):
    def __init__(self, app_id: str, secret: str) -> None:
        super().__init__(name="wechat")
        self.app_id = app_id
        self.secret = secret
        self.tokens: dict[str, tuple[str, float]] = {}  # access_token -> (openid, expires_at)
        self.profiles: dict[str, dict[str, Any]] = {}

    def issue_code(self, openid: str, *, unionid: str | None = None, nickname: str = "微信用户",
                   headimgurl: str = "https://thirdwx.qlogo.cn/mmopen/test/132", scope: str = "snsapi_login",
                   ttl: float = 300.0) -> str:
        """A code as the QR page / 网页授权 redirect would bring; WeChat's live 5 minutes."""
        self.profiles[openid] = {"openid": openid, "nickname": nickname, "sex": 0, "province": "Jiangsu",
                                 "city": "Nanjing", "country": "CN", "headimgurl": headimgurl, "privilege": [],
                                 **({"unionid": unionid} if unionid else {})}
        return self._issue({"kind": "oauth", "openid": openid, "unionid": unionid, "scope": scope}, ttl)

    def issue_js_code(self, openid: str, *, unionid: str | None = None, ttl: float = 300.0) -> str:
        """A code as wx.login() gives a mini program."""
        return self._issue({"kind": "js", "openid": openid, "unionid": unionid}, ttl)

    @staticmethod
    def _answer(body: Mapping[str, Any]) -> Response:
        # WeChat labels its JSON text/plain; the client must not depend on the content type.
        return Response(json.dumps(body, ensure_ascii=False), media_type="text/plain")

    def _error(self, errcode: int, errmsg: str) -> Response:
        return self._answer({"errcode": errcode, "errmsg": f"{errmsg} rid: {secrets.token_hex(4)}"})

    async def _faulted(self, request: Request) -> Response | None:
        fault = await self._fault(request)
        if fault == "http_500":
            return PlainTextResponse("502 Bad Gateway", status_code=500)
        if fault == "busy":
            return self._error(-1, "system error")
        return None

    def _credentials(self, request: Request) -> Response | None:
        query = request.query_params
        if query.get("appid") != self.app_id:
            return self._error(40013, "invalid appid")
        if query.get("secret") != self.secret:
            return self._error(40125, "invalid appsecret")
        if query.get("grant_type") != "authorization_code":
            return self._error(40002, "invalid grant_type")
        return None

    def _redeem_kind(self, code: str | None, kind: str) -> tuple[Response | None, dict[str, Any]]:
        if not code:
            return self._error(41008, "missing code"), {}
        state, payload = self._redeem(code)
        if state == "used":
            return self._error(40163, "code been used"), {}
        if payload is None or payload["kind"] != kind:
            return self._error(40029, "invalid code"), {}
        return None, payload

    async def access_token(self, request: Request) -> Response:
        refusal = await self._faulted(request) or self._credentials(request)
        if refusal:
            return refusal
        refusal, payload = self._redeem_kind(request.query_params.get("code"), "oauth")
        if refusal:
            return refusal
        token = secrets.token_urlsafe(32)
        self.tokens[token] = (payload["openid"], time.time() + 7200)
        body: dict[str, Any] = {"access_token": token, "expires_in": 7200, "refresh_token": secrets.token_urlsafe(32),
                                "openid": payload["openid"], "scope": payload["scope"]}
        if payload["unionid"]:
            body["unionid"] = payload["unionid"]
        return self._answer(body)

    async def userinfo(self, request: Request) -> Response:
        refusal = await self._faulted(request)
        if refusal:
            return refusal
        token = self.tokens.get(request.query_params.get("access_token", ""))
        if token is None:
            return self._error(40001, "invalid credential, access_token is invalid or not latest")
        if token[1] < time.time():
            return self._error(42001, "access_token expired")
        if request.query_params.get("openid") != token[0]:
            return self._error(40003, "invalid openid")
        return self._answer(self.profiles[token[0]])

    async def jscode2session(self, request: Request) -> Response:
        refusal = await self._faulted(request) or self._credentials(request)
        if refusal:
            return refusal
        refusal, payload = self._redeem_kind(request.query_params.get("js_code"), "js")
        if refusal:
            return refusal
        body = {"openid": payload["openid"], "session_key": base64.b64encode(secrets.token_bytes(16)).decode()}
        if payload["unionid"]:
            body["unionid"] = payload["unionid"]
        return self._answer(body)

    def routes(self) -> list[Route]:
        return [Route("/sns/oauth2/access_token", self.access_token), Route("/sns/userinfo", self.userinfo),
                Route("/sns/jscode2session", self.jscode2session)]


# --- Alipay ---------------------------------------------------------------------------------------------------

ALIPAY_TIMESTAMP_WINDOW_SECONDS = 15 * 60
_REQUIRED_COMMON = (("app_id", "isv.missing-app-id"), ("method", "isv.missing-method"),
                    ("sign_type", "isv.missing-signature-type"), ("sign", "isv.missing-signature"),
                    ("timestamp", "isv.missing-timestamp"), ("version", "isv.missing-version"))


class AlipayStandIn(StandIn):
    def __init__(self, app_id: str, app_public_key_pem: str, alipay_private_key: rsa.RSAPrivateKey) -> None:
        super().__init__(name="alipay")
        self.app_id = app_id
        self.app_public_key = alipay.load_public_key(app_public_key_pem)
        self.alipay_private_key = alipay_private_key
        self.tokens: dict[str, tuple[dict[str, Any], float]] = {}  # access token -> (person, expires_at)
        self.sign_errors = True

    def issue_code(self, user_id: str, *, nick_name: str = "支付宝用户", avatar: str = "https://tfs.alipayobjects.com/images/partner/T1test",
                   mobile: str | None = None, open_id: bool = False, ttl: float = 300.0) -> str:
        """An auth_code as the authorisation page's redirect brings; `open_id` answers in open_id mode."""
        person = {"user_id": user_id, "nick_name": nick_name, "avatar": avatar, "mobile": mobile,
                  "open_id": open_id}
        return self._issue(person, ttl)

    def _signed(self, node_name: str, node: Mapping[str, Any], *, signed: bool = True) -> Response:
        node_text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
        sign = alipay.rsa2_sign(node_text, self.alipay_private_key)
        if '"user_id":"' in node_text and self._take_tamper():
            # Altered after signing, as a man in the middle would: the client's check must catch it.
            node_text = node_text.replace('"user_id":"', '"user_id":"9')
        body = f'{{"{node_name}":{node_text}' + (f',"sign":"{sign}"' if signed else "") + "}"
        # Not application/json: the client must parse the body whatever the content type says.
        return Response(body.encode("utf-8"), media_type="text/html;charset=utf-8")

    def _error(self, code: str, msg: str, sub_code: str, sub_msg: str, node_name: str = "error_response") -> Response:
        return self._signed(node_name, {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg},
                            signed=self.sign_errors)

    async def gateway(self, request: Request) -> Response:
        fault = await self._fault(request)
        if fault == "http_500":
            return PlainTextResponse("Internal Server Error", status_code=502)
        if fault == "busy":
            return self._error("20000", "Service Currently Unavailable", "isp.unknow-error", "系统繁忙")
        form = await request.form()
        params = {**request.query_params, **{k: v for k, v in form.items() if isinstance(v, str)}}
        for name, sub_code in _REQUIRED_COMMON:
            if not params.get(name):
                return self._error("40001", "Missing Required Arguments", sub_code, f"缺少{name}参数")
        if params["app_id"] != self.app_id:
            return self._error("40002", "Invalid Arguments", "isv.invalid-app-id", "无效的AppID参数")
        if params["method"] not in (alipay.TOKEN_METHOD, alipay.USER_INFO_METHOD):
            return self._error("40002", "Invalid Arguments", "isv.invalid-method", "不存在的方法名")
        if params["sign_type"] != "RSA2":
            return self._error("40002", "Invalid Arguments", "isv.invalid-signature-type", "无效的签名类型")
        if params.get("charset", "").lower() != "utf-8":
            return self._error("40002", "Invalid Arguments", "isv.invalid-charset", "字符集错误")
        try:
            sent = datetime.datetime.strptime(params["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=alipay.BEIJING)
        except ValueError:
            return self._error("40002", "Invalid Arguments", "isv.invalid-timestamp", "非法的时间戳参数")
        if abs((datetime.datetime.now(alipay.BEIJING) - sent).total_seconds()) > ALIPAY_TIMESTAMP_WINDOW_SECONDS:
            return self._error("40002", "Invalid Arguments", "isv.invalid-timestamp", "非法的时间戳参数")
        if not alipay.rsa2_verify(alipay.signing_string(params), params["sign"], self.app_public_key):
            return self._error("40002", "Invalid Arguments", "isv.invalid-signature", "验签出错")
        if params["method"] == alipay.TOKEN_METHOD:
            return self._token(params)
        return self._user_info(params)

    def _token(self, params: Mapping[str, str]) -> Response:
        if params.get("grant_type") != "authorization_code":
            return self._error("40002", "Invalid Arguments", "isv.grant-type-invalid", "grant_type参数不正确")
        _, person = self._redeem(params.get("code", ""))
        if person is None:
            # Alipay does not tell a used code from an unknown or expired one.
            return self._error("40002", "Invalid Arguments", "isv.code-invalid", "授权码code无效")
        token = secrets.token_urlsafe(32)
        self.tokens[token] = (person, time.time() + 1296000)
        id_key = "open_id" if person["open_id"] else "user_id"
        return self._signed(alipay.response_node_name(alipay.TOKEN_METHOD), {
            id_key: person["user_id"], "access_token": token, "expires_in": 1296000,
            "refresh_token": secrets.token_urlsafe(32), "re_expires_in": 2592000,
            "auth_start": datetime.datetime.now(alipay.BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
        })

    def _user_info(self, params: Mapping[str, str]) -> Response:
        node_name = alipay.response_node_name(alipay.USER_INFO_METHOD)
        entry = self.tokens.get(params.get("auth_token", ""))
        if entry is None or entry[1] < time.time():
            return self._error("20001", "Insufficient Token Permissions", "aop.invalid-auth-token", "无效的访问令牌",
                               node_name=node_name)
        person = entry[0]
        node: dict[str, Any] = {"code": "10000", "msg": "Success",
                                ("open_id" if person["open_id"] else "user_id"): person["user_id"],
                                "nick_name": person["nick_name"], "avatar": person["avatar"], "gender": "F",
                                "province": "江苏省", "city": "南京市"}
        if person["mobile"]:
            node["mobile"] = person["mobile"]
        return self._signed(node_name, node)

    def routes(self) -> list[Route]:
        return [Route("/gateway.do", self.gateway, methods=["GET", "POST"])]


# --- 苏服码 ------------------------------------------------------------------------------------------------------


class SfmStandIn(StandIn):
    def __init__(self, app_id: str, key: str) -> None:
        super().__init__(name="sfm")
        self.app_id = app_id
        self.key = key
        self.nonces: dict[str, float] = {}
        self.tokens: dict[str, tuple[str, float]] = {}  # access token -> (user_id, expires_at)
        self.people: dict[str, dict[str, Any]] = {}
        self.response_skew_seconds = 0.0  # shifts the response timestamp, to test the client's window

    def issue_code(self, user_id: str, *, name: str, cert_no: str, mobile: str = "13800138000",
                   cert_type: str = sfm.RESIDENT_ID_CARD, auth_level: str = "L3", ttl: float = 120.0) -> str:
        """A code as the platform's authorisation redirect (or a scanned 苏服码) brings."""
        self.people[user_id] = {"user_id": user_id, "name": name, "cert_type": cert_type, "cert_no": cert_no,
                                "mobile": mobile, "auth_level": auth_level}
        return self._issue({"user_id": user_id}, ttl)

    def _answer(self, code: str, data: Mapping[str, Any] | None, request_nonce: str, *,
                signed: bool = True) -> Response:
        message = "success" if code == sfm.SUCCESS else sfm.ERROR_CODES.get(code, "error")
        body: dict[str, Any] = {"code": code, "msg": message, "request_id": secrets.token_hex(8)}
        if data is not None:
            body["data"] = dict(data)
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        timestamp = str(int((time.time() + self.response_skew_seconds) * 1000))
        headers = {}
        if signed:
            headers = {"X-SFM-Timestamp": timestamp,
                       "X-SFM-Signature": sfm.response_signature(self.key, request_nonce, timestamp, raw)}
        if code == sfm.SUCCESS and self._take_tamper():
            raw = raw.replace(b'"user_id": "', b'"user_id": "X')
        return Response(raw, media_type="application/json;charset=utf-8", headers=headers)

    async def _checked(self, request: Request) -> tuple[Response | None, dict[str, str]]:
        """The request's parameters once app, signature, timestamp and nonce pass; or the refusal."""
        fault = await self._fault(request)
        try:
            params = json.loads(await request.body())
        except ValueError:
            params = None
        nonce = params.get("nonce", "") if isinstance(params, dict) and isinstance(params.get("nonce"), str) else ""
        if fault == "http_500":
            return PlainTextResponse("Service Unavailable", status_code=503), {}
        if fault == "busy":
            return self._answer("5000", None, nonce), {}
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            return self._answer("1005", None, nonce), {}
        if params.get("app_id") != self.app_id:
            # No key is known for an unknown app, so this answer cannot be signed.
            return self._answer("1001", None, nonce, signed=False), {}
        required = ("timestamp", "nonce", "sign")
        if params.get("sign_method") != sfm.SIGN_METHOD or not all(params.get(k) for k in required):
            return self._answer("1005", None, nonce), {}
        expected = sfm.hmac_sm3(self.key, sfm.canonical_string(params).encode("utf-8"))
        if not hmac.compare_digest(expected, params["sign"].lower()):
            return self._answer("1002", None, nonce), {}
        now = time.time()
        sent = params["timestamp"]
        if not sent.isdigit() or abs(now * 1000 - int(sent)) > sfm.MAX_CLOCK_SKEW_SECONDS * 1000:
            return self._answer("1003", None, nonce), {}
        # Nonces are remembered for twice the window: anything older fails the timestamp check anyway.
        self.nonces = {n: t for n, t in self.nonces.items() if t > now - 2 * sfm.MAX_CLOCK_SKEW_SECONDS}
        if nonce in self.nonces:
            return self._answer("1004", None, nonce), {}
        self.nonces[nonce] = now
        return None, params

    async def verify(self, request: Request) -> Response:
        refusal, params = await self._checked(request)
        if refusal:
            return refusal
        nonce = params["nonce"]
        if not params.get("code"):
            return self._answer("1005", None, nonce)
        state, payload = self._redeem(params["code"])
        if state == "used":
            return self._answer("2002", None, nonce)
        if payload is None:
            return self._answer("2001", None, nonce)
        token = secrets.token_urlsafe(32)
        self.tokens[token] = (payload["user_id"], time.time() + 300)
        return self._answer(sfm.SUCCESS, {"user_id": payload["user_id"], "access_token": token, "expires_in": 300,
                                          "auth_level": self.people[payload["user_id"]]["auth_level"]}, nonce)

    async def realname(self, request: Request) -> Response:
        refusal, params = await self._checked(request)
        if refusal:
            return refusal
        nonce = params["nonce"]
        entry = self.tokens.get(params.get("access_token", ""))
        if entry is None or entry[1] < time.time() or entry[0] != params.get("user_id"):
            return self._answer("2003", None, nonce)
        person = self.people[entry[0]]
        if person["auth_level"] == "L1":
            return self._answer("2004", None, nonce)
        return self._answer(sfm.SUCCESS, person, nonce)

    def routes(self) -> list[Route]:
        return [Route(sfm.VERIFY_PATH, self.verify, methods=["POST"]),
                Route(sfm.REALNAME_PATH, self.realname, methods=["POST"])]


# --- serving --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def serve_standins(*standins: StandIn, host: str = "127.0.0.1", startup_timeout: float = 10.0) -> Iterator[list[str]]:
    """Serve each stand-in on its own free loopback port from one background thread; yields their base URLs."""
    sockets: list[socket.socket] = []
    servers: list[uvicorn.Server] = []
    for standin in standins:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        sockets.append(sock)
        # A short graceful shutdown: a "hang" fault may still be sleeping when the tests end.
        config = uvicorn.Config(standin.app(), lifespan="off", log_level="critical", access_log=False,
                                timeout_graceful_shutdown=1)
        servers.append(uvicorn.Server(config))
    failure: list[BaseException] = []

    def run() -> None:
        async def main() -> None:
            await asyncio.gather(*(server.serve(sockets=[sock]) for server, sock in zip(servers, sockets, strict=True)))
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, name="channel-standins", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not all(server.started for server in servers):
            if failure or not thread.is_alive():
                raise RuntimeError(f"the channel stand-ins did not start: {failure!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("the channel stand-ins did not start in time")
            time.sleep(0.01)
        yield [f"http://{host}:{sock.getsockname()[1]}" for sock in sockets]
    finally:
        for server in servers:
            server.should_exit = True
        thread.join(timeout=10.0)
        for sock in sockets:
            sock.close()
