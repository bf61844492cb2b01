"""`cosearch workloads export`: a zoo model written as a layer table reads back identical."""

import pytest

from objectives.workloads import get_model
from objectives.workloads.files import load_model
from tests.cli.conftest import cosearch


@pytest.mark.parametrize("suffix", ["csv", "yaml"])
def test_export_round_trips(tmp_path, suffix):
    target = tmp_path / f"m.{suffix}"
    done = cosearch("workloads", "export", "mobilenet_v2", "--to", target)
    assert done.returncode == 0, done.stderr
    assert load_model(target) == get_model("mobilenet_v2")


def test_export_errors_exit_2(tmp_path):
    unknown = cosearch("workloads", "export", "nosuch", "--to", tmp_path / "x.csv")
    assert unknown.returncode == 2
    assert "unknown model 'nosuch' (allowed: bert_base" in unknown.stderr
    missing = cosearch("workloads", "export", "resnet50")
    assert missing.returncode == 2
    assert "usage: cosearch workloads export MODEL --to FILE" in missing.stderr
