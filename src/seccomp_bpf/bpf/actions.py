"""The actions of a seccomp filter's return value: :class:`SeccompAction`, and a 32-bit
return value decoded (:class:`ReturnValue`) and written (:func:`format_return_value`).

``<linux/seccomp.h>``: a filter returns ``SECCOMP_RET_ACTION_FULL`` bits (the action) and
``SECCOMP_RET_DATA`` bits (its data). Apart from the emulator so that what starts a confined
command (checking that the kernel supports a program's actions) reads no more than this.
"""

from __future__ import annotations

import enum

from seccomp_bpf.bpf import opcodes as op

_MASK32 = 0xFFFFFFFF


class SeccompAction(enum.IntEnum):
    """The action part of a filter's return value (``SECCOMP_RET_ACTION_FULL``)."""

    KILL_PROCESS = op.SECCOMP_RET_KILL_PROCESS
    KILL_THREAD = op.SECCOMP_RET_KILL_THREAD
    TRAP = op.SECCOMP_RET_TRAP
    ERRNO = op.SECCOMP_RET_ERRNO
    USER_NOTIF = op.SECCOMP_RET_USER_NOTIF
    TRACE = op.SECCOMP_RET_TRACE
    LOG = op.SECCOMP_RET_LOG
    ALLOW = op.SECCOMP_RET_ALLOW

    @property
    def precedence(self) -> int:
        """Lower wins when filters are stacked (``kernel/seccomp.c``, ``seccomp_run_filters``:
        ``ACTION_ONLY`` as a signed 32-bit value), so KILL_PROCESS < KILL_THREAD < TRAP <
        ERRNO < USER_NOTIF < TRACE < LOG < ALLOW."""
        return signed32(self.value)

    @property
    def max_data(self) -> int:
        """The largest data (``SECCOMP_RET_DATA``) this action gives a meaning to, 0 for none:
        the errno, capped at ``MAX_ERRNO`` (``kernel/seccomp.c``); ``si_errno`` of TRAP's
        SIGSYS; TRACE's event message."""
        if self is SeccompAction.ERRNO:
            return op.MAX_ERRNO
        if self in (SeccompAction.TRAP, SeccompAction.TRACE):
            return op.SECCOMP_RET_DATA
        return 0


def signed32(value: int) -> int:
    value &= _MASK32
    return value - (1 << 32) if value & 0x80000000 else value


class ReturnValue:
    """A filter's 32-bit result, decoded as ``__seccomp_filter`` in ``kernel/seccomp.c`` does.

    ``action`` is what the kernel does: a value whose action bits are not a known action is
    treated as KILL_PROCESS (the ``default:`` branch). ``data`` is the low 16 bits;
    ``known`` is False for such unknown actions. Immutable, compared by its fields.
    """

    __slots__ = ("action", "data", "known", "value")
    __match_args__ = ("value", "action", "data", "known")

    value: int
    action: SeccompAction
    data: int
    known: bool

    def __init__(self, value: int, action: SeccompAction, data: int, known: bool) -> None:
        _set = object.__setattr__
        _set(self, "value", value)
        _set(self, "action", action)
        _set(self, "data", data)
        _set(self, "known", known)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a ReturnValue is immutable")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, ReturnValue)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"ReturnValue(value={self.value!r}, action={self.action!r}, data={self.data!r}, "
            f"known={self.known!r})"
        )

    def __reduce__(self) -> tuple[type[ReturnValue], tuple[int, SeccompAction, int, bool]]:
        return (ReturnValue, self._key())

    def _key(self) -> tuple[int, SeccompAction, int, bool]:
        return (self.value, self.action, self.data, self.known)

    @classmethod
    def decode(cls, value: int) -> ReturnValue:
        value &= _MASK32
        bits = value & op.SECCOMP_RET_ACTION_FULL
        try:
            action = SeccompAction(bits)
            known = True
        except ValueError:
            action = SeccompAction.KILL_PROCESS
            known = False
        return cls(value, action, value & op.SECCOMP_RET_DATA, known)

    @property
    def errno(self) -> int | None:
        """For ERRNO, the errno the caller sees (capped at MAX_ERRNO as the kernel does)."""
        if self.action is not SeccompAction.ERRNO:
            return None
        return min(self.data, op.MAX_ERRNO)

    def __str__(self) -> str:
        return format_return_value(self.value)


def format_return_value(value: int) -> str:
    """``ALLOW``, ``ERRNO(1)``, ``TRACE(7)``, ``KILL_PROCESS``... or hex for unknown actions."""
    value &= _MASK32
    bits = value & op.SECCOMP_RET_ACTION_FULL
    data = value & op.SECCOMP_RET_DATA
    try:
        action = SeccompAction(bits)
    except ValueError:
        return f"{value:#010x}"
    if action in (SeccompAction.ERRNO, SeccompAction.TRAP, SeccompAction.TRACE):
        return f"{action.name}({data})"
    if data:
        return f"{action.name}({data})"
    return action.name
