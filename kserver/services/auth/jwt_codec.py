"""HS256 JWTs whose payload survives the JS SDK's decoder.

The SDK (``src/core/Jwt.ts``) decodes the payload with a plain-base64 decoder
that chokes on base64url's ``-`` and ``_``. For ASCII input those can only come
from the bytes ``>``, ``?``, ``~`` and DEL, so the payload JSON is emitted
ASCII-only with those four characters ``\\u``-escaped (they can only occur
inside JSON strings, where the escape means the same thing).
"""

from __future__ import annotations

import json
from typing import Any

import jwt

from kserver.wire.catalog import kerror

ALGORITHM = "HS256"
_ESCAPES = str.maketrans({">": "\\u003e", "?": "\\u003f", "~": "\\u007e", "\x7f": "\\u007f"})


def sdk_safe_json(claims: dict[str, Any]) -> bytes:
    """Compact ASCII JSON with ``>``, ``?``, ``~`` and DEL escaped."""
    text = json.dumps(claims, ensure_ascii=True, separators=(",", ":"))
    return text.translate(_ESCAPES).encode("ascii")


class JwtCodec:
    """Signs and checks tokens with one secret; only HS256 is accepted."""

    def __init__(self, secret: str) -> None:
        self._key = secret.encode()
        self._jws = jwt.PyJWS()

    def encode(self, claims: dict[str, Any]) -> str:
        return self._jws.encode(sdk_safe_json(claims), self._key, algorithm=ALGORITHM)

    def decode(self, token: str) -> dict[str, Any]:
        """The claims; raises security.token.expired or security.token.invalid (any other defect)."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._key, algorithms=[ALGORITHM], options={"require": ["iat"]}
            )
        except jwt.ExpiredSignatureError:
            raise kerror("security.token.expired") from None
        except (jwt.InvalidTokenError, ValueError):
            raise kerror("security.token.invalid") from None
        if not isinstance(claims.get("_id"), str) or not claims["_id"]:
            raise kerror("security.token.invalid")
        return claims
