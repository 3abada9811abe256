"""Every error seccomp-bpf raises, in one hierarchy.

::

    SeccompBPFError
     ├── InvalidProgramError   (also ValueError)  a program the kernel would refuse
     ├── AssemblyError         (also ValueError)  text that is not a program
     │    └── AssembledProgramError (also InvalidProgramError)  text that assembles to one
     │                                                           the kernel would refuse
     ├── UnknownArchError      (also ValueError)  an architecture name we do not know
     ├── UnknownSyscallError   (also ValueError)  a system call name no architecture has
     ├── PolicyError           (also ValueError)  a policy that is not valid
     │    └── ConversionError                     a valid policy another format cannot express
     ├── CompileError          (also ValueError)  a policy that cannot become a program
     ├── TooComplexError       (also ValueError)  a filter too complex to explain or compare
     ├── KernelError           (also OSError)     a system call failed; names the call
     │    ├── TsyncError                          another thread has a different filter
     │    └── ActionUnavailableError              the kernel lacks an action the program uses
     ├── CommandError          (also OSError)     a command to run is missing or not executable
     ├── RecordError           (also ValueError)  an audit or strace record that cannot be read
 ├── BinaryAnalysisError   (also ValueError)  a program the static profiler cannot read
     │    └── MissingDependencyError (also ImportError) its optional libraries are not installed
     ├── SandboxError          (also OSError)     a sandbox that cannot be set up as asked
     │    └── LayerUnavailableError               a required layer the kernel refuses
     ├── LibseccompError       (also RuntimeError) libseccomp's "Library error" (in .libseccomp)
     └── LibseccompValueError  (also ValueError)  an argument libseccomp refuses (in .libseccomp)

Subclassing the built-in types lets ordinary ``except ValueError`` / ``except OSError`` clauses
work. This module imports nothing from the package, so every layer may use it.
"""

from __future__ import annotations


class SeccompBPFError(Exception):
    """Base class of every error raised by seccomp-bpf."""


class InvalidProgramError(SeccompBPFError, ValueError):
    """A classic-BPF program that the kernel would refuse as a seccomp filter.

    ``index`` is the offending instruction (``None`` when the program as a whole is wrong,
    for example empty or too long) and ``reason`` says why.
    """

    def __init__(self, reason: str, index: int | None = None) -> None:
        self.reason = reason
        self.index = index
        where = f"instruction {index}: " if index is not None else ""
        super().__init__(f"{where}{reason}")


class AssemblyError(SeccompBPFError, ValueError):
    """Text that does not assemble; names the line (1-based) and column (1-based)."""

    def __init__(
        self, message: str, *, line: int, column: int = 1, text: str = "", source: str = "<text>"
    ) -> None:
        self.message = message
        self.line = line
        self.column = column
        self.text = text
        self.source = source
        super().__init__(f"{source}:{line}:{column}: {message}")


class AssembledProgramError(AssemblyError, InvalidProgramError):
    """Text that assembles to a program the kernel would refuse.

    Both an :class:`AssemblyError` (``line``, ``column``, ``text`` and ``source`` point at the
    offending instruction's line) and an :class:`InvalidProgramError` (``reason`` and ``index``
    are the validator's).
    """

    def __init__(
        self,
        reason: str,
        index: int | None,
        *,
        line: int,
        column: int = 1,
        text: str = "",
        source: str = "<text>",
    ) -> None:
        self.reason = reason
        self.index = index
        self.message = reason
        self.line = line
        self.column = column
        self.text = text
        self.source = source
        Exception.__init__(self, f"{source}:{line}:{column}: {reason}")


class UnknownArchError(SeccompBPFError, ValueError):
    """An architecture name or ``AUDIT_ARCH_*`` value that seccomp-bpf does not know."""


class UnknownSyscallError(SeccompBPFError, ValueError):
    """A system call name that no known architecture has (most often a typo)."""


class PolicyError(SeccompBPFError, ValueError):
    """A policy that is not valid.

    When it comes from a file, ``source``, ``line`` and ``column`` (1-based) say where, and
    ``snippet`` holds the offending text.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
        snippet: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        self.snippet = snippet
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.source is not None:
            where = self.source
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        text = f"{where}{self.message}"
        if self.snippet:
            text += f" (at {self.snippet!r})"
        return text


class CompileError(SeccompBPFError, ValueError):
    """A valid policy that cannot be turned into a program (for example, too large)."""


class TooComplexError(SeccompBPFError, ValueError):
    """A filter whose analysis (explain, diff) would need more pieces than the limits allow:
    too many paths, or system call numbers told apart by their low bits."""


class KernelError(SeccompBPFError, OSError):
    """A system call failed. ``call`` names it; ``errno`` and ``strerror`` are as in OSError."""

    def __init__(self, call: str, errno: int, detail: str = "") -> None:
        import os

        self.call = call
        self.detail = detail
        message = f"{call}: {os.strerror(errno)}"
        if detail:
            message += f" ({detail})"
        super().__init__(errno, message)
        # OSError.__str__ prints "[Errno N] message"; keep that, it is what users expect.


class TsyncError(KernelError):
    """SECCOMP_FILTER_FLAG_TSYNC failed: thread ``thread_id`` cannot be synchronised."""

    def __init__(self, thread_id: int) -> None:
        import errno as errno_module

        self.thread_id = thread_id
        super().__init__(
            "seccomp(SECCOMP_SET_MODE_FILTER, TSYNC)",
            errno_module.EAGAIN,
            f"thread {thread_id} has a different seccomp filter or mode and cannot be synchronised",
        )


class ActionUnavailableError(KernelError):
    """The running kernel does not support an action the program returns."""


class CommandError(SeccompBPFError, OSError):
    """A command that cannot be started: not found (``exit_status`` 127) or found but not
    executable (126), the statuses a shell reports. ``command`` is the name as given."""

    def __init__(self, command: str, errno: int, exit_status: int, message: str = "") -> None:
        import os

        self.command = command
        self.exit_status = exit_status
        super().__init__(errno, f"{command}: {message or os.strerror(errno)}")


class SandboxError(SeccompBPFError, OSError):
    """A sandbox that cannot be set up as asked (a path to grant that does not exist, a TCP
    rule on a kernel without Landlock's network rights). ``exit_status`` is what
    ``seccomp-bpf run`` exits with: 1, nothing was run."""

    exit_status = 1

    def __init__(self, message: str, errno: int = 22) -> None:  # EINVAL
        super().__init__(errno, message)

    def __str__(self) -> str:
        return str(self.strerror)


class LayerUnavailableError(SandboxError):
    """A layer that must be in force (``--require LAYER``, or asked for explicitly) is not:
    ``layer`` names it, the message says why. ``seccomp-bpf run`` exits with status 123 and
    runs nothing."""

    exit_status = 123

    def __init__(self, layer: str, message: str, errno: int = 95) -> None:  # EOPNOTSUPP
        self.layer = layer
        super().__init__(message, errno)


class ConversionError(PolicyError):
    """A valid policy that a target format (OCI, go-seccomp-bpf...) cannot express exactly.

    The message says why; ``source``, ``line`` and ``column`` point at the rule concerned
    when there is one.
    """


class LibseccompError(SeccompBPFError, RuntimeError):
    """What libseccomp's Python binding raises as ``RuntimeError("Library error (errno = N)")``.

    ``errno`` is the positive error number and ``rc`` the negative return code libseccomp's
    C function would give; the message starts with the binding's text (``message`` replaces
    it where the binding says something else, such as "Notifications not enabled/active").
    """

    def __init__(self, errno: int, detail: str = "", *, message: str | None = None) -> None:
        self.errno = errno
        self.rc = -errno
        self.detail = detail
        text = message if message is not None else f"Library error (errno = {-errno})"
        if detail:
            text += f": {detail}"
        super().__init__(text)


class LibseccompValueError(SeccompBPFError, ValueError):
    """What libseccomp's Python binding raises as ``ValueError`` ("Invalid architecture",
    "Invalid attribute", "Invalid action", "Invalid level"); ``errno`` as in
    :class:`LibseccompError` (``EINVAL`` in every case the binding has)."""

    def __init__(self, message: str, errno: int, detail: str = "") -> None:
        self.errno = errno
        self.rc = -errno
        self.detail = detail
        super().__init__(f"{message}: {detail}" if detail else message)


class RecordError(SeccompBPFError, ValueError):
    """A record of the system's (a seccomp audit record, a line or table of strace) that
    cannot be read; ``source``, ``line`` and ``column`` (1-based) say where."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:  # fmt: skip
        self.message, self.source, self.line, self.column = message, source, line, column
        where = ":".join(str(part) for part in (source, line, column) if part is not None)
        super().__init__(f"{where}: {message}" if where else message)


class BinaryAnalysisError(SeccompBPFError, ValueError):
    """A program or library the static profiler cannot read or find; names the file."""


class MissingDependencyError(BinaryAnalysisError, ImportError):
    """The static profiler's optional libraries (capstone, pyelftools) are not installed;
    the message says how to install them."""
