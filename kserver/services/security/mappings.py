"""The users/profiles/roles "mappings": a document each in ``config`` (no schema is enforced).

Kept so that ``get*Mapping``/``update*Mapping`` round-trip as in Kuzzle; the
defaults are Kuzzle's internal-index mappings. Updates merge top-level
properties, as Elasticsearch's put-mapping adds fields.
"""

from __future__ import annotations

from typing import Any, Literal

from kserver.services.collections import CONFIG
from kserver.storage.port import DuplicateKey, Engine, StorageConflict
from kserver.wire.catalog import kerror

Kind = Literal["users", "profiles", "roles"]

DEFAULTS: dict[str, dict[str, Any]] = {
    "users": {"profileIds": {"type": "keyword"}},
    "profiles": {
        "policies": {
            "properties": {
                "roleId": {"type": "keyword"},
                "restrictedTo": {
                    "type": "nested",
                    "properties": {"index": {"type": "keyword"}, "collections": {"type": "keyword"}},
                },
            }
        }
    },
    "roles": {"controllers": {"dynamic": "false", "properties": {}}},
}


class Mappings:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def get(self, kind: Kind) -> dict[str, Any]:
        stored = await self.engine.get(CONFIG, f"mapping.{kind}")
        if stored is None:
            return dict(DEFAULTS[kind])
        properties: dict[str, Any] = stored.source.get("properties", {})
        return properties

    async def update(self, kind: Kind, mapping: dict[str, Any], *, retries: int = 10) -> dict[str, Any]:
        """Merge ``mapping`` (``{properties: {...}}`` or the properties); returns all properties."""
        added = mapping.get("properties", mapping)
        if not isinstance(added, dict):
            raise kerror("api.assert.invalid_type", "body.properties", "object")
        doc_id = f"mapping.{kind}"
        for _ in range(retries + 1):
            current = await self.engine.get(CONFIG, doc_id)
            try:
                if current is None:
                    merged = {**DEFAULTS[kind], **added}
                    await self.engine.create(CONFIG, doc_id, {"properties": merged}, durable=True)
                else:
                    merged = {**current.source.get("properties", {}), **added}
                    done = await self.engine.replace(
                        CONFIG, doc_id, {"properties": merged}, if_version=current.version, durable=True
                    )
                    if done is None:
                        continue
            except (DuplicateKey, StorageConflict):
                continue
            return merged
        raise kerror("services.storage.too_many_changes", doc_id)
