from __future__ import annotations

import pytest

from kserver.koncorde.geo import (
    Point,
    convert_distance,
    convert_geopoint,
    decode_geohash,
    haversine,
    in_polygon,
    js_parse_float,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([43.6, 3.9], Point(43.6, 3.9)),
        ("43.6, 3.9", Point(43.6, 3.9)),
        ({"lat": 43.6, "lon": "3.9"}, Point(43.6, 3.9)),
        ({"latLon": [43.6, 3.9]}, Point(43.6, 3.9)),
        ({"lat_lon": {"lat": 43.6, "lon": 3.9}}, Point(43.6, 3.9)),
        ({"latLon": "43.6,3.9"}, Point(43.6, 3.9)),
        ({"lat_lon": "43.6,3.9"}, Point(43.6, 3.9)),
    ],
)
def test_point_formats(value: object, expected: Point) -> None:
    assert convert_geopoint(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        0,
        12,
        [1],
        [1, 2, 3],
        {"lat": 1},
        {"latLon": [1]},
        {"latLon": 5},
        "abc",
        "ab!cd",
        "x, y",
        True,
    ],
)
def test_not_points(value: object) -> None:
    assert convert_geopoint(value) is None


def test_geohash_center() -> None:
    point = decode_geohash("u4pruydqqvj")  # Wikipedia's example: 57.64911, 10.40744
    assert point is not None
    assert point.lat == pytest.approx(57.64911, abs=1e-5)
    assert point.lon == pytest.approx(10.40744, abs=1e-5)
    assert convert_geopoint("u4pruydqqvj") == point
    assert decode_geohash("spai") is None


def test_js_parse_float() -> None:
    assert js_parse_float(" 12.5abc") == 12.5
    assert js_parse_float("-3e2") == -300.0
    assert js_parse_float(".5") == 0.5
    assert js_parse_float("abc") is None
    assert js_parse_float(True) is None
    assert js_parse_float(None) is None
    assert js_parse_float(float("nan")) is None
    assert js_parse_float(7) == 7.0


@pytest.mark.parametrize(
    ("value", "meters"),
    [
        (1000, 1000.0),
        ("1000", 1000.0),
        ("1km", 1000.0),
        ("1 kilometer", 1000.0),
        ("3 258,55 Ft", 3258.55 * 0.3048),
        ("2mi", 2 * 1609.344),
        ("3 yards", 3 * 0.9144),
        ("12in", 12 * 0.0254),
        ("5 cm", 0.05),
        ("4 millimeters", 0.004),
        ("1m", 1.0),
    ],
)
def test_distances(value: object, meters: float) -> None:
    assert convert_distance(value) == pytest.approx(meters)


@pytest.mark.parametrize("value", ["", "km", "12 parsecs", "1.2.3m", True, None, -5, [1]])
def test_bad_distances(value: object) -> None:
    assert convert_distance(value) is None


def test_haversine_paris_london() -> None:
    assert haversine(Point(48.8566, 2.3522), Point(51.5074, -0.1278)) == pytest.approx(343_500, rel=0.01)


def test_polygon() -> None:
    square = (Point(0, 0), Point(0, 10), Point(10, 10), Point(10, 0))
    assert in_polygon(Point(5, 5), square)
    assert not in_polygon(Point(15, 5), square)
    assert not in_polygon(Point(5, -1), square)
