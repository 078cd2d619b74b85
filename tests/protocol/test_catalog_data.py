"""protocol/errors.json: structure, uniqueness, and Kuzzle 2.x numbers (protocol-notes §5, §9)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ERRORS_PATH = Path(__file__).resolve().parents[2] / "protocol" / "errors.json"

CLASS_STATUS = {
    "BadRequestError": 400,
    "UnauthorizedError": 401,
    "ForbiddenError": 403,
    "NotFoundError": 404,
    "PreconditionError": 412,
    "SizeLimitError": 413,
    "TooManyRequestsError": 429,
    "InternalError": 500,
    "ExternalServiceError": 500,
    "PluginImplementationError": 500,
    "ServiceUnavailableError": 503,
    "GatewayTimeoutError": 504,
    "PartialError": 206,
    "MultipleErrorsError": 400,
}

PASSPORT = "plugin.kuzzle-plugin-auth-passport-local"

# (id, full numeric code, HTTP status), read from protocol-notes §5 and §9.
KNOWN: list[tuple[str, int, int]] = [
    ("api.assert.invalid_type", 33619969, 400),
    ("api.assert.missing_argument", 33619971, 400),
    ("api.assert.unexpected_type_assertion", 33619977, 500),
    ("api.assert.forbidden_argument", 33619979, 400),
    ("api.assert.koncorde_dsl_error", 33619982, 400),
    ("api.assert.unsupported_protocol", 33619984, 500),
    ("api.process.action_locked", 33685505, 412),
    ("api.process.overloaded", 33685506, 503),
    ("api.process.controller_not_found", 33685508, 404),
    ("api.process.action_not_found", 33685509, 404),
    ("api.process.too_many_requests", 33685512, 429),
    ("api.process.admin_exists", 33685513, 412),
    ("api.process.unauthorized_origin", 33685516, 401),
    ("api.process.too_many_logins_requests", 33685517, 429),
    ("security.token.invalid", 117506049, 401),
    ("security.token.ttl_exceeded", 117506052, 400),
    ("security.token.expired", 117506054, 401),
    ("security.token.verification_error", 117506055, 500),
    ("security.token.refresh_forbidden", 117506056, 401),
    ("security.token.invalid_expiration", 117506057, 400),
    ("security.credentials.unknown_strategy", 117571585, 400),
    ("security.credentials.database_inconsistency", 117571586, 500),
    ("security.credentials.rejected", 117571587, 400),
    ("security.rights.unauthorized", 117637121, 401),
    ("security.rights.forbidden", 117637122, 403),
    ("security.user.already_exists", 117702657, 412),
    ("security.user.not_found", 117702658, 404),
    ("security.user.anonymous_profile_required", 117702659, 400),
    ("security.role.not_found", 117768193, 404),
    ("security.role.login_required", 117768194, 400),
    ("security.role.in_use", 117768196, 412),
    ("security.role.unknown_action", 117768202, 400),
    ("security.profile.not_found", 117833729, 404),
    ("security.profile.in_use", 117833731, 412),
    ("security.cookie.unsupported", 117899266, 500),
    ("network.http.request_too_large", 50397185, 413),
    ("network.http.unsupported_verb", 50397190, 400),
    ("network.http.url_not_found", 50397191, 404),
    ("network.http.volatile_parse_failed", 50397195, 400),
    ("network.http.body_parse_failed", 50397196, 400),
    ("network.websocket.unexpected_error", 50528257, 400),
    ("network.websocket.ratelimit_exceeded", 50528258, 429),
    ("network.entrypoint.shutting_down", 50593795, 503),
    ("services.storage.unknown_index", 16842753, 412),
    ("services.storage.write_limit_exceeded", 16842756, 413),
    ("services.storage.incomplete_delete", 16842761, 206),
    ("services.storage.not_found", 16842763, 404),
    ("services.storage.unknown_scroll_id", 16842766, 404),
    ("services.storage.document_already_exists", 16842769, 400),
    ("services.storage.scroll_duration_too_great", 16842796, 400),
    ("services.cache.not_connected", 16973827, 503),
    ("services.statistics.not_available", 17039361, 500),
    ("services.koncorde.elastic_translation_error", 17104897, 400),
    ("core.fatal.unexpected_error", 1, 500),
    ("core.fatal.service_unavailable", 2, 500),
    ("core.realtime.room_not_found", 65537, 404),
    ("core.realtime.invalid_scope", 65540, 400),
    ("core.realtime.too_many_rooms", 65543, 413),
    ("core.realtime.not_subscribed", 65544, 412),
    ("plugin.runtime.unexpected_error", 67239938, 500),
    ("plugin.strategy.invalid_kuid", 67305488, 500),
    ("plugin.strategy.unknown_kuid", 67305489, 500),
    ("plugin.strategy.missing_user", 67305492, 401),
    ("plugin.strategy.missing_optional_method", 67305493, 500),
    ("plugin.controller.invalid_action_response", 67371017, 500),
    (f"{PASSPORT}.expired_password", 67108865, 401),
    (f"{PASSPORT}.expired_token", 67108866, 401),
    (f"{PASSPORT}.invalid_token", 67108867, 400),
    (f"{PASSPORT}.login_in_password", 67108868, 400),
    (f"{PASSPORT}.must_change_password", 67108869, 401),
    (f"{PASSPORT}.reused_password", 67108870, 400),
    (f"{PASSPORT}.weak_password", 67108871, 400),
]

DEPRECATED = {
    "core.realtime.invalid_state",
    "core.realtime.too_many_terms",
    "security.role.invalid_rights",
    "security.role.closure_exec_failed",
    "security.role.closure_missing_test",
}

KSERVER = {
    "security.user.ambiguous_identity": 400,
    "security.user.identity_taken": 412,
    "network.websocket.request_too_large": 413,
}

REQUIRED_SUBDOMAINS = {
    "core": {"fatal", "realtime"},
    "services": {"storage", "cache", "statistics", "koncorde"},
    "api": {"assert", "process"},
    "network": {"http", "websocket"},
    "security": {"token", "credentials", "rights", "user", "role", "profile", "cookie"},
    "plugin": {"runtime", "strategy", "controller", "kuzzle-plugin-auth-passport-local"},
}


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise ValueError(f"duplicate JSON keys: {sorted(dupes)}")
    return dict(pairs)


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(ERRORS_PATH.read_text("utf-8"), object_pairs_hook=_no_duplicate_keys)
    return loaded


@pytest.fixture(scope="module")
def flat(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every error by id, with its full numeric code under ``full``."""
    out: dict[str, dict[str, Any]] = {}
    for dname, domain in data["domains"].items():
        for sname, sub in domain["subdomains"].items():
            for ename, err in sub["errors"].items():
                full = (domain["code"] << 24) | (sub["code"] << 16) | err["code"]
                out[f"{dname}.{sname}.{ename}"] = {**err, "full": full}
    return out


def test_top_level_shape(data: dict[str, Any]) -> None:
    assert list(data) == ["domains"]
    for dname, domain in data["domains"].items():
        assert set(domain) == {"code", "subdomains"}, dname
        assert 0 <= domain["code"] <= 0xFF
        sub_codes = [sub["code"] for sub in domain["subdomains"].values()]
        assert len(sub_codes) == len(set(sub_codes)), f"subdomain codes repeat in {dname}"
        for sname, sub in domain["subdomains"].items():
            assert set(sub) == {"code", "errors"}, f"{dname}.{sname}"
            assert 0 <= sub["code"] <= 0xFF
            assert sub["errors"], f"{dname}.{sname} is empty"


def test_domain_codes(data: dict[str, Any]) -> None:
    codes = {name: d["code"] for name, d in data["domains"].items()}
    assert codes == {"core": 0, "services": 1, "api": 2, "network": 3, "plugin": 4, "security": 7}


@pytest.mark.parametrize(("domain", "subdomains"), sorted(REQUIRED_SUBDOMAINS.items()))
def test_required_subdomains(data: dict[str, Any], domain: str, subdomains: set[str]) -> None:
    assert subdomains <= set(data["domains"][domain]["subdomains"])


def test_error_fields(flat: dict[str, dict[str, Any]]) -> None:
    allowed = {"code", "status", "class", "message", "description", "deprecated", "kserver", "full"}
    for error_id, err in flat.items():
        assert set(err) <= allowed, f"{error_id}: unexpected keys {set(err) - allowed}"
        assert isinstance(err["code"], int), error_id
        assert 1 <= err["code"] <= 0xFFFF, error_id
        assert isinstance(err["message"], str), error_id
        assert err["message"], error_id
        assert isinstance(err["description"], str), error_id
        assert err["description"], error_id
        assert err.get("deprecated", True) is True, f"{error_id}: deprecated must be true when present"


def test_full_codes_unique(flat: dict[str, dict[str, Any]]) -> None:
    seen: dict[int, str] = {}
    for error_id, err in flat.items():
        assert err["full"] not in seen, f"{error_id} and {seen.get(err['full'])} share a code"
        seen[err["full"]] = error_id


def test_status_matches_class(flat: dict[str, dict[str, Any]]) -> None:
    for error_id, err in flat.items():
        assert err["class"] in CLASS_STATUS, f"{error_id}: unknown class {err['class']}"
        assert err["status"] == CLASS_STATUS[err["class"]], error_id


def test_placeholders_are_percent_s(flat: dict[str, dict[str, Any]]) -> None:
    for error_id, err in flat.items():
        # Every % must open a %s: clients and other implementations substitute only that form.
        assert re.findall(r"%(.?)", err["message"]) == ["s"] * err["message"].count("%"), error_id


@pytest.mark.parametrize(("error_id", "full", "status"), KNOWN, ids=[k[0] for k in KNOWN])
def test_known_numbers(flat: dict[str, dict[str, Any]], error_id: str, full: int, status: int) -> None:
    assert error_id in flat
    assert flat[error_id]["full"] == full
    assert flat[error_id]["status"] == status


def test_deprecated_set(flat: dict[str, dict[str, Any]]) -> None:
    assert {i for i, e in flat.items() if e.get("deprecated")} >= DEPRECATED
    assert not {i for i, e in flat.items() if e.get("deprecated")} & set(KSERVER)


def test_kserver_additions(flat: dict[str, dict[str, Any]]) -> None:
    ours = {i: e["status"] for i, e in flat.items() if e.get("kserver")}
    assert ours == KSERVER
    for error_id, err in flat.items():
        # Codes >= 100 are reserved for kserver so a future Kuzzle code never collides.
        assert (err["code"] >= 100) == bool(err.get("kserver")), error_id
        assert err.get("kserver", True) is True, error_id


@pytest.mark.parametrize(
    ("error_id", "placeholders"),
    [
        ("security.user.ambiguous_identity", 2),
        ("security.user.identity_taken", 2),
        ("network.websocket.request_too_large", 1),
        ("security.rights.forbidden", 3),
        ("security.rights.unauthorized", 2),
        ("api.process.action_not_found", 2),
        ("api.process.controller_not_found", 1),
        ("api.assert.invalid_type", 2),
        ("network.http.url_not_found", 1),
        ("network.websocket.unexpected_error", 1),
        ("security.user.not_found", 1),
    ],
)
def test_placeholder_counts(flat: dict[str, dict[str, Any]], error_id: str, placeholders: int) -> None:
    assert flat[error_id]["message"].count("%s") == placeholders


def test_kuzzle_templates_verbatim(flat: dict[str, dict[str, Any]]) -> None:
    # Clients display these; a paraphrase would be a visible protocol difference.
    assert flat["api.process.action_not_found"]["message"] == 'API action "%s":"%s" not found'
    assert flat["security.user.not_found"]["message"] == 'User "%s" not found.'
    assert flat["api.assert.missing_argument"]["message"] == 'Missing argument "%s".'


def _error_patterns(pattern: object) -> list[dict[str, Any]]:
    """Every object in a vector pattern that names an error id."""
    if isinstance(pattern, list):
        return [e for item in pattern for e in _error_patterns(item)]
    if not isinstance(pattern, dict):
        return []
    found = [pattern] if isinstance(pattern.get("id"), str) and "." in pattern["id"] else []
    return found + [e for value in pattern.values() for e in _error_patterns(value)]


def test_vector_errors_match_catalog(flat: dict[str, dict[str, Any]]) -> None:
    vectors_dir = ERRORS_PATH.parent / "vectors"
    checked = 0
    for path in sorted(vectors_dir.glob("*.json")):
        for vector in json.loads(path.read_text("utf-8"))["vectors"]:
            for pattern in _error_patterns(vector["expect"]):
                err = flat[pattern["id"]]
                assert pattern.get("code", err["full"]) == err["full"], vector["name"]
                assert pattern.get("status", err["status"]) == err["status"], vector["name"]
                checked += 1
    assert checked >= 10
