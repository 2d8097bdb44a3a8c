"""Versions side by side, without starting anything: `X[variants]@label` ids, `--python`, the config file,
a labelled system as convtx's own process sees it, and a label with no interpreter (every cell skipped)."""

from __future__ import annotations

import argparse
import os

import pytest

from convtx import adapters
from convtx.harness.commands import envs, options
from convtx.harness.core.errors import UsageError
from convtx.harness.engine import launch

CASE = "- {id: a, framework: torch, input: [[[1, 2]]], weight: [[[1, 1]]], expected: [[[1, 3, 2]]]}\n"


@pytest.fixture(autouse=True)
def own_config(tmp_path, monkeypatch):
    """An empty config file of the test's own, nothing configured in the process, and no worker started."""
    monkeypatch.setenv(launch.ENVS_ENV, str(tmp_path / "envs.toml"))
    from convtx.harness.engine.workers import Worker
    monkeypatch.setattr(launch, "start", _no_process)
    monkeypatch.setattr(Worker, "_connect", _no_process)
    launch.configure({})
    yield
    launch.configure({})


def _no_process(*args, **kwargs):
    raise AssertionError("a unit test started a worker")


def fake_python(folder, packages=("onnxruntime-1.19.2",)) -> str:
    """A venv's shape: bin/python (executable) and dist-info folders in lib/python3.X/site-packages."""
    (folder / "bin").mkdir(parents=True)
    python = folder / "bin" / "python"
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    site = folder / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    for name in packages:
        (site / f"{name}.dist-info").mkdir()
    return str(python)


# ---- ids ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("system_id, head, label, base, variants", [
    ("torch", "torch", None, "torch", ()),
    ("tf[onednn=0]", "tf[onednn=0]", None, "tf", ("onednn=0",)),
    ("onnxruntime@1.19", "onnxruntime", "1.19", "onnxruntime", ()),
    ("onnxruntime[cuda]@1.19", "onnxruntime[cuda]", "1.19", "onnxruntime", ("cuda",)),
    ("torch[compile,tf32]@2.4.1+cpu", "torch[compile,tf32]", "2.4.1+cpu", "torch", ("compile", "tf32")),
])
def test_labels_come_after_the_variants(system_id, head, label, base, variants):
    assert adapters.split_label(system_id) == (head, label)
    assert adapters.split_id(system_id) == (base, variants)
    assert adapters.path_of(system_id) == adapters.path_of(head)
    assert launch.key_of(system_id) == (None if label is None else f"{base}@{label}")


@pytest.mark.parametrize("system_id, says", [
    ("onnxruntime@1.19[cuda]", "variants come before the label: onnxruntime[cuda]@1.19"),
    ("onnxruntime@", "expected id[variant,...]@label"),
    ("@1.19", "expected id[variant,...]@label"),
    ("torch@2.4@ci", "a label of letters, digits and . _ + -"),
    ("torch@a b", "a label of letters"),
    ("torch@.4", "a label of letters"),
])
def test_malformed_labels_are_one_line(system_id, says):
    with pytest.raises(KeyError) as err:
        adapters.split_id(system_id)
    assert says in err.value.args[0] and "\n" not in err.value.args[0]


@pytest.mark.parametrize("frameworks, says", [
    ("onnxruntime@1.19[cuda]", "variants come before the label"),
    ("nosuch@1.0", "unknown nosuch"),
    ("onnxruntime[nosuch]@1.0", "has no variant nosuch"),
])
def test_bad_ids_exit_2_with_one_line(cli, root, frameworks, says):
    code, out, err = cli("run", f"{root}/cases/onnx", "--frameworks", frameworks)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("value, says", [
    ("onnxruntime=/x", "expected ID@LABEL=PYTHON"),
    ("onnxruntime@1.19", "expected ID@LABEL=PYTHON"),
    ("onnxruntime[cuda]@1.19=/x", "give onnxruntime@1.19"),
    ("nosuch@1=/x", "unknown nosuch"),
    ("onnxruntime@1.19=/no/such/python", "no such file /no/such/python"),
])
def test_bad_python_options_exit_2_with_one_line(cli, root, value, says):
    code, out, err = cli("run", f"{root}/cases/onnx", "--frameworks", "onnxruntime@1.19", "--python", value)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1


# ---- where the interpreters come from ------------------------------------------------------

def test_the_config_file_names_interpreters_relative_to_its_folder(tmp_path):
    python = fake_python(tmp_path / "venvs" / "ort")
    (tmp_path / "envs.toml").write_text('# mine\n[envs]\n"onnxruntime@1.19" = "venvs/ort/bin/python"  # old\n')
    found = launch.interpreter_for("onnxruntime[cuda]@1.19")
    assert found == launch.Interpreter("onnxruntime@1.19", python, str(tmp_path / "envs.toml"))
    assert found.problem() is None
    assert launch.interpreter_for("onnxruntime") is None


def test_python_given_comes_before_the_config_file(tmp_path):
    fake_python(tmp_path / "a")
    given = fake_python(tmp_path / "b")
    launch.write_config(str(tmp_path / "envs.toml"), {"onnxruntime@1.19": str(tmp_path / "a" / "bin" / "python")})
    launch.configure({"onnxruntime@1.19": given})
    assert launch.interpreter_for("onnxruntime@1.19") == launch.Interpreter("onnxruntime@1.19", given, "--python")


def test_a_missing_interpreter_is_a_reason_not_a_crash(tmp_path):
    (tmp_path / "envs.toml").write_text('[envs]\n"torch@2.4" = "/gone/bin/python"\n')
    problem = launch.interpreter_for("torch@2.4").problem()
    assert "no interpreter /gone/bin/python (configured for torch@2.4 by" in problem
    unset = launch.interpreter_for("torch@9.9").problem()
    assert "--python torch@9.9=/path/to/venv/bin/python" in unset and "convtx env create torch@9.9" in unset


@pytest.mark.parametrize("text, says", [
    ('[envs]\n"onnxruntime" = "/x"\n', "has no @label"),
    ('[envs]\n"onnxruntime[cuda]@1" = "/x"\n', "without variants"),
    ('[envs]\n"onnxruntime@1" = 3\n', "must map"),
    ('[envs\n', "envs.toml"),
])
def test_a_malformed_config_file_is_one_line(tmp_path, text, says):
    (tmp_path / "envs.toml").write_text(text)
    with pytest.raises(UsageError) as err:
        launch.configured()
    assert says in str(err.value) and "\n" not in str(err.value)


def test_python_3_10_reads_what_convtx_writes(tmp_path):
    path = str(tmp_path / "envs.toml")
    written = {"onnxruntime@1.19": '/a "quoted"/bin/python', "torch@2.4": "/b/ünï/bin/python"}
    launch.write_config(path, written)
    text = open(path, encoding="utf-8").read()
    assert launch.parse_subset(text, path) == launch.parse_toml(text, path) == {"envs": written}
    assert launch.read_config(path) == {k: os.path.normpath(v) for k, v in written.items()}
    with pytest.raises(UsageError, match=r"envs.toml:2: expected \[table\]"):
        launch.parse_subset("[envs]\nkey = [1]\n", path)


def test_python_option_configures_and_selects(tmp_path, capsys):
    python = fake_python(tmp_path / "ort")

    def command_line(*argv: str) -> argparse.Namespace:
        parser = argparse.ArgumentParser()
        options.add_systems_option(parser)
        return parser.parse_args(list(argv))

    args = command_line("--python", f"onnxruntime@1.19={python}")
    assert args.python == [f"onnxruntime@1.19={python}"]
    assert options.selected_systems(None)[-1] == "onnxruntime@1.19"  # all systems, and the one given
    assert launch.interpreter_for("onnxruntime@1.19").python == python
    command_line("--python", f"onnxruntime@1.19={python}")
    assert options.selected_systems("onnxruntime") == ["onnxruntime"]
    assert "onnxruntime@1.19 is not among --frameworks" in capsys.readouterr().err
    command_line()  # the next command line starts with nothing configured
    options.selected_systems("onnxruntime")
    assert launch.interpreter_for("onnxruntime@1.19").python is None
    launch.configure({"onnxruntime@1.19": python})  # the Python API's, which no later selection undoes
    options.selected_systems("onnxruntime")
    assert launch.interpreter_for("onnxruntime@1.19").python == python


# ---- a labelled system in convtx's own process ---------------------------------------------

def test_a_labelled_system_runs_in_a_worker_and_is_fingerprinted_by_its_interpreter(tmp_path):
    from convtx.harness.engine import keys
    from convtx.harness.engine.workers import InProcess, Worker, executor_for
    python = fake_python(tmp_path / "np")
    launch.configure({"numpy@1.26": python})
    system = adapters.load("numpy@1.26")
    assert system.id == "numpy@1.26" and system.available() and "in_process" not in system.capabilities
    assert system.env[launch.INTERPRETER_ENV] == python
    assert isinstance(executor_for("numpy"), InProcess) and isinstance(executor_for("numpy@1.26"), Worker)
    before = keys.system_fingerprint("numpy@1.26")
    (tmp_path / "np" / "lib" / "python3.11" / "site-packages" / "numpy-1.26.4.dist-info").mkdir()
    launch.configure({"numpy@1.26": python})  # (forgets the loaded systems, as a new run would)
    assert keys.system_fingerprint("numpy@1.26") != before != keys.system_fingerprint("numpy")


def test_a_label_without_interpreter_skips_every_cell_with_how_to_configure_it(write_case):
    from convtx.harness.caseformat.casefile import load_suite
    from convtx.harness.engine.runner import RunOptions, run_suite
    suite = load_suite([write_case(CASE + CASE.replace("id: a", "id: b"))])
    run = run_suite(suite, ["numpy", "numpy@nowhere"], opts=RunOptions(timeout=5))
    skipped = [r for r in run.results if r.framework == "numpy@nowhere"]
    assert len(skipped) == 2 and all(r.status == "skipped" for r in skipped)
    assert "no interpreter configured for numpy@nowhere" in skipped[0].note
    assert "--python numpy@nowhere=" in skipped[0].note and "convtx env create numpy@nowhere" in skipped[0].note
    assert [r.status for r in run.results if r.framework == "numpy"] == ["pass", "pass"]


# ---- convtx env create's plan ---------------------------------------------------------------

def test_env_create_pins_the_framework_by_the_label(tmp_path):
    plan = envs.plan_env("onnxruntime@1.19")
    assert plan.requirements == ("onnxruntime==1.19.*", "onnx")
    assert plan.folder == str(tmp_path / "envs" / "onnxruntime@1.19") and plan.editable
    assert plan.pip_command()[:4] == [plan.python, "-m", "pip", "install"]
    assert envs.plan_env("paddle@3.2").requirements == ("paddlepaddle==3.2.*",)
    assert envs.plan_env("numpy@1.26", extra=["pyyaml<7"]).requirements == ("numpy==1.26.*", "pyyaml<7")
    assert envs.plan_env("torch@old", spec="torch==2.4.1", path="x").folder == os.path.abspath("x")


@pytest.mark.parametrize("system_id, spec, says", [
    ("torch@old", None, "is not a version; name the framework's requirement with --spec"),
    ("torch@2.4", "torch=2.4", "is not a requirement pip understands"),
    ("onnxruntime[cuda]@1.19", None, "expected ID@VERSION of a known system without variants"),
    ("onnxruntime", None, "expected ID@VERSION"),
])
def test_env_create_refuses_in_one_line(system_id, spec, says):
    with pytest.raises(UsageError, match=r"[^\n]*" + says.replace("[", r"\[").replace("(", r"\(")):
        envs.plan_env(system_id, spec=spec)
