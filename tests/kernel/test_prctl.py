"""no_new_privs and dumpability through ``prctl(2)``, in forked children."""

from __future__ import annotations

import sys

import pytest

from seccomp_bpf.kernel import get_no_new_privs, set_dumpable, set_no_new_privs
from seccomp_bpf.kernel.libc import prctl
from seccomp_bpf.kernel.prctl import PR_GET_DUMPABLE
from tests.kernel.forked import run_in_child

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]


def _no_new_privs_states() -> tuple[bool, bool, bool]:
    before = get_no_new_privs()
    set_no_new_privs()
    after = get_no_new_privs()
    set_no_new_privs()  # setting it again is allowed
    return before, after, get_no_new_privs()


def test_no_new_privs_is_set_once_and_stays() -> None:
    if get_no_new_privs():
        pytest.skip("the test process already has no_new_privs")
    assert run_in_child(_no_new_privs_states) == (False, True, True)


def _dumpable_states() -> tuple[int, int]:
    set_dumpable(True)
    on = prctl(PR_GET_DUMPABLE).value
    set_dumpable(False)
    return on, prctl(PR_GET_DUMPABLE).value


def test_set_dumpable() -> None:
    assert run_in_child(_dumpable_states) == (1, 0)
