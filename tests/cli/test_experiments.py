"""Every shipped experiment config validates and builds, and the quickstart stays quick."""

from __future__ import annotations

import pytest

from cosearch.config_loader import build, load_config
from tests.cli.conftest import REPO

CONFIGS = sorted((REPO / "experiments").glob("*.yaml"))
REFERENCE_MIXES = ("herald_arvr_a", "herald_arvr_b", "herald_mlperf", "planaria_a", "planaria_b", "planaria_c",
                   "vision", "nlp", "mixed")


def test_one_config_per_reference_mix():
    names = {path.stem for path in CONFIGS}
    assert {"quickstart", *REFERENCE_MIXES} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_builds(path):
    config = load_config(path)
    built = build(config, str(path))
    assert built.space.dim > 0
    if path.stem in REFERENCE_MIXES:
        assert config.workload.mix == path.stem and config.name == path.stem
        assert {b.key for b in config.baselines.spaces} == {"homogeneous_multicore", "hda_fixed_granularity", "fda"}
    if path.stem in ("vision", "nlp", "mixed"):
        assert config.platform.preset == "u250"


def test_quickstart_budget_fits_two_minutes_on_two_cores():
    """Runs × evaluations that took about 20 s on 2 cores with Ray; the seconds cap bounds the rest."""
    config = load_config(REPO / "experiments" / "quickstart.yaml")
    runs = len(config.optimizers) * len(config.seeds)
    assert runs * config.budget.evaluations <= 8000
    assert config.budget.seconds is not None and runs * config.budget.seconds / 2 <= 90
    assert [b.key for b in config.baselines.spaces] == ["homogeneous_multicore", "hda_fixed_granularity", "fda"]


SERVING_CONFIGS = sorted((REPO / "experiments" / "serving").glob("*.yaml"))


@pytest.mark.parametrize("path", SERVING_CONFIGS, ids=[p.stem for p in SERVING_CONFIGS])
def test_serving_config_builds_and_names_its_cases(path):
    """Planaria's Workloads A/B/C at QoS-S/M/H on the cloud chip; the poster's INFaaS mixes on the U250."""
    from cosearch.scenarios import resolve_cases

    config = load_config(path)
    built = build(config, str(path))
    assert config.serving is not None and config.name == f"serving_{path.stem}"
    cases = [case.label for case in resolve_cases(config.serving, built.workload)]
    if path.stem.startswith("planaria_"):
        assert config.workload.mix == path.stem and cases == ["QoS-S", "QoS-M", "QoS-H"]
    else:
        assert config.workload.mix == path.stem and config.platform.preset == "u250" and cases == ["serving"]


def test_serving_configs_cover_planaria_and_the_poster():
    assert {p.stem for p in SERVING_CONFIGS} == {"planaria_a", "planaria_b", "planaria_c", "vision", "nlp", "mixed"}
