"""HTTP transport: Kuzzle's route table, ``POST /_query``, health endpoints, CORS.

Arguments are ``{...query, ...path placeholders}``; the JSON body is the
request body. Replies carry the envelope (without ``room``) and its status.
Unlike Kuzzle, keep-alive is honoured (Kuzzle always sends ``Connection: close``).
"""

from __future__ import annotations

import zlib
from typing import Any
from urllib.parse import parse_qsl

import orjson

from kserver.router import Outcome, Router
from kserver.transport.asgi_types import Receive, Scope, Send
from kserver.transport.dashboard import is_dashboard, serve_dashboard
from kserver.transport.limits import OriginPolicy, encode_envelope, encode_reply
from kserver.wire.catalog import KuzzleError, kerror
from kserver.wire.context import Connection
from kserver.wire.envelope import frame_error_envelope
from kserver.wire.http_routes import RouteTable
from kserver.wire.request import (
    MAX_DEPTH,
    FrameError,
    Request,
    json_too_deep,
    new_request_id,
    request_from_object,
)

ALLOW_METHODS = b"GET,POST,PUT,PATCH,DELETE,OPTIONS,HEAD"
ALLOW_HEADERS = (
    b"Content-Type, Access-Control-Allow-Headers, Authorization, X-Requested-With, "
    b"Content-Encoding, Content-Length, X-Kuzzle-Volatile"
)
_VERBS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"})
_MAX_ENCODINGS = 3


class HttpEndpoint:
    def __init__(
        self, router: Router, routes: RouteTable, *, max_size: int, origins: OriginPolicy | None = None
    ) -> None:
        self.router = router
        self.routes = routes
        self.max_size = max_size
        self.origins = origins or OriginPolicy("")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        method: str = scope["method"]
        path: str = scope["path"]
        request_id = headers.get("x-kuzzle-request-id") or new_request_id()
        try:
            self.origins.check(headers.get("origin"))
            body = await self._read_body(receive, headers)
            if method not in _VERBS:
                raise kerror("network.http.unsupported_verb", method)
            if method == "OPTIONS":
                await self._reply(send, headers, 200, self._bare(request_id, 200, {}, None))
                return
            if path in ("/_healthcheck", "/_ready"):
                await self._reply(send, headers, 200, self._bare(request_id, 200, None, None))
                return
            if is_dashboard(path):  # static dashboard files (kserver/transport/dashboard.py)
                await serve_dashboard(path, method, send)
                return
            if method == "HEAD" and path in ("/", ""):
                await self._reply(send, headers, 200, None)
                return
            request = self._build(scope, headers, method, path, request_id, body)
        except FrameError as exc:
            payload = frame_error_envelope(
                exc.error, self.router.node, exc.request_id or request_id, exc.frame
            )
            payload.pop("room", None)
            await self._reply(send, headers, exc.error.status, payload)
            return
        except KuzzleError as error:
            await self._reply(send, headers, error.status, self._bare(request_id, error.status, None, error))
            return
        client = scope.get("client")
        connection = Connection("http", client[0] if client else None)
        outcome = await self.router.dispatch(request, connection)
        await self._reply_outcome(send, headers, outcome)

    def _build(
        self, scope: Scope, headers: dict[str, str], method: str, path: str, request_id: str, body: Any
    ) -> Request:
        if path == "/_query" and method == "POST":
            if not isinstance(body, dict):
                raise FrameError(kerror("api.assert.invalid_type", "body", "object"), request_id)
            query = dict(body)
            query.setdefault("requestId", request_id)
            if query.get("jwt") is None and (token := _bearer(headers)) is not None:
                query["jwt"] = token
            return request_from_object(query, "http")
        matched = self.routes.match(method if method != "HEAD" else "GET", path)
        if matched is None:
            raise kerror("network.http.url_not_found", path)
        route, params = matched
        args: dict[str, Any] = {}
        for key, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
            previous = args.get(key)
            if previous is None:
                args[key] = value
            elif isinstance(previous, list):
                previous.append(value)
            else:
                args[key] = [previous, value]
        args.update(params)
        args.pop("requestId", None)
        volatile: dict[str, Any] | None = None
        if (raw_volatile := headers.get("x-kuzzle-volatile")) is not None:
            try:
                volatile = orjson.loads(raw_volatile)
            except orjson.JSONDecodeError:
                raise kerror("network.http.volatile_parse_failed", raw_volatile) from None
            if not isinstance(volatile, dict) or json_too_deep(raw_volatile, volatile):
                raise kerror("network.http.volatile_parse_failed", raw_volatile[:200])
        controller = args.pop("controller", route.controller)
        action = args.pop("action", route.action)
        frame: dict[str, Any] = {
            **args,
            "controller": controller if isinstance(controller, str) else route.controller,
            "action": action if isinstance(action, str) else route.action,
            "requestId": request_id,
            "jwt": _credentials(headers),
            "volatile": volatile,
            "body": body,
        }
        request = request_from_object(frame, "http")
        request.http_headers = headers
        return request

    async def _read_body(self, receive: Receive, headers: dict[str, str]) -> Any:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_size:
                raise kerror("network.http.request_too_large", self.max_size)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        if not raw:
            return None
        raw = self._decode_content(raw, headers.get("content-encoding", ""))
        content_type = headers.get("content-type", "application/json").lower()
        mime, _, params = content_type.partition(";")
        mime = mime.strip()
        charset = params.partition("charset=")[2].strip().strip('"')
        if charset and charset not in ("utf-8", "utf8"):
            raise kerror("network.http.unsupported_charset", charset)
        if mime in ("application/json", "", "text/plain"):
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise kerror("network.http.body_parse_failed", exc.msg) from None
            if json_too_deep(raw, parsed):
                raise kerror("api.assert.invalid_argument", "body", f"at most {MAX_DEPTH} levels of nesting")
            return parsed
        if mime == "application/x-www-form-urlencoded":
            return dict(parse_qsl(raw.decode(), keep_blank_values=True))
        raise kerror("network.http.unsupported_content", mime)

    def _decode_content(self, raw: bytes, encoding: str) -> bytes:
        layers = [e.strip().lower() for e in encoding.split(",") if e.strip()]
        if len(layers) > _MAX_ENCODINGS:
            raise kerror("network.http.too_many_encodings")
        for layer in reversed(layers):
            if layer == "identity":
                continue
            if layer not in ("gzip", "deflate"):
                raise kerror("network.http.unsupported_compression", layer)
            decoder = zlib.decompressobj(zlib.MAX_WBITS | 32 if layer == "gzip" else zlib.MAX_WBITS)
            try:
                raw = decoder.decompress(raw, self.max_size + 1)
            except zlib.error as exc:
                raise kerror("network.http.unexpected_error", str(exc)) from None
            if len(raw) > self.max_size or decoder.unconsumed_tail:
                raise kerror("network.http.request_too_large", self.max_size)
        return raw

    def _bare(self, request_id: str, status: int, result: Any, error: KuzzleError | None) -> dict[str, Any]:
        return {
            "requestId": request_id,
            "status": status,
            "error": error.to_json() if error is not None else None,
            "controller": None,
            "action": None,
            "volatile": None,
            "headers": {},
            "result": result,
            "node": self.router.node,
        }

    async def _reply_outcome(self, send: Send, headers: dict[str, str], outcome: Outcome) -> None:
        body = outcome.body
        status = outcome.status
        extra: list[tuple[bytes, bytes]] = []
        if outcome.raw is not None and body["error"] is None:
            await self._send(
                send, headers, status, outcome.raw.payload, outcome.raw.content_type.encode(), extra
            )
            return
        answer = outcome.answer
        if answer is not None and body["error"] is None:
            extra = [(k.lower().encode(), v.encode()) for k, v in answer.http_headers.items()]
            if answer.http_status is not None:
                status = answer.http_status
            if answer.empty_http_body:
                await self._send(send, headers, status, b"", None, extra, request_id=body["requestId"])
                return
        data, encoded_status = encode_reply(body)
        if encoded_status != body["status"]:  # the reply could not be encoded: a 500 envelope instead
            status = encoded_status
        await self._send(
            send, headers, status, data, b"application/json", extra, request_id=body["requestId"]
        )

    async def _reply(self, send: Send, headers: dict[str, str], status: int, payload: Any) -> None:
        request_id = payload.get("requestId") if isinstance(payload, dict) else None
        data = b"" if payload is None else encode_envelope(payload)
        ctype = None if payload is None else b"application/json"
        await self._send(send, headers, status, data, ctype, [], request_id=request_id)

    async def _send(
        self,
        send: Send,
        request_headers: dict[str, str],
        status: int,
        data: bytes,
        content_type: bytes | None,
        extra: list[tuple[bytes, bytes]],
        *,
        request_id: str | None = None,
    ) -> None:
        out: list[tuple[bytes, bytes]] = [
            (b"x-kuzzle-node", self.router.node.encode()),
            (b"access-control-allow-methods", ALLOW_METHODS),
            (b"access-control-allow-headers", ALLOW_HEADERS),
            (b"accept-encoding", b"gzip,deflate,identity"),
        ]
        if content_type is not None:
            out.append((b"content-type", content_type))
        if request_id is not None:
            out.append((b"x-kuzzle-request-id", request_id.encode()))
        origin = request_headers.get("origin")
        if origin is not None and self.origins.allows(origin):
            out.append((b"access-control-allow-origin", origin.encode("latin-1")))
            out.append((b"vary", b"Origin"))
            if self.origins.credentials(origin):
                out.append((b"access-control-allow-credentials", b"true"))
        out.extend(extra)
        out.append((b"content-length", str(len(data)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": data})


def _headers(scope: Scope) -> dict[str, str]:
    return {
        name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])
    }


def _credentials(headers: dict[str, str]) -> str | None:
    """The request's token: ``Authorization: Bearer``, or the ``authToken`` cookie that
    ``auth:login`` with ``cookieAuth`` set (Kuzzle's cookie mode); both at once is an error."""
    bearer = _bearer(headers)
    cookie = _auth_cookie(headers.get("cookie"))
    if cookie is not None and bearer is not None:
        raise kerror("security.token.verification_error", "both an authToken cookie and a jwt were sent")
    return bearer if bearer is not None else cookie


def _auth_cookie(header: str | None) -> str | None:
    if not header:
        return None
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == "authToken":
            value = value.strip()
            return None if value in ("", "null") else value
    return None


def _bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
