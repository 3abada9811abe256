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
"""

from __future__ import annotations

from collections.abc import Sequence

from seccomp_bpf.policy import All, Any, Cmp, Condition, Not


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
        if isinstance(part, Cmp) and part.op in ("eq", "in"):
            key = (part.arg, part.width)
            first_at.setdefault(key, index)
            more = part.value if isinstance(part.value, tuple) else (part.value,)
            values.setdefault(key, []).extend(more)
    if all(len(v) <= 1 for v in values.values()):
        return parts
    out: list[Condition] = []
    for index, part in enumerate(parts):
        if isinstance(part, Cmp) and part.op in ("eq", "in"):
            key = (part.arg, part.width)
            if first_at[key] == index:
                merged = tuple(sorted(set(values[key])))
                if len(merged) == 1 and part.op == "eq":
                    out.append(part)
                else:
                    out.append(Cmp(part.arg, "in", merged, width=part.width))
        else:
            out.append(part)
    return out


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
