"""The validator against the real kernel: it refuses exactly what seccomp(2) refuses.

Asking the kernel is cheap here thanks to one forked child whose filter stack is full: it
loads "allow everything" filters until not even a one-instruction filter fits in
MAX_INSNS_PER_PATH (``kernel/seccomp.c``). ``seccomp_set_mode_filter`` checks a new program
(``seccomp_prepare_filter``: EINVAL when refused) before it checks the room left
(``seccomp_attach_filter``: ENOMEM), so in that child EINVAL means "refused", ENOMEM means
"accepted", and nothing is ever attached: one child answers thousands of programs.

Programs that every path allows are also really loaded, in a fresh child, once.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable, Iterator, Sequence

import pytest
from hypothesis import HealthCheck, given, settings

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import Instruction, Program
from seccomp_bpf.bpf.validator import validate
from seccomp_bpf.errors import InvalidProgramError, KernelError
from seccomp_bpf.kernel import filter_count, install, set_mode_filter, set_no_new_privs
from tests.bpf.program_cases import ACCEPTED, REFUSED, AcceptedCase, RefusedCase
from tests.bpf.strategies import listing, near_valid_instructions
from tests.kernel.forked import ForkedServer, run_in_child

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]

Verdict = Callable[[Sequence[Instruction] | bytes], str]


def _allow_all(length: int) -> bytes:
    """``length - 1`` times ``JA 0``, then ``RET ALLOW``: allows everything, reads nothing."""
    ja0 = Instruction(op.BPF_JMP | op.BPF_JA)
    allow = Instruction(op.BPF_RET | op.BPF_K, k=op.SECCOMP_RET_ALLOW)
    return b"".join(i.to_bytes() for i in [*[ja0] * (length - 1), allow])


def _fill_filter_stack() -> int:
    """Load allow-all filters, halving their size on ENOMEM, until one instruction is refused."""
    set_no_new_privs()
    loaded = 0
    size = op.BPF_MAXINSNS
    while size:
        try:
            set_mode_filter(_allow_all(size))
            loaded += 1
        except KernelError as error:
            if error.errno != errno.ENOMEM:
                raise
            size //= 2
    return loaded


def _kernel_verdict(program: bytes, loaded: object) -> str:
    try:
        set_mode_filter(program)
    except KernelError as error:
        if error.errno == errno.EINVAL:
            return "refused"
        if error.errno == errno.ENOMEM:
            return "accepted"
        return f"errno {error.errno}"
    return "attached"  # the stack was not full after all: a broken test, not a verdict


@pytest.fixture(scope="module")
def kernel_verdict() -> Iterator[Verdict]:
    with ForkedServer(_fill_filter_stack, _kernel_verdict) as server:

        def verdict(program: Sequence[Instruction] | bytes) -> str:
            raw = program if isinstance(program, bytes) else b"".join(i.to_bytes() for i in program)
            answer = server.ask(raw)
            assert answer in ("refused", "accepted"), f"unexpected answer from the kernel: {answer}"
            assert isinstance(answer, str)
            return answer

        # The oracle itself: the smallest valid program no longer fits, an empty one is invalid.
        assert verdict(_allow_all(1)) == "accepted"
        assert verdict(b"") == "refused"
        yield verdict


def _our_verdict(program: Sequence[Instruction]) -> str:
    try:
        validate(program)
    except InvalidProgramError:
        return "refused"
    return "accepted"


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case.name)
def test_kernel_and_validator_refuse(case: RefusedCase, kernel_verdict: Verdict) -> None:
    assert _our_verdict(case.instructions) == "refused"
    assert kernel_verdict(case.instructions) == "refused"


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda case: case.name)
def test_kernel_and_validator_accept(case: AcceptedCase, kernel_verdict: Verdict) -> None:
    assert _our_verdict(case.instructions) == "accepted"
    assert kernel_verdict(case.instructions) == "accepted"


def test_refused_kinds_are_many() -> None:
    # One case per rule of the kernel, at least fifteen kinds (the names are unique).
    assert len({case.name for case in REFUSED}) == len(REFUSED) >= 15


def _load_each(cases: Sequence[AcceptedCase]) -> tuple[int | None, int | None]:
    before = filter_count()
    for case in cases:
        install(Program(case.instructions), tsync=False)
    return before, filter_count()


def test_harmless_accepted_programs_really_load() -> None:
    harmless = [case for case in ACCEPTED if case.harmless]
    before, after = run_in_child(_load_each, harmless)
    if before is None or after is None:
        pytest.skip("this kernel does not report Seccomp_filters in /proc")
    assert after - before == len(harmless)


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(instructions=near_valid_instructions())
def test_validator_accepts_exactly_what_the_kernel_accepts(
    instructions: list[Instruction], kernel_verdict: Verdict
) -> None:
    ours = _our_verdict(instructions)
    kernels = kernel_verdict(instructions)
    assert ours == kernels, f"validator: {ours}, kernel: {kernels}\n{listing(instructions)}"
