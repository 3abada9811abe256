"""deny_new_exec_mappings: PROT_EXEC refused per ABI; old_mmap denied where prot is hidden."""

from __future__ import annotations

import errno

import pytest

from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy import ALLOW, ERRNO, KILL_PROCESS, Action, Policy, Rule
from seccomp_bpf.policy.rulesets import RULE_SETS, deny_new_exec_mappings, get_rule_set

# <asm-generic/mman-common.h>
PROT_READ, PROT_WRITE, PROT_EXEC = 0x1, 0x2, 0x4
ARGS_WITH = {
    "mmap": (0, 4096, PROT_READ | PROT_EXEC, 0x22, 2**64 - 1, 0),
    "mprotect": (0x1000, 4096, PROT_READ | PROT_WRITE | PROT_EXEC),
    "pkey_mprotect": (0x1000, 4096, PROT_EXEC, 0),
    "mmap2": (0, 4096, PROT_EXEC, 0x22, 2**32 - 1, 0),
}


def policy_for(arches: tuple[str, ...], action: Action | None = None) -> Policy:
    rules = (*deny_new_exec_mappings(action, arches=arches), Rule(("read",), ALLOW))
    return Policy(ALLOW, rules, arches=arches)


@pytest.mark.parametrize(
    ("arches", "calls"),
    [
        (("x86_64", "x32"), ("mmap", "mprotect", "pkey_mprotect")),
        (("aarch64", "arm"), ("mmap", "mmap2", "mprotect", "pkey_mprotect")),
        (("riscv64",), ("mmap", "mprotect", "pkey_mprotect")),
    ],
)
def test_exec_is_refused_and_the_rest_allowed(
    arches: tuple[str, ...], calls: tuple[str, ...]
) -> None:
    policy = policy_for(arches)
    for arch in policy.resolved_arches():
        for name in calls:
            nr = arch.syscall_number(name)
            if nr is None:
                continue
            args = ARGS_WITH[name]
            assert policy.evaluate(arch, nr, args) == ERRNO(errno.EPERM), (arch, name)
            without = tuple(a & ~PROT_EXEC if i == 2 else a for i, a in enumerate(args))
            assert policy.evaluate(arch, nr, without) == ALLOW, (arch, name)
            # prot is an int: PROT_EXEC in the upper half of the register does not count.
            high = tuple(a | (PROT_EXEC << 32) if i == 2 else a for i, a in enumerate(without))
            assert policy.evaluate(arch, nr, high) == ALLOW, (arch, name)


def test_the_action_can_be_chosen() -> None:
    policy = policy_for(("x86_64",), KILL_PROCESS)
    assert policy.evaluate("x86_64", 10, ARGS_WITH["mprotect"]) == KILL_PROCESS  # mprotect


@pytest.mark.parametrize("arch", ["s390x", "s390"])
def test_abis_where_every_mapping_call_takes_a_pointer_are_refused(arch: str) -> None:
    with pytest.raises(PolicyError, match=r"cannot protect s390x?.*pointer"):
        deny_new_exec_mappings(arches=[arch])


@pytest.mark.parametrize("arches", [("i386",), ("m68k",), ("x86_64", "i386", "x32")])
def test_old_mmap_is_denied_where_prot_is_out_of_sight(arches: tuple[str, ...]) -> None:
    # On i386 and m68k `mmap` is old_mmap (one pointer to its arguments): denied whatever the
    # registers say; mmap2, which the C library uses there, is checked like mmap elsewhere.
    policy = policy_for(arches)
    for arch in policy.resolved_arches():
        mmap, mmap2 = arch.syscall_number("mmap"), arch.syscall_number("mmap2")
        assert mmap is not None
        pointer_based = arch.name in ("i386", "m68k")
        harmless = (0x1000, 0, 0, 0, 0, 0)
        expected = ERRNO(errno.EPERM) if pointer_based else ALLOW
        assert policy.evaluate(arch, mmap, harmless) == expected, arch
        if mmap2 is not None:
            assert policy.evaluate(arch, mmap2, ARGS_WITH["mmap2"]) == ERRNO(errno.EPERM)
            assert policy.evaluate(arch, mmap2, (0, 4096, PROT_READ, 0x22, 0, 0)) == ALLOW


def test_rules_limited_to_some_abis_compile_as_evaluated() -> None:
    from seccomp_bpf.bpf.emulator import SeccompData, emulate
    from seccomp_bpf.compiler import compile_policy

    policy = policy_for(("x86_64", "i386", "x32"))
    program = compile_policy(policy)
    for arch in policy.resolved_arches():
        for name in ("mmap", "mmap2", "mprotect", "pkey_mprotect", "read"):
            nr = arch.syscall_number(name)
            if nr is None:
                continue
            for args in ((0, 4096, PROT_EXEC, 0, 0, 0), (0, 4096, PROT_READ, 0, 0, 0)):
                data = SeccompData(nr, arch.audit_arch, 0, args)
                assert emulate(program, data).ret == policy.evaluate(arch, nr, args).ret_value


def test_rule_sets_by_name() -> None:
    assert get_rule_set("deny_new_exec_mappings") is RULE_SETS["deny_new_exec_mappings"]
    with pytest.raises(PolicyError, match="unknown rule set 'nope'"):
        get_rule_set("nope")


SHM_EXEC = 0o100000
SHMAT = 21  # <linux/ipc.h>
READ_IMPLIES_EXEC = 0x0400000


@pytest.mark.parametrize(
    "arches",
    [
        ("x86_64", "i386", "x32"),
        ("aarch64", "arm"),
        ("ppc64le",),
        ("ppc",),
        ("mips",),
        ("sparc64",),
        ("m68k",),
        ("sh",),
    ],
)
def test_executable_shared_memory_is_refused_by_every_route(arches: tuple[str, ...]) -> None:
    # The rule set's own rules first, so that every ABI's multiplexer keeps its conditions:
    # the policy must compile, and compile to what the reference evaluator says.
    policy = Policy(
        ALLOW, (*deny_new_exec_mappings(arches=arches), Rule(("shmat",), ALLOW)), arches=arches
    )
    program = compile_policy(policy)
    denied = ERRNO(errno.EPERM)
    for arch in policy.resolved_arches():
        cases: list[tuple[tuple[int, tuple[int, ...]], Action]] = []
        shmat = arch.syscall_number("shmat")
        if shmat is not None:
            cases += [((shmat, (7, 0, SHM_EXEC)), denied), ((shmat, (7, 0, 0o10000)), ALLOW)]
        ipc = arch.syscall_number("ipc")
        if ipc is not None and arch.ipc:
            version = 1 << 16  # ipc/syscall.c: the high half of the call is a version
            cases += [
                ((ipc, (SHMAT, 7, SHM_EXEC, 0, 0)), denied),
                ((ipc, (SHMAT | version, 7, SHM_EXEC | 0o10000, 0, 0)), denied),
                ((ipc, (SHMAT, 7, 0, 0, 0)), ALLOW),
            ]
        personality = arch.syscall_number("personality")
        assert personality is not None
        cases += [
            ((personality, (READ_IMPLIES_EXEC,)), denied),
            ((personality, (READ_IMPLIES_EXEC | 0x8,)), denied),
            ((personality, (0xFFFFFFFF,)), ALLOW),  # only asks for the current value
            ((personality, (0,)), ALLOW),
        ]
        for (nr, args), expected in cases:
            a = (*args, 0, 0, 0, 0, 0, 0)
            full = (a[0], a[1], a[2], a[3], a[4], a[5])
            assert policy.evaluate(arch, nr, full) == expected, (arch.name, nr, args)
            data = SeccompData(nr, arch.audit_arch, 0, full, byteorder=arch.byteorder)
            assert emulate(program, data).ret == expected.ret_value, (arch.name, nr, args)
