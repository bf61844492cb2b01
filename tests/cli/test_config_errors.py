"""Bad configs: exit code 2 and one line `file: dotted.key: message (allowed: …)`, no traceback."""

from __future__ import annotations

import pytest

from cosearch.cli import main
from cosearch.config import ConfigError
from cosearch.config_loader import build, load_config, parse_config, section_keys
from tests.cli.conftest import REPO, TINY_CONFIG, cosearch, write_config

BAD = {
    "unknown key": (
        TINY_CONFIG.replace("budget: {evaluations: 48}", "budget: {evaluations: 48, evals: 3}"),
        "budget.evals: unknown key (allowed: evaluations, seconds)",
    ),
    "unknown top-level key": (
        TINY_CONFIG + "optimiser: cmaes\n",
        "optimiser: unknown key (allowed: name, description, workload, platform, space, objective, optimizers, "
        "seeds, budget, ray, baselines, output, storage, plots, serving)",
    ),
    "unknown mix": (
        "workload: herald_arvr_c\n",
        "workload.mix: unknown mix 'herald_arvr_c' (allowed: herald_arvr_a, herald_arvr_b, herald_mlperf, mixed,",
    ),
    "unknown model": (
        "workload: {models: [{model: resnet51}]}\n",
        "workload.models[0].model: unknown model 'resnet51' (allowed: bert_base,",
    ),
    "bad value type": (
        TINY_CONFIG.replace("seeds: 2", "seeds: [0, one]"),
        "seeds[1]: input should be a valid integer, unable to parse string as an integer (got 'one')",
    ),
    "negative budget": (
        TINY_CONFIG.replace("budget: {evaluations: 48}", "budget: {evaluations: -5}"),
        "budget.evaluations: input should be greater than 0 (got -5)",
    ),
    "unknown optimizer": (
        TINY_CONFIG.replace("- name: random", "- name: anneal"),
        "optimizers[1].name: unknown optimizer 'anneal' (allowed: cmaes,",
    ),
    "unknown optimizer option": (
        TINY_CONFIG.replace("options: {popsize: 8}", "options: {pop_size: 8}"),
        "optimizers[0].options: optimizer 'cmaes' does not take option(s) pop_size; it takes:",
    ),
    "single-objective optimizer, two objectives": (
        TINY_CONFIG.replace("objective: edp", "objective: [latency_s, energy_j]"),
        "optimizers[0].name: optimizer 'cmaes' is single-objective but 2 objectives were given",
    ),
    "unknown metric": (
        TINY_CONFIG.replace("objective: edp", "objective: [edp, speed]"),
        "objective.minimize[1]: unknown metric 'speed' to minimize (allowed: antt, area_mm2, average_power_w,",
    ),
    "maximised metric under minimize": (
        TINY_CONFIG.replace("objective: edp", "objective: [edp, stp]"),
        "objective.minimize[1]: 'stp' is better when higher: list it under maximize",
    ),
    "constraint on an unknown metric": (
        TINY_CONFIG.replace("objective: edp", "objective: {minimize: edp, constraints: [watts <= 3]}"),
        "objective.constraints[0]: unknown metric 'watts' in constraint 'watts <= 3' (allowed: antt, area_mm2,",
    ),
    "constraint without an operator": (
        TINY_CONFIG.replace("objective: edp", "objective: {minimize: edp, constraints: [latency_s 0.05]}"),
        "objective.constraints[0]: constraint 'latency_s 0.05' is not 'metric OP number' with OP one of <=, <,",
    ),
    "old constraint key not in the old form": (
        TINY_CONFIG.replace("objective: edp", "objective: {minimize: edp, constraints: {max_dram_bytes: 5}}"),
        "objective.constraints: unknown constraint key 'max_dram_bytes': write constraints as a list of "
        "'metric op bound', e.g. constraints: [latency_s <= 0.05, sla_violations <= 0]",
    ),
    "unknown platform": (
        TINY_CONFIG.replace("preset: edge", "preset: tpu"),
        "platform.preset: unknown platform 'tpu' (allowed: cloud, edge, mobile, u250, zcu102; or file: a platform YAML)",
    ),
    "negative UltraRAM budget": (
        TINY_CONFIG.replace("platform: {preset: edge, max_cores: 3}", "platform: {preset: u250, uram: -1}"),
        "platform.uram: input should be greater than or equal to 0 (got -1)",
    ),
    "stock dataflow not on the menu": (
        TINY_CONFIG.replace("platform: {preset: edge, max_cores: 3}",
                            "platform: {preset: u250, stock_dataflows: [systolic]}"),
        "platform: stock_dataflows: ['systolic'] are not in dataflows (allowed: dpu_pck, ws_kc, os_yx)",
    ),
    "bad space option": (
        TINY_CONFIG.replace("options: {max_cores: 3}", "options: {max_cores: 3, mapping: random}"),
        "space.options.mapping: unknown mapping mode 'random' (allowed: layer, model, greedy, biased)",
    ),
    "duplicate key": (
        TINY_CONFIG + "seeds: 3\n",
        "not valid YAML at line 18, column 1: key 'seeds' appears twice in one mapping",
    ),
    "not a mapping": ("- just a list\n", "expected a mapping of sections, got list"),
    "misspelt maximize": (
        TINY_CONFIG.replace("objective: edp", "objective: {maximise: [stp]}"),
        "objective.maximise: unknown key (allowed: minimize, maximize, constraints)",
    ),
    "metric maximized the wrong way": (
        TINY_CONFIG.replace("objective: edp", "objective: {maximize: [edp]}"),
        "objective.maximize[0]: 'edp' is better when lower: list it under minimize",
    ),
    "unknown metric to maximize": (
        TINY_CONFIG.replace("objective: edp", "objective: {maximize: qps}"),
        "objective.maximize[0]: unknown metric 'qps' to maximize (allowed: fairness, qps_at_sla,",
    ),
    "no metric at all": (
        TINY_CONFIG.replace("objective: edp", "objective: {maximize: []}"),
        "objective: name at least one metric to minimize or maximize",
    ),
}


REQUIRED = ("unknown key", "unknown mix", "bad value type", "negative budget", "unknown optimizer")


@pytest.mark.parametrize("case", REQUIRED)
def test_run_with_bad_config_exits_2_with_its_message(tmp_path, case):
    text, message = BAD[case]
    path = write_config(tmp_path, text, "bad.yaml")
    result = cosearch("run", path, "--out", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{path}: {message}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists(), "a bad config must not start an experiment"


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_validate_bad_config_exits_2_with_its_message(tmp_path, capsys, monkeypatch, case):
    """In process (the same ``main`` the console script calls), to keep the sweep fast."""
    monkeypatch.delenv("COSEARCH_DEBUG", raising=False)
    text, message = BAD[case]
    path = write_config(tmp_path, text, "bad.yaml")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {message}" in err, err


def test_several_problems_are_all_reported():
    with pytest.raises(ConfigError) as error:
        parse_config({"workload": "nope", "budget": -1, "seeds": 0}, "x.yaml")
    keys = [key for key, _ in error.value.problems]
    assert keys == ["workload.mix", "seeds", "budget.evaluations"]
    assert str(error.value).splitlines()[0].startswith("x.yaml: workload.mix: unknown mix 'nope'")


def test_traceback_only_when_asked(tmp_path):
    path = write_config(tmp_path, "workload: nope\n")
    assert "Traceback" in cosearch("validate", path, env={"COSEARCH_DEBUG": "1"}).stderr


def test_short_forms_expand():
    config = parse_config({"workload": "planaria_b", "platform": "cloud", "space": "fda", "objective": "latency_s",
                           "optimizers": ["random"], "seeds": 3, "budget": 100, "ray": False})
    assert config.workload.mix == "planaria_b" and config.platform.preset == "cloud"
    assert config.space.name == "fda" and config.objective.minimize == ["latency_s"]
    assert config.seeds == [0, 1, 2] and config.budget.evaluations == 100 and not config.ray.enabled


@pytest.mark.parametrize("objective, keys", [
    ({"maximize": ["stp"]}, ("stp",)),  # only metrics to maximize: those alone, not edp beside them
    ({"maximize": "stp"}, ("stp",)),
    ({"minimize": "latency_s", "maximize": ["stp"]}, ("latency_s", "stp")),
    ({"constraints": ["latency_s <= 1"]}, ("edp",)),  # no metric named: the default
])
def test_objective_names_exactly_the_metrics_it_lists(objective, keys):
    config = parse_config({"workload": "planaria_b", "platform": "cloud", "objective": objective})
    assert config.objective.keys == keys


def test_platform_overrides_and_custom_workload_build():
    config = parse_config({"workload": {"models": [{"model": "resnet50", "batch": 2, "latency_target_s": 0.02}],
                                        "name": "two_resnets"},
                           "platform": {"preset": "edge", "pes": 2048, "bw_gbps": 32}})
    built = build(config)
    assert built.workload.name == "two_resnets" and built.workload.inferences == 2
    assert built.platform.pes == 2048 and built.platform.bw_gbps == 32
    assert max(s.pes for s in built.platform.core_sizes) == 2048  # the size menu follows the PE budget


def test_section_keys_follow_lists_and_optionals():
    assert section_keys(("optimizers", 0)) == ["name", "options"]
    assert section_keys(("workload", "models", 3)) == ["model", "file", "batch", "latency_target_s", "priority"]
    assert section_keys(("objective",)) == ["minimize", "maximize", "constraints"]
    assert section_keys(("seeds",)) == []


def test_validate_reports_what_would_run(tiny_results, tmp_path):
    path = write_config(tmp_path, TINY_CONFIG)
    result = cosearch("validate", path)
    assert result.returncode == 0, result.stderr
    assert f"{path}: ok" in result.stdout
    assert "5 runs: 4 of 48 evaluations and 1 baseline run of 16 evaluations" in result.stdout
    assert len(list((tiny_results / "runs").iterdir())) == 5  # what `run` ran on the same config


CUSTOM = REPO / "experiments" / "custom"


def test_models_and_platform_from_files_relative_to_the_config(tmp_path):
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "tiny_cnn.csv").write_text((CUSTOM / "tiny_cnn.csv").read_text())
    path = write_config(tmp_path, f"""\
        workload:
          name: mine
          models: [{{file: nets/tiny_cnn.csv, batch: 2}}, {{model: mobilenet_v1}}]
        platform: {{file: {CUSTOM / "small_fpga.yaml"}, bw_gbps: 20}}
        space: {{name: cosearch, options: {{max_cores: 2}}}}
        """)
    config = load_config(path)
    assert config.workload.models[0].file == str(tmp_path / "nets" / "tiny_cnn.csv")
    built = build(config)
    assert built.workload.model_names == ("tiny_cnn", "mobilenet_v1") and built.workload.inferences == 3
    assert built.platform.name == "small_fpga" and built.platform.bw_gbps == 20


def test_missing_and_broken_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"workload.models\[0\].file: no such file 'absent.csv'"):
        parse_config({"workload": {"models": [{"file": "absent.csv"}]}}, base_dir=tmp_path)
    (tmp_path / "bad.csv").write_text("name,op,K\nx,conv,3\n")
    with pytest.raises(ConfigError, match=r"workload.models\[0\]: .*bad.csv: line 2 \(layer 'x'\), column C"):
        parse_config({"workload": {"models": [{"file": "bad.csv"}]}}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"platform: give one of base \(or its older name preset\), file"):
        parse_config({"workload": "vision", "platform": {"preset": "edge", "file": str(CUSTOM / "edge_ky.yaml")}})
