"""Confine for real: this process (:func:`install`), a command (``seccomp-bpf run``,
:mod:`.command`), or a child started from Python (:mod:`.subprocess`).

``supervisor`` (``--report-denials``) runs a command under a supervisor that reports each
denied system call; :mod:`.program_cache` keeps the programs of policy files compiled, per
user.

The sandbox around the filter: :mod:`.plan` decides it, :mod:`.layers` holds one function per
layer, :mod:`.mount_namespace` builds the filesystem the command sees, and :mod:`.launch`
starts the processes (namespace parent, init, command) and hears back from them, through
:mod:`seccomp_bpf.kernel.child`, which the profiler's learning mode uses too.
"""

from seccomp_bpf.run.confine import check_actions_available, install, program_return_values

__all__ = ["check_actions_available", "install", "program_return_values"]
