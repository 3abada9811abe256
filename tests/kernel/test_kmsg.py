"""``kernel/kmsg.py``: the record the kernel writes for a ``log`` action, read back from
``/dev/kmsg`` and decoded (``seccomp-bpf denials``).

The test changes nothing on the machine: it reads ``actions_logged`` and skips, saying why,
when the kernel will not write the record here (``log`` not in ``actions_logged``, the
device unreadable, or the record held back by the kernel's rate limit or taken by an audit
daemon). The parser's own tests read captured samples (``tests/formats``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from seccomp_bpf.arch import native_arch
from seccomp_bpf.cli import main
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.formats.audit_records import SeccompRecord, read_records
from seccomp_bpf.kernel.kmsg import KMSG, kernel_messages
from seccomp_bpf.policy import ALLOW, LOG, Policy, Rule
from seccomp_bpf.run import install
from tests.kernel.forked import run_in_child

ACTIONS_LOGGED = Path("/proc/sys/kernel/seccomp/actions_logged")

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]


def _logged_getcwd() -> int:
    install(compile_policy(Policy(default_action=ALLOW, rules=(Rule(("getcwd",), LOG),))))
    os.getcwd()
    return os.getpid()


def _records_of(pid: int, since: float) -> list[SeccompRecord]:
    """The records of process ``pid`` from ``since`` on (the buffer may hold older ones of a
    process that had the same pid)."""
    deadline = time.monotonic() + 3.0  # kauditd writes the record from its own thread
    while True:
        messages = read_records(kernel_messages(), KMSG)
        found = [r for r in messages if r.pid == pid and r.time >= since]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_the_record_of_a_log_action_is_found_and_decoded(
    capsys: pytest.CaptureFixture[str],
) -> None:
    try:
        logged = ACTIONS_LOGGED.read_text().split()
    except OSError as error:
        pytest.skip(f"{ACTIONS_LOGGED}: {error.strerror}")
    if "log" not in logged:
        pytest.skip(f"the kernel does not log the log action here (actions_logged: {logged})")
    if not os.access(KMSG, os.R_OK):
        pytest.skip(f"{KMSG} is not readable here")
    started = time.time() - 1.0  # the record's time has milliseconds; the clocks, no skew
    pid = run_in_child(_logged_getcwd)
    records = _records_of(pid, started)
    if not records:
        pytest.skip(
            "the kernel wrote no record to its log for this call: its audit rate limit held "
            "it back (kauditd_printk_skb: callbacks suppressed) or an audit daemon took it"
        )
    (record,) = records
    native = native_arch()
    assert (record.abi, record.syscall, record.nr) == (
        native.name,
        "getcwd",
        native.syscall_number("getcwd"),
    )
    assert (record.action, record.signal, record.is_denial) == ("log", 0, False)
    assert record.exe is not None and os.path.samefile(record.exe, sys.executable)
    assert record.ip is not None and record.ip > 0
    assert abs(record.time - time.time()) < 60
    # The command, reading the kernel's log itself.
    since = f"@{started}"
    assert main(["denials", "--pid", str(pid), "--since", since, "--format", "json"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line) == record.to_json()


def test_reading_without_follow_ends() -> None:
    if not os.access(KMSG, os.R_OK):
        pytest.skip(f"{KMSG} is not readable here")
    messages = kernel_messages()
    assert all(";" in message for message in messages)  # every record has its prefix


def _logged_getcwd_named(name: str) -> int:
    with open("/proc/self/comm", "w", encoding="ascii") as comm:
        comm.write(name)
    return _logged_getcwd()


def test_follow_prints_a_new_record_as_it_comes() -> None:
    import select
    import subprocess

    if "log" not in ACTIONS_LOGGED.read_text().split() or not os.access(KMSG, os.R_OK):
        pytest.skip("the kernel does not log the log action here, or its log is not readable")
    name = f"sbpf-{os.getpid() % 100000}"
    command = [sys.executable, "-m", "seccomp_bpf", "denials", "--follow", "--comm", name,
               "--since", f"@{time.time() - 1.0}"]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as follower:
        try:
            assert follower.stdout is not None
            time.sleep(1.0)  # it has read what was there and waits
            started = time.time() - 1.0
            pid = run_in_child(_logged_getcwd_named, name)
            ready, _, _ = select.select([follower.stdout], [], [], 5.0)
            if not ready:
                if not _records_of(pid, started):
                    pytest.skip("the kernel's audit rate limit held the record back")
                pytest.fail("the record is in the kernel's log but --follow did not print it")
            line = follower.stdout.readline()
            assert f"pid {pid} {name} (" in line and " getcwd (" in line and "-> log" in line
        finally:
            follower.kill()
