"""``seccomp_bpf.libseccomp``, written as users of libseccomp's Python binding write: the
examples of libseccomp's man pages, then every method. Decisions are checked by running the
exported filter in the emulator; loading happens in forked children only."""

from __future__ import annotations

import errno
import io
import os
import tempfile
from collections.abc import Iterator

import pytest
from benchmarks import libseccomp as real_libseccomp

import seccomp_bpf.libseccomp as seccomp
from seccomp_bpf.arch import Arch as ArchInfo
from seccomp_bpf.arch import all_arches, get_arch, native_arch
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import LibseccompError, LibseccompValueError
from seccomp_bpf.libseccomp import (
    ALLOW,
    EQ,
    ERRNO,
    GE,
    GT,
    KILL,
    KILL_PROCESS,
    LE,
    LOG,
    LT,
    MASKED_EQ,
    NE,
    NOTIFY,
    TRACE,
    TRAP,
    Arch,
    Arg,
    Attr,
    Notification,
    NotificationResponse,
    SyscallFilter,
    get_api,
    resolve_syscall,
    set_api,
    system_arch,
)
from tests.compiler.test_search import longest_path
from tests.kernel.forked import run_in_child

ON_X86_64 = native_arch().name == "x86_64"
x86_64_only = pytest.mark.skipif(not ON_X86_64, reason="the examples use x86-64 numbers")
X86_64, I386, X32 = get_arch("x86_64"), get_arch("i386"), get_arch("x32")
LIB = real_libseccomp.load()


def decide(f: SyscallFilter, arch: str, name_or_nr: str | int, *args: int) -> int:
    """The filter's return value for one call, from its exported BPF run in the emulator."""
    abi = get_arch(arch)
    nr = abi.syscalls[name_or_nr] if isinstance(name_or_nr, str) else name_or_nr
    program = Program.from_bytes(f.export_bpf_mem(), abi.byteorder)
    a = [*args, 0, 0, 0, 0, 0, 0]
    padded = (a[0], a[1], a[2], a[3], a[4], a[5])
    return emulate(program, SeccompData(nr, abi.audit_arch, 0, padded)).ret


def library_error(code: int) -> pytest.RaisesExc[LibseccompError]:
    return pytest.raises(LibseccompError, match=rf"^Library error \(errno = -{code}\)")


@pytest.fixture
def api_level() -> Iterator[int]:
    """The probed API level; whatever a test sets is undone."""
    level = get_api()
    yield level
    set_api(level)


# --- the examples of libseccomp's man pages -----------------------------------------------------


@x86_64_only
def test_the_bindings_own_example() -> None:
    # The docstring of libseccomp's seccomp.pyx, with file descriptors where it passes files.
    f = seccomp.SyscallFilter(defaction=seccomp.KILL)
    f.add_rule(seccomp.ALLOW, "open")
    f.add_rule(seccomp.ALLOW, "close")
    f.add_rule(seccomp.ALLOW, "read", seccomp.Arg(0, seccomp.EQ, 0))
    f.add_rule(seccomp.ALLOW, "write", seccomp.Arg(0, seccomp.EQ, 1))
    f.add_rule(seccomp.ALLOW, "write", seccomp.Arg(0, seccomp.EQ, 2))
    f.add_rule(seccomp.ALLOW, "rt_sigreturn")
    assert decide(f, "x86_64", "read", 0) == ALLOW and decide(f, "x86_64", "read", 1) == KILL
    assert decide(f, "x86_64", "write", 2) == ALLOW and decide(f, "x86_64", "write", 0) == KILL
    assert decide(f, "x86_64", "open") == decide(f, "x86_64", "rt_sigreturn") == ALLOW


@x86_64_only
def test_seccomp_rule_add_example() -> None:
    # seccomp_rule_add(3), EXAMPLES
    buf_size = 256
    buf = 0x7FFF0000
    fd = 3
    f = SyscallFilter(KILL)
    f.add_rule(ALLOW, "close")
    f.add_rule(ALLOW, "exit_group")
    f.add_rule(ALLOW, "exit")
    f.add_rule(ALLOW, "read", Arg(0, EQ, fd), Arg(1, EQ, buf), Arg(2, LE, buf_size))
    f.add_rule(ALLOW, "write", Arg(0, EQ, fd))
    f.add_rule(ALLOW, "write", Arg(0, EQ, 2))
    assert decide(f, "x86_64", "read", fd, buf, 100) == ALLOW
    assert decide(f, "x86_64", "read", fd, buf, buf_size + 1) == KILL
    assert decide(f, "x86_64", "read", fd, buf + 1, 100) == KILL
    assert decide(f, "x86_64", "write", fd) == ALLOW
    assert decide(f, "x86_64", "write", 2) == ALLOW
    assert decide(f, "x86_64", "write", 1) == KILL
    assert decide(f, "x86_64", "close", 99) == ALLOW
    assert decide(f, "x86_64", "openat") == KILL


def test_seccomp_init_example() -> None:
    # seccomp_init(3): init, then reset to the same default action
    f = SyscallFilter(KILL)
    f.add_rule(ALLOW, "read")
    f.reset(KILL)
    assert f.get_attr(Attr.ACT_DEFAULT) == KILL
    assert decide(f, native_arch().name, "read") == KILL


def test_seccomp_attr_set_example() -> None:
    # seccomp_attr_set(3): the bad-architecture action becomes TRAP
    f = SyscallFilter(ALLOW)
    f.set_attr(Attr.ACT_BADARCH, TRAP)
    assert f.get_attr(Attr.ACT_BADARCH) == TRAP
    other = "aarch64" if ON_X86_64 else "x86_64"
    assert decide(f, other, 0) == TRAP
    assert decide(f, native_arch().name, 0) == ALLOW


def test_seccomp_arch_add_example() -> None:
    # seccomp_arch_add(3): a filter for x86 only
    f = SyscallFilter(KILL)
    if not f.exist_arch(Arch.X86):
        f.add_arch(Arch.X86)
        f.remove_arch(Arch.NATIVE)
    f.add_rule(ALLOW, "read")
    assert decide(f, "i386", "read") == ALLOW
    assert decide(f, "i386", "write") == KILL
    assert not f.exist_arch(Arch.NATIVE) or native_arch().name == "i386"


def test_seccomp_merge_example() -> None:
    # seccomp_merge(3): a 32-bit and a 64-bit filter made separately, then merged
    ctx_32 = SyscallFilter(KILL)
    ctx_64 = SyscallFilter(KILL)
    if not ctx_32.exist_arch(Arch.X86):
        ctx_32.add_arch(Arch.X86)
        ctx_32.remove_arch(Arch.NATIVE)
    if not ctx_64.exist_arch(Arch.X86_64):
        ctx_64.add_arch(Arch.X86_64)
        ctx_64.remove_arch(Arch.NATIVE)
    ctx_32.add_rule(ALLOW, "read")
    ctx_64.add_rule(ALLOW, "write")
    ctx_64.merge(ctx_32)
    assert ctx_64.exist_arch(Arch.X86) and ctx_64.exist_arch(Arch.X86_64)
    # each architecture keeps its own rules
    assert decide(ctx_64, "i386", "read") == ALLOW
    assert decide(ctx_64, "i386", "write") == KILL
    assert decide(ctx_64, "x86_64", "write") == ALLOW
    assert decide(ctx_64, "x86_64", "read") == KILL
    # the merged filter is reset ("the passed filter object will be reset on success")
    assert ctx_32.exist_arch(Arch.NATIVE)
    assert not ctx_32.exist_arch(Arch.X86) or native_arch().name == "i386"


def test_seccomp_export_bpf_example(tmp_path: os.PathLike[str]) -> None:
    # seccomp_export_bpf(3): the filter written to a file
    f = SyscallFilter(KILL)
    f.add_rule(ALLOW, "read")
    path = os.path.join(tmp_path, "seccomp_filter.bpf")
    with open(path, "wb") as stream:
        f.export_bpf(stream)
    with open(path, "rb") as stream:
        data = stream.read()
    assert data == f.export_bpf_mem() == f.program().to_bytes()
    with tempfile.TemporaryFile("w+") as text:
        f.export_pfc(text)
        text.seek(0)
        listing = text.read()
    assert 'filter for syscall "read"' in listing and "action KILL;" in listing
    with pytest.raises(io.UnsupportedOperation):
        f.export_bpf(io.BytesIO())  # as in the binding: a file with a descriptor


def test_seccomp_syscall_priority_example() -> None:
    # seccomp_syscall_priority(3): read is hot
    f = SyscallFilter(KILL)
    f.add_rule(ALLOW, "read")
    f.add_rule(ALLOW, "write")
    f.syscall_priority("read", 200)
    assert decide(f, native_arch().name, "read") == ALLOW
    with pytest.raises(ValueError, match="between 0 and 255"):
        f.syscall_priority("read", 256)


def test_seccomp_api_get_example(api_level: int) -> None:
    # seccomp_api_get(3): the level the running kernel supports (this one runs every action)
    assert 1 <= api_level <= 7
    set_api(2)
    assert get_api() == 2
    with pytest.raises(ValueError, match="Invalid level"):
        set_api(0)


@x86_64_only
def test_seccomp_syscall_resolve_name_example() -> None:
    # seccomp_syscall_resolve_name(3)
    f = SyscallFilter(KILL)
    f.add_rule(ALLOW, resolve_syscall(Arch(), "open"))  # type: ignore[arg-type]
    assert decide(f, "x86_64", "open") == ALLOW


def test_seccomp_transaction_start_example() -> None:
    # seccomp_transaction_start(3): commit what worked, reject what did not
    f = SyscallFilter(KILL)
    f.start_transaction()
    for name in ("close", "exit_group", "exit"):
        f.add_rule(ALLOW, name)
    f.commit_transaction()
    f.start_transaction()
    f.add_rule(ALLOW, "read")
    with pytest.raises(LibseccompError):
        f.add_rule(KILL, "write")  # the default action: -EACCES
    f.reject_transaction()
    native = native_arch().name
    assert decide(f, native, "close") == ALLOW
    assert decide(f, native, "read") == KILL


@pytest.mark.kernel
def test_seccomp_load_and_precompute_examples() -> None:
    # seccomp_load(3) and seccomp_precompute(3): precompute, then load; the filter decides
    def child() -> tuple[int, int]:
        f = SyscallFilter(ALLOW)
        f.add_rule(ERRNO(errno.EXDEV), "mkdirat")
        if "mkdir" in native_arch().syscalls:
            f.add_rule(ERRNO(errno.EXDEV), "mkdir")
        f.precompute()
        f.load()
        try:
            os.mkdir("/nonexistent-dir/x")
        except OSError as error:
            return error.errno or 0, os.getpid()
        return 0, os.getpid()

    code, pid = run_in_child(child)
    assert code == errno.EXDEV and pid > 0


@pytest.mark.kernel
def test_user_notification() -> None:
    # seccomp_notify_alloc(3), as libseccomp's 51-live-user_notification.py: a filter that
    # notifies on getppid, a child that calls it, a parent that answers
    def child() -> tuple[int, int, bool]:
        f = SyscallFilter(ALLOW)
        f.add_rule(NOTIFY, "getppid")
        f.load()
        fd = f.get_notify_fd()
        pid = os.fork()
        if pid == 0:
            os._exit(0 if os.getppid() == 4242 else 1)
        notify = f.receive_notify()
        matches = notify.syscall == resolve_syscall(Arch(), "getppid") and notify.pid == pid
        f.respond_notify(NotificationResponse(notify, val=4242, error=0, flags=0))
        _, status = os.waitpid(pid, 0)
        return fd, os.waitstatus_to_exitcode(status), matches

    fd, status, matches = run_in_child(child)
    assert fd >= 0 and status == 0 and matches


# --- architectures -------------------------------------------------------------------------------


def test_arch_tokens_are_libseccomps() -> None:
    assert Arch.X86_64 == 0xC000003E and Arch.X86 == 0x40000003
    assert Arch.X32 == 0x4000003E  # EM_X86_64 | __AUDIT_ARCH_LE, not AUDIT_ARCH_X86_64
    assert Arch.SH == 0x4000002A and Arch.SHEB == 0x2A  # SH is little-endian SuperH
    named = {
        "X86": "i386", "X86_64": "x86_64", "ARM": "arm", "AARCH64": "aarch64",
        "LOONGARCH64": "loongarch64", "M68K": "m68k", "MIPS": "mips", "MIPS64": "mips64",
        "MIPS64N32": "mips64n32", "MIPSEL": "mipsel", "MIPSEL64": "mipsel64",
        "MIPSEL64N32": "mipsel64n32", "PARISC": "parisc", "PARISC64": "parisc64",
        "PPC": "ppc", "PPC64": "ppc64", "PPC64LE": "ppc64le", "S390": "s390",
        "S390X": "s390x", "RISCV64": "riscv64", "SHEB": "sheb", "SH": "sh",
    }  # fmt: skip
    for attribute, name in named.items():
        assert getattr(Arch, attribute) == get_arch(name).audit_arch, attribute
    assert {a.name for a in all_arches() if a.libseccomp_name} == {*named.values(), "x32"}


@pytest.mark.skipif(LIB is None, reason="libseccomp.so.2 is not installed")
def test_arch_tokens_match_the_real_libseccomp() -> None:
    assert LIB is not None
    for name in ("x86", "x86_64", "x32", "arm", "aarch64", "mips", "mipsel64n32", "ppc64le",
                 "s390x", "parisc64", "riscv64"):  # fmt: skip
        assert int(Arch(name)) == LIB.arch_token(name), name


def test_arch_objects() -> None:
    assert int(Arch()) == system_arch() == int(Arch(Arch.NATIVE))
    assert int(Arch("x86")) == Arch.X86 == int(Arch(Arch.X86))
    assert Arch("x86") == Arch.X86
    assert int(Arch(-1073741762)) == Arch.X86_64  # the binding's negative C int
    with pytest.raises(ValueError, match="Invalid architecture"):
        Arch("vax")
    with pytest.raises(ValueError, match="Invalid architecture"):
        Arch(12345)
    with pytest.raises(ValueError, match="Invalid architecture"):
        Arch("alpha")  # a Linux ABI libseccomp does not have
    with pytest.raises(TypeError):
        Arch(1.5)  # type: ignore[arg-type]


def _another_arch(byteorder: str = native_arch().byteorder) -> int:
    """A token of an architecture other than the native one, of the given byte order."""
    for token in (Arch.X32, Arch.X86, Arch.MIPSEL, Arch.S390, Arch.PPC, Arch.MIPS):
        info = seccomp_arch(token)
        if info.byteorder == byteorder and info.name != native_arch().name:
            return token
    raise AssertionError("no other architecture")


def seccomp_arch(token: int) -> ArchInfo:
    return next(a for a in all_arches() if a.libseccomp_name and int(Arch(a.name)) == token)


def test_add_remove_exist_arch() -> None:
    f = SyscallFilter(KILL)
    other = _another_arch()
    opposite = _another_arch("big" if native_arch().byteorder == "little" else "little")
    assert f.exist_arch(Arch.NATIVE) and f.exist_arch(system_arch())
    assert not f.exist_arch(other)
    f.add_arch(other)
    assert f.exist_arch(other)
    with library_error(errno.EEXIST):
        f.add_arch(other)
    with library_error(errno.EDOM):
        f.add_arch(opposite)  # another byte order
    f.remove_arch(other)
    with library_error(errno.EEXIST):
        f.remove_arch(other)
    with pytest.raises(ValueError, match="Invalid architecture"):
        f.exist_arch(12345)
    f.remove_arch(Arch.NATIVE)
    with library_error(errno.EINVAL):
        f.add_rule(ALLOW, "read")  # no architecture left


def test_rules_added_before_an_architecture_stay_off_it() -> None:
    # seccomp_arch_add(3): "the existing rules will not be added to the new architecture"
    f = SyscallFilter(KILL)
    f.remove_arch(Arch.NATIVE)
    f.add_arch(Arch.X86_64)
    f.add_rule(ALLOW, "read")
    f.add_arch(Arch.X86)
    f.add_rule(ALLOW, "write")
    assert decide(f, "x86_64", "read") == ALLOW
    assert decide(f, "i386", "read") == KILL
    assert decide(f, "i386", "write") == decide(f, "x86_64", "write") == ALLOW
    assert len(f.policies()) == 2


# --- attributes ----------------------------------------------------------------------------------


def test_attribute_defaults_and_values() -> None:
    f = SyscallFilter(ERRNO(1))
    assert f.get_attr(Attr.ACT_DEFAULT) == ERRNO(1)
    assert f.get_attr(Attr.ACT_BADARCH) == KILL
    assert f.get_attr(Attr.CTL_NNP) == 1
    assert f.get_attr(Attr.CTL_OPTIMIZE) == 1
    for attr in (Attr.CTL_TSYNC, Attr.API_TSKIP, Attr.CTL_LOG, Attr.CTL_SSB, Attr.API_SYSRAWRC):
        assert f.get_attr(attr) == 0
        f.set_attr(attr, 5)
        assert f.get_attr(attr) == 1  # flags read back as 0 or 1
    f.set_attr(Attr.CTL_OPTIMIZE, 2)
    assert f.get_attr(Attr.CTL_OPTIMIZE) == 2


@x86_64_only
def test_the_optimization_level_is_a_hint_that_leaves_sets_searched_balanced() -> None:
    # SCMP_FLTATR_CTL_OPTIMIZE chooses how libseccomp finds the call (1: by priority, 2: a
    # tree of numbers). The call is always found by a tree here, and a set of values by the
    # balanced search at either level: the same program, its worst path logarithmic.
    f = SyscallFilter(ERRNO(1))
    values = [0x1000 + 0x9E37 * 2 * i for i in range(100)]
    for value in values:
        f.add_rule(ALLOW, "ioctl", Arg(1, EQ, value))
    programs = []
    for level in (2, 1):
        f.set_attr(Attr.CTL_OPTIMIZE, level)
        programs.append(f.export_bpf_mem())
    assert programs[0] == programs[1]
    assert longest_path(Program.from_bytes(programs[0])) <= 2 * 7 + 12  # 2 ceil(log2 100) + 12
    assert decide(f, "x86_64", "ioctl", 0, values[50]) == ALLOW
    assert decide(f, "x86_64", "ioctl", 0, values[50] + 1) == ERRNO(1)


def test_attribute_errors(api_level: int) -> None:
    f = SyscallFilter(ERRNO(1))
    with library_error(errno.EACCES):
        f.set_attr(Attr.ACT_DEFAULT, ALLOW)  # read-only
    with pytest.raises(ValueError, match="Invalid attribute"):
        f.set_attr(Attr.ACT_BADARCH, TRAP | 1)  # not an action
    with pytest.raises(ValueError, match="Invalid attribute"):
        f.get_attr(99)
    with library_error(errno.EOPNOTSUPP):
        f.set_attr(Attr.CTL_OPTIMIZE, 3)
    set_api(2)
    with library_error(errno.EOPNOTSUPP):
        f.set_attr(Attr.CTL_LOG, 1)  # needs API level 3
    assert api_level >= 3


# --- rules ---------------------------------------------------------------------------------------


def test_rule_errors_follow_seccomp_rule_add() -> None:
    f = SyscallFilter(ERRNO(1))
    with library_error(errno.EACCES):
        f.add_rule(ERRNO(1), "read")  # the default action
    with library_error(errno.EINVAL):
        f.add_rule(ALLOW, "read", Arg(0, EQ, 1), Arg(0, EQ, 2))  # an argument twice
    with library_error(errno.EINVAL):
        f.add_rule(ALLOW, "read", Arg(6, EQ, 1))
    with library_error(errno.EINVAL):
        f.add_rule(ALLOW, "read", Arg(0, 99, 1))
    with library_error(errno.EINVAL):
        f.add_rule(ALLOW, "not_a_syscall")
    with library_error(errno.EINVAL):
        f.add_rule(ERRNO(4095), "read")  # errnos below MAX_ERRNO
    with library_error(errno.EINVAL):
        f.add_rule(TRAP | 1, "read")  # TRAP carries no data
    with library_error(errno.EINVAL):
        f.add_rule(ALLOW, -5)
    with library_error(errno.EINVAL):
        f.add_rule(ALLOW, -1)  # needs Attr.API_TSKIP
    with pytest.raises(RuntimeError, match="Maximum number of arguments exceeded"):
        f.add_rule(ALLOW, "read", *[Arg(i % 6, EQ, 1) for i in range(7)])
    with pytest.raises(TypeError, match="Syscall must either be an int or str type"):
        f.add_rule(ALLOW, 3.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        f.add_rule(ALLOW, "read", 5)  # type: ignore[arg-type]
    f.add_rule(ALLOW, "read", Arg(0, EQ, 1))
    with library_error(errno.EEXIST):
        f.add_rule(LOG, "read", Arg(0, EQ, 1))  # the same rule with another action
    f.add_rule(ALLOW, "read", Arg(0, EQ, 1))  # the same rule again: nothing to do


def test_arguments_convert_as_the_binding() -> None:
    with pytest.raises(OverflowError):
        Arg(0, EQ, -1)
    with pytest.raises(OverflowError):
        Arg(0, EQ, 2**64)
    with pytest.raises(OverflowError):
        Arg(-1, EQ, 0)
    with pytest.raises(TypeError):
        Arg(0, EQ, "1")  # type: ignore[arg-type]
    arg = Arg(2, MASKED_EQ, 0xF0, 0x31)
    assert (arg.arg, arg.op, arg.datum_a, arg.datum_b) == (2, MASKED_EQ, 0xF0, 0x31)


def test_comparisons() -> None:
    native = native_arch().name
    f = SyscallFilter(ERRNO(1))
    f.add_rule(ALLOW, "read", Arg(0, NE, 5))
    f.add_rule(ALLOW, "write", Arg(1, LT, 2**40))
    f.add_rule(ALLOW, "close", Arg(0, GE, 2**63))
    f.add_rule(ALLOW, "lseek", Arg(2, GT, 1))
    # MASKED_EQ: (arg & datum_a) == (datum_b & datum_a), the mask first as in C
    f.add_rule(ALLOW, "mmap", Arg(3, MASKED_EQ, 0xF0, 0x31))
    assert decide(f, native, "read", 4) == ALLOW and decide(f, native, "read", 5) == ERRNO(1)
    assert decide(f, native, "write", 0, 2**40 - 1) == ALLOW
    assert decide(f, native, "write", 0, 2**40) == ERRNO(1)
    assert decide(f, native, "close", 2**63) == ALLOW and decide(f, native, "close", 1) == ERRNO(1)
    assert decide(f, native, "lseek", 0, 0, 2) == ALLOW
    assert decide(f, native, "lseek", 0, 0, 1) == ERRNO(1)
    assert decide(f, native, "mmap", 0, 0, 0, 0x3F) == ALLOW
    assert decide(f, native, "mmap", 0, 0, 0, 0x4F) == ERRNO(1)


def test_a_rule_without_comparisons_drops_the_others() -> None:
    # seccomp_rule_add(3): "the first, more specific rule, is effectively dropped from the
    # filter by the second more generic rule"; and the first such rule stays
    native = native_arch().name
    f = SyscallFilter(ERRNO(1))
    f.add_rule(LOG, "read", Arg(0, EQ, 0))
    f.add_rule(ALLOW, "read")
    f.add_rule(TRAP, "read")  # accepted and ignored, as libseccomp does
    assert decide(f, native, "read", 0) == ALLOW
    assert decide(f, native, "read", 1) == ALLOW
    f.add_rule(ALLOW, "write", Arg(0, MASKED_EQ, 0, 5))  # (a & 0) == 0 tests nothing
    f.add_rule(LOG, "write")
    assert decide(f, native, "write", 7) == ALLOW


def test_union_and_the_more_specific_rule() -> None:
    native = native_arch().name
    f = SyscallFilter(KILL)
    f.add_rule(ALLOW, "write", Arg(0, EQ, 1))
    f.add_rule(ALLOW, "write", Arg(0, EQ, 2))  # a union
    f.add_rule(ALLOW, "mmap", Arg(2, GT, 3))
    f.add_rule(ERRNO(5), "mmap", Arg(2, GT, 5))  # inside the first: tried first
    f.add_rule(KILL_PROCESS, "ioctl", Arg(1, NE, 1))
    f.add_rule(ALLOW, "ioctl", Arg(1, EQ, 2))  # a hole in a broader rule
    assert [decide(f, native, "write", fd) for fd in (1, 2, 3)] == [ALLOW, ALLOW, KILL]
    assert [decide(f, native, "mmap", 0, 0, v) for v in (3, 4, 6)] == [KILL, ALLOW, ERRNO(5)]
    assert [decide(f, native, "ioctl", 0, v) for v in (1, 2, 3)] == [KILL, ALLOW, KILL_PROCESS]


def test_socket_on_x86_is_rewritten_onto_socketcall() -> None:
    f = SyscallFilter(ERRNO(1))
    f.remove_arch(Arch.NATIVE)
    f.add_arch(Arch.X86)
    f.add_rule(ALLOW, "socket", Arg(0, EQ, 1))
    f.add_rule(ALLOW, "semget")
    socketcall, ipc = I386.syscalls["socketcall"], I386.syscalls["ipc"]
    assert decide(f, "i386", "socket", 1) == ALLOW
    assert decide(f, "i386", "socket", 2) == ERRNO(1)
    # on socketcall the call number decides: SYS_SOCKET = 1 (<linux/net.h>)
    assert decide(f, "i386", socketcall, 1, 0xDEAD) == ALLOW
    assert decide(f, "i386", socketcall, 2) == ERRNO(1)
    # on ipc the low 16 bits of the first argument are the call (SEMGET = 2, <linux/ipc.h>)
    assert decide(f, "i386", ipc, 2) == ALLOW
    assert decide(f, "i386", ipc, (1 << 16) | 2) == ALLOW
    assert decide(f, "i386", ipc, 3) == ERRNO(1)
    with library_error(errno.EINVAL):
        # x86 also receives bind through socketcall, where the comparison cannot follow
        f.add_rule_exactly(ALLOW, "bind", Arg(0, EQ, 3))
    with library_error(errno.EOPNOTSUPP):
        f.add_rule_exactly(ALLOW, "kexec_file_load")  # x86 does not have it
    f.add_rule(ALLOW, "kexec_file_load")  # no error: no rule on x86
    f.add_rule_exactly(ALLOW, "read")
    assert decide(f, "i386", "read") == ALLOW


@x86_64_only
def test_numbers_are_read_in_the_native_table() -> None:
    f = SyscallFilter(ERRNO(1))
    f.add_arch(Arch.X86)
    f.add_rule(ALLOW, 59)  # execve on x86-64; 11 on x86
    assert decide(f, "x86_64", 59) == ALLOW and decide(f, "i386", 11) == ALLOW
    assert decide(f, "i386", 59) == ERRNO(1)
    with library_error(errno.EFAULT):
        f.add_rule(ALLOW, 100000)  # no name: no equivalent on x86
    with library_error(errno.EOPNOTSUPP):
        f.add_rule_exactly(ALLOW, 100001)
    native_only = SyscallFilter(ERRNO(1))
    native_only.add_rule(ALLOW, 100000)
    assert decide(native_only, "x86_64", 100000) == ALLOW
    # a name the filter's architectures lack is no error and changes nothing
    native_only.add_rule(ALLOW, "socketcall")
    pseudo = resolve_syscall(Arch.X86_64, "socketcall")
    assert isinstance(pseudo, int) and pseudo < -1


def test_trace_skip_rule(api_level: int) -> None:
    del api_level
    f = SyscallFilter(ERRNO(1))
    f.remove_arch(Arch.NATIVE)
    f.add_arch(Arch.AARCH64)
    f.set_attr(Attr.API_TSKIP, 1)
    f.add_rule(ALLOW, -1)
    assert decide(f, "aarch64", 0xFFFFFFFF) == ALLOW


def test_api_level_limits_actions(api_level: int) -> None:
    del api_level
    set_api(2)
    with pytest.raises(RuntimeError, match="Library error"):
        SyscallFilter(LOG)
    f = SyscallFilter(ERRNO(1))
    with library_error(errno.EINVAL):
        f.add_rule(KILL_PROCESS, "read")
    set_api(4)
    with library_error(errno.EINVAL):
        f.add_rule(NOTIFY, "read")
    set_api(5)
    f.set_attr(Attr.CTL_TSYNC, 1)
    with library_error(errno.EINVAL):
        f.add_rule(NOTIFY, "read")  # TSYNC with NOTIFY needs level 6
    set_api(6)
    f.add_rule(NOTIFY, "read")


# --- filters as a whole --------------------------------------------------------------------------


def test_reset_keeps_the_first_default() -> None:
    f = SyscallFilter(KILL)
    f.add_rule(ALLOW, "read")
    other = _another_arch()
    f.add_arch(other)
    f.set_attr(Attr.CTL_NNP, 0)
    f.reset(ALLOW)
    assert f.get_attr(Attr.ACT_DEFAULT) == ALLOW and f.get_attr(Attr.CTL_NNP) == 1
    assert not f.exist_arch(other)
    assert decide(f, native_arch().name, "read") == ALLOW
    f.reset()
    assert f.get_attr(Attr.ACT_DEFAULT) == KILL  # the action the filter was created with
    with pytest.raises(ValueError, match="Invalid action"):
        f.reset(0x12345)
    with pytest.raises(RuntimeError, match=r"^Library error"):
        SyscallFilter(0x12345)


def test_merge_errors() -> None:
    a, b = SyscallFilter(KILL), SyscallFilter(KILL)
    with library_error(errno.EEXIST):
        a.merge(b)  # both have the native architecture
    b.remove_arch(Arch.NATIVE)
    b.add_arch(_another_arch())
    b.set_attr(Attr.CTL_NNP, 0)
    with library_error(errno.EINVAL):
        a.merge(b)  # attributes differ
    opposite = _another_arch("big" if native_arch().byteorder == "little" else "little")
    c = SyscallFilter(ALLOW)
    c.remove_arch(Arch.NATIVE)
    c.add_arch(opposite)
    with library_error(errno.EINVAL):
        a.merge(c)  # default actions differ
    d = SyscallFilter(KILL)
    d.remove_arch(Arch.NATIVE)
    d.add_arch(opposite)
    with library_error(errno.EDOM):
        a.merge(d)  # byte orders differ


def test_nested_transactions() -> None:
    native = native_arch().name
    f = SyscallFilter(KILL)
    f.start_transaction()
    f.add_rule(ALLOW, "read")
    f.start_transaction()
    f.add_rule(ALLOW, "write")
    f.commit_transaction()  # still subject to the outer transaction
    f.reject_transaction()
    assert decide(f, native, "read") == KILL and decide(f, native, "write") == KILL
    with library_error(errno.EINVAL):
        f.commit_transaction()
    f.reject_transaction()  # nothing to reject: nothing happens


def test_policies_are_the_models_view() -> None:
    f = SyscallFilter(ERRNO(1))
    f.add_rule(ALLOW, "read", Arg(0, EQ, 0))
    (policy,) = f.policies()
    arch = native_arch()
    read = arch.syscalls["read"]
    assert policy.evaluate(arch, read, (0,)) == policy.default_action.__class__.from_ret(ALLOW)
    assert policy.evaluate(arch, read, (1,)).ret_value == ERRNO(1)


def test_export_pfc_lists_rules_in_the_order_they_are_tried() -> None:
    f = SyscallFilter(KILL)
    f.add_rule(ALLOW, "mmap", Arg(2, GT, 3))
    f.add_rule(ERRNO(5), "mmap", Arg(2, GT, 5))
    text = f.pfc()
    assert text.index("arg2 > 0x5") < text.index("arg2 > 0x3")
    assert "action ERRNO(5);" in text and "# invalid architecture action" in text


# --- module functions and notifications ----------------------------------------------------------


def test_resolve_syscall() -> None:
    assert resolve_syscall(Arch.X86_64, "read") == 0
    assert resolve_syscall(Arch.X86_64, 0) == b"read"
    assert resolve_syscall(Arch.X32, "read") == 0x40000000
    # multiplexed calls resolve to the multiplexer, as seccomp_syscall_resolve_name_rewrite()
    assert resolve_syscall(Arch.X86, "socket") == I386.syscalls["socketcall"]
    assert resolve_syscall(Arch.X86, "semop") == I386.syscalls["ipc"]
    assert resolve_syscall(Arch.X86_64, "no_such_call") == -1
    with pytest.raises(ValueError, match="Unknown syscall 99999"):
        resolve_syscall(Arch.X86_64, 99999)
    with pytest.raises(TypeError):
        resolve_syscall(Arch.X86_64, 1.0)  # type: ignore[arg-type]


def test_actions() -> None:
    assert (KILL_PROCESS, KILL, TRAP, LOG, ALLOW, NOTIFY) == (
        0x80000000, 0, 0x30000, 0x7FFC0000, 0x7FFF0000, 0x7FC00000,
    )  # fmt: skip
    assert ERRNO(5) == 0x50005 and TRACE(7) == 0x7FF00007
    assert ERRNO(-1) == 0x5FFFF  # the binding masks, libseccomp then refuses it


def test_notification_objects() -> None:
    notify = Notification(7, 100, 0, 39, Arch.X86_64, 0x401000, [1, 2, 3, 4, 5, 6])
    assert (notify.id, notify.pid, notify.flags, notify.syscall) == (7, 100, 0, 39)
    assert notify.syscall_arch == Arch.X86_64 and notify.syscall_ip == 0x401000
    assert notify.syscall_args == [1, 2, 3, 4, 5, 6]
    response = NotificationResponse(notify, 5, 0, 0)
    assert (response.id, response.val, response.error, response.flags) == (7, 5, 0, 0)
    response.val = 9
    assert response.val == 9
    with pytest.raises(TypeError):
        NotificationResponse(5)  # type: ignore[arg-type]
    f = SyscallFilter(ALLOW)
    with pytest.raises(RuntimeError, match="Notifications not enabled/active"):
        f.get_notify_fd()
    with pytest.raises(RuntimeError, match="Notifications not enabled/active"):
        f.receive_notify()


def test_errors_are_the_binding_types() -> None:
    assert issubclass(LibseccompError, RuntimeError)
    assert issubclass(LibseccompValueError, ValueError)
    try:
        SyscallFilter(KILL).add_rule(KILL, "read")
    except LibseccompError as error:
        assert error.errno == errno.EACCES and error.rc == -errno.EACCES
        assert "default action" in str(error)


def test_everything_the_binding_exports_is_here() -> None:
    names = {
        "KILL_PROCESS", "KILL", "TRAP", "LOG", "ALLOW", "NOTIFY", "ERRNO", "TRACE",
        "NE", "LT", "LE", "EQ", "GE", "GT", "MASKED_EQ", "system_arch", "resolve_syscall",
        "get_api", "set_api", "Arch", "Attr", "Arg", "Notification", "NotificationResponse",
        "SyscallFilter",
    }  # fmt: skip
    assert names <= set(seccomp.__all__)
    methods = {
        "reset", "merge", "exist_arch", "add_arch", "remove_arch", "load", "get_attr",
        "set_attr", "syscall_priority", "add_rule", "add_rule_exactly", "receive_notify",
        "respond_notify", "get_notify_fd", "export_pfc", "export_bpf", "export_bpf_mem",
        "precompute", "start_transaction", "reject_transaction", "commit_transaction",
    }  # fmt: skip
    assert all(callable(getattr(SyscallFilter, m)) for m in methods)
    assert {a for a in vars(Attr) if a.isupper()} == {
        "ACT_DEFAULT", "ACT_BADARCH", "CTL_NNP", "CTL_TSYNC", "API_TSKIP", "CTL_LOG",
        "CTL_SSB", "CTL_OPTIMIZE", "API_SYSRAWRC", "CTL_WAITKILL",
    }  # fmt: skip
