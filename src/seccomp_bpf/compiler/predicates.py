"""Conditions as tests of *operands*, the form the argument compiler works on.

An operand is a number the filter gets from ``struct seccomp_data`` with loads and at most one
``AND`` per 32-bit word: ``(target, mask)`` stands for ``value & mask``, where ``value`` is
argument ``target`` (0..5; :data:`IP` for the instruction pointer) as a 64-bit number. Every
comparison of the model is one *literal*, ``operand in S`` with ``S`` a union of intervals of
the operand's values, read from the comparison's ``constraint()`` (the condition engine's
meaning of it, :mod:`seccomp_bpf.policy.values`)::

    Within(intervals, width=64)    (target, 2**64 - 1)  in intervals
    Within(intervals, width=32)    (target, 2**32 - 1)  in intervals      (the low word)
    Matches(mask, value)           (target, mask)       in {value}

So ``a < 7``, ``a in {1, 2}``, ``a != 3`` and ``low <= a <= high`` are literals of one operand,
and ``(a & 0xff00) == 0x100`` one of another. A literal's negation is the complement of its set
within ``0..mask`` (the values ``value & mask`` can take lie there).

On an ABI whose calls see 32-bit arguments (:attr:`seccomp_bpf.arch.Arch.argument_bits`) an
argument is its low word, zero-extended: ``value & mask`` is then ``value & (mask & 0xffffffff)``
and lies below 2**32, so the literal becomes ``(target, mask & 0xffffffff) in S ∩ [0, 2**32)``.
The instruction pointer is not an argument and is left alone.

:func:`disjunctive_form` writes a condition as an ``Any`` of ``All`` s of literals (a list of
*terms*, each with at most one literal per operand: literals of one operand in a term are
intersected), when that form stays small; the argument compiler then groups rules by
operand. Literals of one operand that are alternatives of one ``Any`` are joined into one
(``a == 1 or a == 2`` is ``a in {1, 2}``). Nothing here recurses on the depth of a condition.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Final

from seccomp_bpf.policy import All, Comparison, Condition, Equal, Not
from seccomp_bpf.policy.values import (
    MASK32,
    MASK64,
    Intervals,
    Matches,
    Within,
    complement_intervals,
    intersect_intervals,
    normalize_intervals,
)

IP: Final = -1
"""The target of an operand that is the instruction pointer."""

Operand = tuple[int, int]  # (target, mask)
Literal = tuple[Operand, Intervals]
Term = tuple[Literal, ...]  # a conjunction, one literal per operand, sorted by operand

TRUE_TERM: Final[Term] = ()
_WORK_PER_LITERAL: Final = 8


def literal(comparison: Comparison, narrow: bool) -> Literal | bool:
    """``comparison`` as a literal, or ``True``/``False`` when it holds always or never
    (``narrow``: the ABI's arguments are 32-bit values, see the module docstring)."""
    target = IP if comparison.arg is None else comparison.arg
    if type(comparison) is Equal:  # Within(((v, v),), width), without making it: the most common
        mask = MASK64 if comparison.width == 64 else MASK32
        return make_literal(target, mask, ((comparison.value, comparison.value),), narrow)
    constraint = comparison.constraint()
    if isinstance(constraint, Within):
        mask = MASK64 if constraint.width == 64 else MASK32
        values = constraint.intervals
    else:
        assert isinstance(constraint, Matches), constraint
        mask, values = constraint.mask, ((constraint.value, constraint.value),)
    return make_literal(target, mask, values, narrow)


def make_literal(target: int, mask: int, values: Intervals, narrow: bool = False) -> Literal | bool:
    """``(target, mask) in values``, narrowed for 32-bit arguments, or the constant it is."""
    if narrow and target != IP:
        mask &= MASK32
        values = intersect_intervals(values, ((0, MASK32),))
    if not values:
        return False
    if mask == 0:  # value & 0 is 0
        return values[0][0] == 0
    if values[0][0] == 0 and values[-1][1] >= mask and len(values) == 1:
        return True
    return (target, mask), values


def negated(item: Literal) -> Literal | bool:
    (target, mask), values = item
    return make_literal(target, mask, complement_intervals(values, mask))


def holds(item: Literal, args: tuple[int, ...], ip: int) -> bool:
    """Whether the literal holds for these arguments (for tests and explanations)."""
    (target, mask), values = item
    operand = (ip if target == IP else args[target]) & mask
    return any(lo <= operand <= hi for lo, hi in values)


class _TooLargeError(Exception):
    """The disjunctive form would exceed its limit."""


def disjunctive_form(condition: Condition, narrow: bool, limit: int) -> list[Term] | None:
    """``condition`` as alternatives of conjunctions of literals (``[]``: never holds; ``[()]``:
    always holds), or ``None`` when that takes more than ``limit`` intervals in all (the
    :func:`size` of the form: a literal counts as many as its intervals).

    Negations are pushed down to the literals (``not (a and b)`` is ``not a or not b``), so
    the walk carries a polarity; each ``(node, polarity)`` is written once.
    """
    done: dict[tuple[int, bool], list[Term]] = {}
    stack: list[tuple[Condition, bool, bool]] = [(condition, True, False)]
    # Pairs of terms conjoined and sizes of the forms made, in all: the form may stay small
    # while the work to reach it grows with the square of the nesting (All and Any
    # alternating, or a conjunction of many ``!=`` of one operand met again at every level),
    # so both are limited.
    work = [_WORK_PER_LITERAL * limit]
    try:
        while stack:
            node, positive, expanded = stack.pop()
            key = (id(node), positive)
            if key in done:
                continue
            if isinstance(node, Comparison):
                done[key] = _literal_terms(literal(node, narrow), positive)
            elif isinstance(node, Not):
                inner = (id(node.condition), not positive)
                if inner in done:
                    done[key] = done[inner]
                else:
                    stack += [(node, positive, True), (node.condition, not positive, False)]
            elif expanded:
                parts = [done[(id(part), positive)] for part in node.conditions]
                conjunction = isinstance(node, All) == positive
                done[key] = (
                    _both(parts, limit, work) if conjunction else _either(parts, limit, work)
                )
            else:
                stack.append((node, positive, True))
                stack.extend((part, positive, False) for part in node.conditions)
    except _TooLargeError:
        return None
    return done[(id(condition), True)]


def _literal_terms(item: Literal | bool, positive: bool) -> list[Term]:
    if not positive:
        item = (not item) if isinstance(item, bool) else negated(item)
    if isinstance(item, bool):
        return [TRUE_TERM] if item else []
    return [(item,)]


def _both(parts: list[list[Term]], limit: int, work: list[int]) -> list[Term]:
    """The conjunction of alternatives: every combination of one term of each part."""
    result: list[Term] = [TRUE_TERM]
    for terms in parts:
        if not terms:
            return []
        if terms == [TRUE_TERM]:
            continue
        pairs = len(result) * len(terms)
        work[0] -= pairs
        if pairs > limit or work[0] < 0:
            raise _TooLargeError
        combined = (conjoin(a, b) for a, b in itertools.product(result, terms))
        result = _unique(term for term in combined if term is not None)
        _spend(result, limit, work)
    return result


def _either(parts: list[list[Term]], limit: int, work: list[int]) -> list[Term]:
    """The alternatives of all parts; single literals of one operand are joined."""
    terms = [term for part in parts for term in part]
    if TRUE_TERM in terms:
        return [TRUE_TERM]
    single: dict[Operand, list[tuple[int, int]]] = {}
    for term in terms:
        if len(term) == 1:
            single.setdefault(term[0][0], []).extend(term[0][1])
    joined: dict[Operand, Term] = {}
    for operand, intervals in single.items():
        item = make_literal(*operand, normalize_intervals(intervals))
        if item is True:
            return [TRUE_TERM]
        if item is not False:
            joined[operand] = (item,)
    out: list[Term] = []
    for term in terms:
        if len(term) == 1:
            replacement = joined.pop(term[0][0], None)  # at the place of the first one
            if replacement is not None:
                out.append(replacement)
        else:
            out.append(term)
    result = _unique(out)
    _spend(result, limit, work)
    return result


def size(terms: list[Term]) -> int:
    """The intervals of all literals of a form."""
    return sum(len(values) for term in terms for _, values in term)


def _spend(result: list[Term], limit: int, work: list[int]) -> None:
    """Count a form just made against the limit on its size and on the work in all."""
    made = size(result)
    work[0] -= made
    if made > limit or work[0] < 0:
        raise _TooLargeError


def conjoin(a: Term, b: Term) -> Term | None:
    """Both terms at once (``None``: they cannot both hold)."""
    if not a:
        return b
    if not b:
        return a
    merged = dict(a)
    for operand, values in b:
        present = merged.get(operand)
        if present is not None:
            values = intersect_intervals(present, values)
            if not values:
                return None
        merged[operand] = values
    return tuple(sorted(merged.items()))


def _unique(terms: Iterable[Term]) -> list[Term]:
    return list(dict.fromkeys(terms))
