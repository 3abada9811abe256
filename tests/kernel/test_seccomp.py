"""``install``, ``set_mode_filter`` and the probes, against the running kernel.

Every filter is loaded in a forked child (``forked.py``); the children report plain data.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
from pathlib import Path

import pytest

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.emulator import SeccompAction
from seccomp_bpf.bpf.instruction import Instruction
from seccomp_bpf.errors import InvalidProgramError, KernelError, TsyncError
from seccomp_bpf.kernel import (
    FilterFlag,
    action_available,
    available_actions,
    filter_count,
    get_no_new_privs,
    install,
    notif_sizes,
    seccomp_mode,
    seccomp_syscall_number,
    set_mode_filter,
    set_no_new_privs,
)
from seccomp_bpf.kernel import seccomp as seccomp_module
from seccomp_bpf.kernel.libc import syscall
from tests.kernel.forked import run_in_child
from tests.kernel.programs import allow_all, errno_for

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]

UNASSIGNED_NR = 1000  # no architecture has a system call 1000


def _errno_seen_by_thread_started_before(tsync: bool) -> int:
    started, go = threading.Event(), threading.Event()
    seen: list[int] = []

    def worker() -> None:
        started.set()
        go.wait()
        seen.append(syscall(UNASSIGNED_NR).errno)

    thread = threading.Thread(target=worker)
    thread.start()
    started.wait()
    install(errno_for(UNASSIGNED_NR, 42), tsync=tsync)
    go.set()
    thread.join()
    return seen[0]


def test_tsync_covers_threads_started_before_install() -> None:
    assert run_in_child(_errno_seen_by_thread_started_before, True) == 42


def test_without_tsync_an_older_thread_is_not_covered() -> None:
    assert run_in_child(_errno_seen_by_thread_started_before, False) == errno.ENOSYS


def _install_as_nobody(no_new_privs: bool) -> tuple[int | None, str, str] | None:
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)  # nobody; drops CAP_SYS_ADMIN with every other capability
    try:
        install(errno_for(UNASSIGNED_NR, 7), no_new_privs=no_new_privs)
    except KernelError as error:
        return error.errno, error.call, str(error)
    return None


@pytest.fixture
def unprivileged_possible() -> None:
    if get_no_new_privs():
        pytest.skip("the test process already has no_new_privs")
    if os.geteuid() != 0:
        pytest.skip("needs root, to become an unprivileged user in the child")


@pytest.mark.usefixtures("unprivileged_possible")
def test_unprivileged_install_without_no_new_privs_is_eacces() -> None:
    result = run_in_child(_install_as_nobody, False)
    assert result is not None
    code, call, message = result
    assert code == errno.EACCES
    assert call == "seccomp(SECCOMP_SET_MODE_FILTER, TSYNC)"
    assert "the caller needs NO_NEW_PRIVS or CAP_SYS_ADMIN in its user namespace" in message


@pytest.mark.usefixtures("unprivileged_possible")
def test_unprivileged_install_with_no_new_privs_works() -> None:
    assert run_in_child(_install_as_nobody, True) is None


def _install_too_long_under_a_seccomp_trap() -> tuple[str, str]:
    # Make seccomp(2) itself fail with ENOTRECOVERABLE: a program refused before the call
    # raises InvalidProgramError; one that reaches the kernel gets that errno.
    number = seccomp_syscall_number()
    assert number is not None
    set_no_new_privs()
    set_mode_filter(errno_for(number, errno.ENOTRECOVERABLE))
    results = []
    ret_allow = Instruction(op.BPF_RET | op.BPF_K, k=op.SECCOMP_RET_ALLOW)
    for program in ([ret_allow] * 4097, [ret_allow]):
        try:
            install(program)
            results.append("installed")
        except InvalidProgramError as error:
            results.append(f"invalid: {error}")
        except KernelError as error:
            results.append(f"errno {error.errno}")
    return results[0], results[1]


def test_4097_instructions_are_refused_before_any_system_call() -> None:
    too_long, control = run_in_child(_install_too_long_under_a_seccomp_trap)
    assert (
        too_long
        == "invalid: 4097 instructions is more than the kernel's limit of 4096 (BPF_MAXINSNS)"
    )
    assert control == f"errno {errno.ENOTRECOVERABLE}"


def _install_against_a_thread_with_its_own_filter(
    esrch: bool,
) -> tuple[str, int | None, int, str, int | None, int | None]:
    filtered, finish = threading.Event(), threading.Event()
    tids: list[int] = []

    def worker() -> None:
        install(allow_all(), tsync=False)  # this thread only
        tids.append(threading.get_native_id())
        filtered.set()
        finish.wait()

    thread = threading.Thread(target=worker)
    thread.start()
    filtered.wait()
    before = filter_count()
    number: int | None
    try:
        install(allow_all(), tsync=True, tsync_esrch=esrch)
        outcome, number, message = "installed", 0, ""
    except TsyncError as error:
        outcome, number, message = "tsync", error.thread_id, str(error)
    except KernelError as error:
        outcome, number, message = "kernel", error.errno, str(error)
    finally:
        finish.set()
        thread.join()
    return outcome, number, tids[0], message, before, filter_count()


def test_tsync_failure_names_the_thread() -> None:
    outcome, thread_id, tid, message, before, after = run_in_child(
        _install_against_a_thread_with_its_own_filter, False
    )
    assert (outcome, thread_id) == ("tsync", tid)
    assert f"thread {tid}" in message
    assert before == after  # nothing was installed


def test_tsync_esrch_failure_is_esrch() -> None:
    outcome, code, _, message, before, after = run_in_child(
        _install_against_a_thread_with_its_own_filter, True
    )
    assert (outcome, code) == ("kernel", errno.ESRCH)
    assert "TSYNC|TSYNC_ESRCH" in message
    assert before == after


def _listeners() -> tuple[int | None, str, int | None, str]:
    fd = install(allow_all(), new_listener=True)  # with tsync: TSYNC_ESRCH is added
    assert fd is not None
    target = os.readlink(f"/proc/self/fd/{fd}")
    try:
        install(allow_all(), new_listener=True)
    except KernelError as error:
        return fd, target, error.errno, str(error)
    return fd, target, 0, ""


def test_new_listener_returns_a_notification_fd_once() -> None:
    fd, target, code, message = run_in_child(_listeners)
    assert fd is not None and fd >= 0
    assert target == "anon_inode:seccomp notify"
    assert code == errno.EBUSY
    assert "listener" in message


def _refusals() -> dict[str, tuple[int | None, str]]:
    set_no_new_privs()
    valid = allow_all()
    cases = {
        "unknown flag": (valid.to_bytes(), 1 << 20),
        "listener with tsync": (valid.to_bytes(), FilterFlag.TSYNC | FilterFlag.NEW_LISTENER),
        "killable wait alone": (valid.to_bytes(), FilterFlag.WAIT_KILLABLE_RECV),
        "bad program": (_load_h_abs_then_ret(), 0),
        "empty program": (b"", FilterFlag.TSYNC),
    }
    results: dict[str, tuple[int | None, str]] = {}
    for name, (program, flags) in cases.items():
        try:
            set_mode_filter(program, flags)
            results[name] = (0, "installed")
        except KernelError as error:
            results[name] = (error.errno, str(error))
    return results


def _load_h_abs_then_ret() -> bytes:
    return (
        Instruction(op.BPF_LD | op.BPF_W | op.BPF_ABS).to_bytes()
        + Instruction(op.BPF_LD | op.BPF_H | op.BPF_ABS).to_bytes()
        + Instruction(op.BPF_RET | op.BPF_K, k=op.SECCOMP_RET_ALLOW).to_bytes()
    )


def test_einval_says_which_flag_or_which_instruction() -> None:
    results = run_in_child(_refusals)
    assert all(code == errno.EINVAL for code, _ in results.values()), results
    assert "seccomp(SECCOMP_SET_MODE_FILTER, 0x100000)" in results["unknown flag"][1]
    assert "unknown flags 0x100000" in results["unknown flag"][1]
    assert "NEW_LISTENER with TSYNC needs TSYNC_ESRCH" in results["listener with tsync"][1]
    assert "WAIT_KILLABLE_RECV needs NEW_LISTENER" in results["killable wait alone"][1]
    assert (
        "the kernel refused the program: instruction 1: opcode 0x0028 is not allowed"
        in results["bad program"][1]
    )
    assert "a program needs at least one instruction" in results["empty program"][1]


def _stack_until_full() -> tuple[int, int | None, str]:
    set_no_new_privs()
    loaded = 0
    while True:
        try:
            set_mode_filter(allow_all(op.BPF_MAXINSNS))
        except KernelError as error:
            return loaded, error.errno, str(error)
        loaded += 1


def test_too_many_instructions_in_all_is_enomem() -> None:
    loaded, code, message = run_in_child(_stack_until_full)
    # MAX_INSNS_PER_PATH (32768) with 4 more per installed filter: 4096 + 7 * 4100 > 32768,
    # 4096 + 6 * 4100 fits, so seven filters of 4096 load and the eighth is refused.
    assert loaded == 7
    assert code == errno.ENOMEM
    assert "MAX_INSNS_PER_PATH" in message


def _partial_instruction() -> str:
    try:
        set_mode_filter(b"\x06\x00\x00\x00\x00\x00\xff")
    except InvalidProgramError as error:
        return str(error)
    return "installed"


def test_a_partial_instruction_is_refused_before_the_call() -> None:
    assert (
        run_in_child(_partial_instruction) == "7 bytes is not a whole number of 8-byte instructions"
    )


def _modes_and_counts() -> list[tuple[int | None, int | None, bool, int | None]]:
    states: list[tuple[int | None, int | None, bool, int | None]] = [
        (seccomp_mode(), filter_count(), get_no_new_privs(), None)
    ]
    result = install(allow_all(), log=True, spec_allow=True)
    states.append((seccomp_mode(), filter_count(), get_no_new_privs(), result))
    result = install(allow_all(), tsync=False)
    states.append((seccomp_mode(os.getpid()), filter_count(os.getpid()), True, result))
    return states


def test_install_enables_filter_mode_and_no_new_privs() -> None:
    if seccomp_mode() != 0 or get_no_new_privs():
        pytest.skip("the test process is already confined")
    before, first, second = run_in_child(_modes_and_counts)
    assert before[:3] == (0, 0, False)
    assert first == (2, 1, True, None)
    assert second == (2, 2, True, None)


def test_probes_agree_with_proc() -> None:
    path = Path("/proc/sys/kernel/seccomp/actions_avail")
    if not path.exists():
        pytest.skip("no /proc/sys/kernel/seccomp/actions_avail")
    listed = {SeccompAction[name.upper()] for name in path.read_text().split()}
    assert available_actions() == listed
    for action in listed:
        assert action_available(action.value | 5)  # data bits do not matter


def test_unknown_action_is_not_available() -> None:
    assert not action_available(0x00010000)


def test_notif_sizes_are_plausible() -> None:
    sizes = notif_sizes()
    if sizes is None:
        pytest.skip("this kernel has no SECCOMP_GET_NOTIF_SIZES")
    assert sizes.data == op.SECCOMP_DATA_SIZE
    # struct seccomp_notif: id (8), pid (4), flags (4), seccomp_data; the response: id (8),
    # val (8), error (4), flags (4). Later kernels may only grow them.
    assert sizes.notif >= 16 + op.SECCOMP_DATA_SIZE
    assert sizes.notif_resp >= 24


def _probes_when_seccomp_fails() -> tuple[bool, frozenset[SeccompAction], object]:
    number = seccomp_syscall_number()
    assert number is not None
    set_no_new_privs()
    set_mode_filter(errno_for(number, errno.EPERM))
    return action_available(op.SECCOMP_RET_ALLOW), available_actions(), notif_sizes()


def test_probes_answer_no_when_seccomp_fails() -> None:
    assert run_in_child(_probes_when_seccomp_fails) == (False, frozenset(), None)


def test_probes_answer_no_on_an_unknown_abi(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seccomp_module, "seccomp_syscall_number", lambda: None)
    assert not action_available(op.SECCOMP_RET_ALLOW)
    assert available_actions() == frozenset()
    assert notif_sizes() is None
    with pytest.raises(KernelError) as raised:
        set_mode_filter(allow_all())
    assert raised.value.errno == errno.ENOSYS
    assert "the number of seccomp(2) is not known" in str(raised.value)
