"""The kernel's seccomp audit records (``type=1326``, ``AUDIT_SECCOMP`` in <linux/audit.h>).

The kernel writes one record when a filter's action is logged (``kernel/seccomp.c``,
``seccomp_log``): the kills always, ``log`` always, and the other actions but ``allow`` when
the filter was installed with ``SECCOMP_FILTER_FLAG_LOG``; each only if its name is in
``/proc/sys/kernel/seccomp/actions_logged``. The record (``__audit_seccomp`` in
``kernel/auditsc.c``, ``audit_log_task`` for its first half)::

    auid=1000 uid=1000 gid=1000 ses=2 [subj=...] pid=4242 comm="python3"
    exe="/usr/bin/python3.11" sig=0 arch=c000003e syscall=79 compat=0 ip=0x7f2a16cce
    code=0x7ffc0000

``sig`` is the signal the action sends (31, SIGSYS, for the kills), ``arch`` the
``AUDIT_ARCH_*`` value in hexadecimal, ``syscall`` the number as ``seccomp_data.nr`` holds
it, ``compat`` whether it was a compat call, ``ip`` the instruction pointer and ``code`` the
action (``SECCOMP_RET_ACTION_FULL`` of the filter's return value, without its data on
current kernels). ``comm`` and ``exe`` are quoted, or written in hexadecimal when they hold a
space, a quote or a control character (``audit_log_untrustedstring``).

Where the records are found, each one line, all read by :func:`parse_record`:

- ``/var/log/audit/audit.log`` (auditd): ``type=SECCOMP msg=audit(1700000000.123:456): ...``,
  with, in auditd's enriched format, the values interpreted after a ``\\x1d`` (ignored here);
- the kernel's log when no audit daemon takes the records: ``dmesg`` (``[12.345678] audit:
  type=1326 audit(...): ...``), ``journalctl -k`` (``Dec 05 02:30:00 host kernel: audit:
  type=1326 ...``) and ``/dev/kmsg`` (``5,3764,12513189488,-;audit: type=1326 ...``).

The time is the record's own (``audit(SECONDS.MILLISECONDS:SERIAL)``, wall-clock seconds since
the epoch), whatever the line's prefix says.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from seccomp_bpf.arch import Arch, dispatched_arch
from seccomp_bpf.bpf.emulator import SeccompAction
from seccomp_bpf.errors import RecordError
from seccomp_bpf.policy import Action

AUDIT_SECCOMP: Final = 1326
"""<linux/audit.h>: the record type of a logged seccomp action."""

_RECORD: Final = re.compile(
    r"\btype=(?:1326|SECCOMP)\b.*?\baudit\((?P<seconds>\d+)\.(?P<millis>\d+):(?P<serial>\d+)\):"
)
# key=value, the value quoted ("..."), or unquoted up to the next space.
_FIELD: Final = re.compile(r'(?P<key>[a-z_]+)=(?:"(?P<quoted>[^"]*)"|(?P<plain>\S*))')
_REQUIRED: Final = ("pid", "arch", "syscall", "code")
_ENRICHED: Final = "\x1d"  # auditd's separator before the interpreted values


@dataclass(frozen=True, slots=True)
class SeccompRecord:
    """One seccomp audit record, as the kernel wrote it (numbers as numbers)."""

    time: float
    """Seconds since the epoch, to the millisecond."""
    serial: int
    pid: int
    comm: str | None
    exe: str | None
    audit_arch: int
    nr: int
    code: int
    ip: int | None = None
    signal: int = 0
    compat: bool = False
    uid: int | None = None
    auid: int | None = None
    gid: int | None = None
    ses: int | None = None

    @property
    def arch(self) -> Arch | None:
        """The ABI whose table ran the call (x32 told apart by the number's bit 30), or None
        for an ``AUDIT_ARCH`` value no ABI has."""
        return dispatched_arch(self.audit_arch, self.nr)

    @property
    def abi(self) -> str:
        """The ABI's name, or ``AUDIT_ARCH 0x...`` for an unknown value."""
        arch = self.arch
        return arch.name if arch is not None else f"AUDIT_ARCH {self.audit_arch:#010x}"

    @property
    def syscall(self) -> str | None:
        """The call's name on its ABI, or None when its table has none."""
        arch = self.arch
        return None if arch is None else arch.syscall_name(self.nr)

    @property
    def call(self) -> str:
        """The call's name, or ``syscall N``."""
        return self.syscall or f"syscall {self.nr}"

    @property
    def kind(self) -> SeccompAction | None:
        """The action's kind (``SECCOMP_RET_ACTION_FULL`` of ``code``), None if unknown."""
        try:
            return SeccompAction(self.code & 0xFFFF0000)
        except ValueError:
            return None

    @property
    def action(self) -> str:
        """The action's name from <linux/seccomp.h>: ``log``, ``kill_process``, ``errno``
        (with its data when the record has it: ``errno(EPERM)``); a value that is no action
        is the kill the kernel gives it."""
        kind = self.kind
        if kind is None:
            # kernel/seccomp.c, __seccomp_filter: a value that is no action kills the process.
            return f"kill_process (no action: {self.code:#010x})"
        data = min(self.code & 0xFFFF, kind.max_data)
        return Action(kind, data).describe() if data else kind.name.lower()

    @property
    def is_denial(self) -> bool:
        """Whether the call was stopped (every action but ``log`` and ``allow``)."""
        return self.kind not in (SeccompAction.LOG, SeccompAction.ALLOW)

    def when(self) -> str:
        """The time in ISO 8601, local, to the millisecond."""
        stamp = datetime.fromtimestamp(self.time).astimezone()
        return stamp.isoformat(timespec="milliseconds")

    def __str__(self) -> str:
        """``TIME pid PID COMM (EXE): ABI CALL -> ACTION at ip 0x...``."""
        who = f"pid {self.pid}"
        if self.comm is not None:
            who += f" {self.comm}"
        if self.exe is not None:
            who += f" ({self.exe})"
        where = "" if self.ip is None else f" at ip {self.ip:#x}"
        number = "" if self.syscall is None else f" ({self.nr})"
        return f"{self.when()} {who}: {self.abi} {self.call}{number} -> {self.action}{where}"

    def to_json(self) -> dict[str, Any]:
        """The record decoded, for ``--format json`` (one object per record)."""
        return {
            "time": self.when(),
            "timestamp": self.time,
            "serial": self.serial,
            "pid": self.pid,
            "comm": self.comm,
            "exe": self.exe,
            "uid": self.uid,
            "auid": self.auid,
            "arch": self.arch.name if self.arch is not None else None,
            "audit_arch": f"{self.audit_arch:#010x}",
            "syscall": self.syscall,
            "nr": self.nr,
            "compat": self.compat,
            "action": self.action,
            "code": f"{self.code:#010x}",
            "signal": self.signal,
            "ip": None if self.ip is None else f"{self.ip:#x}",
        }


def _untrusted(field: re.Match[str]) -> str:
    """A value of ``audit_log_untrustedstring``: quoted as is, else hexadecimal bytes."""
    quoted = field.group("quoted")
    if quoted is not None:
        return quoted
    plain = field.group("plain")
    if plain == "(null)":
        return plain
    try:
        return bytes.fromhex(plain).decode("utf-8", "backslashreplace")
    except ValueError:
        return plain


def _number(text: str, base: int) -> int:
    if base == 16 and text.lower().startswith("0x"):
        text = text[2:]
    return int(text, base)


# key -> base of the number (None: text), as __audit_seccomp and audit_log_task write them.
_KEYS: Final[dict[str, int | None]] = {
    "pid": 10, "uid": 10, "auid": 10, "gid": 10, "ses": 10, "sig": 10,
    "arch": 16, "syscall": 10, "compat": 10, "ip": 16, "code": 16,
    "comm": None, "exe": None,
}  # fmt: skip


def parse_record(line: str, *, source: str = "<text>", number: int = 0) -> SeccompRecord | None:
    """The seccomp record on ``line``, None when it holds none; a line that is one but lacks
    a field or has a value that is not a number raises :class:`RecordError` (``source``
    and ``number`` say where)."""
    match = _RECORD.search(line)
    if match is None:
        return None
    body = line[match.end() :].split(_ENRICHED, 1)[0]
    values: dict[str, int] = {}
    texts: dict[str, str] = {}
    for field in _FIELD.finditer(body):
        key = field.group("key")
        if key not in _KEYS or key in values or key in texts:
            continue  # the first of a name counts: comm and exe come before the rest
        base = _KEYS[key]
        if base is None:
            texts[key] = _untrusted(field)
            continue
        text = field.group("plain") if field.group("plain") is not None else field.group("quoted")
        try:
            values[key] = _number(text, base)
        except ValueError:
            column = match.end() + field.start() + 1
            raise RecordError(
                f"{key}={text}: not a number", source=source, line=number, column=column
            ) from None
    missing = [key for key in _REQUIRED if key not in values]
    if missing:
        raise RecordError(
            f"a seccomp audit record without {', '.join(missing)}",
            source=source,
            line=number,
            column=match.start() + 1,
        )
    # audit_log_task writes 4294967295 ((u32)-1) for an unset login uid or session.
    return SeccompRecord(
        time=int(match.group("seconds")) + int(match.group("millis")) / 1000,
        serial=int(match.group("serial")),
        pid=values["pid"],
        comm=texts.get("comm"),
        exe=texts.get("exe"),
        audit_arch=values["arch"],
        nr=_signed32(values["syscall"]),
        code=values["code"],
        ip=values.get("ip"),
        signal=values.get("sig", 0),
        compat=bool(values.get("compat", 0)),
        uid=values.get("uid"),
        auid=values.get("auid"),
        gid=values.get("gid"),
        ses=values.get("ses"),
    )


def _signed32(nr: int) -> int:
    """``syscall`` as ``seccomp_data.nr`` holds it (a 32-bit value): the kernel prints the
    sign-extended number with ``%ld``, so a call skipped by a tracer reads -1."""
    return nr & 0xFFFFFFFF


def read_records(lines: Iterable[str], source: str = "<text>") -> Iterator[SeccompRecord]:
    """Every seccomp record of ``lines`` (any mix of the formats of the module docstring),
    in their order; other lines are passed over."""
    for number, line in enumerate(lines, 1):
        record = parse_record(line, source=source, number=number)
        if record is not None:
            yield record


@dataclass(frozen=True)
class RecordFilter:
    """Which records to keep: ``since`` (seconds since the epoch), ``pids``, ``comms``,
    ``denials_only`` (leave out ``log``)."""

    since: float | None = None
    pids: Sequence[int] = ()
    comms: Sequence[str] = ()
    denials_only: bool = False

    def __call__(self, record: SeccompRecord) -> bool:
        if self.since is not None and record.time < self.since:
            return False
        if self.pids and record.pid not in self.pids:
            return False
        if self.comms and record.comm not in self.comms:
            return False
        return not self.denials_only or record.is_denial


_DURATION: Final = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?(?:\s+ago)?$")
_UNIT: Final = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_since(text: str, *, now: float | None = None) -> float:
    """``--since``: seconds since the epoch from ``@SECONDS``, a date and time in ISO 8601
    (``2026-12-05 02:30``, local unless it names its zone), ``today``, or a duration back
    from now (``10m``, ``2h ago``, ``1d``; units s, m, h, d). Raises ValueError, naming
    the forms, for anything else."""
    text = text.strip()
    current = time.time() if now is None else now
    if text.startswith("@"):
        try:
            return float(text[1:])
        except ValueError:
            pass
    elif text == "today":
        midnight = datetime.fromtimestamp(current).replace(hour=0, minute=0, second=0)
        return midnight.replace(microsecond=0).timestamp()
    else:
        duration = _DURATION.match(text)
        if duration is not None:
            return current - float(duration.group(1)) * _UNIT[duration.group(2)]
        try:
            return datetime.fromisoformat(text).timestamp()
        except ValueError:
            pass
    raise ValueError(
        f"--since {text!r}: give @SECONDS, a date and time (2026-12-05 02:30), 'today', or "
        "a time back from now (90s, 10m, 2h, 1d)"
    )
