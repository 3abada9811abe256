"""Read numbers out of Linux UAPI headers with the C preprocessor, for differential tests.

The tables in ``seccomp_bpf.arch`` are data; this module is the independent witness they are
checked against. It runs ``cpp`` over the headers of one architecture (the host's
``/usr/include`` for x86, or a Debian ``linux-libc-dev-<arch>-cross`` tree under
``/usr/<triplet>/include``) with that architecture's predefined macros, collects the macros
or enumerators whose names match, and evaluates their values. Nothing here imports the code
under test.

Run as a script, it prints ``src/seccomp_bpf/arch/constant_tables.py`` from the headers::

    python tests/arch/kernel_header_reader.py > src/seccomp_bpf/arch/constant_tables.py

(that needs the cross headers of every architecture in :data:`PROFILES`; see the generated
file's docstring for the exact packages).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

HOST_INCLUDE = Path("/usr/include")
HOST_MULTIARCH = Path("/usr/include/x86_64-linux-gnu")

_LP64 = ("-D__LP64__=1", "-D_LP64=1", "-D__SIZEOF_LONG__=8", "-D__SIZEOF_POINTER__=8")
_ILP32 = ("-D__SIZEOF_LONG__=4", "-D__SIZEOF_POINTER__=4")
_LE = ("-D__BYTE_ORDER__=__ORDER_LITTLE_ENDIAN__",)
_BE = ("-D__BYTE_ORDER__=__ORDER_BIG_ENDIAN__",)


@dataclass(frozen=True)
class Profile:
    """How to preprocess the headers of one ABI as its compiler would."""

    name: str
    include: tuple[Path, ...]
    defines: tuple[str, ...]

    def available(self) -> bool:
        return shutil.which("cpp") is not None and all(d.is_dir() for d in self.include)


def _cross(triplet: str) -> tuple[Path, ...]:
    return (Path("/usr") / triplet / "include",)


# One profile per architecture of seccomp_bpf.arch that has headers on Debian. The defines
# are those the GCC of that target predefines and the UAPI headers test.
PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("x86_64", (HOST_MULTIARCH, HOST_INCLUDE), ("-D__x86_64__=1", *_LP64, *_LE)),
        Profile("i386", (HOST_MULTIARCH, HOST_INCLUDE), ("-D__i386__=1", *_ILP32, *_LE)),
        Profile(
            "x32",
            (HOST_MULTIARCH, HOST_INCLUDE),
            ("-D__x86_64__=1", "-D__ILP32__=1", *_ILP32, *_LE),
        ),
        Profile(
            "aarch64",
            _cross("aarch64-linux-gnu"),
            ("-D__aarch64__=1", "-D__AARCH64EL__=1", *_LP64, *_LE),
        ),
        Profile(
            "arm",
            _cross("arm-linux-gnueabihf"),
            ("-D__arm__=1", "-D__ARM_EABI__=1", "-D__ARMEL__=1", *_ILP32, *_LE),
        ),
        Profile(
            "armeb",
            _cross("arm-linux-gnueabihf"),
            ("-D__arm__=1", "-D__ARM_EABI__=1", "-D__ARMEB__=1", *_ILP32, *_BE),
        ),
        Profile(
            "riscv64",
            _cross("riscv64-linux-gnu"),
            ("-D__riscv=1", "-D__riscv_xlen=64", *_LP64, *_LE),
        ),
        Profile(
            "riscv32",
            _cross("riscv64-linux-gnu"),
            ("-D__riscv=1", "-D__riscv_xlen=32", *_ILP32, *_LE),
        ),
        Profile(
            "ppc",
            _cross("powerpc-linux-gnu"),
            ("-D__powerpc__=1", "-D__PPC__=1", "-D__BIG_ENDIAN__=1", *_ILP32, *_BE),
        ),
        Profile(
            "ppc64",
            _cross("powerpc64le-linux-gnu"),
            ("-D__powerpc__=1", "-D__powerpc64__=1", "-D__BIG_ENDIAN__=1", *_LP64, *_BE),
        ),
        Profile(
            "ppc64le",
            _cross("powerpc64le-linux-gnu"),
            ("-D__powerpc__=1", "-D__powerpc64__=1", "-D__LITTLE_ENDIAN__=1", *_LP64, *_LE),
        ),
        Profile("s390", _cross("s390x-linux-gnu"), ("-D__s390__=1", *_ILP32, *_BE)),
        Profile(
            "s390x", _cross("s390x-linux-gnu"), ("-D__s390__=1", "-D__s390x__=1", *_LP64, *_BE)
        ),
        Profile(
            "mips",
            _cross("mips-linux-gnu"),
            ("-D__mips__=1", "-D_MIPS_SIM=1", "-D__MIPSEB__=1", *_ILP32, *_BE),
        ),
        Profile(
            "mipsel",
            _cross("mipsel-linux-gnu"),
            ("-D__mips__=1", "-D_MIPS_SIM=1", "-D__MIPSEL__=1", *_ILP32, *_LE),
        ),
        Profile(
            "mips64",
            _cross("mips64-linux-gnuabi64"),
            ("-D__mips__=1", "-D__mips64=1", "-D_MIPS_SIM=3", "-D__MIPSEB__=1", *_LP64, *_BE),
        ),
        Profile(
            "mipsel64",
            _cross("mips64-linux-gnuabi64"),
            ("-D__mips__=1", "-D__mips64=1", "-D_MIPS_SIM=3", "-D__MIPSEL__=1", *_LP64, *_LE),
        ),
        Profile(
            "mips64n32",
            _cross("mips64-linux-gnuabin32"),
            ("-D__mips__=1", "-D__mips64=1", "-D_MIPS_SIM=2", "-D__MIPSEB__=1", *_ILP32, *_BE),
        ),
        Profile(
            "mipsel64n32",
            _cross("mips64-linux-gnuabin32"),
            ("-D__mips__=1", "-D__mips64=1", "-D_MIPS_SIM=2", "-D__MIPSEL__=1", *_ILP32, *_LE),
        ),
        Profile("parisc", _cross("hppa-linux-gnu"), ("-D__hppa__=1", *_ILP32, *_BE)),
        Profile("parisc64", _cross("hppa-linux-gnu"), ("-D__hppa__=1", *_LP64, *_BE)),
        Profile("alpha", _cross("alpha-linux-gnu"), ("-D__alpha__=1", *_LP64, *_LE)),
        Profile("sparc", _cross("sparc64-linux-gnu"), ("-D__sparc__=1", *_ILP32, *_BE)),
        Profile(
            "sparc64",
            _cross("sparc64-linux-gnu"),
            ("-D__sparc__=1", "-D__arch64__=1", *_LP64, *_BE),
        ),
        Profile("m68k", _cross("m68k-linux-gnu"), ("-D__m68k__=1", *_ILP32, *_BE)),
        Profile(
            "sh", _cross("sh4-linux-gnu"), ("-D__sh__=1", "-D__LITTLE_ENDIAN__=1", *_ILP32, *_LE)
        ),
        Profile(
            "sheb", _cross("sh4-linux-gnu"), ("-D__sh__=1", "-D__BIG_ENDIAN__=1", *_ILP32, *_BE)
        ),
        Profile("arcv2", _cross("arc-linux-gnu"), ("-D__arc__=1", *_ILP32, *_LE)),
    )
}

_COMMON_DEFINES = (
    "-undef",
    "-nostdinc",
    "-D__linux__=1",
    "-D__GNUC__=12",
    "-D__CHAR_BIT__=8",
    "-D__SIZEOF_INT__=4",
    "-D__SIZEOF_SHORT__=2",
    "-D__SIZEOF_LONG_LONG__=8",
    "-D__ORDER_LITTLE_ENDIAN__=1234",
    "-D__ORDER_BIG_ENDIAN__=4321",
)


def _cpp(profile: Profile, source: str, *extra: str) -> str:
    args = ["cpp", *_COMMON_DEFINES, *profile.defines, *extra]
    for directory in profile.include:
        args += ["-I", str(directory)]
    result = subprocess.run([*args, "-"], input=source, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"cpp failed for {profile.name}: {result.stderr.strip()[:500]}")
    return result.stdout


# -- evaluating C constant expressions --------------------------------------------------------

_INTEGER = re.compile(r"\b(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([uUlL]*)\b")
_CHAR = re.compile(r"'(\\?.)'")
_CAST = re.compile(
    r"\(\s*(?:const\s+)?(?:unsigned\s+|signed\s+)?"
    r"(?:int|long|long\s+long|short|char|__u32|__u64|__s32|__kernel_key_t|__kernel_pid_t)\s*\)"
)
_SIZES = {
    "int": 4,
    "unsigned int": 4,
    "char": 1,
    "unsigned char": 1,
    "short": 2,
    "unsigned short": 2,
    "__u32": 4,
    "__s32": 4,
    "__u64": 8,
    "__u8": 1,
    "__u16": 2,
    "int32_t": 4,
    "uint32_t": 4,
    # struct winsize is four unsigned shorts on every architecture (<asm-generic/termios.h>,
    # and each arch's own termios.h).
    "struct winsize": 8,
}
_SIZEOF = re.compile(r"sizeof\s*\(\s*([A-Za-z_][A-Za-z0-9_ ]*?)\s*\)")


def _c_int(match: re.Match[str]) -> str:
    text = match.group(1)
    if text.startswith(("0x", "0X")):
        return str(int(text, 16))
    if text.startswith("0") and len(text) > 1:
        return str(int(text, 8))
    return text


def evaluate(expression: str, sizeof_long: int = 8) -> int | None:
    """The value of a preprocessed C integer constant expression, or ``None``.

    Handles integer and character literals, casts to integer types, ``sizeof`` of scalar
    types, and the operators ``+ - * / % << >> & | ^ ~`` (C division truncates towards
    zero; only non-negative operands occur in these headers). A ``sizeof`` of a structure
    or any other identifier left over makes the value unknown: ``None``.
    """

    def sizeof(match: re.Match[str]) -> str:
        name = " ".join(match.group(1).split())
        if name in ("long", "unsigned long", "long int"):
            return str(sizeof_long)
        size = _SIZES.get(name)
        return str(size) if size is not None else "__unknown__"

    text = _SIZEOF.sub(sizeof, expression)
    text = _CAST.sub(" ", text)
    text = _CHAR.sub(lambda m: str(ord(m.group(1)[-1])), text)
    text = _INTEGER.sub(_c_int, text)
    text = text.replace("/", "//").replace("~", "~").strip()
    if not text or re.search(r"[A-Za-z_]", text) or "&&" in text or "||" in text:
        return None
    try:
        value = eval(f"({text})", {"__builtins__": {}}, {})  # only digits and operators remain
    except (SyntaxError, ZeroDivisionError, TypeError):
        return None
    return value if isinstance(value, int) else None


def macro_values(
    profile: Profile, headers: Iterable[str], wanted: Callable[[str], bool]
) -> dict[str, int | None]:
    """Every object-like macro that ``headers`` define and ``wanted`` accepts, evaluated."""
    source = "".join(f"#include <{header}>\n" for header in headers)
    defined = _cpp(profile, source, "-dM")
    names = sorted(
        {
            m.group(1)
            for m in re.finditer(r"^#define (\w+)(?:[ \t]|$)", defined, re.MULTILINE)
            if wanted(m.group(1))
        }
    )
    if not names:
        return {}
    probe = source + "".join(f'"{name}" {name}\n' for name in names)
    expanded = _cpp(profile, probe, "-P")
    sizeof_long = 8 if "-D__SIZEOF_LONG__=8" in profile.defines else 4
    values: dict[str, int | None] = {}
    for line in expanded.splitlines():
        match = re.match(r'^"(\w+)" (.*)$', line)
        if match and match.group(1) in names:
            values[match.group(1)] = evaluate(match.group(2), sizeof_long)
    return values


def enum_values(
    profile: Profile, headers: Iterable[str], wanted: Callable[[str], bool]
) -> dict[str, int]:
    """Enumerators (``enum { NAME = expr, ... }``) that ``headers`` declare, evaluated."""
    source = "".join(f"#include <{header}>\n" for header in headers)
    text = _cpp(profile, source, "-P")
    values: dict[str, int] = {}
    for body in re.findall(r"\benum\b[^{;]*\{([^}]*)\}", text):
        following = 0
        for item in body.split(","):
            item = item.strip()
            if not item:
                continue
            name, _, expression = item.partition("=")
            name = name.strip()
            if expression:
                for known in sorted(values, key=len, reverse=True):
                    expression = re.sub(rf"\b{known}\b", str(values[known]), expression)
                value = evaluate(expression)
                if value is None:
                    break
                following = value
            values[name] = following
            following += 1
    return {name: value for name, value in values.items() if wanted(name)}


# -- which macros make up each constant family ------------------------------------------------


def _errno_name(name: str) -> bool:
    return re.fullmatch(r"E[A-Z0-9]+", name) is not None


def _signal_name(name: str) -> bool:
    if name in ("SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK"):
        return True
    # SIGRTMIN/SIGRTMAX are left out: the kernel's 32 is not the C library's SIGRTMIN (34 in
    # glibc, which keeps two for itself), and a policy that names them would mislead.
    return re.fullmatch(r"SIG[A-Z0-9]+", name) is not None and name not in (
        "SIGSTKSZ",
        "SIGUNUSED",
        "SIGRTMIN",
        "SIGRTMAX",
    )


def _fcntl_name(name: str) -> bool:
    if name in ("FD_CLOEXEC", "FASYNC"):
        return True
    if name == "F_LINUX_SPECIFIC_BASE":
        return False
    return re.fullmatch(r"(O|F|AT|LOCK)_[A-Z0-9_]+", name) is not None and name not in (
        "O_RSYNC",
        "O_TMPFILE_MASK",  # an internal mask, no longer in the UAPI headers since 6.1.y
        # 32-bit only, and what x32 gets differs between the header and the C library:
        "F_GETLK64",
        "F_SETLK64",
        "F_SETLKW64",
    )


def _mman_name(name: str) -> bool:
    return re.fullmatch(r"(PROT|MAP|MADV|MCL|MREMAP|MS|MLOCK|PKEY)_[A-Z0-9_]+", name) is not None


def _ioctl_name(name: str) -> bool:
    return re.fullmatch(r"(TC|TIOC|FIO)[A-Z0-9]+", name) is not None


def _sched_name(name: str) -> bool:
    return (
        re.fullmatch(r"(CLONE|SCHED)_[A-Z0-9_]+", name) is not None
        and not name.startswith("CLONE_ARGS_SIZE")
    ) or name == "CSIGNAL"


def _prctl_name(name: str) -> bool:
    return re.fullmatch(r"PR_[A-Z0-9_]+", name) is not None


def _socketcall_name(name: str) -> bool:
    return re.fullmatch(r"SYS_[A-Z0-9]+", name) is not None


_IPC_CALLS = {
    "SEMOP", "SEMGET", "SEMCTL", "SEMTIMEDOP", "MSGSND", "MSGRCV", "MSGGET", "MSGCTL",
    "SHMAT", "SHMDT", "SHMGET", "SHMCTL",
}  # fmt: skip


def _ipc_name(name: str) -> bool:
    return name in _IPC_CALLS or re.fullmatch(r"IPC_[A-Z0-9]+", name) is not None


_PERSONALITY_FLAGS = {
    "UNAME26", "ADDR_NO_RANDOMIZE", "FDPIC_FUNCPTRS", "MMAP_PAGE_ZERO", "ADDR_COMPAT_LAYOUT",
    "READ_IMPLIES_EXEC", "ADDR_LIMIT_32BIT", "SHORT_INODE", "WHOLE_SECONDS", "STICKY_TIMEOUTS",
    "ADDR_LIMIT_3GB",
}  # fmt: skip


def _personality_name(name: str) -> bool:
    return name.startswith("PER_") or name in _PERSONALITY_FLAGS


@dataclass(frozen=True)
class Family:
    """One family of constants: the header that defines it and how to pick its names."""

    name: str
    headers: tuple[str, ...]
    wanted: Callable[[str], bool]
    enum: bool = False


FAMILIES: tuple[Family, ...] = (
    Family("errno", ("asm/errno.h",), _errno_name),
    Family("signal", ("asm/signal.h",), _signal_name),
    Family("fcntl", ("linux/fcntl.h",), _fcntl_name),
    Family("mman", ("linux/mman.h",), _mman_name),
    Family("ioctl", ("asm/ioctls.h",), _ioctl_name),
    Family("sched", ("linux/sched.h",), _sched_name),
    Family("prctl", ("linux/prctl.h",), _prctl_name),
    Family("socketcall", ("linux/net.h",), _socketcall_name),
    Family("ipc", ("linux/ipc.h",), _ipc_name),
    Family(
        "ipproto",
        ("linux/in.h",),
        lambda n: n.startswith("IPPROTO_") and n != "IPPROTO_MAX",
        enum=True,
    ),
    Family("personality", ("linux/personality.h",), _personality_name, enum=True),
)


def family_values(profile: Profile, family: Family) -> dict[str, int | None]:
    if family.enum:
        values: dict[str, int | None] = {}
        values.update(enum_values(profile, family.headers, family.wanted))
        return values
    return macro_values(profile, family.headers, family.wanted)


def generic_profile(workdir: Path) -> Profile:
    """The asm-generic headers alone: a fake ``asm/`` that includes ``asm-generic/`` for all."""
    asm = workdir / "asm"
    asm.mkdir(parents=True, exist_ok=True)
    for header in (HOST_INCLUDE / "asm-generic").glob("*.h"):
        (asm / header.name).write_text(f"#include <asm-generic/{header.name}>\n")
    (asm / "byteorder.h").write_text("#include <linux/byteorder/little_endian.h>\n")
    return Profile("generic", (workdir, HOST_INCLUDE), ("-D__generic__=1", *_LP64, *_LE))


# -- printing constant_tables.py -------------------------------------------------------------

_PREAMBLE = '''"""Named constants of the Linux UAPI, per architecture (generated: do not edit).

Generated by ``python tests/arch/kernel_header_reader.py`` from the UAPI headers of Linux 6.1:
the host's ``/usr/include`` (Debian ``linux-libc-dev`` 6.1) for the ``asm-generic`` baseline
and x86, and Debian's ``linux-libc-dev-<arch>-cross`` 6.1.4 packages for the others (arm64,
armhf, riscv64, powerpc, ppc64el, s390x, mips, mipsel, mips64, mipsn32, hppa, alpha, sparc64,
m68k, sh4, arc). Each value is what ``cpp`` gives for the macro (or ``enum`` member) with the
predefined macros of that ABI's compiler; ``tests/arch/test_constant_tables.py`` repeats the
comparison whenever the headers are installed.

``GENERIC`` holds the ``asm-generic`` values, by family: ``errno`` (<asm/errno.h>), ``signal``
(<asm/signal.h>), ``fcntl`` (<linux/fcntl.h>, which includes <asm/fcntl.h>), ``mman``
(<linux/mman.h>, with <asm/mman.h>), ``ioctl`` (<asm/ioctls.h>), ``sched`` (<linux/sched.h>),
``prctl`` (<linux/prctl.h>), ``socketcall`` (<linux/net.h>), ``ipc`` (<linux/ipc.h>),
``ipproto`` (the ``enum`` of <linux/in.h>) and ``personality`` (the ``enum``s of
<linux/personality.h>). ``OVERRIDES[arch]`` holds, by family, every name whose value differs
on that architecture; ``None`` means the header does not define the name there, or defines it
through ``sizeof`` of a structure whose size the generator does not know. ``SAME_AS`` maps an
architecture to one whose differences are identical; ``CHECKED`` lists every architecture
that was compared (one missing from ``OVERRIDES`` and ``SAME_AS`` has no differences).
"""

from __future__ import annotations

from typing import Final

'''


def render_tables() -> str:
    """The text of ``constant_tables.py`` (needs every profile's headers)."""
    with tempfile.TemporaryDirectory() as tmp:
        generic = generic_profile(Path(tmp))
        base = {
            family.name: {k: v for k, v in family_values(generic, family).items() if v is not None}
            for family in FAMILIES
        }
        per_arch: dict[str, dict[str, dict[str, int | None]]] = {}
        for name, profile in PROFILES.items():
            if not profile.available():
                raise SystemExit(f"headers for {name} are missing: {profile.include}")
            diff: dict[str, dict[str, int | None]] = {}
            for family in FAMILIES:
                values = family_values(profile, family)
                generic_values = base[family.name]
                changed = {
                    key: values.get(key)
                    for key in sorted(set(values) | set(generic_values))
                    if values.get(key) != generic_values.get(key)
                }
                if changed:
                    diff[family.name] = changed
            per_arch[name] = diff

    out = [_PREAMBLE.rstrip("\n"), ""]
    out.append("GENERIC: Final[dict[str, dict[str, int]]] = {")
    for family_name, generic_family in base.items():
        out.append(f'    "{family_name}": {{')
        out.extend(f'        "{k}": {_literal(v)},' for k, v in sorted(generic_family.items()))
        out.append("    },")
    out.append("}")
    out.append("")
    groups: dict[str, list[str]] = {}
    for name, diff in per_arch.items():
        if diff:
            groups.setdefault(repr(sorted(diff.items())), []).append(name)
    out.append("OVERRIDES: Final[dict[str, dict[str, dict[str, int | None]]]] = {")
    for names in groups.values():
        out.append(f'    "{names[0]}": {{')
        for family_name, values in per_arch[names[0]].items():
            out.append(f'        "{family_name}": {{')
            out.extend(f'            "{k}": {_literal(v)},' for k, v in sorted(values.items()))
            out.append("        },")
        out.append("    },")
    out.append("}")
    out.append("")
    out.append("SAME_AS: Final[dict[str, str]] = {")
    for names in groups.values():
        out.extend(f'    "{other}": "{names[0]}",' for other in names[1:])
    out.append("}")
    out.append("")
    out.append("CHECKED: Final[tuple[str, ...]] = (")
    out.extend(f'    "{name}",' for name in PROFILES)
    out.append(")")
    return "\n".join(out) + "\n"


def _literal(value: int | None) -> str:
    if value is None:
        return "None"
    return f"0x{value:X}" if value > 255 else str(value)


if __name__ == "__main__":
    sys.stdout.write(render_tables())
