"""The ``--report-denials`` supervisor (``run/supervisor.py``).

The kernel tests run the supervisor in a forked child (``run_in_child``, which also bounds
the time), and the supervisor forks the command, a Python interpreter started with ``-I``
(isolated: no current directory on ``sys.path``, so imports do not call ``getcwd``). The
policies deny ``getcwd``, which Python calls only when asked to.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.arch import Arch, get_arch, native_arch
from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.errors import CommandError, KernelError
from seccomp_bpf.formats.yaml_policy import read_yaml_policy
from seccomp_bpf.policy import ERRNO, KILL_PROCESS, USER_NOTIF, Policy, Rule
from seccomp_bpf.run.supervisor import (
    COMPLAINED_KINDS,
    REPORTED_KINDS,
    Denial,
    call_name,
    complaining_policy,
    decided_by,
    notifying_policy,
    run_with_reports,
)
from tests.compiler.strategies import arguments, interesting_numbers, policies
from tests.kernel.forked import run_in_child

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux")

DENY_GETCWD = """\
default_action: allow
syscalls:
  - names: [getcwd]
    action: {action}
"""
GETCWD_LINE = 3  # the line of the rule above


# --- the notifying filter -------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.data(), st.booleans())
def test_the_filter_notifies_exactly_what_the_policy_denies(
    data: st.DataObject, complain: bool
) -> None:
    # Reporting: the failing actions but the kills. Complain mode: every action that would
    # stop a call, kills and a bad architecture included.
    policy = data.draw(policies(arch_choices=(("x86_64",), ("x86_64", "i386", "x32"))))
    kinds = COMPLAINED_KINDS if complain else REPORTED_KINDS
    program = compile_policy(complaining_policy(policy) if complain else notifying_policy(policy))
    arch = get_arch("x86_64")
    for nr in interesting_numbers(policy, arch):
        a = data.draw(arguments(policy))
        args = (a[0], a[1], a[2], a[3], a[4], a[5])
        expected = policy.evaluate(arch, nr, args)
        result = emulate(program, SeccompData(nr, arch.audit_arch, 0, args))
        if expected.kind in kinds:
            assert result.ret == op.SECCOMP_RET_USER_NOTIF, (nr, args, expected)
        else:
            assert result.ret == expected.ret_value, (nr, args, expected)
    other = emulate(program, SeccompData(0, get_arch("aarch64").audit_arch, 0, (0,) * 6))
    bad_arch = policy.bad_arch_action
    notified = bad_arch.kind in kinds
    assert other.ret == (op.SECCOMP_RET_USER_NOTIF if notified else bad_arch.ret_value)


def test_the_notifying_policy_keeps_order_conditions_and_locations(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "default_action: errno(EPERM)\n"
        "unknown_syscall_action: errno(ENOSYS)\n"
        "syscalls:\n"
        "  - names: [read]\n"
        "    action: allow\n"
        "    when: {arg: 0, op: eq, value: 0}\n"
        "  - names: [read]\n"
        "    action: kill_thread\n"
        "  - names: [write]\n"
        "    action: trap\n"
        "  - names: [getcwd]\n"
        "    action: errno(EACCES)\n"
    )
    policy = read_yaml_policy(path)
    notifying = notifying_policy(policy)
    # Kills stay kills (exact, in the kernel); trap stays too.
    assert [rule.action for rule in notifying.rules] == [
        *(rule.action for rule in policy.rules[:3]),
        USER_NOTIF,
    ]
    assert [rule.when for rule in notifying.rules] == [rule.when for rule in policy.rules]
    assert [rule.location for rule in notifying.rules] == [rule.location for rule in policy.rules]
    assert notifying.default_action == USER_NOTIF
    assert notifying.unknown_syscall_action == USER_NOTIF
    assert notifying.bad_arch_action == KILL_PROCESS  # the default, a kill


# --- report lines ---------------------------------------------------------------------------------


def test_call_names() -> None:
    native = native_arch()
    x32, i386 = get_arch("x32"), get_arch("i386")
    getcwd = native.syscall_number("getcwd")
    assert getcwd is not None
    assert call_name(native.audit_arch, getcwd) == "getcwd"
    assert call_name(native.audit_arch, 999_999) == "syscall 999999"
    assert call_name(0x12345678, 5) == "syscall 5 of AUDIT_ARCH 0x12345678"
    if native.name == "x86_64":
        assert call_name(x32.audit_arch, 0x40000000) == "x32 read"
        assert call_name(i386.audit_arch, 11) == "i386 execve"


def test_decided_by_names_the_rule_or_the_policy(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(DENY_GETCWD.format(action="errno(EPERM)"))
    policy = read_yaml_policy(path)
    x86_64 = get_arch("x86_64")
    getcwd = x86_64.syscall_number("getcwd")
    assert getcwd is not None
    rule = policy.decide(x86_64, getcwd)
    assert decided_by(policy, rule, str(path)) == f"rule 1 ({path}:{GETCWD_LINE}:5)"
    denying = Policy(ERRNO(1), (Rule(("getcwd",), KILL_PROCESS),), arches=("x86_64",))
    assert decided_by(denying, denying.decide(x86_64, getcwd), "built-in") == "rule 1 (built-in)"
    assert decided_by(denying, denying.decide(x86_64, 0), "built-in") == "default action (built-in)"
    assert decided_by(denying, denying.decide(x86_64, 0), None) == "default action"
    bad = decided_by(denying, denying.decide(get_arch("aarch64"), 0), None)
    assert bad.startswith("bad architecture")


def test_a_denial_reads_as_one_line() -> None:
    denial = Denial(12, "getcwd", (0x7FFF, 4096, 0, 0, 0, 0), ERRNO(1), "rule 1 (p.yaml:3:5)")
    assert str(denial) == (
        "seccomp-bpf: pid 12: getcwd(0x7fff, 0x1000, 0x0, 0x0, 0x0, 0x0) -> errno(EPERM): "
        "rule 1 (p.yaml:3:5)"
    )
    killed = Denial(12, "mount", (0,) * 6, KILL_PROCESS, "default action", "killed process 12")
    assert str(killed).endswith("-> kill_process: default action; killed process 12")


# --- against the kernel ---------------------------------------------------------------------------


def _supervise(
    policy_text: str,
    code: str,
    tmp_path: Path,
    *,
    timeout: float = 20.0,
    arches: Sequence[Arch] | None = None,
    argv0: str = sys.executable,
    complain: bool = False,
) -> tuple[int, list[str], float, Path]:
    """Run ``python -I -c code`` under the policy, supervised; (status, report lines, seconds,
    the policy's path)."""
    path = tmp_path / "p.yaml"
    path.write_text(policy_text)

    def body() -> tuple[int, list[str], float]:
        os.chdir(tmp_path)  # the command writes in its working directory
        stream = io.StringIO()
        started = time.monotonic()
        status = run_with_reports(
            [argv0, "-I", "-c", code],
            read_yaml_policy(path),
            arches,
            stream=stream,
            executable=sys.executable,
            complain=complain,
        )
        return status, stream.getvalue().splitlines(), time.monotonic() - started

    status, lines, seconds = run_in_child(body, timeout=timeout)
    return status, lines, seconds, path


@pytest.mark.kernel
@linux
def test_one_denied_call_one_report(tmp_path: Path) -> None:
    code = "import os\ntry:\n    os.getcwd()\nexcept PermissionError:\n    raise SystemExit(42)"
    status, lines, _, path = _supervise(DENY_GETCWD.format(action="errno(EPERM)"), code, tmp_path)
    assert status == 42  # the command saw EPERM
    assert len(lines) == 1
    pattern = (
        r"seccomp-bpf: pid \d+ \(2 in the sandbox\): "
        r"getcwd\((0x[0-9a-f]+, ){5}0x[0-9a-f]+\) -> errno\(EPERM\): "
        + re.escape(f"rule 1 ({path}:{GETCWD_LINE}:5)")
    )
    assert re.fullmatch(pattern, lines[0]), lines[0]


@pytest.mark.kernel
@linux
@pytest.mark.parametrize("action", ["errno(EPERM)", "kill_process", "trap", "user_notif"])
def test_complain_mode_lets_the_call_run_and_sums_it_up(tmp_path: Path, action: str) -> None:
    # Enforced, every one of these actions stops getcwd; in complain mode it returns the
    # directory, three times, and the summary counts them with the first call's arguments.
    seen = "[os.getcwd() for _ in range(3)]"
    code = f"import os\nraise SystemExit(0 if {seen} == [{str(tmp_path)!r}] * 3 else 1)"
    status, lines, _, path = _supervise(
        DENY_GETCWD.format(action=action), code, tmp_path, complain=True
    )
    assert status == 0, lines
    where = re.escape(f"rule 1 ({path}:{GETCWD_LINE}:5)")
    shown = re.escape(action)
    call = r"getcwd\((0x[0-9a-f]+, ){5}0x[0-9a-f]+\)"
    assert len(lines) == 3, lines
    assert re.fullmatch(
        rf"seccomp-bpf: pid \d+ \(2 in the sandbox\): {call} -> {shown}: {where}; "
        r"let through \(complain mode\)",
        lines[0],
    ), lines[0]
    assert lines[1] == (
        "seccomp-bpf: complain mode: the policy would have stopped 3 calls (1 distinct), "
        "let through:"
    )
    assert re.fullmatch(rf"seccomp-bpf:   getcwd x3 -> {shown}: {where}; first: pid \d+: {call}",
                        lines[2]), lines[2]  # fmt: skip


@pytest.mark.kernel
@linux
@pytest.mark.skipif(native_arch().name != "x86_64", reason="int 0x80 is x86-64's")
def test_complain_mode_lets_a_call_of_another_abi_run_and_reports_it(tmp_path: Path) -> None:
    # The policy lists x86-64 only: enforced, an i386 call (int 0x80) kills the process.
    code = """\
import os
from seccomp_bpf.kernel.compat import i386_syscall
result = i386_syscall(20)  # getpid on i386
raise SystemExit(0 if result.value == os.getpid() else 1)
"""
    policy = "default_action: allow\narches: [x86_64]\nsyscalls: []\n"
    status, lines, _, _ = _supervise(policy, code, tmp_path, complain=True)
    assert status == 0, lines
    assert lines[-1].startswith("seccomp-bpf:   i386 getpid x1 -> kill_process: bad arch"), lines
    enforced, _, _, _ = _supervise(policy, code, tmp_path)
    assert enforced == 128 + signal.SIGSYS


@pytest.mark.kernel
@linux
def test_complain_mode_still_answers_the_expected_fallbacks(tmp_path: Path) -> None:
    code = """\
import errno, os
try:
    os.getcwd()
except OSError as error:
    raise SystemExit(42 if error.errno == errno.ENOSYS else 1)
"""
    status, lines, _, _ = _supervise(
        DENY_GETCWD.format(action="errno(ENOSYS)"), code, tmp_path, complain=True
    )
    assert status == 42
    assert lines[0] == "seccomp-bpf: complain mode: the policy would have stopped no call"
    assert lines[2].startswith("seccomp-bpf:   getcwd x1: rule 1 ("), lines


@pytest.mark.kernel
@linux
def test_arches_and_executable_replace_the_policys(tmp_path: Path) -> None:
    # The policy lists another architecture only: without ``arches`` every call of the
    # command would be a bad architecture. argv[0] is kept as given, the executable used.
    other = "aarch64" if native_arch().name != "aarch64" else "x86_64"
    # (Python makes a relative argv[0] absolute with getcwd: deny chdir instead.)
    policy = DENY_GETCWD.replace("syscalls:", f"arches: [{other}]\nsyscalls:")
    policy = policy.replace("getcwd", "chdir")
    code = """\
import os, sys
try:
    os.chdir("/")
except PermissionError:
    raise SystemExit(42 if sys.orig_argv[0] == "renamed" else 1)
"""
    status, lines, _, path = _supervise(
        policy.format(action="errno(EPERM)"),
        code,
        tmp_path,
        arches=[native_arch()],
        argv0="renamed",
    )
    assert status == 42
    assert len(lines) == 1
    assert lines[0].endswith(f"-> errno(EPERM): rule 1 ({path}:{GETCWD_LINE + 1}:5)")


@pytest.mark.kernel
@linux
def test_a_hundred_denials_from_several_threads(tmp_path: Path) -> None:
    code = """\
import os, threading
denied = []
def worker():
    for _ in range(25):
        try:
            os.getcwd()
        except PermissionError:
            denied.append(1)
threads = [threading.Thread(target=worker) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
raise SystemExit(0 if len(denied) == 100 else 1)
"""
    status, lines, _, _ = _supervise(DENY_GETCWD.format(action="errno(EACCES)"), code, tmp_path)
    assert status == 0
    assert len(lines) == 100
    assert all(" getcwd(" in line and "-> errno(EACCES)" in line for line in lines)
    assert len({line.split(":")[1] for line in lines}) >= 2  # several threads reported


@pytest.mark.kernel
@linux
def test_kill_process_kills_in_the_kernel_and_is_reported(tmp_path: Path) -> None:
    marker = tmp_path / "survived"
    code = f"import os\nos.getcwd()\nopen({str(marker)!r}, 'w').close()"
    status, lines, _, _ = _supervise(DENY_GETCWD.format(action="kill_process"), code, tmp_path)
    assert status == 128 + signal.SIGSYS
    assert not marker.exists()
    where = f"rule 1 ({tmp_path / 'p.yaml'}:{GETCWD_LINE}:5)"
    # The filter killed it itself; the line says which actions of the policy can have.
    assert len(lines) == 1
    assert re.fullmatch(
        r"seccomp-bpf: pid \d+: killed by SIGSYS \(seccomp kill: "
        + re.escape(f"{where} gives kill_process, bad_arch_action kill_process")
        + r" .*\)",
        lines[0],
    ), lines[0]


@pytest.mark.kernel
@linux
def test_kill_thread_ends_only_the_calling_thread(tmp_path: Path) -> None:
    # (A thread the kernel ends never tells Python it ended: no join.)
    code = """\
import os, threading, time
threading.Thread(target=os.getcwd).start()
deadline = time.monotonic() + 10
while time.monotonic() < deadline and len(os.listdir("/proc/self/task")) > 1:
    time.sleep(0.01)
os._exit(3 if len(os.listdir("/proc/self/task")) == 1 else 1)
"""
    status, lines, _, _ = _supervise(DENY_GETCWD.format(action="kill_thread"), code, tmp_path)
    assert (status, lines) == (3, [])


@pytest.mark.kernel
@linux
def test_user_notif_fails_with_enosys(tmp_path: Path) -> None:
    code = """\
import errno, os
try:
    os.getcwd()
except OSError as error:
    raise SystemExit(error.errno)
"""
    status, lines, _, _ = _supervise(DENY_GETCWD.format(action="user_notif"), code, tmp_path)
    assert status == errno.ENOSYS
    assert len(lines) == 1
    assert lines[0].endswith("; no other supervisor listens: fails with ENOSYS")


@pytest.mark.kernel
@linux
def test_a_grandchild_is_covered(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild"
    code = f"""\
import os
pid = os.fork()
if pid == 0:
    open({str(pid_file)!r}, "w").write(str(os.getpid()))
    try:
        os.getcwd()
    except PermissionError:
        os._exit(42)
    os._exit(0)
_, status = os.waitpid(pid, 0)
raise SystemExit(os.waitstatus_to_exitcode(status))
"""
    status, lines, _, _ = _supervise(DENY_GETCWD.format(action="errno(EPERM)"), code, tmp_path)
    assert status == 42
    assert len(lines) == 1
    # The pid seccomp-bpf sees, and the one the process has in its PID namespace.
    inside = pid_file.read_text()
    assert re.match(rf"seccomp-bpf: pid \d+ \({inside} in the sandbox\): getcwd\(", lines[0])


@pytest.mark.kernel
@linux
def test_exit_codes_and_signals_pass_through_promptly(tmp_path: Path) -> None:
    policy = DENY_GETCWD.format(action="errno(EPERM)")
    status, lines, seconds, _ = _supervise(policy, "raise SystemExit(3)", tmp_path)
    assert (status, lines) == (3, [])
    assert seconds < 5
    code = "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)"
    status, lines, _, _ = _supervise(policy, code, tmp_path)
    assert (status, lines) == (128 + signal.SIGTERM, [])


@pytest.mark.kernel
@linux
def test_the_supervisor_does_not_outlive_the_command(tmp_path: Path) -> None:
    # The command leaves a child behind that still runs under the filter.
    pid_file = tmp_path / "orphan"
    code = f"""\
import os, time
pid = os.fork()
if pid == 0:
    time.sleep(30)
    os._exit(0)
open({str(pid_file)!r}, "w").write(str(pid))
"""
    try:
        status, lines, seconds, _ = _supervise(
            DENY_GETCWD.format(action="errno(EPERM)"), code, tmp_path
        )
    finally:
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
    assert (status, lines) == (0, [])
    assert seconds < 10


@pytest.mark.kernel
@linux
def test_a_policy_denying_sendmsg_still_starts_the_command(tmp_path: Path) -> None:
    # Handing the listener over is a sendmsg the policy denies: the supervisor takes the
    # listener itself, answers that one call quietly, and reports only the command's own.
    policy = """\
default_action: allow
syscalls:
  - names: [sendmsg]
    action: errno(EACCES)
"""
    code = """\
import socket
left, right = socket.socketpair()
try:
    socket.send_fds(left, [b"x"], [0])
except PermissionError:
    raise SystemExit(7)
"""
    status, lines, _, _ = _supervise(policy, code, tmp_path)
    assert status == 7
    assert len(lines) == 1
    assert " sendmsg(" in lines[0]
    assert "-> errno(EACCES): rule 1" in lines[0]


def _start_failure(path: Path) -> str:
    try:
        run_with_reports([sys.executable, "-I", "-c", "pass"], read_yaml_policy(path))
    except KernelError as error:
        return str(error)
    return "started"


@pytest.mark.kernel
@linux
@pytest.mark.parametrize("action", ["trace", "trap"])
def test_a_policy_that_keeps_sendmsg_from_the_supervisor_is_an_error(
    action: str, tmp_path: Path
) -> None:
    # trace fails the hand-over with ENOSYS (no tracer), trap kills the child: either way
    # the listener never arrives, and the command must not run unsupervised.
    path = tmp_path / "p.yaml"
    path.write_text(DENY_GETCWD.replace("getcwd", "sendmsg").format(action=action))
    message = run_in_child(_start_failure, path)
    assert "allow or deny sendmsg" in message


@pytest.mark.kernel
@linux
def test_sigterm_to_the_supervisor_reaches_the_command(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(DENY_GETCWD.format(action="errno(EPERM)"))
    ready = tmp_path / "ready"
    command = f"import time\nopen({str(ready)!r}, 'w').close()\ntime.sleep(30)"
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from seccomp_bpf.formats.yaml_policy import read_yaml_policy\n"
        "from seccomp_bpf.run.supervisor import run_with_reports\n"
        f"sys.exit(run_with_reports([sys.executable, '-I', '-c', {command!r}], "
        f"read_yaml_policy(Path({str(path)!r}))))\n"
    )
    # In tmp_path, so that the command may write there (its /tmp is its own otherwise).
    supervisor = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 10
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ready.exists()
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=10) == 128 + signal.SIGTERM
    finally:
        supervisor.kill()
        supervisor.wait()


def test_errors_before_anything_runs(tmp_path: Path) -> None:
    policy = Policy(ERRNO(1), arches=("native",))
    with pytest.raises(ValueError, match="no command"):
        run_with_reports([], policy)
    with pytest.raises(CommandError) as raised:  # an OSError, as `seccomp-bpf run` raises
        run_with_reports(["no-such-command-anywhere"], policy)
    assert raised.value.command == "no-such-command-anywhere"
    assert raised.value.exit_status == 127
