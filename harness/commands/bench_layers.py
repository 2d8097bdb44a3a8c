"""The layer half of `convtx bench`: the NumPy reference against torch's CPU kernel and the ONNX
reference evaluator, on a suite of real transposed-convolution layers.

Every layer is timed in one process, contestants interleaved: each round runs reference float64,
reference float32 and torch float32 once (more calls per sample for sub-5 ms ones), the order
alternating between rounds, after waiting (a bounded time) for the CPUs to be quiet; the figure is
the ratio of the medians.  Inputs are what each contestant natively gets: float64 arrays for the
reference's default mode (the harness's Problem tensors are float64), float32 for its float32
mode and for torch.  Outputs are checked against each other before anything is timed.
"""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from convtx.harness.core.problem import Axis, Geometry

TARGET_F64, TARGET_F32, TARGET_ONNX = "<= 2.0", "<= 1.25", ">= 50"
ONNX_BUDGET = 20.0  # seconds the evaluator may take on one layer before its batch is reduced
QUICK_ONNX_BUDGET = 1.0  # --quick: above this the evaluator is skipped


@dataclass
class Figure:
    """One measured figure: JSON gets name, value, target and met; the table also the detail."""

    name: str
    value: float | None
    target: str
    met: bool | None = None
    detail: str = ""

    def __post_init__(self):
        if self.met is None:
            self.met = judge(self.value, self.target)

    def to_json(self) -> dict:
        return {"name": self.name, "value": self.value, "target": self.target, "met": self.met}


def judge(value: float | None, target: str) -> bool | None:
    """Whether `value` meets a target written "<= 2.0", ">= 50", "< 0.3 s"; None if unmeasured or "report"."""
    parts = target.split()
    if value is None or len(parts) < 2 or parts[0] not in ("<=", ">=", "<", ">"):
        return None
    bound = float(parts[1])
    return {"<=": value <= bound, ">=": value >= bound, "<": value < bound, ">": value > bound}[parts[0]]


@dataclass(frozen=True)
class Layer:
    name: str
    geometry: Geometry
    note: str = ""


def _layer(name, batch, cin, cout, size, k, s, p=0, d=1, groups=1, note="") -> Layer:
    nd = len(size)
    g = Geometry("conv_transpose", batch, cin, cout, groups, tuple(size), (k,) * nd, (Axis(s, d, p, p),) * nd)
    return Layer(name, g, note)


def layer_suite(quick: bool = False) -> list[Layer]:
    """The suite (conv_transpose; torch padding p is the canonical crop lo = hi = p)."""
    layers = [
        _layer("dcgan-1 512->256 4x4 k4s2p1", 16, 512, 256, (4, 4), 4, 2, 1),
        _layer("dcgan-2 256->128 8x8 k4s2p1", 16, 256, 128, (8, 8), 4, 2, 1),
        _layer("dcgan-3 128->64 16x16 k4s2p1", 16, 128, 64, (16, 16), 4, 2, 1),
        _layer("dcgan-4 64->3 32x32 k4s2p1", 16, 64, 3, (32, 32), 4, 2, 1),
        _layer("unet 128->64 64x64 k2s2", 16, 128, 64, (64, 64), 2, 2),
        _layer("vocoder-1d 512->256 L256 k16s8p4", 4, 512, 256, (256,), 16, 8, 4, note="batch 4"),
        _layer("3d 32->16 16^3 k2s2", 2, 32, 16, (16, 16, 16), 2, 2, note="batch 2"),
        _layer("depthwise g32 32->32 32x32 k4s2p1", 16, 32, 32, (32, 32), 4, 2, 1, groups=32),
        _layer("dilated 64->64 32x32 k3d2s1p2", 16, 64, 64, (32, 32), 3, 1, 2, d=2),
    ]
    if quick:
        layers = [replace(ly, geometry=replace(ly.geometry, batch=1), note="batch 1 (--quick)") for ly in layers]
    return layers


def random_tensors(g: Geometry, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, g.input_shape).astype(np.float32),
            rng.uniform(-1, 1, g.weight_shape).astype(np.float32))


def cpu_busy(window: float = 0.1) -> float:
    """Fraction of all CPUs busy over `window` seconds (/proc/stat); 0.0 where unavailable."""
    def sample():
        with open("/proc/stat", encoding="ascii") as fh:
            v = [int(t) for t in fh.readline().split()[1:]]
        return v[3] + v[4], sum(v)
    try:
        i0, t0 = sample()
        time.sleep(window)
        i1, t1 = sample()
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, 1.0 - (i1 - i0) / max(1, t1 - t0))


def wait_quiet(max_wait: float, threshold: float = 0.1) -> float:
    """Wait up to max_wait seconds for 0.1 s with the CPUs at most `threshold` busy; the last busy fraction."""
    if max_wait <= 0:
        return 0.0
    end = time.monotonic() + max_wait
    busy = cpu_busy()
    while busy > threshold and time.monotonic() < end:
        busy = cpu_busy()
    return busy


def interleaved(contestants: dict[str, Callable[[], object]], rounds: int, max_wait: float = 1.0,
                min_sample: float = 0.005) -> tuple[dict[str, float], float]:
    """Median seconds per call of each contestant over `rounds` rounds, and the busiest CPU reading.

    The contestants run in a rotating, alternating order.  Before each sample: a wait (up to
    max_wait s) until the CPUs have been quiet for 0.1 s - which also lets the previous contestant's
    thread pools (OpenBLAS, OpenMP spin-wait after a call) go idle, so that none runs against
    another's spinning threads - then one untimed call, so that each is timed in its steady state.
    A sample is enough back-to-back calls to last min_sample seconds.
    """
    numbers = {}
    for name, fn in contestants.items():
        fn()
        t0 = time.perf_counter()
        fn()
        numbers[name] = max(1, int(min_sample / max(time.perf_counter() - t0, 1e-9)))
    samples: dict[str, list[float]] = {name: [] for name in contestants}
    names, worst = list(contestants), 0.0
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            k = r % len(names)
            order = names[k:] + names[:k]
            for name in (order if r % 2 == 0 else order[::-1]):
                fn, num = contestants[name], numbers[name]
                worst = max(worst, wait_quiet(max_wait))
                fn()
                t0 = time.perf_counter()
                for _ in range(num):
                    fn()
                samples[name].append((time.perf_counter() - t0) / num)
    finally:
        if gc_was:
            gc.enable()
    return {name: statistics.median(v) for name, v in samples.items()}, worst


def _close(a: np.ndarray, b: np.ndarray, rtol: float) -> bool:
    return a.shape == b.shape and float(np.max(np.abs(a - b), initial=0.0)) <= rtol * max(1.0, float(np.max(np.abs(b))))


def _torch_call(g: Geometry, x: np.ndarray, w: np.ndarray) -> Callable[[], Any]:  # () -> torch.Tensor
    import torch
    import torch.nn.functional as F

    fn = getattr(F, f"conv_transpose{g.ndim}d")
    xt, wt = torch.from_numpy(x), torch.from_numpy(w)
    a = g.axes[0]

    def call():
        with torch.no_grad():
            return fn(xt, wt, stride=a.stride, padding=a.lo, dilation=a.dilation, groups=g.groups)
    return call


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def time_layer(layer: Layer, rounds: int, max_wait: float = 1.0) -> list[Figure]:
    """reference f64 / torch f32 and reference f32 / torch f32 for one layer."""
    from convtx.harness.core import reference

    g = layer.geometry
    x32, w32 = random_tensors(g)
    x64, w64 = x32.astype(np.float64), w32.astype(np.float64)
    base = f"{layer.name}: "
    contestants: dict[str, Callable[[], object]] = {
        "ref64": lambda: reference.conv_transpose(x64, w64, None, g),
        "ref32": lambda: reference.conv_transpose(x32, w32, None, g, accumulate=np.float32)}
    ref = reference.conv_transpose(x64, w64, None, g)
    if not _close(reference.conv_transpose(x32, w32, None, g, accumulate=np.float32), ref, 1e-4):
        raise AssertionError(f"{layer.name}: reference float32 differs from float64")
    try:
        torch_call = _torch_call(g, x32, w32)
    except ImportError:
        why = "not measured: torch not installed"
        return [Figure(base + "reference f64 / torch f32", None, TARGET_F64, detail=why),
                Figure(base + "reference f32 / torch f32", None, TARGET_F32, detail=why)]
    if not _close(torch_call().numpy().astype(np.float64), ref, 1e-4):
        raise AssertionError(f"{layer.name}: torch and the reference disagree")
    contestants["torch"] = torch_call
    med, busy = interleaved(contestants, rounds, max_wait)
    quiet = f"; CPUs up to {busy:.0%} busy before a sample" if busy > 0.1 else ""
    note = f"; {layer.note}" if layer.note else ""
    t = med["torch"]
    return [Figure(base + "reference f64 / torch f32", med["ref64"] / t, TARGET_F64,
                   detail=f"{_ms(med['ref64'])} vs {_ms(t)}{note}{quiet}"),
            Figure(base + "reference f32 / torch f32", med["ref32"] / t, TARGET_F32,
                   detail=f"{_ms(med['ref32'])} vs {_ms(t)}{note}{quiet}")]


def onnx_args(g: Geometry) -> dict:
    return {"strides": [a.stride for a in g.axes], "dilations": [a.dilation for a in g.axes],
            "pads": [a.lo for a in g.axes] + [a.hi for a in g.axes], "group": g.groups}


def time_onnx(layer: Layer, quick: bool = False, budget: float = ONNX_BUDGET) -> Figure:
    """ONNX reference evaluator / reference f64, the batch reduced when the evaluator would take > budget."""
    from convtx.harness.core import reference

    name, g = f"{layer.name}: ONNX reference evaluator / reference f64", layer.geometry
    try:
        from onnx.reference import ReferenceEvaluator

        from convtx.adapters.onnx_common import build_model
    except ImportError:
        return Figure(name, None, TARGET_ONNX, detail="not measured: onnx not installed")
    g1 = replace(g, batch=1)
    x1, w1 = random_tensors(g1)
    evaluator = ReferenceEvaluator(build_model("conv_transpose", onnx_args(g), x1, w1, None, "float32"))
    t0 = time.perf_counter()
    evaluator.run(None, {"x": x1})
    per_image = time.perf_counter() - t0
    estimate = per_image * g.batch
    if quick and estimate > QUICK_ONNX_BUDGET:
        why = f"not measured (--quick): the evaluator would take ~{estimate:.0f} s"
        return Figure(name, None, TARGET_ONNX, detail=why)
    batch = g.batch if estimate <= budget else max(1, int(budget // per_image))
    gb = replace(g, batch=batch)
    x, w = random_tensors(gb)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    evaluator = ReferenceEvaluator(build_model("conv_transpose", onnx_args(gb), x, w, None, "float32"))
    expected = reference.conv_transpose(x64, w64, None, gb)  # also the warm-up
    reps = 1 if per_image * batch > 5 else 3
    times: dict[str, list[float]] = {"onnx": [], "ref64": []}
    for _ in range(reps):  # interleaved: one evaluator call, then the reference (median of 5 calls)
        wait_quiet(0.0 if quick else 1.0)
        t0 = time.perf_counter()
        got = np.asarray(evaluator.run(None, {"x": x})[0], dtype=np.float64)
        times["onnx"].append(time.perf_counter() - t0)
        for _ in range(5):
            t0 = time.perf_counter()
            reference.conv_transpose(x64, w64, None, gb)
            times["ref64"].append(time.perf_counter() - t0)
    if not _close(got, expected, 1e-4):
        raise AssertionError(f"{layer.name}: the ONNX reference evaluator and the reference disagree")
    t_onnx, t_ref = statistics.median(times["onnx"]), statistics.median(times["ref64"])
    detail = f"{t_onnx:.2f} s vs {_ms(t_ref)}, {reps} round(s)"
    if batch != g.batch:
        name += f" (batch {batch} of {g.batch})"
        detail += f"; batch {batch}: at {g.batch} the evaluator would take ~{estimate:.0f} s"
    return Figure(name, t_onnx / t_ref, TARGET_ONNX, detail=detail)


def layer_figures(layers: list[Layer], quick: bool = False, rounds: int | None = None,
                  progress: Callable[[str], None] | None = None) -> list[Figure]:
    """Every per-layer figure, then the three median-layer summary figures."""
    rounds = rounds or (3 if quick else 15)
    per_layer: list[Figure] = []
    for layer in layers:
        if progress:
            progress(f"timing {layer.name} ...")
        per_layer += time_layer(layer, rounds, max_wait=0.0 if quick else 1.0)
        per_layer.append(time_onnx(layer, quick))
    summary = []
    for label, target in (("reference f64 / torch f32", TARGET_F64), ("reference f32 / torch f32", TARGET_F32),
                          ("ONNX reference evaluator / reference f64", TARGET_ONNX)):
        values = [f.value for f in per_layer if f.name.split(": ", 1)[1].startswith(label) and f.value is not None]
        detail = f"median of {len(values)} layer(s)" if values else "not measured"
        summary.append(Figure(f"{label} (median layer)", statistics.median(values) if values else None,
                              target, detail=detail))
    return per_layer + summary
