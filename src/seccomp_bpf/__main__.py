"""``python -m seccomp_bpf``: the same as the ``seccomp-bpf`` command."""

from seccomp_bpf.cli import entry_point

entry_point()
