"""convtx fuzz: reproducible generation, valid configurations, grouping, and the shrinker."""

from __future__ import annotations

import dataclasses

from convtx.harness.analysis import fuzzgen
from convtx.harness.analysis.fuzz import smaller_configs, signature
from convtx.harness.engine.results import Result


def test_generation_is_reproducible_and_valid():
    first = fuzzgen.generate(60, seed=5)
    second = fuzzgen.generate(60, seed=5)
    assert [c for c, _ in first] == [c for c, _ in second] and len(first) == 60
    assert {e.case.framework for _, e in first} >= {"torch", "keras", "tf", "jax", "onnx"}
    assert {e.reading.geometry.ndim for _, e in first} >= {1, 2}
    for config, entry in first:
        assert entry.case.expected.tensor.shape == entry.reading.output_shape()
    assert [c for c, _ in fuzzgen.generate(20, seed=6)] != [c for c, _ in first[:20]]


def test_family_says_one_meaning_in_every_dialect():
    configs = fuzzgen.generate(40, seed=11)
    by_base = {}
    for c, e in configs:
        by_base.setdefault(dataclasses.replace(c, respell="", seed=0), set()).add(e.reading.geometry)
    assert any(len(geos) == 1 for geos in by_base.values())
    assert all(len(geos) == 1 for geos in by_base.values())


def test_signature_ignores_numbers_and_the_call():
    a = Result("x", "onnx-ref", "error", note="ValueError: cannot reshape array of size 4 into shape (1,1,2) [f(a=[1])]",
               call="f(a=[1])")
    b = Result("y", "onnx-ref", "error", note="ValueError: cannot reshape array of size 1 into shape (1,2,1) [f(b=2)]",
               call="f(b=2)")
    assert signature(a) == signature(b)
    c = Result("z", "onnx-ref", "mismatch", diagnosis="onnx-ref output is the expected one shifted by 1 along axis 0")
    assert signature(c) != signature(a)


def test_shrinker_candidates_aresmaller_configs():
    config, _ = fuzzgen.generate(1, seed=3)[0]
    size = lambda c: (c.ndim, c.batch, c.groups, c.cin_g, c.cout_g, sum(c.size), sum(c.kernel), sum(c.stride),  # noqa: E731
                      sum(c.dilation), sum(c.pads), c.mode, c.flags, c.bias)
    for candidate in smaller_configs(config):
        assert size(candidate) < size(config) or sum(map(int, size(candidate))) < sum(map(int, size(config)))
