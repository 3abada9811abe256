"""seccomp-bpf: write, compile, install, profile and inspect seccomp-BPF filters in pure Python.

>>> from seccomp_bpf import ALLOW, ERRNO, Policy, Rule, compile, emulate, SeccompData
>>> policy = Policy(ERRNO(1), (Rule(("read", "write", "exit_group"), ALLOW),), arches=("x86_64",))
>>> program = compile(policy)
>>> emulate(program, SeccompData(0, 0xC000003E)).action.name  # read on x86-64
'ALLOW'
"""

from __future__ import annotations

from seccomp_bpf.__about__ import __version__
from seccomp_bpf.lazy import lazy_exports

# Not typing.TYPE_CHECKING: importing typing costs more than the rest of this module (type
# checkers treat any constant of this name as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from seccomp_bpf.arch import Arch, ArchSymbols, get_arch, native_arch
    from seccomp_bpf.bpf import (
        Execution,
        Instruction,
        Program,
        ProgramBuilder,
        SeccompAction,
        SeccompData,
        emulate,
        validate,
    )
    from seccomp_bpf.bpf.assembler import assemble
    from seccomp_bpf.bpf.disassembler import disassemble
    from seccomp_bpf.compiler import compile, compile_policy, load_frequency
    from seccomp_bpf.errors import (
        ActionUnavailableError,
        AssemblyError,
        CompileError,
        InvalidProgramError,
        KernelError,
        PolicyError,
        SeccompBPFError,
        TsyncError,
        UnknownArchError,
        UnknownSyscallError,
    )
    from seccomp_bpf.explain import Decompiled, Difference, decompile, diff, intersection, union
    from seccomp_bpf.formats import load_oci_policy, load_yaml_policy, read_policy_file
    from seccomp_bpf.policies import default_policy, register_policy, unregister_policy
    from seccomp_bpf.policy import (
        ALLOW,
        ERRNO,
        KILL_PROCESS,
        KILL_THREAD,
        LOG,
        TRACE,
        TRAP,
        USER_NOTIF,
        Action,
        All,
        Any,
        BitsClear,
        BitsSet,
        Cmp,
        Comparison,
        Condition,
        Decision,
        Equal,
        GreaterOrEqual,
        GreaterThan,
        InRange,
        InSet,
        LessOrEqual,
        LessThan,
        MaskedEqual,
        Not,
        NotEqual,
        NotInSet,
        Policy,
        Rule,
        Sandbox,
    )
    from seccomp_bpf.profiling import SyscallTrace, profile
    from seccomp_bpf.run.confine import install
    from seccomp_bpf.run.subprocess import Popen
    from seccomp_bpf.run.supervisor import run_with_reports

# Where each public name lives: read on first use (see seccomp_bpf.lazy), so that importing
# the package imports none of the library.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "seccomp_bpf.arch": "Arch ArchSymbols get_arch native_arch",
        "seccomp_bpf.bpf": (
            "Execution Instruction Program ProgramBuilder SeccompAction SeccompData emulate "
            "validate"
        ),
        "seccomp_bpf.bpf.assembler": "assemble",
        "seccomp_bpf.bpf.disassembler": "disassemble",
        "seccomp_bpf.compiler": "compile compile_policy load_frequency",
        "seccomp_bpf.errors": (
            "ActionUnavailableError AssemblyError CompileError InvalidProgramError KernelError "
            "PolicyError SeccompBPFError TsyncError UnknownArchError UnknownSyscallError"
        ),
        "seccomp_bpf.explain": "Decompiled Difference decompile diff intersection union",
        "seccomp_bpf.formats": "load_oci_policy load_yaml_policy read_policy_file",
        "seccomp_bpf.policies": "default_policy register_policy unregister_policy",
        "seccomp_bpf.policy": (
            "ALLOW ERRNO KILL_PROCESS KILL_THREAD LOG TRACE TRAP USER_NOTIF Action All Any "
            "BitsClear BitsSet Cmp Comparison Condition Decision Equal GreaterOrEqual GreaterThan "
            "InRange InSet LessOrEqual LessThan MaskedEqual Not NotEqual NotInSet Policy Rule "
            "Sandbox"
        ),
        "seccomp_bpf.profiling": "SyscallTrace profile",
        "seccomp_bpf.run.confine": "install",
        "seccomp_bpf.run.subprocess": "Popen",
        "seccomp_bpf.run.supervisor": "run_with_reports",
    },
)

__all__ = [
    "ALLOW",
    "ERRNO",
    "KILL_PROCESS",
    "KILL_THREAD",
    "LOG",
    "TRACE",
    "TRAP",
    "USER_NOTIF",
    "Action",
    "ActionUnavailableError",
    "All",
    "Any",
    "Arch",
    "ArchSymbols",
    "AssemblyError",
    "BitsClear",
    "BitsSet",
    "Cmp",
    "Comparison",
    "CompileError",
    "Condition",
    "Decision",
    "Decompiled",
    "Difference",
    "Equal",
    "Execution",
    "GreaterOrEqual",
    "GreaterThan",
    "InRange",
    "InSet",
    "Instruction",
    "InvalidProgramError",
    "KernelError",
    "LessOrEqual",
    "LessThan",
    "MaskedEqual",
    "Not",
    "NotEqual",
    "NotInSet",
    "Policy",
    "PolicyError",
    "Popen",
    "Program",
    "ProgramBuilder",
    "Rule",
    "Sandbox",
    "SeccompAction",
    "SeccompBPFError",
    "SeccompData",
    "SyscallTrace",
    "TsyncError",
    "UnknownArchError",
    "UnknownSyscallError",
    "__version__",
    "assemble",
    "compile",
    "compile_policy",
    "decompile",
    "default_policy",
    "diff",
    "disassemble",
    "emulate",
    "get_arch",
    "install",
    "intersection",
    "load_frequency",
    "load_oci_policy",
    "load_yaml_policy",
    "native_arch",
    "profile",
    "read_policy_file",
    "register_policy",
    "run_with_reports",
    "union",
    "unregister_policy",
    "validate",
]
