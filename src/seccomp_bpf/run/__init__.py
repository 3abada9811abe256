"""Confine for real: this process (:func:`install`), a command (``seccomp-bpf run``,
:mod:`.command`), or a child started from Python (:mod:`.subprocess`).

``supervisor`` (``--report-denials``) runs a command under a supervisor that reports each
denied system call.
"""

from seccomp_bpf.run.confine import check_actions_available, install, program_return_values

__all__ = ["check_actions_available", "install", "program_return_values"]
