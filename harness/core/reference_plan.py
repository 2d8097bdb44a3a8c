"""The plan of a transposed convolution for the NumPy reference: per axis phases, taps and windows;
for the shift-GEMM ("stack") kernels the rows of the stacked input copies and, per output phase,
the GEMMs that produce it.

Per spatial axis (stride s, dilation d, crop lo) the outputs o = o0 + j*s of one phase o0 < s receive
input y = j + c times kernel tap t for exactly the taps with (o0 + lo - t*d) = c*s.  A phase is a
dense correlation over its taps.  The stack kernels copy the input once per distinct shift c of the
trailing ("stacked") axes - the rows of the copy - and read every other ("leading") axis shift as an
offset into the flattened copy, so that each phase is a few GEMMs over contiguous-row views.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field


from convtx.harness.core.problem import Geometry


@dataclass(frozen=True)
class AxisPlan:
    out: int  # output length L - lo - hi
    phases: tuple  # ((o0, q, ((t, c), ...)), ...): outputs o0 + j*s (j < q) take x[j + c] * w[t]
    pad: tuple[int, int]  # zeros a gather needs before / after the input (how far taps reach out)
    # per tap: (input slice, output slice) it reaches, or None (scatter strategy); derived from the same
    # numbers as the rest, so left out of hashing (slices are unhashable before Python 3.12)
    windows: tuple = field(compare=False)


def axis_plan(i: int, k: int, s: int, d: int, lo: int, hi: int) -> AxisPlan:
    out = (i - 1) * s + d * (k - 1) + 1 - lo - hi
    phases = []
    for o0 in range(min(s, max(out, 0))):
        q, f = (out - o0 + s - 1) // s, o0 + lo
        taps = tuple((t, (f - t * d) // s) for t in range(k) if (f - t * d) % s == 0)
        phases.append((o0, q, tuple((t, c) for t, c in taps if c + q > 0 and c < i)))
    reach = [(c, q) for _, q, taps in phases for _, c in taps]
    pad = (max([0] + [-c for c, _ in reach]), max([0] + [c + q - i for c, q in reach]))
    windows = []
    for t in range(k):
        off = t * d - lo  # input y lands on output y*s + off
        y0, y1 = max(0, -(off // s)), min(i, (out - 1 - off) // s + 1)
        windows.append((slice(y0, y1), slice(y0 * s + off, (y1 - 1) * s + off + 1, s)) if y1 > y0 else None)
    return AxisPlan(out, tuple(phases), pad, tuple(windows))


@functools.lru_cache(maxsize=512)
def plans_of(g: Geometry, crops: tuple) -> tuple[AxisPlan, ...]:
    """The plan of every axis (cached: the harness and its benchmarks call the same shapes again)."""
    return tuple(axis_plan(i, k, a.stride, a.dilation, lo, hi)
                 for i, k, a, (lo, hi) in zip(g.in_size, g.kernel, g.axes, crops))


# ---- rows of the stacked copies -----------------------------------------------------------------

def row_list(phases) -> tuple[tuple[int, ...], tuple]:
    """The shifts of one stacked axis's copies, and per phase (first row, its taps in row order).

    Shared shifts are copied once when every phase's shifts are a run of the sorted set (e.g.
    k4 s2: shifts -1, 0, 1; phases {-1, 0} and {0, 1}); otherwise each phase gets rows of its own.
    """
    shifts = sorted({c for _, _, taps in phases for _, c in taps})
    runs = []
    for _, _, taps in phases:
        ordered = tuple(sorted(taps, key=lambda tc: tc[1]))
        start = shifts.index(ordered[0][1]) if ordered else 0
        if [c for _, c in ordered] != shifts[start:start + len(ordered)]:
            break
        runs.append((start, ordered))
    else:
        return tuple(shifts), tuple(runs)
    own: list[int] = []
    runs = []
    for _, _, taps in phases:
        runs.append((len(own), tuple(taps)))
        own += [c for _, c in taps]
    return tuple(own), tuple(runs)


def stackable(plans, stacked: int) -> bool:
    """Whether the last `stacked` axes can share one copy: every axis but the first of them must
    have one row list that each phase uses whole (so that a phase's rows are contiguous)."""
    for p in plans[len(plans) - stacked + 1:]:
        shifts, runs = row_list(p.phases)
        if any(taps and len(taps) != len(shifts) for _, taps in runs):
            return False
    return True


def max_stacked(plans) -> int:
    return max(n for n in range(1, len(plans) + 1) if stackable(plans, n))


@dataclass(frozen=True)
class Gemm:
    """One GEMM of the copy's rows [r0, r1) from a flat offset, shared by the phases that read exactly
    these: its weight stacks one (c_out x rows*c_in) block per member phase."""

    rows: tuple[int, int]
    offset: int  # flat offset of the leading-axis shifts in a copy's grid
    members: tuple[int, ...]  # the phases (indices into StackLayout.phases) it serves
    taps: tuple  # per member, per row: the kernel tap (t_1, ..., t_nd) that row multiplies
    span: int  # its columns in one image's grid: the widest member's
    order: tuple  # per row, per member: the flat (C-order) index of that tap


@dataclass(frozen=True)
class Phase:
    starts: tuple[int, ...]  # o0 per axis
    q: tuple[int, ...]  # outputs per axis
    parts: tuple  # ((gemm index, member index), ...): summed; empty when no tap reaches these outputs
    span: int  # flat elements its outputs cover in one image's grid


@dataclass(frozen=True)
class StackLayout:
    """The copy's grid: leading axes zero-padded (lengths `lead`, input at `pad_lo`), stacked axes
    compact (lengths `grid`: x[j + c] at j for the row's shift c), the phases and their GEMMs."""

    stacked: int
    rows: tuple  # per row: its shifts (c per stacked axis)
    lead: tuple[int, ...]
    pad_lo: tuple[int, ...]
    grid: tuple[int, ...]
    phases: tuple
    gemms: tuple
    strides: tuple[int, ...]  # element strides of the spatial grid (lead + grid), C order

    @property
    def dims(self) -> tuple[int, ...]:
        return self.lead + self.grid

    @property
    def per_image(self) -> int:
        return math.prod(self.dims)

    @property
    def inplace(self) -> bool:
        """One phase whose outputs are the whole grid (stride 1, no padding columns): GEMMs can write the output."""
        return len(self.phases) == 1 and self.strides == c_strides(self.phases[0].q)


def c_strides(dims) -> tuple[int, ...]:
    return tuple(math.prod(dims[a + 1:]) for a in range(len(dims)))


def _span(q, strides) -> int:
    return 1 + sum((n - 1) * st for n, st in zip(q, strides))


def stack_layout(g: Geometry, plans, stacked: int) -> StackLayout:
    return _stack_layout(g.in_size, g.kernel, tuple(plans), stacked)


@functools.lru_cache(maxsize=512)
def _stack_layout(in_size: tuple[int, ...], kernel: tuple[int, ...], plans: tuple, stacked: int) -> StackLayout:
    j = len(in_size) - stacked
    lists = [row_list(p.phases) for p in plans[j:]]
    inner = [math.prod(len(s) for s, _ in lists[a + 1:]) for a in range(stacked)]
    lead = tuple(i + sum(p.pad) for i, p in zip(in_size[:j], plans[:j]))
    grid = tuple(max([q for _, q, _ in p.phases], default=1) for p in plans[j:])
    strides = c_strides(lead + grid)
    phases: list[tuple] = []
    found: dict[tuple, list] = {}  # (rows, offset) -> [(phase, taps per row), ...]
    for combo in itertools.product(*(range(len(p.phases)) for p in plans)):
        per_axis = [p.phases[n] for p, n in zip(plans, combo)]
        phases.append((tuple(o0 for o0, _, _ in per_axis), tuple(q for _, q, _ in per_axis)))
        if any(not taps for _, _, taps in per_axis):
            continue
        runs = [lst[1][n] for lst, n in zip(lists, combo[j:])]
        stacked_taps = list(itertools.product(*([t for t, _ in taps] for _, taps in runs)))
        rows = (runs[0][0] * inner[0], runs[0][0] * inner[0] + len(stacked_taps))
        for lead_taps in itertools.product(*(taps for _, _, taps in per_axis[:j])):
            offset = sum((c + p.pad[0]) * st for (_, c), p, st in zip(lead_taps, plans, strides))
            head = tuple(t for t, _ in lead_taps)
            found.setdefault((rows, offset), []).append((len(phases) - 1, tuple(head + t for t in stacked_taps)))
    spans = [_span(q, strides) for _, q in phases]
    taps_strides = c_strides(kernel)
    gemms = tuple(Gemm(rows, offset, tuple(p for p, _ in m), tuple(t for _, t in m), max(spans[p] for p, _ in m),
                       tuple(zip(*(tuple(sum(a * b for a, b in zip(t, taps_strides)) for t in taps) for _, taps in m))))
                  for (rows, offset), m in found.items())
    parts: list[list] = [[] for _ in phases]
    for k, gm in enumerate(gemms):
        for i, p in enumerate(gm.members):
            parts[p].append((k, i))
    return StackLayout(stacked, tuple(itertools.product(*(s for s, _ in lists))), lead,
                       tuple(p.pad[0] for p in plans[:j]), grid,
                       tuple(Phase(st, q, tuple(pt), sp) for (st, q), pt, sp in zip(phases, parts, spans)), gemms,
                       strides)


def chunk_blocks(n: int, groups: int, unit: int, chunk: int) -> list[tuple[int, int, int, int]]:
    """(n0, n1, g0, g1) blocks of images and groups with at most `chunk` elements of scratch (`unit`
    per image and group; at least one of each): as many images as fit, then as many groups."""
    nb = max(1, min(n, chunk // max(1, unit)))
    gb = max(1, min(groups, chunk // max(1, unit * nb)))
    return [(n0, min(n, n0 + nb), g0, min(groups, g0 + gb)) for n0 in range(0, n, nb) for g0 in range(0, groups, gb)]


def is_direct(g: Geometry, plans) -> bool:
    """Every phase one tap reading the whole, unpadded input (kernel = stride, no crop): no copy."""
    return all(p.pad == (0, 0) and all(len(taps) == 1 and taps[0][1] == 0 and q == i for _, q, taps in p.phases)
               for p, i in zip(plans, g.in_size))
