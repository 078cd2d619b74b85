"""How a new token is handed to the client: in the result, or as an HTTP cookie (``cookieAuth``)."""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

from kserver.services.auth.tokens import TokenInfo
from kserver.wire.envelope import Answer
from kserver.wire.request import Request


def wants_cookie(request: Request) -> bool:
    return request.protocol == "http" and request.boolean("cookieAuth")


def token_cookie(jwt: str | None, expires_at: int | None) -> str:
    parts = [f"authToken={jwt if jwt is not None else 'null'}", "Path=/"]
    if expires_at is not None and expires_at >= 0:
        parts.append("Expires=" + formatdate(expires_at / 1000, usegmt=True))
    return "; ".join([*parts, "HttpOnly", "SameSite=Strict"])


def send_token(info: TokenInfo, request: Request) -> Any:
    """``{_id, jwt, expiresAt, ttl}``; in cookie mode the jwt goes to ``Set-Cookie`` instead."""
    result = info.login_result()
    if not wants_cookie(request):
        return result
    del result["jwt"]
    return Answer(result, http_headers={"Set-Cookie": token_cookie(info.jwt, info.expires_at)})
