"""Rewrite conditions and rule chains into equivalent ones that compile to shorter code.

Every rewrite keeps the decision for every input (the compiler's property tests compare the
compiled program with the reference evaluator, which never sees these rewrites):

- consecutive rules of one system call with the same action become one rule whose condition
  is the ``Any`` of theirs: under "first match wins", if any of them matches, that action is
  the result, and otherwise the next rule is tried;
- nested ``Any`` inside ``Any`` (and ``All`` inside ``All``) are flattened;
- ``Any`` of ``eq``/``in`` comparisons of the same operand and width becomes one ``in``
  (which the lowering tests with one load per word and one ``JEQ`` per value);
- ``Not(Not(c))`` is ``c``.

:func:`narrow_to_32_bits` rewrites a condition for an ABI whose calls see only the low 32 bits
of each argument (:attr:`seccomp_bpf.arch.Arch.argument_bits`): there an argument is its low
word, zero-extended, and every 64-bit comparison becomes an exact 32-bit one or a constant.
"""

from __future__ import annotations

from collections.abc import Sequence

from seccomp_bpf.policy import (
    All,
    Any,
    Comparison,
    Condition,
    Equal,
    GreaterOrEqual,
    GreaterThan,
    InSet,
    MaskedEqual,
    Not,
)
from seccomp_bpf.policy.conditions import FALSE


def simplify(condition: Condition) -> Condition:
    if isinstance(condition, Not):
        inner = simplify(condition.condition)
        if isinstance(inner, Not):
            return inner.condition
        return Not(inner)
    if isinstance(condition, All):
        parts = _flatten(condition.conditions, All)
        return parts[0] if len(parts) == 1 else All(tuple(parts))
    if isinstance(condition, Any):
        parts = _merge_equalities(_flatten(condition.conditions, Any))
        return parts[0] if len(parts) == 1 else Any(tuple(parts))
    return condition


def _flatten(parts: Sequence[Condition], kind: type[All] | type[Any]) -> list[Condition]:
    out: list[Condition] = []
    for part in parts:
        part = simplify(part)
        if isinstance(part, kind):
            out.extend(part.conditions)
        else:
            out.append(part)
    return out


def _merge_equalities(parts: list[Condition]) -> list[Condition]:
    """``a == 1 or a == 2 or a in (3, 4)``  ->  ``a in (1, 2, 3, 4)``, at the first one's place."""
    values: dict[tuple[int | None, int], list[int]] = {}
    first_at: dict[tuple[int | None, int], int] = {}
    for index, part in enumerate(parts):
        if isinstance(part, (Equal, InSet)):
            key = (part.arg, part.width)
            first_at.setdefault(key, index)
            values.setdefault(key, []).extend(_listed(part))
    if all(len(v) <= 1 for v in values.values()):
        return parts
    out: list[Condition] = []
    for index, part in enumerate(parts):
        if isinstance(part, (Equal, InSet)):
            key = (part.arg, part.width)
            if first_at[key] == index:
                merged = tuple(sorted(set(values[key])))
                if len(merged) == 1 and isinstance(part, Equal):
                    out.append(part)
                else:
                    out.append(InSet(part.arg, merged, width=part.width))
        else:
            out.append(part)
    return out


def _listed(part: Equal | InSet) -> tuple[int, ...]:
    return (part.value,) if isinstance(part, Equal) else part.values


def merge_rules(
    chain: Sequence[tuple[Condition, int]],
) -> list[tuple[Condition, int]]:
    """Join consecutive (condition, return value) pairs that return the same value."""
    out: list[tuple[Condition, int]] = []
    for condition, value in chain:
        if out and out[-1][1] == value:
            previous = out[-1][0]
            out[-1] = (Any((previous, condition)), value)
        else:
            out.append((condition, value))
    return [(simplify(condition), value) for condition, value in out]


_MAX32 = 0xFFFFFFFF


def narrow_to_32_bits(condition: Condition) -> Condition:
    """The same condition, for arguments that are 32-bit values zero-extended to 64 bits.

    Every comparison is first written with the five the compiler emits
    (:meth:`~seccomp_bpf.policy.Comparison.lower`); then, with ``a <= 0xffffffff``:
    ``a == v``, ``a > v`` and ``a >= v`` fail for a larger ``v`` (and are 32-bit comparisons
    otherwise); ``(a & m) == v`` needs ``v``'s high word to be 0 and then tests the low words;
    ``a in S`` keeps the values of S that fit. Comparisons of the instruction pointer are left
    alone (it is not an argument), as are those already ``width: 32``.
    """
    if isinstance(condition, Not):
        return Not(narrow_to_32_bits(condition.condition))
    if isinstance(condition, All):
        return All(tuple(narrow_to_32_bits(c) for c in condition.conditions))
    if isinstance(condition, Any):
        return Any(tuple(narrow_to_32_bits(c) for c in condition.conditions))
    cmp: Comparison = condition
    if cmp.arg is None or cmp.width == 32:
        return cmp
    if isinstance(cmp, InSet):
        fitting = tuple(v for v in cmp.values if v <= _MAX32)
        return InSet(cmp.arg, fitting, width=32) if fitting else FALSE
    if isinstance(cmp, MaskedEqual):
        if cmp.value > _MAX32:
            return FALSE  # (a & m) has a zero high word
        return MaskedEqual(cmp.arg, cmp.mask & _MAX32, cmp.value, width=32)
    if isinstance(cmp, (Equal, GreaterThan, GreaterOrEqual)):
        if cmp.value > _MAX32:
            return FALSE  # a 32-bit value is never equal to, above, or at least v
        return type(cmp)(cmp.arg, cmp.value, width=32)
    return narrow_to_32_bits(cmp.lower())
