"""Test configuration shared by the whole suite."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

# "fast" skips shrinking (for finding a failure quickly while debugging); the default profile
# shrinks as usual. Select with HYPOTHESIS_PROFILE=fast.
settings.register_profile("default", print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "fast",
    print_blob=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_configure(config: object) -> None:
    """Compiled policies are cached in a directory of the run's own (the commands the tests
    run inherit it), never in the user's ``~/.cache``: a test does not change the machine."""
    import tempfile

    os.environ["SECCOMP_BPF_CACHE_DIR"] = os.path.join(
        tempfile.mkdtemp(prefix="seccomp-bpf-tests-"), "cache"
    )


def pytest_unconfigure(config: object) -> None:
    import shutil

    directory = os.environ.pop("SECCOMP_BPF_CACHE_DIR", None)
    if directory is not None:
        shutil.rmtree(os.path.dirname(directory), ignore_errors=True)
