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
