"""The dashboard's static files at ``/_dashboard/`` (GET and HEAD), from the ``kserver.dashboard`` package.

``/_dashboard`` redirects to ``/_dashboard/`` so relative asset URLs resolve;
unknown names are 404. The page talks to the server over the WebSocket API.
"""

from __future__ import annotations

import functools
from importlib import resources

from kserver.transport.asgi_types import Send

PREFIX = "/_dashboard"
_TYPES = {
    ".html": b"text/html; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
}
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'",
    ),
    (b"cache-control", b"no-cache"),
]


def is_dashboard(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


@functools.cache
def _files() -> dict[str, tuple[bytes, bytes]]:
    """name -> (content type, content); read once from the installed package (immutable data)."""
    out: dict[str, tuple[bytes, bytes]] = {}
    for entry in resources.files("kserver.dashboard").iterdir():
        content_type = _TYPES.get("." + entry.name.rpartition(".")[2])
        if content_type is not None and entry.is_file():
            out[entry.name] = (content_type, entry.read_bytes())
    return out


async def serve_dashboard(path: str, method: str, send: Send) -> None:
    """Answer a GET/HEAD under ``/_dashboard``; other verbs get 405."""
    if method not in ("GET", "HEAD"):
        await _send(send, 405, b"text/plain", b"Method Not Allowed", method, [(b"allow", b"GET, HEAD")])
        return
    if path == PREFIX:
        await _send(send, 308, b"text/plain", b"", method, [(b"location", (PREFIX + "/").encode())])
        return
    name = path[len(PREFIX) + 1 :] or "index.html"
    found = _files().get(name)
    if found is None:
        await _send(send, 404, b"text/plain", b"Not Found", method, [])
        return
    await _send(send, 200, found[0], found[1], method, _SECURITY_HEADERS)


async def _send(
    send: Send, status: int, content_type: bytes, body: bytes, method: str, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
