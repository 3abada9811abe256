from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.builder import Node, ProgramBuilder
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Instruction
from seccomp_bpf.bpf.optimizer import (
    PASSES,
    Pass,
    drop_dead_code,
    drop_ja_to_next,
    drop_redundant_loads,
    fold_same_targets,
    optimize,
    return_instead_of_ja,
    share_returns,
    thread_jumps,
)
from tests.bpf.labelled import labelled_programs, seccomp_data

ALLOW = op.SECCOMP_RET_ALLOW
KILL = op.SECCOMP_RET_KILL_PROCESS
LD_NR = Node(op.BPF_LD | op.BPF_W | op.BPF_ABS, op.OFFSET_NR)


def ret(k: int) -> Node:
    return Node(op.BPF_RET | op.BPF_K, k)


def jeq(k: int, jt: int, jf: int) -> Node:
    return Node(op.BPF_JMP | op.BPF_JEQ | op.BPF_K, k, jt, jf)


def jge(k: int, jt: int, jf: int) -> Node:
    return Node(op.BPF_JMP | op.BPF_JGE | op.BPF_K, k, jt, jf)


def ja(target: int) -> Node:
    return Node(op.BPF_JMP | op.BPF_JA, 0, target, target)


@settings(max_examples=400, deadline=None)
@given(labelled_programs(), st.lists(seccomp_data, min_size=1, max_size=10))
def test_optimized_programs_decide_like_unoptimized(
    b: ProgramBuilder, inputs: list[SeccompData]
) -> None:
    plain = b.build(optimize=False)
    optimized = b.build(optimize=True)
    assert len(optimized) <= len(plain)
    for data in inputs:
        assert emulate(optimized, data).ret == emulate(plain, data).ret


@settings(max_examples=200, deadline=None)
@given(
    labelled_programs(),
    st.sampled_from(PASSES),
    st.lists(seccomp_data, min_size=1, max_size=10),
)
def test_each_pass_alone_keeps_results(
    b: ProgramBuilder, one_pass: Pass, inputs: list[SeccompData]
) -> None:
    from seccomp_bpf.bpf.builder import layout
    from seccomp_bpf.bpf.instruction import Program

    plain = b.build(optimize=False)
    nodes = b.nodes()
    result = one_pass(nodes)
    if result is None:
        return
    changed = Program(layout(result))
    for data in inputs:
        assert emulate(changed, data).ret == emulate(plain, data).ret


def test_thread_jumps_uses_what_the_edge_proves() -> None:
    # 0: A = nr; 1: if A == 5 goto 2 else 4; 2: if A >= 3 goto 3 else 5; ...
    nodes = [LD_NR, jeq(5, 2, 4), jge(3, 3, 5), ret(ALLOW), ret(KILL), ret(1)]
    threaded = thread_jumps(nodes)
    assert threaded is not None
    assert (threaded[1].jt, threaded[1].jf) == (3, 4)  # A == 5 implies A >= 3


def test_thread_jumps_follows_ja_chains() -> None:
    nodes = [LD_NR, jeq(1, 2, 3), ja(3), ja(4), ret(ALLOW)]
    threaded = thread_jumps(nodes)
    assert threaded is not None
    assert (threaded[1].jt, threaded[1].jf) == (4, 4)


def test_fold_same_targets() -> None:
    nodes = [LD_NR, jeq(1, 2, 2), ret(KILL)]
    folded = fold_same_targets(nodes)
    assert folded is not None and folded[1].is_ja


def test_return_instead_of_ja() -> None:
    nodes = [LD_NR, ja(3), ret(KILL), ret(ALLOW)]
    replaced = return_instead_of_ja(nodes)
    assert replaced is not None and replaced[1].is_return and replaced[1].k == ALLOW


def test_drop_redundant_loads_only_when_every_path_agrees() -> None:
    # The load at 2 is redundant (A = nr on its only path); the load at 4 is not (via 3: args).
    nodes = [
        LD_NR,
        jeq(1, 2, 3),
        LD_NR,
        Node(op.BPF_LD | op.BPF_W | op.BPF_ABS, op.OFFSET_ARGS),
        LD_NR,
        ret(ALLOW),
    ]
    dropped = drop_redundant_loads(nodes)
    assert dropped is not None
    assert len(dropped) == 5


def test_drop_ja_to_next_and_dead_code() -> None:
    nodes = [LD_NR, ja(2), ret(ALLOW)]
    assert drop_ja_to_next(nodes) == [LD_NR, ret(ALLOW)]
    dead = [ret(ALLOW), ret(KILL)]
    assert drop_dead_code(dead) == [ret(ALLOW)]


def test_share_returns_makes_duplicate_dead() -> None:
    nodes = [LD_NR, jeq(1, 2, 3), ret(ALLOW), jeq(2, 4, 5), ret(ALLOW), ret(KILL)]
    optimized = optimize(nodes)
    assert sum(1 for n in optimized if n.is_return and n.k == ALLOW) == 1
    program_like = [Instruction(n.code, 0, 0, n.k) for n in optimized if n.is_return]
    assert len(program_like) == 2
    assert share_returns([ret(ALLOW)]) is None


def test_optimize_reaches_fixpoint() -> None:
    nodes = [LD_NR, jeq(1, 2, 3), ja(3), ja(4), ret(ALLOW)]
    once = optimize(nodes)
    assert optimize(once) == once


def test_optimizer_on_data_sample() -> None:
    b = ProgramBuilder()
    ok = b.label()
    b.load(op.OFFSET_NR)
    b.jump_if(op.BPF_JEQ, 3, ok, None)
    b.load(op.OFFSET_NR)
    b.jump_if(op.BPF_JEQ, 3, ok, None)
    b.ret(KILL)
    b.bind(ok)
    b.ret(ALLOW)
    program = b.build()
    assert len(program) == 4  # the repeated load and the repeated test are gone
    assert emulate(program, SeccompData(3, 0)).ret == ALLOW
    assert emulate(program, SeccompData(4, 0)).ret == KILL
