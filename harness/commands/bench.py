"""`convtx bench [--json FILE] [--quick]`: how fast convtx is, each figure against its target.

In one process and one run: (a) per layer of a suite of real layers, the NumPy reference
(float64, and its float32 mode) against torch's CPU kernel in float32, and the ONNX reference
evaluator against the reference (`bench_layers`: interleaved rounds, medians, ratios - never an
absolute time alone); (b) the median layer of each; (c) the wall time of a whole
`convtx run cases --quiet` (every framework) over the import time of the slowest framework alone,
and the import time of `convtx.harness.commands.cli` itself; (d) the peak RSS of the largest process of the
whole run; (e) `convtx fuzz` throughput, overall and per system; (f) incremental runs: the suite again
unchanged, and with one new case, against the same slowest import, and where the cold run's time goes
per system: import, compile, compute, IPC (`bench_runs`); (g) `convtx validate` of a generated 20 MB
case of about a million numbers, against importing tensorflow, and its peak RSS (`bench_cases`).
`--quick` is a reduced run for tests: batch 1, fewer rounds, no slow ONNX layers, no whole run, no
large case and no fuzz.

`--json FILE` writes a list of {"name", "value", "target", "met"} (atomically); met is null where
the figure is only reported or could not be measured.  The exit code is 0 whether or not the
targets are met (the table says which); 2 for bad usage.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

from convtx.harness.commands.bench_cases import large_case_figures
from convtx.harness.commands.bench_layers import Figure, judge, layer_figures, layer_suite
from convtx.harness.commands.bench_runs import run_figures

__all__ = ["add_parser", "run", "collect", "format_table", "write_figures", "judge"]

FRAMEWORK_IMPORTS = {"tensorflow": "import tensorflow", "torch": "import torch", "jax": "import jax",
                     "keras": "import keras", "onnxruntime": "import onnxruntime"}
FUZZ_N, FUZZ_SEED = 1000, 1


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="measure convtx's speed against its targets",
                       description="Measure the NumPy reference against torch and the ONNX reference evaluator "
                                   "on real layers, the whole run against framework import time, peak memory and "
                                   "fuzz throughput; print each figure with its target.")
    p.add_argument("--json", metavar="FILE", help="write the figures as JSON: [{name, value, target, met}, ...]")
    p.add_argument("--quick", action="store_true",
                   help="a reduced run (batch 1, few rounds, no slow ONNX layers, no whole run, no fuzz)")


def run(args) -> int:
    print(machine_text())
    figures = collect(quick=bool(args.quick), progress=_progress)
    print(format_table(figures))
    if args.json:
        write_figures(args.json, figures)
        print(f"figures: {args.json}")
    return 0


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def collect(quick: bool = False, layers=None, progress=None) -> list[Figure]:
    """Every figure, in table order."""
    figures = layer_figures(layers if layers is not None else layer_suite(quick), quick, progress=progress)
    figures += import_figures(repeat=3 if quick else 7)
    if quick:
        figures.append(Figure("whole run / slowest framework import", None, "<= 3.0",
                              detail="not measured (--quick)"))
        figures.append(Figure("fuzz throughput (configurations/s)", None, ">= 20", detail="not measured (--quick)"))
        return figures
    imports = framework_imports() if os.path.isdir("cases") else {}
    if progress:
        progress("large case: convtx validate (a generated 20 MB file) ...")
    figures += large_case_figures(imports.get("tensorflow"), timed)
    if progress:
        progress("whole run: convtx run cases --quiet (cold, warm, one new case, profiled) ...")
    figures += whole_run_figures(imports=imports)
    if progress:
        progress(f"fuzz: convtx fuzz --n {FUZZ_N} --seed {FUZZ_SEED} ...")
    figures += fuzz_figures()
    return figures


# ---- subprocesses ------------------------------------------------------------------------------

# Started by `timed(rss=True)`: runs the command, then writes the peak RSS of its process tree.  A child
# forked from the (large) bench process itself would count the bench's own memory as its peak.
_LAUNCHER = ("import resource, subprocess, sys\n"
             "code = subprocess.call(sys.argv[2:])\n"
             "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
             "sys.exit(code if code >= 0 else 128 - code)")


def timed(cmd: list[str], env: dict | None = None, cwd: str | None = None, capture: bool = False,
          rss: bool = False):
    """(wall seconds, exit code, peak RSS in KiB of the largest process in its tree (with rss=True, else
    None), stdout)."""
    out = tempfile.TemporaryFile() if capture else None
    fd, rss_file = tempfile.mkstemp(prefix="convtx-bench-rss-")
    os.close(fd)
    try:
        full = [sys.executable, "-c", _LAUNCHER, rss_file, *cmd] if rss else cmd
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=subprocess.DEVNULL if out is None else out, stderr=subprocess.DEVNULL,
                                env=env, cwd=cwd)
        _, status, _ = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        text = ""
        if out is not None:
            out.seek(0)
            text = out.read().decode("utf-8", "replace")
        return wall, proc.returncode, _read_rss(rss_file) if rss else None, text
    finally:
        os.unlink(rss_file)
        if out is not None:
            out.close()


def _read_rss(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def _env(**extra) -> dict:
    env = dict(os.environ)
    env.update(extra)
    return env


def import_seconds(statement: str, repeat: int, env: dict | None = None) -> float | None:
    """Median wall time of `python -c statement` (None if it fails)."""
    times = []
    for _ in range(repeat):
        wall, code, _, _ = timed([sys.executable, "-c", statement], env=env)
        if code != 0:
            return None
        times.append(wall)
    return statistics.median(times)


def import_figures(repeat: int = 7) -> list[Figure]:
    """`import convtx.harness.commands.cli` minus a bare interpreter start, interleaved, medians."""
    bare, cli = [], []
    for _ in range(repeat):
        bare.append(timed([sys.executable, "-c", "pass"])[0])
        wall, code, _, _ = timed([sys.executable, "-c", "import convtx.harness.commands.cli"])
        if code != 0:
            return [Figure("import convtx.harness.commands.cli (s)", None, "< 0.3 s", detail="not measured: the import failed")]
        cli.append(wall)
    value = statistics.median(cli) - statistics.median(bare)
    return [Figure("import convtx.harness.commands.cli (s)", value, "< 0.3 s",
                   detail=f"python -c 'import convtx.harness.commands.cli' {statistics.median(cli):.3f} s minus "
                          f"python -c pass {statistics.median(bare):.3f} s")]


def framework_imports(repeat: int = 3) -> dict[str, float | None]:
    """Median seconds of `import X` in a fresh interpreter, per framework (None: not installed)."""
    imports = {}
    for fw, statement in FRAMEWORK_IMPORTS.items():
        env = _env(KERAS_BACKEND="tensorflow") if fw == "keras" else None
        imports[fw] = import_seconds(statement, repeat, env)
    return imports


def whole_run_figures(cases: str = "cases", imports: dict[str, float | None] | None = None) -> list[Figure]:
    name = "whole run / slowest framework import"
    if not os.path.isdir(cases):
        why = f"not measured: no {cases}/ folder in {os.getcwd()}"
        return [Figure(name, None, "<= 3.0", detail=why), Figure("whole run peak RSS, largest process (MiB)", None,
                                                                  "report", detail=why)]
    imports = imports or framework_imports()
    measured = {fw: t for fw, t in imports.items() if t is not None}
    if not measured:
        why = "not measured: no framework imports"
        return [Figure(name, None, "<= 3.0", detail=why), Figure("whole run peak RSS, largest process (MiB)", None,
                                                                  "report", detail=why)]
    slowest = max(measured, key=lambda fw: measured[fw])
    figures = run_figures(cases, (slowest, measured[slowest]), timed)
    missing = sorted(set(imports) - set(measured))
    figures[0].detail += ("; imports: " + ", ".join(f"{fw} {t:.2f} s" for fw, t in measured.items())
                          + (f"; not installed: {', '.join(missing)}" if missing else ""))
    return figures


def fuzz_available() -> bool:
    help_run = subprocess.run([sys.executable, "-m", "convtx.harness", "fuzz", "--help"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return help_run.returncode == 0


def fuzz_figure(available: bool | None = None) -> Figure:
    return fuzz_figures(available)[0]


def fuzz_figures(available: bool | None = None) -> list[Figure]:
    """Fuzz throughput over every system (the whole command's wall time), then per system."""
    name = "fuzz throughput (configurations/s)"
    if not (fuzz_available() if available is None else available):
        return [Figure(name, None, ">= 20", met=None, detail="not measured: convtx fuzz not available")]
    with tempfile.TemporaryDirectory(prefix="convtx-bench-fuzz-") as tmp:
        report = os.path.join(tmp, "fuzz.json")
        wall, code, _, text = timed([sys.executable, "-m", "convtx.harness", "fuzz", "--n", str(FUZZ_N),
                                     "--seed", str(FUZZ_SEED), "--out", os.path.join(tmp, "found"), "--no-shrink",
                                     "--json", report], env=_env(CONVTX_CACHE_DIR=os.path.join(tmp, "cache")),
                                    capture=True)
        try:
            with open(report, encoding="utf-8") as fh:
                systems = json.load(fh).get("systems", {})
        except (OSError, ValueError):
            systems = {}
    own = re.search(r"([0-9.]+) configurations/s", text)
    detail = (f"convtx fuzz --n {FUZZ_N} --seed {FUZZ_SEED} --no-shrink: {wall:.1f} s wall, exit {code}"
              + (f"; fuzz's own figure (without start-up): {own.group(1)}/s" if own else ""))
    figures = [Figure(name, FUZZ_N / wall, ">= 20", detail=detail)]
    for system, t in sorted(systems.items(), key=lambda item: item[1].get("configurations_per_second") or 0):
        figures.append(Figure(f"fuzz throughput: {system} (configurations/s)", t.get("configurations_per_second"),
                              "report", detail=f"its worker: start {t.get('start', 0):.1f} s, calls "
                                                 f"{t.get('call', 0):.1f} s, IPC {t.get('ipc', 0):.2f} s, "
                                                 f"thread {t.get('wall', 0):.1f} s"))
    return figures


# ---- the machine, the table and the JSON -------------------------------------------------------

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_text() -> str:
    """Which BLAS numpy runs, and its kernel (threadpoolctl when installed, else OpenBLAS asked directly)."""
    try:  # an optional module (no dependency of convtx's), looked up at run time
        threadpoolctl = importlib.import_module("threadpoolctl")
        return "; ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture', '')} "
                         f"threads={i.get('num_threads')}" for i in threadpoolctl.threadpool_info())
    except ImportError:
        pass
    import ctypes

    import numpy as np
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        text = f"{blas.get('name')} {blas.get('version')}"
    except Exception:
        text = "unknown BLAS"
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            libs = sorted({ln.split()[-1] for ln in fh if "openblas" in ln.lower() and ".so" in ln})
        for lib in libs:
            handle = ctypes.CDLL(lib)
            for prefix in ("scipy_openblas_", "openblas_"):
                for suffix in ("64_", ""):
                    fn = getattr(handle, f"{prefix}get_corename{suffix}", None)
                    threads = getattr(handle, f"{prefix}get_num_threads{suffix}", None)
                    if fn is not None:
                        fn.restype = ctypes.c_char_p
                        return f"{text}, kernel {fn().decode()}" + (f", threads {threads()}" if threads else "")
    except (OSError, AttributeError):
        pass
    return text


def machine_text() -> str:
    import numpy as np

    try:
        import torch
        torch_text = f"torch {torch.__version__} (threads {torch.get_num_threads()})"
    except ImportError:
        torch_text = "torch not installed"
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    blas_env = ", ".join(f"{k}={os.environ.get(k, 'unset')}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                                       "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"))
    return "\n".join([f"machine: {_cpu_model()}, {cores} cores ({usable} usable), Python {platform.python_version()}",
                      f"numpy {np.__version__}, BLAS: {blas_text()}", f"{torch_text}; {blas_env}"])


def format_table(figures: list[Figure]) -> str:
    width = max(len(f.name) for f in figures)
    lines = [f"{'figure':<{width}}  {'value':>9}  {'target':<8}  {'met':<4}  detail", "-" * (width + 40)]
    for f in figures:
        value = "-" if f.value is None else f"{f.value:9.3g}" if abs(f.value) < 1e4 else f"{f.value:9.0f}"
        met = {True: "yes", False: "NO", None: "-"}[f.met]
        lines.append(f"{f.name:<{width}}  {value:>9}  {f.target:<8}  {met:<4}  {f.detail}")
    return "\n".join(lines)


def write_figures(path: str, figures: list[Figure]) -> None:
    from convtx.harness.core.files import write_atomic
    write_atomic(path, json.dumps([f.to_json() for f in figures], indent=1) + "\n")


if __name__ == "__main__":  # `python -m convtx.harness.commands.bench`, until the CLI has `convtx bench`
    import argparse

    parser = argparse.ArgumentParser(prog="convtx")
    add_parser(parser.add_subparsers(dest="command", required=True))
    sys.exit(run(parser.parse_args(["bench", *sys.argv[1:]])))
