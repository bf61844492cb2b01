"""The built-in model zoo and named mixes; importing registers them."""

from objectives.workloads.zoo import arvr, cnn, detection, mixes, recurrent, transformer  # noqa: F401
