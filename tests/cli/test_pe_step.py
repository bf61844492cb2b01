"""`platform.pe_step`: a fine ASIC partition menu from the config."""

import pytest
import yaml

from cosearch.config import ConfigError
from cosearch.config_loader import build, parse_config

BASE = "workload: planaria_b\noptimizers: [random]\nbudget: 10\n"


def test_pe_step_gives_every_multiple_of_the_step():
    built = build(parse_config(yaml.safe_load(BASE + "platform: {preset: cloud, pe_step: 4096}\n")))
    assert [s.pes for s in built.platform.core_sizes] == [4096, 8192, 12288, 16384]


@pytest.mark.parametrize(
    "platform, message",
    [
        ("{preset: u250, pe_step: 512}", "platform: pe_step applies to ASIC platforms; 'u250' is an FPGA"),
        ("{preset: edge, pe_step: 4096}", "platform: pe_step 4096 exceeds the PE budget 1024"),
    ],
)
def test_bad_pe_step_is_a_config_error(platform, message):
    with pytest.raises(ConfigError) as info:
        build(parse_config(yaml.safe_load(BASE + f"platform: {platform}\n")))
    assert message in str(info.value)
