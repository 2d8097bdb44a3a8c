"""Run snippets (code strings) in their real frameworks: one worker process per framework.

`run_all({framework: [(key, code, inputs), ...]})` exec()s each code with `inputs` (x, w, b) as its
globals in a worker started for that framework (Keras on its TensorFlow backend), and returns
{key: ("ok", y as float64) | ("err", message)}.  Workers run as many at once as there are pairs of
CPUs; a worker that dies (an abort inside a framework) costs that one job, the rest run in a new one.
`expected_output(reading, x, w, b)`: the NumPy reference in the reading's own layout.
Used by tests/frameworks/test_snippets.py and test_strictness.py.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import time

import numpy as np

WORKER_ENV = {"keras": {"KERAS_BACKEND": "tensorflow"}, "tf": {}, "jax": {}, "torch": {}, "onnx": {},
              "paddle": {"GLOG_minloglevel": "2", "FLAGS_call_stack_level": "0"}}


def expected_output(reading, x, w, b) -> np.ndarray:
    from convtx.harness.core import reference
    from convtx.harness.core.problem import Problem
    problem = Problem(reading.geometry, np.ascontiguousarray(reading.to_canonical_input(x), dtype=np.float64),
                      reading.to_canonical_weight(w).astype(np.float64), None if b is None else b.astype(np.float64),
                      "float32")
    return reading.from_canonical_output(reference.compute(problem))


def _worker(jobs_path: str, out_path: str) -> None:
    with open(jobs_path, "rb") as fh:
        jobs = pickle.load(fh)
    with open(out_path, "ab") as out:
        for key, code, inputs in jobs:
            try:
                scope = dict(inputs)
                exec(compile(code, f"<snippet {key}>", "exec"), scope)  # noqa: S102 - the snippet under test
                result = ("ok", np.asarray(scope["y"], dtype=np.float64))
            except Exception as err:  # the framework's refusal, or a snippet bug: reported, judged by the parent
                text = " / ".join(ln for ln in str(err).splitlines() if ln.strip())[:800]
                result = ("err", f"{type(err).__name__}: {text}")
            pickle.dump((key, *result), out)
            out.flush()


def _read(path: str) -> dict:
    got = {}
    with open(path, "rb") as fh:
        while True:
            try:
                key, kind, value = pickle.load(fh)
            except (EOFError, pickle.UnpicklingError):
                return got
            got[key] = (kind, value)


def _start(framework: str, jobs: list, folder: str, attempt: int):
    jobs_path = os.path.join(folder, f"{framework}-{attempt}.jobs")
    out_path = os.path.join(folder, f"{framework}.out")
    with open(jobs_path, "wb") as fh:
        pickle.dump(jobs, fh)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **WORKER_ENV[framework]}
    log = open(os.path.join(folder, f"{framework}.log"), "ab")
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), jobs_path, out_path], env=env,
                            stdout=log, stderr=log)
    return proc, out_path


def run_all(jobs_by_fw: dict[str, list], timeout: float = 3600) -> dict:
    """Run every framework's jobs in its own worker, as many frameworks at once as there are pairs of
    CPUs (their thread pools fight otherwise); a worker that dies (an abort in the framework) costs that
    one job, and the rest run in a new worker."""
    results: dict = {}
    slots = max(1, (os.cpu_count() or 2) // 2)
    deadline = time.time() + timeout
    with tempfile.TemporaryDirectory() as folder:
        waiting = [(fw, jobs, 0) for fw, jobs in jobs_by_fw.items() if jobs]
        running: dict = {}
        while waiting or running:
            while waiting and len(running) < slots:
                fw, jobs, attempt = waiting.pop(0)
                running[fw] = (*_start(fw, jobs, folder, attempt), jobs, attempt)
            time.sleep(0.05)
            for fw, (proc, out_path, jobs, attempt) in list(running.items()):
                if proc.poll() is None and time.time() < deadline:
                    continue
                proc.kill()
                del running[fw]
                got = _read(out_path)
                results.update(got)
                rest = [j for j in jobs if j[0] not in got]
                if not rest:
                    continue
                if time.time() >= deadline:
                    results.update({j[0]: ("err", "timeout") for j in rest})
                    continue
                results[rest[0][0]] = ("err", f"worker died (exit {proc.returncode})")
                if rest[1:]:
                    waiting.insert(0, (fw, rest[1:], attempt + 1))
    return results


if __name__ == "__main__":
    _worker(sys.argv[1], sys.argv[2])
