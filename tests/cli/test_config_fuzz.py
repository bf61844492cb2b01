"""A property-based fuzzer over every shipped config: any mutation is exit 0 or 2, never a traceback.

Each example mutates one of ``experiments/**/*.yaml`` (experiments as they
are; platform and dataflow files through a config that uses them) and runs
``cosearch validate`` in process -- the ``main`` the console script calls --
so hundreds of examples take seconds.  Mutations: wrong types, negatives,
non-finite and huge numbers, unknown keys at every level, dropped keys and
list items; and on the text: truncation, binary bytes, a huge file, an empty
one, a directory and a missing file.  Every example must end in exit 0 or 2
with no traceback, in bounded time and memory.  tests/cli/test_bad_input.py
checks the real exit code of the command for a few of these.

``COSEARCH_FUZZ_EXAMPLES=2000 python -m pytest tests/cli/test_config_fuzz.py``
runs a longer campaign than the suite's.
"""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import shutil
import time
import tracemalloc

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cosearch.cli import main
from spaces import DATAFLOWS
from tests.cli.conftest import REPO

EXPERIMENTS = REPO / "experiments"
SOURCES = sorted(p.relative_to(EXPERIMENTS) for p in EXPERIMENTS.rglob("*.yaml"))
EXAMPLES = int(os.environ.get("COSEARCH_FUZZ_EXAMPLES", "60"))  # raise it for a longer campaign
SECONDS = 20.0  # per example, generous for a loaded machine: an idle one needs well under a second
MEMORY_BYTES = 500e6

ODD_VALUES = [None, True, False, "", "x", "1e29", "nan", -1, 0, -(2**40), 10**9, 2**63 - 1, 1e300, -0.5,
              float("inf"), float("-inf"), float("nan"), [], [1, "a"], {}, {"fuzz": 1}, "é" * 40]
VALUES = st.one_of(st.sampled_from(ODD_VALUES), st.integers(-(2**63), 2**63 - 1),
                   st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
                   st.lists(st.integers(-5, 5), max_size=3))


def kind_of(data) -> str:
    if isinstance(data, dict) and "workload" in data:
        return "experiment"
    return "dataflow" if isinstance(data, dict) and "unrolled" in data else "platform"


def node_paths(data, path=()):
    """Every node of a YAML tree as the keys/indices leading to it (the root is ``()``)."""
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from node_paths(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from node_paths(value, (*path, i))


def at(data, path):
    for part in path:
        data = data[part]
    return data


@st.composite
def mutated_data(draw, data):
    """``data`` (a fresh copy) with 1-3 mutations at nodes drawn from the whole tree."""
    data = yaml.safe_load(yaml.safe_dump(data))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(node_paths(data))
        path = draw(st.sampled_from(paths))
        node = at(data, path)
        action = draw(st.sampled_from(["replace", "unknown key", "drop"]))
        if action == "unknown key" and isinstance(node, dict):
            node[draw(st.sampled_from(["fuzz", "evals", "Name", "1", "", "optimizers"]))] = draw(VALUES)
        elif action == "drop" and path:
            parent = at(data, path[:-1])
            del parent[path[-1]]
        elif path:
            at(data, path[:-1])[path[-1]] = draw(VALUES)
        else:
            data = draw(VALUES)
    return data


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> pathlib.Path:
    """A copy of experiments/, so relative ``file:`` paths resolve and the repository is never written."""
    os.environ.pop("COSEARCH_DEBUG", None)
    root = tmp_path_factory.mktemp("fuzz") / "experiments"
    shutil.copytree(EXPERIMENTS, root)
    # Every shipped file is valid; validating it imports and caches outside the bounds. Not traced:
    # tracemalloc makes a validation ~5x slower (3.6 s against 20 s for the 37 files on a loaded
    # machine), and no bound is checked here.
    for source in SOURCES:
        code, err, *_ = _validate(write_case(root, source, (EXPERIMENTS / source).read_bytes()), traced=False)
        assert code == 0, err
    return root


def _validate(path, traced: bool = True) -> tuple[int, str, float, float]:
    """``cosearch validate PATH`` in process: exit code, stderr, seconds, peak traced bytes (0 untraced)."""
    out, err = io.StringIO(), io.StringIO()
    registered = dict(DATAFLOWS)  # platform files register the dataflows they declare
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["validate", str(path)])
        seconds, peak = time.perf_counter() - start, tracemalloc.get_traced_memory()[1] if traced else 0
    finally:
        if traced:
            tracemalloc.stop()
        DATAFLOWS.clear()
        DATAFLOWS.update(registered)
    return code, err.getvalue(), seconds, peak


def check(path) -> None:
    code, err, seconds, peak = _validate(path)
    assert code in (0, 2), err
    assert "Traceback" not in err and "error:" not in err, err
    assert code == 0 or err.startswith(f"{path}: "), err
    assert len(err) < 20_000, f"{len(err)} characters of messages"
    assert seconds < SECONDS, f"{seconds:.1f} s"
    assert peak < MEMORY_BYTES, f"{peak / 1e6:.0f} MB"


def write_case(tree: pathlib.Path, source: pathlib.Path, content: bytes) -> pathlib.Path:
    """The mutated file next to its original (so relative paths resolve) and the config to validate."""
    original = yaml.safe_load((EXPERIMENTS / source).read_text())
    mutated = tree / source.parent / "fuzzed.yaml"
    if kind_of(original) == "dataflow" and content == (EXPERIMENTS / source).read_bytes():
        content = yaml.safe_dump({"base": "edge", "dataflows": ["ws_kc", original]}).encode()
    mutated.write_bytes(content)
    if kind_of(original) == "experiment":
        return mutated
    config = tree / source.parent / "fuzz-config.yaml"
    config.write_text("workload: vision\nplatform: {file: fuzzed.yaml}\nspace: {name: cosearch, "
                      "options: {max_cores: 2}}\nray: false\n")
    return config


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), source=st.sampled_from(SOURCES))
def test_mutated_values_exit_0_or_2(tree, data, source):
    original = yaml.safe_load((EXPERIMENTS / source).read_text())
    value = data.draw(mutated_data(original))
    if kind_of(original) == "dataflow":  # a dataflow file is declared inside a platform
        value = {"base": "edge", "dataflows": ["ws_kc", value]}
    check(write_case(tree, source, yaml.safe_dump(value, allow_unicode=True).encode()))


TEXT_SOURCES = [s for s in SOURCES if kind_of(yaml.safe_load((EXPERIMENTS / s).read_text())) != "dataflow"]


@settings(max_examples=max(EXAMPLES // 3, 10), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), source=st.sampled_from(TEXT_SOURCES),
       damage=st.sampled_from(["truncate", "binary", "huge", "huge value", "empty"]))
def test_damaged_files_exit_0_or_2(tree, data, source, damage):
    text = (EXPERIMENTS / source).read_bytes()
    if damage == "truncate":
        content = text[: data.draw(st.integers(0, len(text)))]
    elif damage == "binary":
        at_byte = data.draw(st.integers(0, len(text)))
        content = text[:at_byte] + data.draw(st.binary(min_size=1, max_size=64)) + text[at_byte:]
    elif damage == "huge":
        content = text * (2 + (1 << 20) // len(text))
    elif damage == "huge value":
        content = text + b"\nfuzz_long: " + b"x" * data.draw(st.integers(1, 1 << 20)) + b"\n"
    else:
        content = b""
    check(write_case(tree, source, content))


def test_a_directory_and_a_missing_file_exit_2(tree):
    check(tree)
    check(tree / "absent.yaml")
    code, err, *_ = _validate(tree / "absent.yaml")
    assert code == 2 and "cannot read: No such file or directory" in err
