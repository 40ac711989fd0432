"""How the router reaches subgraphs: HTTP between processes, or in-process ASGI calls when the
subgraphs live in the router's own process (the embedded mode)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

JSON = dict[str, Any]
ASGIApp = Any

FORWARDED_HEADERS = ("x-request-id", "traceparent", "tracestate", "authorization", "accept-language")
PER_REQUEST_HEADERS = frozenset({"x-request-id", "traceparent", "tracestate"})


def forwarded(headers: Mapping[str, str], names: tuple[str, ...] = FORWARDED_HEADERS) -> dict[str, str]:
    return {name: headers[name] for name in names if name in headers}


class SubgraphHTTPError(Exception):
    pass


class HttpSubgraphClient:
    """One pooled aiohttp session for all subgraphs: keep-alive connections, JSON in orjson."""

    def __init__(
        self, urls: Mapping[str, str], *, timeout_seconds: float = 30.0, pool_size: int = 200,
        timeouts: Mapping[str, float] | None = None, forward_headers: tuple[str, ...] = FORWARDED_HEADERS,
    ) -> None:
        self.urls = dict(urls)
        self.forward_headers = forward_headers
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        # A slow subgraph must not hold the whole response: each may have its own limit.
        self._timeouts = {g: aiohttp.ClientTimeout(total=t) for g, t in (timeouts or {}).items()}
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300),
                json_serialize=lambda value: orjson.dumps(value).decode(),
            )
        return self._session

    async def fetch(self, graph: str, body: JSON, headers: Mapping[str, str]) -> JSON:
        url = self.urls[graph]
        request_headers = {"content-type": "application/json", "accept": "application/json",
                           **forwarded(headers, self.forward_headers)}
        timeout = self._timeouts.get(graph, self._timeout)
        async with self._client().post(url, data=orjson.dumps(body), headers=request_headers,
                                       timeout=timeout) as response:
            raw = await response.read()
            if response.status >= 500 or not raw:
                raise SubgraphHTTPError(f"{graph} answered HTTP {response.status}")
            decoded = orjson.loads(raw)
            if not isinstance(decoded, dict):
                raise SubgraphHTTPError(f"{graph} answered a non-object body")
            return decoded

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class AsgiSubgraphClient:
    """Calls each subgraph's ASGI app directly, with the same request the HTTP client would send."""

    def __init__(
        self, apps: Mapping[str, ASGIApp], path: str = "/graphql", forward_headers: tuple[str, ...] = FORWARDED_HEADERS
    ) -> None:
        self.apps = dict(apps)
        self.path = path
        self.forward_headers = forward_headers

    async def fetch(self, graph: str, body: JSON, headers: Mapping[str, str]) -> JSON:
        payload = orjson.dumps(body)
        request_headers = [
            (b"content-type", b"application/json"),
            (b"accept", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            *[(k.encode(), v.encode()) for k, v in forwarded(headers, self.forward_headers).items()],
        ]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": self.path, "raw_path": self.path.encode(), "root_path": "",
            "query_string": b"", "headers": request_headers, "server": ("in-process", 0),
            "client": ("in-process", 0),
        }
        sent = False
        chunks: list[bytes] = []
        status = 500

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": payload, "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.apps[graph](scope, receive, send)
        raw = b"".join(chunks)
        if status >= 500 or not raw:
            raise SubgraphHTTPError(f"{graph} answered HTTP {status}")
        decoded = orjson.loads(raw)
        if not isinstance(decoded, dict):
            raise SubgraphHTTPError(f"{graph} answered a non-object body")
        return decoded

    async def close(self) -> None:
        return None


class DeduplicatingClient:
    """Identical subgraph queries in flight at the same time share one request (mutations never do).
    Under load many requests plan to the same entity fetch; the subgraph answers it once."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._in_flight: dict[bytes, asyncio.Future[JSON]] = {}
        self.shared = 0

    async def fetch(self, graph: str, body: JSON, headers: Mapping[str, str]) -> JSON:
        query = body.get("query", "")
        if not isinstance(query, str) or query.lstrip().startswith("mutation"):
            return await self.inner.fetch(graph, body, headers)
        names = getattr(self.inner, "forward_headers", FORWARDED_HEADERS)
        # Per-request tracing headers stay out of the key (else nothing would ever be shared); what
        # changes the answer, such as Authorization, stays in.
        shared = tuple(n for n in names if n not in PER_REQUEST_HEADERS)
        key = orjson.dumps([graph, body, sorted(forwarded(headers, shared).items())])
        pending = self._in_flight.get(key)
        if pending is not None:
            self.shared += 1
            return await asyncio.shield(pending)
        future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            result: JSON = await self.inner.fetch(graph, body, headers)
            future.set_result(result)
            return result
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here: the sharers re-raise it themselves
            raise
        finally:
            del self._in_flight[key]

    async def close(self) -> None:
        await self.inner.close()
