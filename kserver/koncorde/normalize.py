"""Normalization: a filter tree to a canonical DNF (an OR of ANDs of literals).

Negations are pushed down to the conditions, products are expanded, and each
conjunction is simplified with what its literals say about one field (a
positive ``equals`` fixes the field's value, a negated ``exists`` its absence).
Impossible conjunctions are dropped, absorbed ones removed, and pairs that
differ by one literal's polarity merged (``A&l | A&!l`` = ``A``). Conditions and
conjunctions are sorted by canonical key, so filters equal modulo ``and``/``or``
order, double negation, De Morgan, duplicates and these simplifications get
the same form. This is not a full logic minimization: equivalent filters can
still get different forms (and rooms).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sized

import orjson

from kserver.koncorde.conditions import DNF, Equals, Exists, Lit, Match, Nothing, dnf_key
from kserver.koncorde.errors import KoncordeError
from kserver.koncorde.tree import And, Leaf, Node, Not, count_conditions

MAX_CONJUNCTIONS = 4096
"""Bound on the expanded form, whatever ``max_conditions`` says: products grow exponentially."""

Conjunction = frozenset[Lit]


def to_dnf(node: Node, max_conditions: int) -> DNF:
    """The canonical DNF of ``node``; raises KoncordeError beyond ``max_conditions`` (0: no limit)."""
    count = count_conditions(node)
    if max_conditions and count > max_conditions:
        raise KoncordeError(
            "Filter too complex: exceeds the configured maximum number of conditions "
            f"(conditions: {count}, max: {max_conditions})",
            "dsl_error",
            None,
        )
    conjunctions = _merge(_absorb(_expand(node, False)))
    ordered = (tuple(sorted(conj, key=_lit_key)) for conj in conjunctions)
    return tuple(sorted(ordered, key=lambda conj: [_lit_key(lit) for lit in conj]))


def room_id(seed: bytes, dnf: DNF, index: str, collection: str) -> str:
    """Hex HMAC-SHA256 of ``{"filter": <canonical DNF>, "index": "<index>/<collection>"}``."""
    target = orjson.dumps(f"{index}/{collection}").decode()
    payload = '{"filter":' + dnf_key(dnf) + ',"index":' + target + "}"
    return hmac.new(seed, payload.encode(), hashlib.sha256).hexdigest()


def _lit_key(lit: Lit) -> str:
    return lit.key


def _expand(node: Node, negated: bool) -> list[Conjunction]:
    if isinstance(node, Leaf):
        conj = simplify(frozenset((Lit(node.cond, negated),)))
        return [] if conj is None else [conj]
    if isinstance(node, Not):
        return _expand(node.child, not negated)
    conjunctive = isinstance(node, And) != negated
    if not conjunctive:
        out: list[Conjunction] = []
        for child in node.children:
            out.extend(_expand(child, negated))
            _check_size(out)
        return out
    acc: list[Conjunction] = [frozenset()]
    for child in node.children:
        parts = _expand(child, negated)
        product: set[Conjunction] = set()
        for left in acc:
            for right in parts:
                conj = simplify(left | right)
                if conj is not None:
                    product.add(conj)
            _check_size(product)
        acc = _absorb(product)
        if not acc:
            break
    return acc


def _check_size(conjunctions: Sized) -> None:
    if len(conjunctions) > MAX_CONJUNCTIONS:
        raise KoncordeError(
            f"Filter too complex: its normalized form exceeds {MAX_CONJUNCTIONS} subfilters",
            "dsl_error",
            None,
        )


def _absorb(conjunctions: Iterable[Conjunction]) -> list[Conjunction]:
    """Unique conjunctions, without those implied by a smaller one (``A | A&B`` = ``A``)."""
    kept: list[Conjunction] = []
    for conj in sorted(set(conjunctions), key=len):
        if not any(small <= conj for small in kept):
            kept.append(conj)
    return kept


def _merge(conjunctions: list[Conjunction]) -> list[Conjunction]:
    """Merge ``A&l`` and ``A&!l`` into ``A`` until no pair is left."""
    current = conjunctions
    changed = True
    while changed:
        changed = False
        seen: dict[tuple[Conjunction, Lit], Conjunction] = {}
        merged: set[Conjunction] = set()
        for conj in current:
            for lit in conj:
                rest = conj - {lit}
                twin = seen.get((rest, Lit(lit.cond, not lit.negated)))
                if twin is not None and twin not in merged and conj not in merged:
                    merged.update((twin, conj))
                    reduced = simplify(rest)
                    if reduced is not None:
                        current = [*current, reduced]
                    changed = True
                    break
                seen[(rest, lit)] = conj
        if changed:
            current = _absorb(c for c in current if c not in merged)
    return current


def simplify(conj: Conjunction) -> Conjunction | None:
    """``conj`` without literals implied by others on the same field; None if it can never hold.

    Sound because a condition on field f reads nothing but f's value (or absence).
    """
    lits = set(conj)
    for lit in conj:
        if isinstance(lit.cond, Nothing):
            if not lit.negated:
                return None
            lits.discard(lit)
        elif Lit(lit.cond, not lit.negated) in conj:
            return None
    fixed: dict[str, tuple[Lit, Equals]] = {}
    for lit in lits:
        if isinstance(lit.cond, Equals) and not lit.negated:
            if lit.cond.field in fixed:
                return None
            fixed[lit.cond.field] = (lit, lit.cond)
    for field, (pin, equals) in fixed.items():
        if not _settle(lits, pin, {field: equals.value}):
            return None
    for lit in [lit for lit in lits if _is_plain_exists(lit) and lit.negated]:
        if lit in lits and not _settle(lits, lit, {}):
            return None
    for lit in [lit for lit in lits if _is_plain_exists(lit) and not lit.negated]:
        if any(_on_field(other, lit.cond.field) and not other.holds({}) for other in lits if other != lit):
            lits.discard(lit)
    return frozenset(lits)


def _is_plain_exists(lit: Lit) -> bool:
    return isinstance(lit.cond, Exists) and not lit.cond.array


def _settle(lits: set[Lit], pin: Lit, view: dict[str, object]) -> bool:
    """Evaluate the literals on ``pin``'s field against ``view``: drop true ones, False if one is false."""
    field = pin.cond.field
    for lit in [lit for lit in lits if lit != pin and _on_field(lit, field)]:
        if not lit.holds(view):
            return False
        lits.discard(lit)
    return True


def _on_field(lit: Lit, field: str) -> bool:
    """Whether ``lit`` reads only ``field`` (``match`` reads the whole document, whatever its field)."""
    return lit.cond.field == field and not isinstance(lit.cond, Match)
