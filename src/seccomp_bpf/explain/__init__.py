"""Understand any filter: decompile a program into a policy, describe it, and compare or
combine policies and programs exactly.

- :func:`decompile` turns a classic-BPF program into a policy of the model (symbolic
  execution, :mod:`.symbolic`, then :mod:`.synthesis`), saying what it could not express.
- :func:`summarize` describes a policy per ABI for people.
- :func:`diff` finds every call two policies or programs decide differently, with examples.
- :func:`union` and :func:`intersection` combine two of them into a policy, with the
  kernel's order of actions.
"""

from seccomp_bpf.explain.decompiler import Decompiled, decompile
from seccomp_bpf.explain.diff import Difference, DifferenceCase, diff
from seccomp_bpf.explain.setops import intersection, union
from seccomp_bpf.explain.summary import AbiSummary, PolicySummary, summarize

__all__ = [
    "AbiSummary",
    "Decompiled",
    "Difference",
    "DifferenceCase",
    "PolicySummary",
    "decompile",
    "diff",
    "intersection",
    "summarize",
    "union",
]
