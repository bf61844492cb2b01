"""Time and memory of ``cosearch validate`` refusing hostile and careless files.

    python benchmarks/bad_inputs.py

Each case is written to a temporary directory and validated by a fresh
``python -m cosearch validate`` process: its exit code, wall time and peak
resident memory (the whole process: Python, numpy, pydantic).  The valid
config is the baseline: most of a process's time is start-up and imports,
so the last columns time the same validation in this process once
everything is imported, with the peak of what Python allocated meanwhile.
The guarantee (docs/cli.md): exit 2 within 2 s and 500 MB on an idle machine.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.spaces.test_userfiles import ALIAS_BOMB  # noqa: E402

CASES = {
    "valid config (baseline)": b"workload: vision\nray: false\n",
    "binary garbage": bytes(range(256)) * 64,
    "Latin-1 description": "workload: vision\ndescription: caf\u00e9\n".encode("latin-1"),
    "nested 500 deep": ("workload: vision\ndescription: " + "[" * 500 + "]" * 500 + "\n").encode(),
    "nested 1 MiB deep": ("workload: " + "[" * ((1 << 20) - 20) + "\n").encode(),
    "alias bomb (9^9)": ("workload: vision\n" + ALIAS_BOMB).encode(),
    "file over the cap": b"workload: vision\n# " + b"x" * (4 << 20),
    "20,001 values": ("workload: vision\ndescription: [" + "1, " * 20_001 + "]\n").encode(),
    ".inf bandwidth": b"workload: vision\nplatform: {preset: edge, bw_gbps: .inf}\n",
    "pes: 1.0e+29": b"workload: vision\nplatform: {preset: edge, pes: 1.0e+29}\n",
    "seeds: 1e9": b"workload: vision\nseeds: 1000000000\n",
    "K = 1e26 in a CSV": b"workload: {models: [{file: big.csv}]}\n",
    "cmaes popsize -3": b"workload: vision\noptimizers: [{name: cmaes, options: {popsize: -3}}]\n",
}
FILES = {"big.csv": b"name,op,K,C,Y\na,gemm,100000000000000000000000000,4,4\n"}


def measure(path: pathlib.Path) -> tuple[int, float, float]:
    """Exit code, wall seconds and peak RSS (MiB) of one ``cosearch validate`` process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("COSEARCH_DEBUG", None)
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "cosearch", "validate", str(path)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    return os.waitstatus_to_exitcode(status), seconds, usage.ru_maxrss / 1024


def measure_in_process(path: pathlib.Path) -> tuple[float, float]:
    """Seconds and peak traced MiB of ``main(["validate", path])`` with everything imported."""
    import contextlib
    import io
    import tracemalloc

    from cosearch.cli import main as cosearch

    sink = io.StringIO()
    tracemalloc.start()
    start = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        cosearch(["validate", str(path)])
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak / 2**20


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for name, content in FILES.items():
            (root / name).write_bytes(content)
        paths = {}
        for i, (name, content) in enumerate(CASES.items()):
            paths[name] = root / f"case{i}.yaml"
            paths[name].write_bytes(content)
        measure_in_process(paths["valid config (baseline)"])  # imports, outside the figures
        print(f"{'case':28} {'exit':>4} {'process s':>9} {'peak RSS MiB':>12} {'in-process s':>12} {'traced MiB':>10}")
        for name, path in paths.items():
            code, seconds, rss = measure(path)
            inner, traced = measure_in_process(path)
            print(f"{name:28} {code:>4} {seconds:>9.2f} {rss:>12.0f} {inner:>12.3f} {traced:>10.1f}")


if __name__ == "__main__":
    main()
