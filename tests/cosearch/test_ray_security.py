"""A local experiment's Ray refuses clients without its token (Ray listens on every interface)."""

import os
import subprocess
import sys

import pytest

ray = pytest.importorskip("ray")

from cosearch.experiment import ExperimentSpec, SyntheticProblem, run_experiment  # noqa: E402

# Puts and reads back a key in the GCS at 127.0.0.1:PORT: what an attacker on the network would try.
PROBE = """
import sys
from ray._raylet import GcsClient
client = GcsClient(address="127.0.0.1:" + sys.argv[1])
client.internal_kv_put(b"probe", b"written", True, None)
print("GCS answered", client.internal_kv_get(b"probe", None))
"""


def probe(port: int, home, **auth) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env.update(HOME=str(home), **auth)  # no token file of the user's is found
    return subprocess.run([sys.executable, "-c", PROBE, str(port)], env=env, capture_output=True, text=True,
                          timeout=60)


def test_local_experiment_refuses_unauthenticated_clients(tmp_path, capfd):
    if ray.is_initialized():
        ray.shutdown()
    before = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    seen = {}

    def attack(event):
        if event["type"] == "started" and not seen:
            port = int(ray.get_runtime_context().gcs_address.rsplit(":", 1)[1])
            seen["without"] = probe(port, tmp_path, RAY_AUTH_MODE="disabled")
            seen["wrong"] = probe(port, tmp_path, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN="0" * 64)
            seen["with"] = probe(port, tmp_path, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=os.environ["RAY_AUTH_TOKEN"])

    spec = ExperimentSpec(problems=(SyntheticProblem(dim=3),), optimizers=("random",), max_evaluations=20)
    result = run_experiment(spec, executor="ray", num_cpus=1, on_event=attack)
    assert len(result.runs) == 1 and not result.failures
    for refused in ("without", "wrong"):
        assert seen[refused].returncode != 0, seen[refused].stdout
        assert "AuthenticationError" in seen[refused].stderr and "GCS answered" not in seen[refused].stdout
    assert seen["with"].returncode == 0 and "GCS answered b'written'" in seen["with"].stdout, seen["with"].stderr
    # the token was this run's alone, and Ray printed no notice about authentication
    assert {k: os.environ.get(k) for k in before} == before
    assert "Token authentication is enabled" not in capfd.readouterr().err
    assert not ray.is_initialized()
