"""OCI/Docker JSON profiles: Docker's own keys, runc + libseccomp semantics, pointed errors."""

from __future__ import annotations

import json
import typing
from collections.abc import Mapping
from pathlib import Path

import pytest

from seccomp_bpf.arch import get_arch
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.formats.oci import (
    DOCKER_DEFAULT_CAPABILITIES,
    docker_arch_name,
    kernel_version,
    load_oci_policy,
    read_oci_policy,
)
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
    Cmp,
    Policy,
)
from tests.datafiles import DOCKER_DEFAULT

AUDIT_ARCH_AARCH64 = 0xC00000B7  # <linux/audit.h>
X32_BIT = 0x40000000


def profile(body: Mapping[str, object], **options: object) -> Policy:
    options.setdefault("arch", "x86_64")
    options.setdefault("kernel", "6.1.0")
    return load_oci_policy(json.dumps(body), source="p.json", **options)  # type: ignore[arg-type]


def nr(arch: str, name: str) -> int:
    number = get_arch(arch).syscall_number(name)
    assert number is not None, (arch, name)
    return number


def args(*values: int) -> tuple[int, ...]:
    return values + (0,) * (6 - len(values))


# --- Docker's default profile ---------------------------------------------------------------


# The profile as plain JSON data, read by the test itself with ``json``.
JsonObject = dict[str, typing.Any]


@pytest.fixture(scope="module")
def docker_profile() -> JsonObject:
    loaded: JsonObject = json.loads(DOCKER_DEFAULT.read_text())
    return loaded


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def docker_entries_that_apply(
    profile_data: JsonObject, machine: str, caps: set[str], kernel: tuple[int, int]
) -> list[JsonObject]:
    """moby's setupSeccomp filter, written out again for the test."""
    kept = []
    for entry in profile_data["syscalls"]:
        excludes = entry.get("excludes") or {}
        includes = entry.get("includes") or {}
        if machine in excludes.get("arches", []) or set(excludes.get("caps", [])) & caps:
            continue
        if "minKernel" in excludes and kernel >= version(excludes["minKernel"]):
            continue
        if includes.get("arches") and machine not in includes["arches"]:
            continue
        if not set(includes.get("caps", [])) <= caps:
            continue
        if "minKernel" in includes and kernel < version(includes["minKernel"]):
            continue
        kept.append(entry)
    return kept


def oci_action(entry: JsonObject) -> Action:
    if entry["action"] == "SCMP_ACT_ALLOW":
        return ALLOW
    assert entry["action"] == "SCMP_ACT_ERRNO"
    return ERRNO(int(entry.get("errnoRet", 1)))


def satisfying_call(arg: JsonObject) -> tuple[int, ...]:
    """Arguments for which one of Docker's comparisons holds (all others zero)."""
    value = {
        "SCMP_CMP_EQ": arg["value"],
        "SCMP_CMP_LT": arg["value"] - 1,
        "SCMP_CMP_GT": arg["value"] + 1,
        "SCMP_CMP_MASKED_EQ": arg.get("valueTwo", 0),
    }[arg["op"]]
    call = [0] * 6
    call[arg["index"]] = value
    return tuple(call)


@pytest.mark.parametrize("extra_caps", [(), ("CAP_SYS_ADMIN", "CAP_SYS_PTRACE")])
def test_docker_default_decides_what_the_profile_says(
    docker_profile: JsonObject, extra_caps: tuple[str, ...]
) -> None:
    caps = set(DOCKER_DEFAULT_CAPABILITIES) | set(extra_caps)
    policy = load_oci_policy(
        DOCKER_DEFAULT.read_text(),
        source=str(DOCKER_DEFAULT),
        capabilities=caps,
        arch="x86_64",
        kernel="6.18.0",
    )
    assert [a.name for a in policy.resolved_arches()] == ["x86_64", "i386", "x32"]
    default = ERRNO(int(docker_profile["defaultErrnoRet"]))
    assert policy.default_action == default == ERRNO(1)
    entries = docker_entries_that_apply(docker_profile, "amd64", caps, (6, 18))
    every_name = {n for e in docker_profile["syscalls"] for n in e["names"]}
    checked = 0
    for arch in ("x86_64", "i386", "x32"):
        table = get_arch(arch).syscalls
        for name in sorted(every_name):
            if name not in table:
                continue
            mine = [e for e in entries if name in e["names"]]
            plain = [e for e in mine if not e.get("args")]
            number = table[name]
            if plain:
                assert policy.evaluate(arch, number) == oci_action(plain[0]), (arch, name)
            elif not mine:
                assert policy.evaluate(arch, number) == default, (arch, name)
            else:
                # every entry's comparison, made true, gives the entry's action
                for entry in mine:
                    (arg,) = entry["args"]
                    decided = policy.evaluate(arch, number, satisfying_call(arg))
                    assert decided == oci_action(entry), (arch, name, arg)
            checked += 1
    assert checked > 900


def test_docker_default_edge_cases(docker_profile: JsonObject) -> None:
    text = DOCKER_DEFAULT.read_text()
    policy = load_oci_policy(text, arch="x86_64", kernel="6.18.0")
    eperm, enosys = ERRNO(1), ERRNO(38)
    clone_newuser, sigchld = 0x10000000, 17
    af_vsock = 40  # <linux/socket.h>; the profile allows < 38, == 39 and > 40
    for arch in ("x86_64", "i386", "x32"):
        assert (
            policy.evaluate(arch, nr(arch, "clone3")) == enosys
        )  # excluded only with CAP_SYS_ADMIN
        assert policy.evaluate(arch, nr(arch, "clone"), args(sigchld)) == ALLOW
        assert policy.evaluate(arch, nr(arch, "clone"), args(clone_newuser | sigchld)) == eperm
        assert policy.evaluate(arch, nr(arch, "socket"), args(af_vsock)) == eperm
        assert policy.evaluate(arch, nr(arch, "socket"), args(39)) == ALLOW
        assert policy.evaluate(arch, nr(arch, "socket"), args(38)) == eperm
        assert policy.evaluate(arch, nr(arch, "personality"), args(0xFFFFFFFF)) == ALLOW
        assert policy.evaluate(arch, nr(arch, "personality"), args(1)) == eperm
        assert policy.evaluate(arch, nr(arch, "reboot")) == eperm
        assert policy.evaluate(arch, nr(arch, "chroot")) == ALLOW  # CAP_SYS_CHROOT is a default cap
        assert policy.evaluate(arch, nr(arch, "ptrace")) == ALLOW  # includes minKernel 4.8
        assert policy.evaluate(arch, nr(arch, "modify_ldt")) == ALLOW  # includes arches amd64
        assert policy.evaluate(arch, nr(arch, "arch_prctl")) == ALLOW
    # on i386, socketcall itself is allowed, so every socket call through it is
    assert policy.evaluate("i386", nr("i386", "socketcall"), args(1, 0)) == ALLOW
    assert policy.evaluate(AUDIT_ARCH_AARCH64, 63) == KILL_THREAD  # libseccomp's bad-arch default
    assert policy.flags == ()
    assert any("riscv_hwprobe" in note for note in policy.notes)

    old_kernel = load_oci_policy(text, arch="x86_64", kernel="4.4.0")
    assert old_kernel.evaluate("x86_64", nr("x86_64", "ptrace")) == eperm
    admin = load_oci_policy(
        text, arch="x86_64", kernel="6.18", capabilities=[*DOCKER_DEFAULT_CAPABILITIES, "SYS_ADMIN"]
    )
    assert admin.evaluate("x86_64", nr("x86_64", "clone3")) == ALLOW
    assert admin.evaluate("x86_64", nr("x86_64", "clone"), args(clone_newuser)) == ALLOW
    assert admin.evaluate("x86_64", nr("x86_64", "bpf")) == ALLOW
    bare = load_oci_policy(text, arch="x86_64", kernel="6.18", capabilities=[])
    assert bare.evaluate("x86_64", nr("x86_64", "chroot")) == eperm

    arm64 = load_oci_policy(text, arch="aarch64", kernel="6.18")
    assert [a.name for a in arm64.resolved_arches()] == ["aarch64", "arm"]
    assert arm64.evaluate("arm", nr("arm", "breakpoint")) == ALLOW  # includes arches arm, arm64
    assert arm64.evaluate("aarch64", nr("aarch64", "clone"), args(0, sigchld)) == ALLOW
    s390x = load_oci_policy(text, arch="s390x", kernel="6.18")
    # "s390 parameter ordering for clone is different": flags are the second argument
    assert s390x.evaluate("s390x", nr("s390x", "clone"), args(clone_newuser, 0)) == ALLOW
    assert s390x.evaluate("s390x", nr("s390x", "clone"), args(0, clone_newuser)) == eperm


# --- runc and libseccomp semantics ----------------------------------------------------------


def test_actions_and_errno_defaults() -> None:
    policy = profile(
        {
            "defaultAction": "SCMP_ACT_KILL",
            "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                {"names": ["ptrace"], "action": "SCMP_ACT_TRACE"},
                {"names": ["wait4"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
                {"names": ["kill"], "action": "SCMP_ACT_TRAP"},
                {"names": ["openat"], "action": "SCMP_ACT_NOTIFY"},
                {"name": "close", "action": "SCMP_ACT_LOG"},
                {"names": ["exit"], "action": "SCMP_ACT_KILL_PROCESS"},
                {"names": ["getpid"], "action": "SCMP_ACT_KILL_THREAD"},
            ],
        }
    )
    assert policy.default_action == KILL_THREAD
    assert policy.bad_arch_action == KILL_THREAD
    expected = {
        "read": ERRNO(1),
        "write": ERRNO(38),
        "ptrace": TRACE(1),  # runc: SCMP_ACT_TRACE without errnoRet carries EPERM
        "wait4": TRACE(7),
        "kill": TRAP(0),
        "openat": USER_NOTIF,
        "close": LOG,
        "exit": KILL_PROCESS,
    }
    for name, action in expected.items():
        assert policy.evaluate("x86_64", nr("x86_64", name)) == action, name
    assert any("default action" in note for note in policy.notes)  # getpid's entry was skipped
    assert len(policy.rules) == len(expected)
    errno_default = profile({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38})
    assert errno_default.default_action == ERRNO(38)


def test_a_rule_without_conditions_beats_rules_with_conditions_in_any_order() -> None:
    for entries in (
        [
            {
                "names": ["read"],
                "action": "SCMP_ACT_LOG",
                "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}],
            },
            {"names": ["read"], "action": "SCMP_ACT_TRAP"},
            {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
        ],
        [
            {"names": ["read"], "action": "SCMP_ACT_TRAP"},
            {
                "names": ["read"],
                "action": "SCMP_ACT_LOG",
                "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}],
            },
            {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
        ],
    ):
        policy = profile({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": entries})
        assert policy.evaluate("x86_64", 0, args(1)) == TRAP(0)  # the first rule without conditions
        assert policy.evaluate("x86_64", 0, args(2)) == TRAP(0)


def test_same_action_rules_with_conditions_are_a_union() -> None:
    policy = profile(
        {
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                {
                    "names": ["socket"],
                    "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 0, "value": 38, "op": "SCMP_CMP_LT"}],
                },
                {
                    "names": ["socket"],
                    "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_GT"}],
                },
            ],
        }
    )
    socket = 41
    assert [policy.evaluate("x86_64", socket, args(v)) for v in (37, 38, 40, 41)] == [
        ALLOW,
        ERRNO(1),
        ERRNO(1),
        ALLOW,
    ]


def test_different_actions_under_exclusive_conditions_are_kept() -> None:
    policy = profile(
        {
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {
                    "names": ["socket"],
                    "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}],
                },
                {
                    "names": ["socket"],
                    "action": "SCMP_ACT_LOG",
                    "args": [{"index": 0, "value": 17, "op": "SCMP_CMP_EQ"}],
                },
            ],
        }
    )
    assert policy.evaluate("x86_64", 41, args(16)) == ERRNO(1)
    assert policy.evaluate("x86_64", 41, args(17)) == LOG
    assert policy.evaluate("x86_64", 41, args(2)) == ALLOW


def test_overlapping_conditions_with_different_actions_are_refused() -> None:
    text = json.dumps(
        {
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {
                    "names": ["read"],
                    "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}],
                },
                {
                    "names": ["read"],
                    "action": "SCMP_ACT_LOG",
                    "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}],
                },
            ],
        },
        indent=1,
    )
    with pytest.raises(
        PolicyError, match=r"syscalls\[0\] and syscalls\[1\] give 'read' on x86_64 different"
    ):
        load_oci_policy(text, source="p.json", arch="x86_64", kernel="6.1")


def test_repeated_argument_index_means_any_of_them() -> None:
    policy = profile(
        {
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                {
                    "names": ["personality"],
                    "action": "SCMP_ACT_ALLOW",
                    "args": [
                        {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                        {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                    ],
                },
                {
                    "names": ["mmap"],
                    "action": "SCMP_ACT_ALLOW",
                    "args": [
                        {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                        {"index": 2, "value": 4, "op": "SCMP_CMP_MASKED_EQ", "valueTwo": 0},
                    ],
                },
            ],
        }
    )
    personality, mmap = 135, 9
    assert [policy.evaluate("x86_64", personality, args(v)) for v in (0, 8, 4)] == [
        ALLOW,
        ALLOW,
        ERRNO(1),
    ]
    assert policy.evaluate("x86_64", mmap, args(0, 4096, 3)) == ALLOW  # AND: addr 0, no PROT_EXEC
    assert policy.evaluate("x86_64", mmap, args(0, 4096, 7)) == ERRNO(1)
    assert policy.evaluate("x86_64", mmap, args(8192, 4096, 3)) == ERRNO(1)


def test_masked_eq_is_value_mask_value_two_datum() -> None:
    policy = profile(
        {
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                # valueTwo has a bit outside the mask: libseccomp masks it away
                {
                    "names": ["read"],
                    "action": "SCMP_ACT_ALLOW",
                    "args": [
                        {"index": 0, "value": 3, "valueTwo": 0x11, "op": "SCMP_CMP_MASKED_EQ"}
                    ],
                },
                # a zero mask is no comparison at all
                {
                    "names": ["write"],
                    "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 0, "value": 0, "valueTwo": 5, "op": "SCMP_CMP_MASKED_EQ"}],
                },
            ],
        }
    )
    assert policy.rules[1].when == Cmp(0, "masked_eq", 1, mask=3)
    assert policy.evaluate("x86_64", 0, args(0xF1)) == ALLOW
    assert policy.evaluate("x86_64", 0, args(0xF2)) == ERRNO(1)
    assert policy.rules[0].syscalls == ("write",) and policy.rules[0].when is None
    assert policy.evaluate("x86_64", 1, args(123)) == ALLOW


def test_32_bit_profiles_compare_32_bits() -> None:
    body = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {
                "names": ["personality"],
                "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 0x1FFFFFFFF, "op": "SCMP_CMP_EQ"}],
            }
        ],
    }
    narrow = profile(body, arch="i386")
    assert narrow.rules[0].when == Cmp(0, "eq", 0xFFFFFFFF, width=32)
    assert (
        narrow.evaluate("i386", 136, args(0xABCD_FFFF_FFFF)) == ALLOW
    )  # personality, syscall_32.tbl
    wide = profile(body)
    assert wide.rules[0].when == Cmp(0, "eq", 0x1FFFFFFFF)
    mixed = profile({**body, "architectures": ["SCMP_ARCH_X86"]})
    assert [a.name for a in mixed.resolved_arches()] == ["x86_64", "i386"]
    assert any("low 32 bits" in note for note in mixed.notes)
    # i386 calls see 32-bit arguments: upper halves are ignored, and 0x1ffffffff is out of reach
    assert mixed.evaluate("i386", 136, args(0x1_FFFF_FFFF)) == mixed.default_action
    assert mixed.evaluate("x86_64", 135, args(0x1_FFFF_FFFF)) == ALLOW


def test_socket_rules_on_i386_follow_libseccomp() -> None:
    entries: list[dict[str, object]] = [
        {
            "names": ["socket"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}],
        },
        {"names": ["bind"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["connect"], "action": "SCMP_ACT_LOG"},
        {
            "names": ["socketcall"],
            "action": "SCMP_ACT_KILL_PROCESS",
            "args": [{"index": 0, "value": 5, "op": "SCMP_CMP_EQ"}],
        },
    ]
    body = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86"],
        "syscalls": entries,
    }
    policy = profile(body)
    assert policy.multiplexer_conditions == "drop"
    socketcall = 102
    assert (
        policy.evaluate("i386", socketcall, args(1, 0)) == ALLOW
    )  # socket: arg0 == SYS_SOCKET only
    assert policy.evaluate("i386", 359, args(2)) == ERRNO(
        1
    )  # the direct socket keeps its condition
    assert policy.evaluate("i386", socketcall, args(2)) == ALLOW  # bind
    assert policy.evaluate("i386", socketcall, args(3)) == LOG  # connect
    assert (
        policy.evaluate("i386", socketcall, args(5)) == KILL_PROCESS
    )  # accept, socketcall's own rule
    assert policy.evaluate("i386", socketcall, args(4)) == ERRNO(1)
    # bind's mirror (allow when arg0 == SYS_BIND) and a socketcall rule trapping the same call
    # overlap with different actions: libseccomp's answer depends on its tree, so: refused
    entries.append(
        {
            "names": ["socketcall"],
            "action": "SCMP_ACT_TRAP",
            "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}],
        }
    )
    with pytest.raises(
        PolicyError, match=r"syscalls\[1\] and syscalls\[4\] give 'socketcall' on i386"
    ):
        profile(body)


def test_differences_from_libseccomp_on_multiplexers_are_noted() -> None:
    policy = profile(
        {
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86"],
            "syscalls": [
                {
                    "names": ["setsockopt"],
                    "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}],
                },
                {"names": ["semop"], "action": "SCMP_ACT_ALLOW"},
            ],
        }
    )
    notes = " | ".join(policy.notes)
    assert "syscalls[0]: on i386 libseccomp keeps its comparisons of arguments other" in notes
    assert "ipc(2) with the call number of semop" in notes
    assert policy.evaluate("i386", 102, args(14, 0)) == ALLOW  # socketcall(SYS_SETSOCKOPT)


def test_multiplexer_own_rule_without_conditions_wins_on_i386() -> None:
    policy = profile(
        {
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86"],
            "syscalls": [
                {"names": ["socket"], "action": "SCMP_ACT_LOG"},
                {"names": ["socketcall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            ],
        }
    )
    assert policy.evaluate("i386", 102, args(1)) == ERRNO(13)
    assert policy.evaluate("i386", 359) == LOG
    assert policy.evaluate("x86_64", 41) == LOG


def test_includes_and_excludes() -> None:
    body = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {
                "names": ["reboot"],
                "action": "SCMP_ACT_ALLOW",
                "includes": {"caps": ["CAP_SYS_BOOT", "CAP_SYS_ADMIN"]},
            },
            {
                "names": ["read"],
                "action": "SCMP_ACT_ALLOW",
                "excludes": {"caps": ["CAP_SYS_BOOT", "CAP_KILL"]},
            },
            {"names": ["write"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5.4"}},
            {"names": ["close"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.4"}},
            {
                "names": ["arch_prctl"],
                "action": "SCMP_ACT_ALLOW",
                "includes": {"arches": ["amd64"]},
            },
            {
                "names": ["getpid"],
                "action": "SCMP_ACT_ALLOW",
                "excludes": {"arches": ["x86", "amd64"]},
            },
        ],
    }
    only_boot = profile(body, capabilities=["CAP_SYS_BOOT"], kernel="5.3.18-gentoo")
    assert only_boot.evaluate("x86_64", 169) == ERRNO(1)  # reboot needs both capabilities
    assert only_boot.evaluate("x86_64", 0) == ERRNO(1)  # read is excluded by any of them
    assert only_boot.evaluate("x86_64", 1) == ERRNO(1)  # write needs 5.4
    assert only_boot.evaluate("x86_64", 3) == ALLOW  # close is excluded from 5.4 on
    assert only_boot.evaluate("x86_64", 158) == ALLOW  # arch_prctl on amd64
    assert only_boot.evaluate("x86_64", 39) == ERRNO(1)  # getpid excluded on amd64
    both = profile(body, capabilities=["sys_boot", "SYS_ADMIN"], kernel="5.4")
    assert both.evaluate("x86_64", 169) == ALLOW
    assert both.evaluate("x86_64", 1) == ALLOW
    assert both.evaluate("x86_64", 3) == ERRNO(1)
    none = profile(body, capabilities=[], arch="aarch64", kernel="10.0")
    assert none.evaluate("aarch64", 63) == ALLOW  # read
    assert none.evaluate("aarch64", 172) == ALLOW  # getpid, not excluded on arm64
    assert any("do not apply to arm64" in note for note in none.notes)


def test_flags_listener_and_unknown_names() -> None:
    policy = profile(
        {
            "defaultAction": "SCMP_ACT_ERRNO",
            "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "listenerPath": "/run/agent.sock",
            "syscalls": [
                {"names": ["read", "not_a_syscall", "ugetrlimit"], "action": "SCMP_ACT_ALLOW"}
            ],
        }
    )
    assert policy.flags == ("log", "spec_allow")
    assert policy.rules[0].syscalls == ("read",)
    assert any("listenerPath" in note for note in policy.notes)
    # ugetrlimit is an i386 call; not_a_syscall is no call of any architecture
    assert any(note.endswith("ignored: ugetrlimit") for note in policy.notes)
    assert any(
        "no architecture has it, ignored as runc does: unknown system call 'not_a_syscall'"
        in note
        for note in policy.notes
    )
    assert (
        profile(
            {
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["nope"], "action": "SCMP_ACT_LOG"}],
            }
        ).rules
        == ()
    )


def test_a_misspelled_name_is_refused_when_strict() -> None:
    text = '{"defaultAction": "SCMP_ACT_ERRNO",\n "syscalls": [{"names": ["write", "reed"], '
    text += '"action": "SCMP_ACT_ALLOW"}]}'
    lenient = load_oci_policy(text, source="typo.json", arch="x86_64")
    assert lenient.rules[0].syscalls == ("write",)  # runc ignores it
    with pytest.raises(PolicyError) as raised:
        load_oci_policy(text, source="typo.json", arch="x86_64", strict=True)
    error = raised.value
    assert (error.source, error.line, error.column) == ("typo.json", 2, 35)
    assert str(error).startswith(
        "typo.json:2:35: syscalls[0].names[1]: unknown system call 'reed' on x86_64; "
        "did you mean 'read'"
    )
    # names of other architectures, and of calls the kernel retired, are no typos; x86-64's
    # tables keep _sysctl (156), which the kernel retired
    other = text.replace('"reed"', '"ugetrlimit", "_sysctl", "arm_sync_file_range"')
    kept = load_oci_policy(other, arch="x86_64", strict=True).rules[0].syscalls
    assert kept == ("write", "_sysctl")


def test_archmap_without_the_machine_gives_the_machine_alone() -> None:
    policy = profile(
        {
            "defaultAction": "SCMP_ACT_ALLOW",
            "archMap": [
                {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
            ],
        }
    )
    assert policy.arches == ("x86_64",)


def test_unknown_syscall_action_is_an_option() -> None:
    policy = profile({"defaultAction": "SCMP_ACT_ERRNO"}, unknown_syscall_action=ERRNO(38))
    assert policy.evaluate("x86_64", 5000) == ERRNO(38)


def test_helpers() -> None:
    assert kernel_version("6.18.0-1-amd64") == (6, 18)
    assert kernel_version("3.12-1-amd64") == (3, 12)
    assert kernel_version("6") is None
    assert [
        docker_arch_name(get_arch(a)) for a in ("x86_64", "i386", "x32", "aarch64", "s390x")
    ] == [
        "amd64",
        "x86",
        "x32",
        "arm64",
        "s390x",
    ]


def test_read_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        '{\n  "defaultAction": "SCMP_ACT_ALLOW",\n'
        '  "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOPE"}]\n}\n'
    )
    with pytest.raises(PolicyError) as caught:
        read_oci_policy(path, arch="x86_64", kernel="6.1")
    column = path.read_text().splitlines()[2].index('"SCMP_ACT_NOPE"') + 1
    message = "syscalls[0].action: unknown action 'SCMP_ACT_NOPE'"
    assert str(caught.value).startswith(f"{path}:3:{column}: {message}")


# --- malformed profiles ---------------------------------------------------------------------

SYSCALLS = '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [\n'
READ_LOG = SYSCALLS.rstrip() + '{"names": ["read"], "action": "SCMP_ACT_LOG",\n'
OCI_MALFORMED = [
    # (JSON text, line, the text on that line the error points at, phrase: JSON path and problem)
    (
        '{"defaultAction": "SCMP_ACT_ALLOW"\n "syscalls": []}',
        2,
        '"syscalls"',
        "expected ',' or '}'",
    ),
    (
        '{"defaultAction": "SCMP_ACT_ALLOW",\n "syscalls": [],}',
        2,
        "}",
        "expected a key in double quotes",
    ),
    ('{"defaultAction": "SCMP_ACT_ALLOW"} x', 1, "x", "extra text after the JSON value"),
    (
        '{"defaultAction": "SCMP_ACT_ALLOW",\n "defaultAction": "SCMP_ACT_LOG"}',
        2,
        '"default',
        "given twice",
    ),
    ("[1, 2]", 1, "[", ": must be an object, not array"),
    ('{"syscalls": []}', 1, "{", "defaultAction: is required"),
    ('{"defaultaction": "SCMP_ACT_ALLOW"}', 1, '"default', "unknown key (allowed: defaultAction"),
    (
        '{"defaultAction": "SCMP_ACT_PERMIT"}',
        1,
        '"SCMP',
        "defaultAction: unknown action 'SCMP_ACT_PERMIT'",
    ),
    (
        '{"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}',
        1,
        "1}",
        "defaultErrnoRet: only SCMP_ACT_ERRNO",
    ),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 5000}', 1, "5000", "must be 0..4095"),
    (
        '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X87"]}',
        1,
        '"SCMP_ARCH',
        "architectures[0]: unknown architecture",
    ),
    (
        '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],\n'
        ' "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}',
        2,
        "[",
        "archMap: 'architectures' and 'archMap' were both given",
    ),
    (
        '{"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{"subArchitectures": []}]}',
        1,
        '{"sub',
        "archMap[0]: 'architecture' is required",
    ),
    (
        '{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FAST"]}',
        1,
        '"SECCOMP',
        "flags[0]: unknown flag",
    ),
    (
        '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}}',
        1,
        "{}",
        "syscalls: must be an array, not object",
    ),
    (
        SYSCALLS + '  {"names": ["read"]}]}',
        2,
        "{",
        "syscalls[0].action: is required",
    ),
    (
        SYSCALLS + '  {"action": "SCMP_ACT_LOG"}]}',
        2,
        "{",
        "syscalls[0].names: is required",
    ),
    (
        SYSCALLS + '  {"names": [], "action": "SCMP_ACT_LOG"}]}',
        2,
        "[]",
        "syscalls[0].names: the list is empty",
    ),
    (
        SYSCALLS + '  {"names": [7], "action": "SCMP_ACT_LOG"}]}',
        2,
        "7",
        "syscalls[0].names[0]: must be a string",
    ),
    (
        SYSCALLS + '  {"name": "read", "names": ["read"], "action": "SCMP_ACT_LOG"}]}',
        2,
        '"read"',
        "syscalls[0].name: 'name' and 'names' were both given",
    ),
    (
        SYSCALLS + '  {"names": ["read"], "action": "SCMP_ACT_LOG", "errnoRet": 1}]}',
        2,
        "1}",
        "syscalls[0].errnoRet: only SCMP_ACT_ERRNO",
    ),
    (
        SYSCALLS + '  {"names": ["read"], "action": "SCMP_ACT_LOG", "arg": []}]}',
        2,
        '"arg"',
        "syscalls[0].arg: unknown key",
    ),
    (
        READ_LOG + '  "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQUAL"}]}]}',
        2,
        '"SCMP',
        "syscalls[0].args[0].op: unknown operator",
    ),
    (
        READ_LOG + '  "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}',
        2,
        "6",
        "syscalls[0].args[0].index: must be 0..5",
    ),
    (
        READ_LOG + '  "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]}',
        2,
        "-1",
        "syscalls[0].args[0].value: must be 0..18446744073709551615",
    ),
    (
        READ_LOG + '  "args": [{"index": 0, "value": 1.5, "op": "SCMP_CMP_EQ"}]}]}',
        2,
        "1.5",
        "syscalls[0].args[0].value: must be an unsigned integer, not number",
    ),
    (
        READ_LOG + '  "args": [{"index": 0, "value": 1}]}]}',
        2,
        '{"index"',
        "syscalls[0].args[0].op: is required",
    ),
    (
        READ_LOG + '  "includes": {"minKernel": "five"}}]}',
        2,
        '"five"',
        "syscalls[0].includes.minKernel: must be MAJOR.MINOR",
    ),
    (
        READ_LOG + '  "excludes": {"capabilities": []}}]}',
        2,
        '"capabilities"',
        "syscalls[0].excludes.capabilities: unknown key",
    ),
]


@pytest.mark.parametrize(("text", "line", "at", "phrase"), OCI_MALFORMED)
def test_malformed_profile_gives_one_pointed_error(
    text: str, line: int, at: str, phrase: str
) -> None:
    column = text.splitlines()[line - 1].index(at) + 1
    with pytest.raises(PolicyError) as caught:
        load_oci_policy(text, source="bad.json", arch="x86_64", kernel="6.1")
    error = caught.value
    assert phrase in error.message
    assert (error.source, error.line, error.column) == ("bad.json", line, column)
    assert str(error).startswith(f"bad.json:{line}:{column}: ")
    assert "\n" not in str(error)
