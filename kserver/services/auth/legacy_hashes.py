"""Password hashes imported from other systems, verified until the next login upgrades them.

- bcrypt (``$2a$``, ``$2b$``, ``$2y$``): checked with the ``bcrypt`` package (first 72 bytes count).
- kuzzle-plugin-auth-passport-local documents (``userPassword``, ``userSalt``, ``algorithm``,
  ``stretching``, ``encryption``; ``digest`` is the plugin's setting, hex by default): stretching =
  PBKDF2-HMAC(algorithm, 10 000 iterations, key length from the plugin's table); else HMAC keyed by
  the salt string (``encryption: hmac``) or a hash of ``"salt:password"`` (``encryption: hash``).
  Stored here as ``$passport-local$<base64url of the JSON parameters>``.

Every function here is CPU-bound and blocking: call it from the hashing pool.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

import bcrypt

from kserver.wire.catalog import kerror

PASSPORT_PREFIX = "$passport-local$"
BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
_ITERATIONS = 10_000
# kuzzle-plugin-auth-passport-local lib/passwordManager.js: algorithm -> key length it passes to pbkdf2
_KEY_LENGTHS = {"sha1": 40, "sha224": 224, "sha256": 256, "sha384": 384, "sha512": 512}
_ALIASES = {
    **{name: name for name in _KEY_LENGTHS},
    **{f"RSA-{name.upper()}": name for name in _KEY_LENGTHS},
    **{f"{name}WithRSAEncryption": name for name in _KEY_LENGTHS},
}
_DIGESTS = ("hex", "base64", "latin1", "binary")
PASSPORT_FIELDS = ("userPassword", "userSalt", "algorithm", "stretching", "encryption", "digest", "pepper")


def _rejected(reason: str) -> Exception:
    return kerror("security.credentials.rejected", reason)


def passport_hash(fields: dict[str, Any]) -> str:
    """The stored string for a passport-local document; raises security.credentials.rejected."""
    password = fields.get("userPassword")
    salt = fields.get("userSalt")
    algorithm = _ALIASES.get(str(fields.get("algorithm", "sha512")))
    encryption = fields.get("encryption") or "hmac"
    digest = fields.get("digest") or "hex"
    if not isinstance(password, str) or not password or not isinstance(salt, str):
        raise _rejected("imported passport-local credentials need a password digest and a salt (strings)")
    if algorithm is None:
        raise _rejected("unknown imported hash algorithm")
    if encryption not in ("hmac", "hash") or digest not in _DIGESTS:
        raise _rejected("unknown imported encryption or digest")
    if fields.get("pepper"):
        raise _rejected("peppered passport-local hashes cannot be imported")
    params = {
        "userPassword": password,
        "userSalt": salt,
        "algorithm": algorithm,
        "stretching": bool(fields.get("stretching", True)),
        "encryption": encryption,
        "digest": digest,
    }
    encoded = base64.urlsafe_b64encode(json.dumps(params, separators=(",", ":")).encode()).decode()
    return PASSPORT_PREFIX + encoded


def _passport_params(stored: str) -> dict[str, Any]:
    params: dict[str, Any] = json.loads(base64.urlsafe_b64decode(stored[len(PASSPORT_PREFIX) :]))
    return params


def _encode_digest(raw: bytes, digest: str) -> str:
    if digest == "hex":
        return raw.hex()
    if digest == "base64":
        return base64.b64encode(raw).decode()
    return raw.decode("latin-1")


def verify_passport(stored: str, password: str) -> bool:
    params = _passport_params(stored)
    algorithm: str = params["algorithm"]
    salt: str = params["userSalt"]
    if params["stretching"]:
        raw = hashlib.pbkdf2_hmac(
            algorithm, password.encode(), salt.encode(), _ITERATIONS, _KEY_LENGTHS[algorithm]
        )
    elif params["encryption"] == "hmac":
        raw = hmac.new(salt.encode(), password.encode(), algorithm).digest()
    else:
        salted = f"{salt}:{password}" if salt else password
        raw = hashlib.new(algorithm, salted.encode()).digest()
    return hmac.compare_digest(
        _encode_digest(raw, params["digest"]).encode(), params["userPassword"].encode()
    )


def check_bcrypt(stored: str) -> None:
    """Raises security.credentials.rejected unless ``stored`` is a well-formed bcrypt hash."""
    parts = stored.split("$")
    if len(parts) != 4 or not parts[2].isdigit() or len(parts[3]) != 53:
        raise _rejected("malformed bcrypt hash")


def verify_bcrypt(stored: str, password: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode()[:72], stored.encode())
    except (ValueError, binascii.Error):
        return False
