"""Hand-written programs for the explain tests: ones the model follows exactly, and ones
using what it cannot express (with the start of the note that must say so)."""

from __future__ import annotations

from seccomp_bpf.arch import ArchSymbols, get_arch
from seccomp_bpf.bpf.assembler import assemble
from seccomp_bpf.bpf.instruction import Program


def assembled(text: str) -> Program:
    """Assembly text (x86-64 names) as a program."""
    return assemble(text, symbols=ArchSymbols(default=get_arch("x86_64")), byteorder="little")


HAND_WRITTEN = {
    # The number kept in scratch memory and compared with X; x32 told apart with AND; ioctl
    # decided by a masked ordering of a low word and a bit of a high word.
    "scratch memory and X": """
        A = arch
        if (A != ARCH_X86_64) goto kill
        A = sys_number
        mem[3] = A
        A &= 0x40000000
        if (A == 0x40000000) goto kill
        X = 39
        A = mem[3]
        if (A == X) goto allow
        if (A != 16) goto deny
        A = args[0]
        A &= 0xff
        if (A > 0x10) goto deny
        A = args[1] >> 32
        if (A & 0x80000000) goto deny
        allow:
        return ALLOW
        deny:
        return ERRNO(13)
        kill:
        return KILL_PROCESS
    """,
    # A constant in A compared with the number in X; JSET on the instruction pointer.
    "constant against X": """
        A = arch
        if (A != ARCH_X86_64) goto kill
        A = sys_number
        X = A
        A = 100
        if (A > X) goto low
        return LOG
        low:
        A = X
        if (A != 9) goto allow
        A = instruction_pointer
        if (A & 0xfff) goto trap
        allow:
        return ALLOW
        trap:
        return TRAP(7)
        kill:
        return KILL_THREAD
    """,
}


UNSUPPORTED = {
    "arithmetic on the number": (
        """
        A = sys_number
        A += 1
        if (A == 1) goto allow
        return KILL_PROCESS
        allow:
        return ALLOW
        """,
        "instruction 2: compares a computed value",
    ),
    "two loaded words": (
        """
        A = args[0]
        X = A
        A = args[1]
        if (A == X) goto allow
        return KILL_PROCESS
        allow:
        return ALLOW
        """,
        "instruction 3: compares two loaded words",
    ),
    "a loaded return value": (
        """
        A = args[0]
        return A
        """,
        "instruction 1: returns a value loaded from seccomp_data",
    ),
}
