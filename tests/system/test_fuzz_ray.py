"""convtx fuzz --executor ray on a local Ray cluster: the same findings and counts as the same campaign here.

The systems: the NumPy reference (in the actors' own processes), the fault-injecting test system adding
one to every output (a worker process per actor: findings), and the tests' toy framework (a dialect
registered only in this process: the actors must register it again to plan its calls).
"""

from __future__ import annotations

import json

import pytest

from convtx import adapters
from support import toy
from support.fault_system import PATH as FAULTY

ray = pytest.importorskip("ray")

SYSTEMS = "numpy,faulty[off-by-one],toy"


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def systems():
    adapters.register("faulty", FAULTY)
    toy.install()
    yield SYSTEMS
    toy.uninstall()
    adapters.unregister("faulty")


def _campaign(cli, tmp_path, executor: str, *extra: str) -> tuple[int, dict]:
    out = tmp_path / f"{executor}.json"
    code, text, err = cli("fuzz", "--executor", executor, "--n", "200", "--seed", "7", "--frameworks", SYSTEMS,
                          "--no-shrink", "--out", str(tmp_path / "found"), "--json", str(out), *extra)
    assert code in (0, 1), text + err
    return code, json.loads(out.read_text())


def test_ray_campaign_finds_what_the_local_one_finds(cluster, systems, cli, tmp_path):
    local_code, local = _campaign(cli, tmp_path, "local")
    ray_code, remote = _campaign(cli, tmp_path, "ray")
    assert local["findings"] and any(f["framework"] == "faulty[off-by-one]" for f in local["findings"])
    assert (ray_code, remote["findings"]) == (local_code, local["findings"])
    assert remote["counts"] == local["counts"] and remote["frameworks"] == local["frameworks"]
    assert remote["counts"]["toy"].get("pass", 0) > 0  # the toy dialect reached the actors
    assert set(remote["systems"]) == {"numpy", "faulty[off-by-one]", "toy"}
    assert ray.is_initialized()  # a cluster the run joined is left running


def test_ray_campaign_shrinks_and_writes_the_same_cases(cluster, systems, cli, tmp_path):
    written = {}
    for executor in ("local", "ray"):
        folder = tmp_path / executor
        code, text, err = cli("fuzz", "--executor", executor, "--range", "24:48", "--seed", "7", "--frameworks", SYSTEMS,
                              "--out", str(folder))
        assert code == 1 and "shrunk to" in text, text + err
        written[executor] = {p.name: p.read_text() for p in folder.iterdir()}
    assert written["ray"] == written["local"] and written["local"]
