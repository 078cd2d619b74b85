"""Kuzzle's ``expiresIn`` values: integer milliseconds, ``ms``-style strings ("30s", "1h"), or -1."""

from __future__ import annotations

import math
import re

from kserver.wire.catalog import kerror

INFINITE = -1

_UNITS_MS: dict[str, float] = {
    "ms": 1,
    "msec": 1,
    "msecs": 1,
    "millisecond": 1,
    "milliseconds": 1,
    "s": 1000,
    "sec": 1000,
    "secs": 1000,
    "second": 1000,
    "seconds": 1000,
    "m": 60_000,
    "min": 60_000,
    "mins": 60_000,
    "minute": 60_000,
    "minutes": 60_000,
    "h": 3_600_000,
    "hr": 3_600_000,
    "hrs": 3_600_000,
    "hour": 3_600_000,
    "hours": 3_600_000,
    "d": 86_400_000,
    "day": 86_400_000,
    "days": 86_400_000,
    "w": 604_800_000,
    "week": 604_800_000,
    "weeks": 604_800_000,
    "y": 31_557_600_000,
    "yr": 31_557_600_000,
    "yrs": 31_557_600_000,
    "year": 31_557_600_000,
    "years": 31_557_600_000,
}
_TIMESPAN = re.compile(r"^(-?(?:\d+)?\.?\d+) *([a-z]+)?$", re.IGNORECASE)


def _invalid() -> Exception:
    return kerror(
        "api.assert.invalid_argument", "expiresIn", "a number of milliseconds, or a parsable timespan string"
    )


def parse_timespan(value: object) -> int:
    """Milliseconds for ``value`` (-1 = infinite); raises api.assert.invalid_argument when unparsable or 0."""
    number: float
    if isinstance(value, bool):
        raise _invalid()
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str):
        match = _TIMESPAN.match(value.strip())
        if match is None:
            raise _invalid()
        unit = (match.group(2) or "ms").lower()
        if unit not in _UNITS_MS:
            raise _invalid()
        number = float(match.group(1)) * _UNITS_MS[unit]
    else:
        raise _invalid()
    if not math.isfinite(number):
        raise _invalid()
    millis = round(number)
    if millis == INFINITE:
        return INFINITE
    if millis <= 0:
        raise _invalid()
    return millis


def check_max_ttl(ttl: int, max_ttl: int) -> None:
    """Raises security.token.ttl_exceeded when ``ttl`` exceeds ``max_ttl`` (-1 = no limit)."""
    if max_ttl >= 0 and (ttl == INFINITE or ttl > max_ttl):
        raise kerror("security.token.ttl_exceeded")
