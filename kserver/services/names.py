"""Human-readable generated names: ``knode-<adjective>-<name>-<n>`` node ids and ``kuid-...`` user ids."""

from __future__ import annotations

import secrets

ADJECTIVES = (
    "amber", "bold", "brave", "calm", "clever", "cosmic", "crimson", "daring", "eager", "fancy",
    "gentle", "golden", "happy", "humble", "jolly", "keen", "lively", "lucky", "merry", "mighty",
    "nimble", "noble", "polite", "proud", "quick", "quiet", "rapid", "shiny", "silent", "smart",
    "solid", "steady", "sunny", "swift", "tidy", "vivid", "warm", "wise", "witty", "zesty",
)  # fmt: skip
NAMES = (
    "ada", "alan", "anita", "barbara", "claude", "dennis", "donald", "edsger", "frances", "grace",
    "guido", "hedy", "ivan", "john", "ken", "linus", "margaret", "marie", "niklaus", "radia",
    "richard", "robin", "sophie", "tim", "tony", "vint", "whitfield", "yukihiro", "leslie", "barbara",
)  # fmt: skip


def human_name(prefix: str) -> str:
    """``<prefix>-<adjective>-<name>-<0..99999>``, from a CSPRNG."""
    return f"{prefix}-{secrets.choice(ADJECTIVES)}-{secrets.choice(NAMES)}-{secrets.randbelow(100_000)}"
