"""``newer_syscall_action``: numbers above the highest one the rules name, per ABI.

The compiled program is judged by the emulator against the reference evaluator's own reading
of the setting (``tests/reference``), on every ABI a policy lists, and by the kernel on the
ABIs this machine runs (x86-64, x32 and i386 through ``int 0x80``).
"""

from __future__ import annotations

import dataclasses
import errno
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seccomp_bpf.arch import X32_SYSCALL_BIT, get_arch
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.cli import main
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.errors import ConversionError
from seccomp_bpf.formats import load_policy_text
from seccomp_bpf.formats.go_writer import to_go_seccomp_bpf
from seccomp_bpf.formats.oci_writer import to_oci, to_oci_json
from seccomp_bpf.formats.yaml_writer import to_yaml
from seccomp_bpf.kernel import syscall_abi
from seccomp_bpf.kernel.compat import has_i386_emulation, has_x32_abi, i386_syscall
from seccomp_bpf.kernel.libc import syscall
from seccomp_bpf.policy import ALLOW, ERRNO, KILL_PROCESS, NumberRange, Policy, Rule
from tests.compiler.strategies import interesting_numbers, policies
from tests.kernel.filtered_calls import Call, Outcome, run_calls
from tests.reference import evaluator

ENOSYS = ERRNO("ENOSYS")
EPERM = ERRNO("EPERM")

ABIS = ("x86_64", "i386", "x32", "aarch64", "arm", "riscv64", "s390x", "mips", "mips64n32")


def _ret(policy: Policy, abi: str, nr: int) -> tuple[int, int]:
    """What the compiled program and the reference evaluator give ``nr`` on ``abi``."""
    arch = get_arch(abi)
    program = compile_policy(policy)
    got = emulate(program, SeccompData(nr, arch.audit_arch, byteorder=arch.byteorder)).ret
    return got, evaluator.ret(policy, arch.audit_arch, nr)


@pytest.mark.parametrize("abi", ABIS)
def test_above_the_highest_named_gets_the_action_below_the_default(abi: str) -> None:
    arch = get_arch(abi)
    policy = Policy(
        EPERM,
        (Rule(("read", "write", "getcwd", "exit_group"), ALLOW),),
        arches=(abi,),
        newer_syscall_action=ENOSYS,
    )
    numbers = [arch.syscalls[name] for name in ("read", "write", "getcwd", "exit_group")]
    highest = max(numbers)
    assert policy.highest_named(arch) == highest
    unnamed_below = next(nr for nr in range(highest - 1, -1, -1) if nr not in numbers)
    for nr, wanted in (
        (highest + 1, ENOSYS),
        (highest + 50, ENOSYS),
        (unnamed_below, EPERM),
        (highest, ALLOW),
    ):
        got, reference = _ret(policy, abi, nr)
        assert got == reference == wanted.ret_value, (abi, nr, hex(got), hex(reference))
    # The decision names the setting and the number it counts from.
    assert "newer_syscall_action (above" in policy.decide(arch, highest + 1).reason


def test_each_abi_counts_its_own_names() -> None:
    policy = Policy(
        EPERM,
        (Rule(("read",), ALLOW), Rule(("getcwd",), ALLOW, arches=("x86_64",))),
        arches=("x86_64", "i386"),
        newer_syscall_action=ENOSYS,
    )
    x86_64, i386 = get_arch("x86_64"), get_arch("i386")
    assert policy.highest_named(x86_64) == x86_64.syscalls["getcwd"]
    assert policy.highest_named(i386) == i386.syscalls["read"]  # getcwd is x86_64's only
    assert _ret(policy, "i386", i386.syscalls["getcwd"]) == (ENOSYS.ret_value,) * 2
    rules = policy.newer_rules()
    assert [r.arches for r in rules] == [("x86_64",), ("i386",)]
    assert all(isinstance(r.syscalls[0], NumberRange) for r in rules)


def test_the_skipped_call_and_number_ranges() -> None:
    """-1 (a call a tracer skipped) is no newer call; a range of numbers does not raise the
    highest, and decides its own numbers first (it comes before the lowered rule)."""
    policy = Policy(
        EPERM,
        (Rule(("read",), ALLOW), Rule((NumberRange(0x80000000, 0xBFFFFFFF),), KILL_PROCESS)),
        arches=("x86_64",),
        newer_syscall_action=ENOSYS,
    )
    assert policy.highest_named(get_arch("x86_64")) == 0
    for nr, wanted in ((0xFFFFFFFF, EPERM), (0x80000000, KILL_PROCESS), (5, ENOSYS)):
        assert _ret(policy, "x86_64", nr) == (wanted.ret_value,) * 2, hex(nr)


def test_unknown_syscall_action_applies_below_the_highest_only() -> None:
    """Above the highest named number the newer-call action wins; below it, a number no
    table knows gets the unknown-syscall action."""
    x86_64 = get_arch("x86_64")
    policy = Policy(
        ERRNO("EACCES"),
        (Rule(("read", 1001), ALLOW),),
        arches=("x86_64",),
        unknown_syscall_action=ERRNO("EXDEV"),
        newer_syscall_action=ENOSYS,
    )
    assert x86_64.syscall_name(1000) is None
    assert _ret(policy, "x86_64", 1000) == (ERRNO("EXDEV").ret_value,) * 2
    assert _ret(policy, "x86_64", 1002) == (ENOSYS.ret_value,) * 2
    assert _ret(policy, "x86_64", 3) == (ERRNO("EACCES").ret_value,) * 2  # close: named in no rule


def test_random_policies_agree_with_the_reference() -> None:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        policy=policies((("x86_64",), ("x86_64", "i386", "x32"), ("aarch64", "arm"))),
        newer=st.sampled_from([ENOSYS, ERRNO("EXDEV"), KILL_PROCESS]),
    )
    def check(policy: Policy, newer: object) -> None:
        assert isinstance(newer, type(ENOSYS))
        policy = dataclasses.replace(policy, newer_syscall_action=newer)
        program = compile_policy(policy)
        for arch in policy.resolved_arches():
            numbers = set(interesting_numbers(policy, arch))
            top = policy.highest_named(arch)
            if top is not None:
                numbers |= {top, top + 1, top + 2, 0xFFFFFFFE, 0xFFFFFFFF}
            for nr in sorted(numbers):
                got = emulate(program, SeccompData(nr, arch.audit_arch)).ret
                wanted = evaluator.ret(policy, arch.audit_arch, nr)
                assert got == wanted, (arch.name, hex(nr), hex(got), hex(wanted))

    check()


def test_yaml_round_trip_and_the_writers_that_refuse() -> None:
    text = (
        "default_action: errno(EPERM)\n"
        "newer_syscall_action: errno(ENOSYS)\n"
        "arches: [x86_64]\n"
        "syscalls:\n"
        "  - names: [read, write]\n"
        "    action: allow\n"
    )
    policy = load_policy_text(text, source="p.yaml")
    assert policy.newer_syscall_action == ENOSYS
    again = load_policy_text(to_yaml(policy), source="again.yaml")
    assert again == policy
    with pytest.raises(ConversionError, match="newer_syscall_action"):
        to_oci(policy)
    with pytest.raises(ConversionError, match="go-seccomp-bpf has no newer-syscall action"):
        to_go_seccomp_bpf(policy)
    with pytest.raises(Exception, match="newer_syscall_action"):
        load_policy_text(text.replace("errno(ENOSYS)", "errno(NOPE)"), source="bad.yaml")


def test_the_oci_writer_writes_it_when_unknown_numbers_get_the_same() -> None:
    """A profile gives every number it does not name its default action: newer calls can be
    written exactly when that is also what the policy gives unknown numbers. Read back, the
    profile decides every number of the table, and numbers no table has, as the policy."""
    policy = Policy(
        EPERM,
        (Rule(("read", "write", "getcwd", "exit_group"), ALLOW),),
        arches=("x86_64",),
        unknown_syscall_action=ENOSYS,
        newer_syscall_action=ENOSYS,
    )
    profile = load_policy_text(to_oci_json(policy), source="p.json", arches=["x86_64"])
    assert profile.newer_syscall_action is None and profile.default_action == ENOSYS
    x86_64 = get_arch("x86_64")
    highest = policy.highest_named(x86_64)
    assert highest is not None
    # (x32 numbers, bit 30, are another ABI: bad_arch_action, which a profile cannot say)
    numbers = set(x86_64.syscalls.values()) | {highest + 1, 1000, 5000, 0x3FFFFFFF}
    program, written = compile_policy(policy), compile_policy(profile)
    for nr in sorted(numbers):
        data = SeccompData(nr, x86_64.audit_arch)
        assert emulate(written, data).ret == emulate(program, data).ret, hex(nr)
    assert emulate(program, SeccompData(highest + 1, x86_64.audit_arch)).ret == ENOSYS.ret_value


def test_the_reports_name_the_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``check`` prints it; an audit, the supervisor's reason and a kill's cause name it
    rather than a rule the file does not have."""
    from seccomp_bpf.explain.audit import audit_policy
    from seccomp_bpf.run.command import describe_exit
    from seccomp_bpf.run.supervisor import decided_by

    policy = Policy(
        EPERM,
        (Rule(("read", "write", "exit_group"), ALLOW),),
        arches=("x86_64",),
        newer_syscall_action=KILL_PROCESS,
    )
    x86_64 = get_arch("x86_64")
    decision = policy.decide(x86_64, x86_64.syscalls["exit_group"] + 1)
    assert decision.action == KILL_PROCESS
    assert decided_by(policy, decision, "p.yaml").startswith("newer_syscall_action (above 231,")
    for finding in audit_policy(policy).findings:  # no rule of the file is blamed for it
        assert finding.rule is None or finding.rule < len(policy.rules), finding
    _, text = describe_exit("prog", 31, compile_policy(policy), policy)  # killed by SIGSYS
    assert text is not None and "the newer-syscall action kill_process" in text
    path = tmp_path / "p.yaml"
    path.write_text(to_yaml(policy))
    assert main(["check", str(path)]) == 0
    assert (
        "numbers above the highest named kill_process" in capsys.readouterr().out.splitlines()[-1]
    )


# --- the kernel ------------------------------------------------------------------------------

on_x86_64 = pytest.mark.skipif(
    not sys.platform.startswith("linux") or syscall_abi() != "x86_64",
    reason="needs a 64-bit x86-64 Linux process",
)

# Numbers no ABI assigns (tests/kernel/filtered_calls.py): the rule names 1001, so 1000 is an
# unnamed number below the highest and 1002, 1003 are above it. Every real call of the child
# (0..999) is allowed by a range, which does not count as naming a call.
_KERNEL_POLICY = Policy(
    EPERM,
    (
        Rule((NumberRange(0, 999),), ALLOW),
        Rule((1001,), ERRNO("EACCES")),
        # A number names a call on every ABI whose table the kernel runs it from: this one
        # only on x32's, but limited to x32 all the same.
        Rule((X32_SYSCALL_BIT | 1001,), ERRNO("EACCES"), arches=("x32",)),
    ),
    arches=("x86_64", "i386", "x32"),
    newer_syscall_action=ENOSYS,
)
_WANTED = {
    1000: Outcome("errno", errno.EPERM),
    1001: Outcome("errno", errno.EACCES),
    1002: Outcome("errno", errno.ENOSYS),
    1003: Outcome("errno", errno.ENOSYS),
}


@pytest.mark.kernel
@on_x86_64
@pytest.mark.parametrize("abi", ["x86_64", "x32", "i386"])
def test_the_kernel_answers_newer_calls_with_enosys(abi: str) -> None:
    if abi == "i386" and not has_i386_emulation():
        pytest.skip("the kernel runs no i386 system calls (no IA-32 emulation)")
    program = compile_policy(_KERNEL_POLICY)
    bit = X32_SYSCALL_BIT if abi == "x32" else 0
    calls = [Call(bit | nr, (0,) * 6) for nr in _WANTED]
    arch = get_arch(abi)
    for call, wanted in zip(calls, _WANTED.values(), strict=True):
        got = emulate(program, SeccompData(call.nr, arch.audit_arch)).ret
        reference = evaluator.ret(_KERNEL_POLICY, arch.audit_arch, call.nr)
        assert got == reference == ERRNO(wanted.value).ret_value, hex(call.nr)
    if abi == "x32" and not has_x32_abi():
        pytest.skip("the kernel runs no x32 system calls (emulator checked)")
    make = i386_syscall if abi == "i386" else syscall
    outcomes = run_calls([program], calls, make_call=make)
    assert outcomes == list(_WANTED.values()), [str(o) for o in outcomes]
