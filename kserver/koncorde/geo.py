"""Geopoints, distances and the shapes of the geo keywords.

Accepted points (Koncorde's ``convertGeopoint``): ``[lat, lon]``, ``"lat, lon"``,
a geohash (``[0-9a-z]{4,}``), ``{lat, lon}``, ``{latLon: <point>}`` and
``{lat_lon: <point>}``. Coordinates may be numbers or numeric strings (parsed
like JavaScript's ``parseFloat``). Distances are in meters. Shapes are tested
on a sphere (haversine, mean Earth radius) for circles and on the
(lon, lat) plane for boxes and polygons; a box does not wrap the antimeridian.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

EARTH_RADIUS_M = 6_371_008.8

_GEOHASH = re.compile(r"[0-9a-z]{4,}\Z")
_GEOHASH_ALPHABET = {c: i for i, c in enumerate("0123456789bcdefghjkmnpqrstuvwxyz")}
_JS_FLOAT = re.compile(r"\s*([+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))")
_DISTANCE = re.compile(r"((?:\d+\.?\d*|\.\d+)(?:e\+?\d+)?) ?([a-zµ]*)\Z")

_LENGTHS = {
    "m": 1.0,
    "meter": 1.0,
    "meters": 1.0,
    "metre": 1.0,
    "metres": 1.0,
    "ft": 0.3048,
    "foot": 0.3048,
    "feet": 0.3048,
    "in": 0.0254,
    "inch": 0.0254,
    "inches": 0.0254,
    "yd": 0.9144,
    "yard": 0.9144,
    "yards": 0.9144,
    "mi": 1609.344,
    "mile": 1609.344,
    "miles": 1609.344,
}
_SI_SHORT = {"k": 1e3, "h": 1e2, "da": 1e1, "d": 1e-1, "c": 1e-2, "m": 1e-3, "u": 1e-6, "µ": 1e-6, "n": 1e-9}
_SI_LONG = {
    "giga": 1e9,
    "mega": 1e6,
    "kilo": 1e3,
    "hecto": 1e2,
    "deca": 1e1,
    "deka": 1e1,
    "deci": 1e-1,
    "centi": 1e-2,
    "milli": 1e-3,
    "micro": 1e-6,
    "nano": 1e-9,
}
_METER_WORDS = ("meters", "meter", "metres", "metre")


class Point(NamedTuple):
    lat: float
    lon: float


def js_parse_float(value: object) -> float | None:
    """JavaScript's ``parseFloat`` for numbers and strings; None where it would give NaN."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return None if math.isnan(value) else float(value)
    if not isinstance(value, str):
        return None
    found = _JS_FLOAT.match(value)
    return float(found.group(1).replace("Infinity", "inf")) if found else None


def _to_point(lat: object, lon: object) -> Point | None:
    lat_n, lon_n = js_parse_float(lat), js_parse_float(lon)
    if lat_n is None or lon_n is None:
        return None
    return Point(lat_n, lon_n)


def decode_geohash(text: str) -> Point | None:
    """Center of a geohash cell, or None if a character is outside the geohash alphabet."""
    lat_lo, lat_hi, lon_lo, lon_hi = -90.0, 90.0, -180.0, 180.0
    even = True
    for char in text:
        bits = _GEOHASH_ALPHABET.get(char)
        if bits is None:
            return None
        for shift in range(4, -1, -1):
            bit = (bits >> shift) & 1
            if even:
                mid = (lon_lo + lon_hi) / 2
                lon_lo, lon_hi = (mid, lon_hi) if bit else (lon_lo, mid)
            else:
                mid = (lat_lo + lat_hi) / 2
                lat_lo, lat_hi = (mid, lat_hi) if bit else (lat_lo, mid)
            even = not even
    return Point((lat_lo + lat_hi) / 2, (lon_lo + lon_hi) / 2)


def _from_string(text: str) -> Point | None:
    parts = text.split(",")
    if len(parts) == 2:
        return _to_point(parts[0], parts[1])
    if _GEOHASH.match(text):
        return decode_geohash(text)
    return None


def snake_to_camel(obj: dict[str, object]) -> dict[str, object]:
    """Koncorde's ``geoLocationToCamelCase``: only lat_lon, top_left and bottom_right are renamed."""
    renames = {"lat_lon": "latLon", "top_left": "topLeft", "bottom_right": "bottomRight"}
    return {renames.get(k, k): v for k, v in obj.items()}


def convert_geopoint(value: object) -> Point | None:
    """Any accepted point format to a Point, or None if the value is not a point."""
    if not value:
        return None
    if isinstance(value, str):
        return _from_string(value)
    if isinstance(value, list):
        return _to_point(value[0], value[1]) if len(value) == 2 else None
    if not isinstance(value, dict):
        return None
    obj = snake_to_camel(value)
    if "lat" in obj and "lon" in obj:
        return _to_point(obj["lat"], obj["lon"])
    nested = obj.get("latLon")
    if isinstance(nested, list):
        return _to_point(nested[0], nested[1]) if len(nested) == 2 else None
    if isinstance(nested, dict) and "lat" in nested and "lon" in nested:
        return _to_point(nested["lat"], nested["lon"])
    if isinstance(nested, str):
        return _from_string(nested)
    return None


def _unit_factor(unit: str) -> float | None:
    if unit == "":
        return 1.0
    if unit in _LENGTHS:
        return _LENGTHS[unit]
    for prefix, factor in _SI_LONG.items():
        if unit.startswith(prefix) and unit[len(prefix) :] in _METER_WORDS:
            return factor
    for prefix, factor in _SI_SHORT.items():
        if unit == prefix + "m":
            return factor
    return None


def convert_distance(value: object) -> float | None:
    """A distance in meters from a number (meters) or a string with a unit; None if unparsable.

    Strings are cleaned as Koncorde does: dashes and spaces dropped, ``,`` as
    decimal separator, case-insensitive (``"3 258,55 Ft"`` = 3258.55 feet).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    if not isinstance(value, str):
        return None
    cleaned = re.sub(r"[-\s]", "", value).replace(",", ".").lower()
    found = _DISTANCE.match(cleaned)
    if not found:
        return None
    factor = _unit_factor(found.group(2))
    return None if factor is None else float(found.group(1)) * factor


def haversine(a: Point, b: Point) -> float:
    """Great-circle distance in meters."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def in_polygon(point: Point, polygon: tuple[Point, ...]) -> bool:
    """Even-odd ray casting on the (lon, lat) plane; points on an edge may fall either way."""
    inside = False
    x, y = point.lon, point.lat
    j = len(polygon) - 1
    for i, vertex in enumerate(polygon):
        prev = polygon[j]
        if (vertex.lat > y) != (prev.lat > y):
            cross = (prev.lon - vertex.lon) * (y - vertex.lat) / (prev.lat - vertex.lat) + vertex.lon
            if x < cross:
                inside = not inside
        j = i
    return inside
