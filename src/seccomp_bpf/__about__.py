"""The version of seccomp-bpf, in one place: the build reads it (``[tool.hatch.version]`` in
``pyproject.toml``), and so do ``seccomp_bpf.__version__``, ``seccomp-bpf --version`` and the
audit's SARIF log. It imports nothing, so every layer may use it."""

__version__ = "0.1.0"
