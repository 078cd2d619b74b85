"""The error catalog: ``protocol/errors.json`` loaded and checked once.

Code raises errors by id only: ``raise kerror("security.user.not_found", kuid)``.
The catalog is the single source of ids, numeric codes, HTTP statuses and
message templates; an unknown id is a programming error (KeyError at raise time,
and a test checks every id used in the code exists).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from kserver.wire.protocol_data import load_json

_PLACEHOLDER = re.compile(r"%s")


@dataclass(frozen=True, slots=True)
class ErrorDef:
    id: str
    code: int
    status: int
    message: str
    cls: str


class KuzzleError(Exception):
    """An error with a catalog id; the router turns it into the envelope's ``error`` object."""

    __slots__ = ("count", "definition", "errors", "message", "props", "result")

    def __init__(
        self,
        definition: ErrorDef,
        props: tuple[str, ...],
        *,
        errors: list[dict[str, Any]] | None = None,
        result: Any = None,
    ) -> None:
        self.definition = definition
        self.props = props
        self.message = render(definition.message, props)
        self.errors = errors
        self.count = None if errors is None else len(errors)
        self.result = result
        """What was done anyway, for partial errors (206): the envelope carries it beside the error."""
        super().__init__(self.message)

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def status(self) -> int:
        return self.definition.status

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message": self.message,
            "status": self.definition.status,
            "id": self.definition.id,
            "code": self.definition.code,
            "props": list(self.props),
        }
        if self.errors is not None:
            out["errors"] = self.errors
            out["count"] = self.count
        return out


def render(template: str, props: tuple[str, ...]) -> str:
    """Fill ``%s`` placeholders in order; surplus props are appended, as Node's ``format`` does."""
    values = iter(props)
    text = _PLACEHOLDER.sub(lambda _m: next(values, "%s"), template)
    rest = list(values)
    return " ".join([text, *rest]) if rest else text


class Catalog:
    def __init__(self, definitions: dict[str, ErrorDef]) -> None:
        self._defs = definitions

    def __contains__(self, error_id: object) -> bool:
        return error_id in self._defs

    def __getitem__(self, error_id: str) -> ErrorDef:
        return self._defs[error_id]

    def ids(self) -> list[str]:
        return list(self._defs)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Catalog:
        """Build from the errors.json structure; raises ValueError on an inconsistent catalog."""
        defs: dict[str, ErrorDef] = {}
        codes: dict[int, str] = {}
        for dname, domain in data["domains"].items():
            for sname, sub in domain["subdomains"].items():
                for ename, err in sub["errors"].items():
                    error_id = f"{dname}.{sname}.{ename}"
                    code = (domain["code"] << 24) | (sub["code"] << 16) | err["code"]
                    if code in codes:
                        raise ValueError(f"{error_id} and {codes[code]} share code {code}")
                    codes[code] = error_id
                    defs[error_id] = ErrorDef(
                        error_id, code, int(err["status"]), err["message"], err["class"]
                    )
        return cls(defs)


@cache
def catalog() -> Catalog:
    return Catalog.from_data(load_json("errors.json"))


def kerror(
    error_id: str, *props: object, errors: list[dict[str, Any]] | None = None, result: Any = None
) -> KuzzleError:
    """The catalog error ``error_id`` with its template filled by ``props``."""
    return KuzzleError(catalog()[error_id], tuple(str(p) for p in props), errors=errors, result=result)
