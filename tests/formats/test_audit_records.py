"""The seccomp audit records (``formats/audit_records.py``), read from samples captured on
this project's machines (``tests/data/seccomp-audit.*``, see its README) and from lines
written here from the kernel's format (``__audit_seccomp`` in ``kernel/auditsc.c``)."""

from __future__ import annotations

import pytest

from seccomp_bpf.errors import RecordError
from seccomp_bpf.formats.audit_records import (
    RecordFilter,
    SeccompRecord,
    parse_record,
    parse_since,
    read_records,
)
from tests.datafiles import AUDIT_DMESG, AUDIT_JOURNAL, AUDIT_KMSG, AUDIT_LOG


def _records(path: object) -> list[SeccompRecord]:
    with open(str(path), encoding="utf-8") as file:
        return list(read_records(file, str(path)))


def test_the_same_records_read_alike_from_kmsg_and_audit_log() -> None:
    kmsg = _records(AUDIT_KMSG)
    audit_log = _records(AUDIT_LOG)
    assert len(kmsg) == 4  # the line of another facility is passed over
    assert audit_log[:4] == kmsg  # auditd's enriched values after \x1d are ignored
    described = [(r.abi, r.syscall, r.nr, r.action, r.compat) for r in kmsg]
    assert described == [
        ("x86_64", "getcwd", 79, "log", False),
        ("i386", "getppid", 64, "log", True),  # int 0x80: i386's table, compat
        ("x32", "getppid", 0x40000000 | 110, "log", False),  # bit 30 under AUDIT_ARCH_X86_64
        ("x86_64", "getpgid", 121, "errno", False),  # SECCOMP_FILTER_FLAG_LOG; no data logged
    ]
    first = kmsg[0]
    assert (first.pid, first.comm, first.exe) == (
        13752,
        "python",
        "/root/.pyenv/versions/3.11.7/bin/python3.11",
    )
    assert (first.time, first.serial, first.ip, first.signal) == (
        1796437735.718,
        71189,
        0x7F2AA1D16CCE,
        0,
    )
    assert (first.uid, first.auid, first.gid, first.ses) == (0, 4294967295, 0, 4294967295)


def test_dmesg_and_journal_lines() -> None:
    dmesg = _records(AUDIT_DMESG)
    journal = _records(AUDIT_JOURNAL)
    assert journal == dmesg[:3]
    actions = [(r.abi, r.call, r.action, r.signal) for r in dmesg[4:]]
    assert actions == [
        ("i386", "getpid", "kill_process", 31),
        ("x86_64", "syscall 1000", "kill_thread", 31),  # code=0x0 is SECCOMP_RET_KILL_THREAD
        ("x86_64", "syscall 1003", "kill_process (no action: 0x82a00000)", 31),
    ]
    assert all(record.is_denial for record in dmesg[4:])
    assert not dmesg[1].is_denial  # log


def test_a_command_name_in_hexadecimal() -> None:
    # audit_log_untrustedstring writes a name with a space as hexadecimal bytes, unquoted.
    record = _records(AUDIT_LOG)[-1]
    assert (record.comm, record.exe, record.uid, record.syscall) == (
        "my worker",
        "/usr/bin/python3.11",
        1000,
        "mount",
    )


def test_text_and_json() -> None:
    record = _records(AUDIT_KMSG)[1]
    text = str(record)
    assert text.endswith(
        "pid 13752 python (/root/.pyenv/versions/3.11.7/bin/python3.11): "
        "i386 getppid (64) -> log at ip 0x7f2aa240301a"
    )
    assert text.startswith(record.when())
    data = record.to_json()
    assert data["arch"] == "i386"
    assert (data["audit_arch"], data["syscall"], data["action"]) == ("0x40000003", "getppid", "log")
    assert (data["code"], data["ip"], data["timestamp"]) == (
        "0x7ffc0000",
        "0x7f2aa240301a",
        1796437735.718,
    )


@pytest.mark.parametrize(
    ("code", "action"),
    [
        (0x80000000, "kill_process"),
        (0x00000000, "kill_thread"),
        (0x00030000, "trap"),
        (0x00050000, "errno"),
        (0x00050001, "errno(EPERM)"),  # a record with the data, as older kernels wrote it
        (0x7FC00000, "user_notif"),
        (0x7FF00000, "trace"),
        (0x7FFC0000, "log"),
        (0x7FFF0000, "allow"),
    ],
)
def test_every_action_of_linux_seccomp_h(code: int, action: str) -> None:
    line = (
        'audit: type=1326 audit(1.5:7): pid=1 comm="x" exe="/x" sig=0 arch=c00000b7 '
        f"syscall=17 compat=0 ip=0x10 code={code:#x}"
    )
    record = parse_record(line)
    assert record is not None
    assert (record.action, record.abi, record.syscall) == (action, "aarch64", "getcwd")


def test_other_lines_and_broken_records() -> None:
    assert parse_record("type=SYSCALL msg=audit(1.0:1): arch=c000003e syscall=79") is None
    assert parse_record("plain text") is None
    with pytest.raises(RecordError, match=r"^log:3:\d+: a seccomp audit record without arch"):
        parse_record("type=1326 audit(1.0:1): pid=1 syscall=2 code=0x0", source="log", number=3)
    with pytest.raises(RecordError, match=r"^log:1:\d+: syscall=x2: not a number"):
        parse_record(
            "type=1326 audit(1.0:1): pid=1 arch=c000003e syscall=x2 code=0x0",
            source="log",
            number=1,
        )
    unknown = parse_record("type=1326 audit(1.0:1): pid=1 arch=12345 syscall=2 code=0x0")
    assert unknown is not None
    assert (unknown.abi, unknown.call, unknown.arch) == ("AUDIT_ARCH 0x00012345", "syscall 2", None)
    skipped = parse_record("type=1326 audit(1.0:1): pid=1 arch=c000003e syscall=-1 code=0x0")
    assert skipped is not None and skipped.nr == 0xFFFFFFFF and skipped.abi == "x86_64"


def test_filters() -> None:
    records = _records(AUDIT_DMESG)
    assert {r.pid for r in records if RecordFilter(pids=[13752])(r)} == {13752}
    assert [r.serial for r in records if RecordFilter(since=1796437735.0)(r)] == [
        71190,
        71191,
        71192,
    ]
    assert not [r for r in records if RecordFilter(comms=["pytho"])(r)]  # the whole name
    assert len([r for r in records if RecordFilter(denials_only=True)(r)]) == 5


def test_since() -> None:
    now = 1_800_000_000.0
    assert parse_since("@1796437735.5", now=now) == 1796437735.5
    assert parse_since("10m", now=now) == now - 600
    assert parse_since("2h ago", now=now) == now - 7200
    assert parse_since("1d", now=now) == now - 86400
    assert parse_since("2026-12-05T02:30:00+00:00", now=now) == 1796437800.0
    for wrong in ("yesterday-ish", "@x", "10 parsecs"):
        with pytest.raises(ValueError, match="give @SECONDS"):
            parse_since(wrong, now=now)
