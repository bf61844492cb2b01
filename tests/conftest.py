"""Test-wide settings."""

from hypothesis import settings

# Property tests explore a fixed sequence of examples so CI results are
# reproducible; run with --hypothesis-profile=explore to search afresh.
settings.register_profile("default", derandomize=True, deadline=None)
settings.register_profile("explore", derandomize=False, deadline=None, max_examples=500)
settings.load_profile("default")
