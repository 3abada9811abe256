"""The filter object: :class:`SyscallFilter`, libseccomp's ``scmp_filter_ctx``."""

from __future__ import annotations

import errno as errno_codes
from collections.abc import Sequence
from typing import IO

from seccomp_bpf.arch import native_arch
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import (
    KernelError,
    LibseccompError,
    LibseccompValueError,
    SeccompBPFError,
    TsyncError,
)
from seccomp_bpf.libseccomp import export
from seccomp_bpf.libseccomp.constants import (
    ATTRIBUTE_DEFAULTS,
    ATTRIBUTE_LEVEL,
    NOTIFY,
    U32,
    Arch,
    Attr,
    action_name,
    action_valid,
    arch_info,
    get_api,
)
from seccomp_bpf.libseccomp.notify import (
    LISTENER,
    Notification,
    NotificationAddfd,
    NotificationResponse,
    add_fd,
    listener_fd,
    receive,
    respond,
)
from seccomp_bpf.libseccomp.rules import (
    Arg,
    FilterState,
    call_text,
    check_argument_objects,
    check_comparisons,
    comparison_key,
    condition_of,
    library_error,
    system_failure,
    translate,
)
from seccomp_bpf.libseccomp.syscalls import (
    NR_SCMP_ERROR,
    RESERVED_NEGATIVE,
    check_name,
    native_name,
)
from seccomp_bpf.policy.policy import Policy


class SyscallFilter:
    """A seccomp filter under construction, as libseccomp's ``scmp_filter_ctx``.

    Besides the binding's methods it has :meth:`policies` (the filter as seccomp-bpf policies)
    and :meth:`program` (the compiled filter).
    """

    def __init__(self, defaction: int) -> None:
        action = self._action_value(defaction)
        if not action_valid(action):
            raise LibseccompError(
                errno_codes.EINVAL,
                f"{action_name(action)} is not a valid default action",
                message="Library error",
            )
        self._defaction = action
        self._state = self._fresh(action)
        self._snapshots: list[FilterState] = []
        self._program: Program | None = None

    # --- state ----------------------------------------------------------------------------

    @staticmethod
    def _action_value(action: object) -> int:
        if isinstance(action, bool) or not isinstance(action, int):
            raise TypeError("an action is an int such as ALLOW or ERRNO(1)")
        return action & U32

    @staticmethod
    def _fresh(default: int) -> FilterState:
        native = native_arch()
        return FilterState(
            default=default,
            arches=[native],
            rules={native.name: []},
            attributes=dict(ATTRIBUTE_DEFAULTS),
        )

    def _changed(self) -> None:
        self._program = None

    def reset(self, defaction: int = -1) -> None:
        """Back to a new filter with ``defaction`` (by default the one the filter was
        created with): native architecture only, no rules, default attributes."""
        action = self._defaction if defaction == -1 else self._action_value(defaction)
        if not action_valid(action):
            raise LibseccompValueError(
                "Invalid action", errno_codes.EINVAL, f"{action_name(action)} is not valid"
            )
        self._state = self._fresh(action)
        self._snapshots.clear()
        self._changed()

    def merge(self, filter: SyscallFilter) -> None:
        """Take the architectures and rules of ``filter``, which is then reset. Both must have
        the same attributes (``-EINVAL``), no architecture in common (``-EEXIST``) and the
        same byte order (``-EDOM``)."""
        if not isinstance(filter, SyscallFilter):
            raise TypeError("filter must be a SyscallFilter")
        mine, theirs = self._state, filter._state
        if mine.default != theirs.default or mine.attributes != theirs.attributes:
            raise library_error(errno_codes.EINVAL, "the filters' attributes differ")
        shared = [a.name for a in theirs.arches if any(a.name == b.name for b in mine.arches)]
        if shared:
            raise library_error(errno_codes.EEXIST, f"both filters have {', '.join(shared)}")
        orders = {a.byteorder for a in [*mine.arches, *theirs.arches]}
        if len(orders) > 1:
            raise library_error(errno_codes.EDOM, "the filters' byte orders differ")
        for arch in theirs.arches:
            mine.arches.append(arch)
            mine.rules[arch.name] = list(theirs.rules.get(arch.name, []))
        for name, priority in theirs.priorities.items():
            mine.priorities[name] = max(priority, mine.priorities.get(name, 0))
        filter.reset()
        self._changed()

    # --- architectures ----------------------------------------------------------------------

    def exist_arch(self, arch: int | Arch) -> bool:
        """Whether the filter has ``arch``."""
        info = arch_info(arch).info
        return any(a.name == info.name for a in self._state.arches)

    def add_arch(self, arch: int | Arch) -> None:
        """Add ``arch``. Rules added before are not added to it (``seccomp_arch_add(3)``)."""
        info = arch_info(arch).info
        state = self._state
        if any(a.name == info.name for a in state.arches):
            raise library_error(errno_codes.EEXIST, f"the filter has {info.name} already")
        if state.arches and state.arches[0].byteorder != info.byteorder:
            raise library_error(
                errno_codes.EDOM,
                f"{info.name} is {info.byteorder}-endian, the filter's architectures are not",
            )
        state.arches.append(info)
        state.rules[info.name] = []
        self._changed()

    def remove_arch(self, arch: int | Arch) -> None:
        """Remove ``arch`` and its rules."""
        info = arch_info(arch).info
        state = self._state
        if not any(a.name == info.name for a in state.arches):
            raise library_error(errno_codes.EEXIST, f"the filter has no {info.name}")
        state.arches = [a for a in state.arches if a.name != info.name]
        state.rules.pop(info.name, None)
        self._changed()

    # --- attributes ---------------------------------------------------------------------------

    def get_attr(self, attr: int) -> int:
        """An attribute's value (``Attr.*``)."""
        if attr == Attr.ACT_DEFAULT:
            return self._state.default
        if attr not in ATTRIBUTE_DEFAULTS:
            raise LibseccompValueError(
                "Invalid attribute", errno_codes.EINVAL, f"no attribute {attr}"
            )
        return self._state.attributes[attr]

    def set_attr(self, attr: int, value: int) -> None:
        """Set an attribute; ``ACT_DEFAULT`` is read-only (``-EACCES``), flags are 0 or 1."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("an attribute value is an int")
        if attr == Attr.ACT_DEFAULT:
            raise library_error(errno_codes.EACCES, "the default action is read-only")
        if attr not in ATTRIBUTE_DEFAULTS:
            raise LibseccompValueError(
                "Invalid attribute", errno_codes.EINVAL, f"no attribute {attr}"
            )
        value &= U32
        needed = ATTRIBUTE_LEVEL.get(attr)
        if needed is not None and get_api() < needed:
            raise library_error(
                errno_codes.EOPNOTSUPP, f"attribute {attr} needs API level {needed}"
            )
        if attr == Attr.ACT_BADARCH:
            if not action_valid(value):
                raise LibseccompValueError(
                    "Invalid attribute", errno_codes.EINVAL, f"{action_name(value)} is not valid"
                )
        elif attr == Attr.CTL_OPTIMIZE:
            if value not in (1, 2):
                raise library_error(errno_codes.EOPNOTSUPP, "SCMP_FLTATR_CTL_OPTIMIZE takes 1 or 2")
        else:
            if attr == Attr.CTL_TSYNC and value and get_api() < 6 and self._uses_notify():
                raise LibseccompValueError(
                    "Invalid attribute",
                    errno_codes.EINVAL,
                    "TSYNC with NOTIFY needs API level 6 (SECCOMP_FILTER_FLAG_TSYNC_ESRCH)",
                )
            value = 1 if value else 0
        self._state.attributes[attr] = value
        self._changed()

    def syscall_priority(self, syscall: int | str, priority: int) -> None:
        """A hint (0..255) that ``syscall`` is frequent: it becomes the compiler's frequency
        profile, which puts it nearer the root of the search tree."""
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise TypeError("priority must be an int")
        if not 0 <= priority <= 255:
            raise ValueError("Syscall priority must be between 0 and 255")
        name = self._syscall_name(syscall)
        if name is None:
            return
        state = self._state
        state.priorities[name] = max(priority, state.priorities.get(name, 0))
        self._changed()

    def _syscall_name(self, syscall: object) -> str | None:
        """The name a priority is kept under (``None``: a number no table names, or -1, the
        skipped call, which ``Attr.API_TSKIP`` allows as in libseccomp: no call to favour)."""
        if isinstance(syscall, str):
            check_name(syscall)
            return syscall
        if isinstance(syscall, bool) or not isinstance(syscall, int):
            raise TypeError("Syscall must either be an int or str type")
        self._check_number(syscall)
        if syscall == NR_SCMP_ERROR:
            return None
        what = f"syscall_priority({syscall})"
        try:
            name = native_name(syscall, what)
        except LibseccompError:
            name = None  # a number native has no call for: see below
        native = native_arch()
        others = [a.name for a in self._state.arches if a.name != native.name]
        if name is None and others:
            # as libseccomp: accepted on native alone, -EFAULT where it must be translated
            raise library_error(
                errno_codes.EFAULT,
                f"{what}: no call of {native.name} has this number, so it has no "
                f"equivalent on {', '.join(others)}",
            )
        return name

    def _check_number(self, syscall: int | str) -> None:
        """libseccomp refuses -99..-1 as a system call (-1 is allowed with API_TSKIP)."""
        if not isinstance(syscall, int) or syscall not in RESERVED_NEGATIVE:
            return
        if syscall == NR_SCMP_ERROR and self._state.attributes[Attr.API_TSKIP]:
            return
        raise library_error(
            errno_codes.EINVAL,
            f"invalid system call number {syscall}"
            + (" (-1 needs Attr.API_TSKIP)" if syscall == NR_SCMP_ERROR else ""),
        )

    # --- rules --------------------------------------------------------------------------------

    def add_rule(self, action: int, syscall: int | str, *args: Arg) -> None:
        """Add a rule: ``syscall`` gets ``action`` when every comparison holds. Socket and IPC
        calls are also applied to ``socketcall``/``ipc`` where an architecture has them."""
        self._add("add_rule", action, syscall, args, exact=False)

    def add_rule_exactly(self, action: int, syscall: int | str, *args: Arg) -> None:
        """Add a rule without rewriting it onto another call, as ``seccomp_rule_add_exact(3)``
        (libseccomp 2.5.4): ``-EOPNOTSUPP`` for a filter of several architectures or a call
        the architecture lacks. On x86 a socket or IPC call without comparisons is also the
        rule of ``socketcall``/``ipc`` for its call number, as libseccomp does; with
        comparisons, which cannot follow through the multiplexer, it is ``-EINVAL``, as it
        is on the other architectures with multiplexers for every call they multiplex."""
        self._add("add_rule_exactly", action, syscall, args, exact=True)

    def _add(
        self, method: str, action: int, syscall: int | str, args: Sequence[Arg], *, exact: bool
    ) -> None:
        check_argument_objects(args)
        if isinstance(syscall, bool) or not isinstance(syscall, int | str):
            raise TypeError("Syscall must either be an int or str type")
        action = self._action_value(action)
        state = self._state
        if not state.arches:
            raise library_error(errno_codes.EINVAL, "the filter has no architecture")
        if exact and len(state.arches) > 1:
            # seccomp_rule_add_exact_array (src/api.c): one architecture only
            raise library_error(
                errno_codes.EOPNOTSUPP,
                "add_rule_exactly() needs a filter of one architecture; this one has "
                + ", ".join(a.name for a in state.arches),
            )
        self._check_number(syscall)
        if not action_valid(action):
            raise library_error(
                errno_codes.EINVAL, f"{action_name(action)} is not a valid action here"
            )
        if action == state.default:
            raise library_error(
                errno_codes.EACCES,
                f"the rule's action {action_name(action)} is the filter's default action",
            )
        if action == NOTIFY and state.attributes[Attr.CTL_TSYNC] and get_api() < 6:
            raise library_error(errno_codes.EINVAL, "NOTIFY with TSYNC needs API level 6")
        check_comparisons(args)
        key = comparison_key(args)
        condition = condition_of(key)
        call = call_text(method, action, syscall, args)
        additions = [
            (arch, rule)
            for arch in state.arches
            for rule in translate(
                arch, syscall, action=action, key=key, condition=condition, call=call, exact=exact
            )
        ]
        for arch, rule in additions:
            for existing in state.rules[arch.name]:
                if (
                    existing.nr == rule.nr
                    and existing.key == rule.key
                    and existing.action != rule.action
                    and rule.condition is not None
                ):
                    raise library_error(
                        errno_codes.EEXIST,
                        f"{existing.call} already gives these calls {action_name(existing.action)}",
                    )
        for arch, rule in additions:
            rules = state.rules[arch.name]
            if not any(e.nr == rule.nr and e.key == rule.key for e in rules):
                rules.append(rule)
        self._changed()

    def _uses_notify(self) -> bool:
        state = self._state
        return state.default == NOTIFY or any(
            rule.action == NOTIFY for rules in state.rules.values() for rule in rules
        )

    # --- the model ----------------------------------------------------------------------------

    def policies(self) -> tuple[Policy, ...]:
        """The filter as seccomp-bpf policies, one per group of architectures with the same
        rules, in the filter's order of architectures."""
        return export.policies(self._state)

    def program(self) -> Program:
        """The compiled filter: the policies of :meth:`policies`, each compiled, tried one
        after the other for the architectures they list."""
        if self._program is None:
            self._program = export.program(self._state)
        return self._program

    def precompute(self) -> None:
        """Compile now, so that :meth:`load` only installs (``seccomp_precompute(3)``)."""
        self._compiled()

    def _compiled(self) -> Program:
        """:meth:`program`, with a failure to compile as libseccomp's ``-EFAULT``."""
        try:
            return self.program()
        except LibseccompError:
            raise
        except SeccompBPFError as error:
            raise library_error(errno_codes.EFAULT, str(error)) from error

    # --- export ---------------------------------------------------------------------------------

    def export_bpf_mem(self) -> bytes:
        """The filter as ``struct sock_filter`` records in its architectures' byte order
        (big-endian for s390x, ppc64, mips...), as the kernel that loads it reads them and
        libseccomp writes them."""
        program = self._compiled()
        return program.to_bytes(export.byteorder(self._state))

    def export_bpf(self, file: IO[bytes] | IO[str]) -> None:
        """Write :meth:`export_bpf_mem` to ``file`` (anything with ``fileno()``)."""
        export.write_fd(file, self.export_bpf_mem(), self._raw_errors())

    def export_pfc(self, file: IO[bytes] | IO[str]) -> None:
        """Write a readable listing of the filter to ``file``: per architecture and system
        call, the rules in the order they are tried, then the default action."""
        export.write_fd(file, self.pfc().encode(), self._raw_errors())

    def pfc(self) -> str:
        """The text :meth:`export_pfc` writes."""
        return export.pfc(self._state)

    def _raw_errors(self) -> bool:
        """``Attr.API_SYSRAWRC``: report the kernel's errno rather than ``-ECANCELED``."""
        return bool(self._state.attributes[Attr.API_SYSRAWRC])

    # --- loading ------------------------------------------------------------------------------

    def load(self) -> None:
        """Install the filter on this process (all threads with ``Attr.CTL_TSYNC``). The
        first filter that uses NOTIFY gets the process's listener; a later one keeps it
        (see :mod:`seccomp_bpf.libseccomp.notify`)."""
        from seccomp_bpf.kernel import install

        program = self._compiled()
        attributes = self._state.attributes
        new_listener = self._uses_notify() and LISTENER.fd is None
        try:
            fd = install(
                program,
                tsync=bool(attributes[Attr.CTL_TSYNC]),
                no_new_privs=bool(attributes[Attr.CTL_NNP]),
                log=bool(attributes[Attr.CTL_LOG]),
                spec_allow=bool(attributes[Attr.CTL_SSB]),
                new_listener=new_listener,
                wait_killable_recv=bool(attributes[Attr.CTL_WAITKILL]),
            )
        except TsyncError as error:
            raise library_error(errno_codes.ESRCH, str(error)) from error
        except KernelError as error:
            raise system_failure(error.errno, str(error), raw=self._raw_errors()) from error
        if new_listener and fd is not None:
            LISTENER.fd = fd

    # --- user notifications ---------------------------------------------------------------------

    def get_notify_fd(self) -> int:
        """The process's listener (``seccomp_notify_fd(3)``): the descriptor the first
        filter with NOTIFY was loaded with."""
        return listener_fd(None)

    def receive_notify(self, fd: int | None = None) -> Notification:
        """Wait for the next notification on ``fd`` (libseccomp 2.6), by default the
        process's listener."""
        return receive(listener_fd(fd), self._raw_errors())

    def respond_notify(self, response: NotificationResponse, fd: int | None = None) -> None:
        """Answer a notification on ``fd`` (libseccomp 2.6), by default the listener."""
        if not isinstance(response, NotificationResponse):
            raise TypeError("response must be a NotificationResponse object")
        respond(listener_fd(fd), response, self._raw_errors())

    def notify_addfd(self, addfd: NotificationAddfd, fd: int | None = None) -> int:
        """Install a descriptor into the notified process (``seccomp_notify_addfd(3)``,
        libseccomp 2.6, Linux 5.9); returns its number there."""
        if not isinstance(addfd, NotificationAddfd):
            raise TypeError("addfd must be a NotificationAddfd object")
        return add_fd(listener_fd(fd), addfd, self._raw_errors())

    # --- transactions ---------------------------------------------------------------------------

    def start_transaction(self) -> None:
        """Start a (nested) transaction: :meth:`reject_transaction` returns the architectures,
        rules and priorities to this point (``seccomp_transaction_start(3)``)."""
        state = self._state
        self._snapshots.append(
            FilterState(
                default=state.default,
                arches=list(state.arches),
                rules={name: list(rules) for name, rules in state.rules.items()},
                attributes=state.attributes,  # attributes are not part of a transaction
                priorities=dict(state.priorities),
            )
        )

    def commit_transaction(self) -> None:
        """Keep the changes of the innermost transaction."""
        if not self._snapshots:
            raise library_error(errno_codes.EINVAL, "no transaction was started")
        self._snapshots.pop()

    def reject_transaction(self) -> None:
        """Undo the changes of the innermost transaction (nothing if none was started)."""
        if not self._snapshots:
            return
        snapshot = self._snapshots.pop()
        snapshot.attributes = self._state.attributes
        self._state = snapshot
        self._changed()
