"""What a filter does with a system call: the actions of ``<linux/seccomp.h>``.

An :class:`Action` is a kind plus its 16-bit data, and maps one-to-one onto the filter's return
value (``SECCOMP_RET_<KIND> | data``). The kind is
:class:`~seccomp_bpf.bpf.emulator.SeccompAction`, the action part of a return value, which
the emulator decodes too: one enum of actions, in ``bpf/``, which the model builds on. The
data has a meaning only for ``ERRNO`` (the errno the caller sees), ``TRAP`` (``si_errno`` of
the SIGSYS) and ``TRACE`` (the tracer's event message); for every other kind it must be 0.

``ERRNO`` data is refused above ``MAX_ERRNO`` (4095): ``kernel/seccomp.c`` caps it there, so a
larger number would not be what the caller sees.

Text form (case-insensitive), as written in policy files::

    allow  log  user_notif (or notify)  kill_thread (or kill)  kill_process
    errno  errno(13)  errno(EACCES)      # plain "errno" is EPERM
    trap   trap(3)    trace  trace(7)    # plain "trap"/"trace" carry 0

``kill`` means ``kill_thread``, as ``SCMP_ACT_KILL`` does in libseccomp and in Docker/OCI
profiles: the thread that made the call dies, the rest of the process runs on. Write
``kill_process`` to end the whole process.

Errno names resolve to the numbers of the common Linux ABI (``<asm-generic/errno.h>``,
used by x86, arm, arm64, riscv, s390, powerpc, loongarch). alpha, mips, parisc and sparc number
some errnos differently; for those write the number.
"""

from __future__ import annotations

import errno as errno_module
import re
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.arch.constants import constant_family, resolve_constant
from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.emulator import SeccompAction
from seccomp_bpf.errors import PolicyError

_DATA_MASK: Final = op.SECCOMP_RET_DATA
_ACTION_MASK: Final = op.SECCOMP_RET_ACTION_FULL




# Text names; several spellings map to one kind.
_KIND_BY_NAME: Final[dict[str, SeccompAction]] = {
    "allow": SeccompAction.ALLOW,
    "log": SeccompAction.LOG,
    "errno": SeccompAction.ERRNO,
    "trap": SeccompAction.TRAP,
    "trace": SeccompAction.TRACE,
    "user_notif": SeccompAction.USER_NOTIF,
    "notify": SeccompAction.USER_NOTIF,
    "kill_thread": SeccompAction.KILL_THREAD,
    "kill": SeccompAction.KILL_THREAD,
    "kill_process": SeccompAction.KILL_PROCESS,
}
_CANONICAL_NAME: Final[dict[SeccompAction, str]] = {
    SeccompAction.ALLOW: "allow",
    SeccompAction.LOG: "log",
    SeccompAction.ERRNO: "errno",
    SeccompAction.TRAP: "trap",
    SeccompAction.TRACE: "trace",
    SeccompAction.USER_NOTIF: "user_notif",
    SeccompAction.KILL_THREAD: "kill_thread",
    SeccompAction.KILL_PROCESS: "kill_process",
}
ACTION_NAMES: Final[tuple[str, ...]] = tuple(_KIND_BY_NAME)
"""Every action word :meth:`Action.parse` accepts."""

_TEXT = re.compile(r"^\s*([A-Za-z_]+)\s*(?:\(\s*([^()]*?)\s*\))?\s*$")


def _errno_number(name: str) -> int | None:
    """The errno called ``name`` (``EPERM``...), in the common Linux numbering."""
    upper = name.upper()
    if constant_family(upper) != "errno":
        return None
    return resolve_constant(upper)


def errno_name(number: int) -> str | None:
    """The usual name of errno ``number`` (``EPERM`` for 1), if it has one."""
    name = errno_module.errorcode.get(number)
    if name is None or _errno_number(name) != number:
        return None
    return name


@dataclass(frozen=True, slots=True)
class Action:
    """One seccomp action and its data; see the module docstring for the text form."""

    kind: SeccompAction
    data: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.kind, SeccompAction):
            raise PolicyError(f"action kind must be a SeccompAction, not {self.kind!r}")
        if isinstance(self.data, bool) or not isinstance(self.data, int):
            raise PolicyError(f"action data must be an integer, not {self.data!r}")
        limit = self.kind.max_data
        if not 0 <= self.data <= limit:
            name = _CANONICAL_NAME[self.kind]
            if limit == 0:
                raise PolicyError(f"{name} takes no data (got {self.data})")
            if self.kind is SeccompAction.ERRNO:
                raise PolicyError(
                    f"errno must be 0..{op.MAX_ERRNO} (MAX_ERRNO: kernel/seccomp.c caps the "
                    f"value there), not {self.data}"
                )
            raise PolicyError(f"{name} data must be 0..{limit}, not {self.data}")

    @property
    def ret_value(self) -> int:
        """The filter's 32-bit return value: ``SECCOMP_RET_<KIND> | data``."""
        kind_bits: int = self.kind.value
        return kind_bits | self.data

    @property
    def precedence(self) -> int:
        """Lower wins between stacked filters; see
        :attr:`~seccomp_bpf.bpf.emulator.SeccompAction.precedence`."""
        return self.kind.precedence

    @classmethod
    def from_ret(cls, value: int, *, strict: bool = True) -> Action:
        """The action of a filter return value.

        With ``strict`` (the default) a value that no :class:`Action` produces raises
        :class:`PolicyError`: an unknown action, data on an action that takes none, or an
        errno above MAX_ERRNO. With ``strict=False`` the value is read as the kernel reads it
        (``__seccomp_filter`` in ``kernel/seccomp.c``): unknown actions are KILL_PROCESS, the
        errno is capped at MAX_ERRNO, and data of data-less actions is ignored.
        """
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
            raise PolicyError(f"a return value is a 32-bit unsigned integer, not {value!r}")
        bits = value & _ACTION_MASK
        data = value & _DATA_MASK
        try:
            kind = SeccompAction(bits)
        except ValueError:
            if strict:
                raise PolicyError(f"{value:#010x} is not a seccomp action") from None
            return cls(SeccompAction.KILL_PROCESS)
        if not strict:
            data = min(data, kind.max_data)
        return cls(kind, data)

    @classmethod
    def parse(cls, text: str) -> Action:
        """Read the text form: ``allow``, ``errno(EPERM)``, ``trace(7)``... (case-insensitive)."""
        if not isinstance(text, str):
            raise PolicyError(f"an action is text such as 'allow' or 'errno(EPERM)', not {text!r}")
        match = _TEXT.match(text)
        if match is None:
            raise PolicyError(
                f"{text!r} is not an action; write NAME or NAME(DATA), e.g. errno(EPERM)"
            )
        word, argument = match.group(1).lower(), match.group(2)
        kind = _KIND_BY_NAME.get(word)
        if kind is None:
            raise PolicyError(
                f"unknown action {match.group(1)!r}; expected one of {', '.join(ACTION_NAMES)}"
            )
        if argument is None:
            return cls(kind, 1 if kind is SeccompAction.ERRNO else 0)
        if kind.max_data == 0:
            raise PolicyError(f"{word} takes no argument (got {text.strip()!r})")
        return cls(kind, _parse_data(kind, argument))

    def __str__(self) -> str:
        """Canonical text: ``allow``, ``errno(1)``, ``trap``, ``trace(7)``; parses back."""
        name = _CANONICAL_NAME[self.kind]
        if self.kind is SeccompAction.ERRNO or self.data:
            return f"{name}({self.data})"
        return name

    def describe(self) -> str:
        """For people: like ``str()`` but errnos by name, e.g. ``errno(EPERM)``."""
        if self.kind is SeccompAction.ERRNO:
            return f"errno({errno_name(self.data) or self.data})"
        return str(self)


def _parse_data(kind: SeccompAction, argument: str) -> int:
    try:
        number = int(argument, 0)
    except ValueError:
        if kind is not SeccompAction.ERRNO:
            raise PolicyError(
                f"{_CANONICAL_NAME[kind]}(...) takes a number 0..{kind.max_data}, not {argument!r}"
            ) from None
        resolved = _errno_number(argument)
        if resolved is None:
            raise PolicyError(f"unknown errno name {argument!r}") from None
        number = resolved
    if not 0 <= number <= kind.max_data:
        Action(kind, number)  # raises the precise message
    return number


ALLOW: Final = Action(SeccompAction.ALLOW)
LOG: Final = Action(SeccompAction.LOG)
USER_NOTIF: Final = Action(SeccompAction.USER_NOTIF)
KILL_THREAD: Final = Action(SeccompAction.KILL_THREAD)
KILL_PROCESS: Final = Action(SeccompAction.KILL_PROCESS)


def ERRNO(number: int | str = 1) -> Action:  # noqa: N802 - reads like the other constants
    """Fail the call with ``number`` (an int or a name such as ``"EACCES"``); EPERM by default."""
    if isinstance(number, str):
        return Action.parse(f"errno({number})")
    return Action(SeccompAction.ERRNO, number)


def TRAP(data: int = 0) -> Action:  # noqa: N802
    """Send SIGSYS with ``si_errno = data``."""
    return Action(SeccompAction.TRAP, data)


def TRACE(data: int = 0) -> Action:  # noqa: N802
    """Notify a ptrace tracer (``PTRACE_EVENT_SECCOMP``) with ``data`` as the event message."""
    return Action(SeccompAction.TRACE, data)
