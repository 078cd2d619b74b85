"""HTTP route matching over ``protocol/routes.json``, Kuzzle's rules.

Per segment, a literal beats a ``:placeholder``, with no backtracking; a
trailing ``/`` is ignored; segments are URL-decoded. A known path with another
verb is 404 like an unknown path (Kuzzle never answers 405).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote


@dataclass(frozen=True, slots=True)
class Route:
    verb: str
    path: str
    controller: str
    action: str
    deprecated: bool = False


@dataclass(slots=True)
class _Node:
    literals: dict[str, _Node] = field(default_factory=dict)
    param: _Node | None = None
    routes: dict[str, Route] = field(default_factory=dict)


class RouteTable:
    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        self._root = _Node()
        for route in routes:
            self._add(route)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> RouteTable:
        return cls(
            [
                Route(
                    r["verb"].lower(),
                    r["path"],
                    r["controller"],
                    r["action"],
                    bool(r.get("deprecated", False)),
                )
                for r in data["routes"]
            ]
        )

    def _add(self, route: Route) -> None:
        node = self._root
        for segment in _segments(route.path):
            if segment.startswith(":"):
                # Placeholders at one depth share a node; each route names them itself
                # (Kuzzle has both /users/:_id/... and /users/:userId/api-keys/...).
                if node.param is None:
                    node.param = _Node()
                node = node.param
            else:
                node = node.literals.setdefault(segment, _Node())
        if route.verb in node.routes:
            raise ValueError(f"duplicate route {route.verb} {route.path}")
        node.routes[route.verb] = route

    def match(self, verb: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for ``verb path`` and its placeholder values, or None."""
        node = self._root
        values: list[str] = []
        for raw in _segments(path):
            segment = unquote(raw)
            child = node.literals.get(segment)
            if child is not None:
                node = child
                values.append("")
            elif node.param is not None:
                node = node.param
                values.append(segment)
            else:
                return None
        route = node.routes.get(verb.lower())
        if route is None:
            return None
        names = _segments(route.path)
        return route, {
            name[1:]: value for name, value in zip(names, values, strict=True) if name.startswith(":")
        }


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]
