"""One platform schema: a platform file and a config's ``platform`` section are read by the same model,
change a base alike, and refuse the same bad values with the same key and message."""

from __future__ import annotations

import dataclasses

import pytest

from cosearch.config import PlatformConfig
from cosearch.config_base import ConfigError
from cosearch.config_loader import load_config
from spaces import PLATFORMS
from spaces.hardware import Platform, power_of_two_cores
from spaces.userdefs import DefinitionError, PlatformSpec, load_platform


def test_the_schema_is_the_platform_plus_what_changes_it():
    platform_fields = {f.name for f in dataclasses.fields(Platform)}
    assert set(PlatformSpec.model_fields) == platform_fields | {"base", "pe_step"}
    assert set(PlatformConfig.model_fields) == set(PlatformSpec.model_fields) | {"preset", "file"}


@pytest.mark.parametrize(
    "changes",
    [
        {"pes": 2048},  # the default ASIC menu follows the budget
        {"pe_step": 4096, "bw_gbps": 512, "acc_bytes": 2, "rf_bytes": 128, "mapping_objective": "latency"},
        {"energy": {"dram_pj_per_byte": 30}, "core_sizes": ["PE1024", "PE8192"], "dataflows": ["ws_kc", "rs"]},
    ],
)
def test_file_and_config_section_build_the_same_platform(tmp_path, changes):
    from_file = load_platform({"base": "cloud", "name": "cloud", **changes})
    from_config = PlatformConfig.model_validate({"base": "cloud", **changes}).build()
    from_old_key = PlatformConfig.model_validate({"preset": "cloud", **changes}).build()
    assert from_file == from_config == from_old_key
    assert from_config.name == "cloud"  # a config's change keeps the preset's name


def test_one_menu_rule():
    edge = PlatformConfig.model_validate({"base": "edge", "pes": 4096}).build()
    assert edge.core_sizes == power_of_two_cores(64, 4096)
    steps = PlatformConfig.model_validate({"base": "edge", "pes": 2048, "pe_step": 512}).build()
    assert [c.pes for c in steps.core_sizes] == [512, 1024, 1536, 2048]
    listed = load_platform({"base": "edge", "core_sizes": ["PE256", "PE512"]})
    # a listed menu is the platform's own: a new budget does not replace it
    assert PlatformConfig.model_validate({"base": "edge", "pes": 2048}).build().core_sizes != listed.core_sizes
    assert load_platform({"base": "edge", "pes": 2048, "core_sizes": ["PE256", "PE512"]}).core_sizes == \
        listed.core_sizes
    fpga = PlatformConfig.model_validate({"base": "u250", "max_cores": 4}).build()
    assert fpga.pes == 4 * max(c.pes for c in PLATFORMS["u250"].core_sizes)  # what 4 of its largest cores reach


@pytest.mark.parametrize(
    "text, key, message",
    [
        ("clock_hz: .inf\n", "", ".inf is not a finite number"),
        ("pes: 2048\npes: 4096\n", "", "key 'pes' appears twice in one mapping"),
        ("pes: 100000000\n", "pes", "Input should be less than or equal to 16777216"),
        ("rf_bytes: 0\n", "rf_bytes", "Input should be greater than 0"),
        ("mapping_objective: speed\n", "mapping_objective", "'speed' is not a mapping objective"),
        ("pes: 16777216\npe_step: 1\n", "pe_step", "pe_step 1 makes a menu of 16,777,216 core sizes"),
        ("uram: -2\n", "uram", "Input should be greater than or equal to 0"),
        ("core_sizes: [{name: slow, pes: 64, clock_hz: 0}]\n", "core_sizes.0.clock_hz", "Input should be greater than 0"),
        ("stock_dataflows: [dpu_pck]\n", "stock_dataflows", "['dpu_pck'] are not in dataflows (allowed: ws_kc, os_yx, rs, systolic)"),
    ],
)
def test_a_file_and_a_config_refuse_alike(tmp_path, text, key, message):
    platform_file = tmp_path / "p.yaml"
    platform_file.write_text("base: edge\n" + text)
    with pytest.raises(DefinitionError) as in_file:
        load_platform(platform_file)
    config_file = tmp_path / "c.yaml"
    config_file.write_text("workload: resnet50\nplatform:\n" + "".join(f"  {line}\n" for line in
                                                                     ("base: edge\n" + text).splitlines()))
    with pytest.raises(ConfigError) as in_config:
        load_config(config_file)
    (file_key, file_message), = in_file.value.problems
    (config_key, config_message), = in_config.value.problems
    assert file_key == key and message.lower() in file_message.lower()
    # the reader's refusals are about the whole file; the builder's about the section
    # (a config writes list indices as [i], a platform file as .i)
    config_key = config_key.replace("[", ".").replace("]", "")
    assert config_key in (("",) if key == "" else ("platform." + key, "platform"))
    assert message.lower() in config_message.lower()


def test_a_run_records_the_section_in_its_old_shape():
    from cosearch.config_targets import RECORDED_PLATFORM_KEYS

    assert list(PlatformConfig.model_validate("cloud").model_dump(mode="json")) == list(RECORDED_PLATFORM_KEYS)
    rich = PlatformConfig.model_validate({"base": "cloud", "energy": {"mac_pj": 1}, "core_sizes": ["PE64", "PE128"],
                                          "dataflows": ["ws_kc", "rs"]})
    record = rich.model_dump(mode="json")
    assert record["base"] == "cloud" and "name" not in record  # given keys recorded, absent ones left out
    assert PlatformConfig.model_validate(record).build() == rich.build()
