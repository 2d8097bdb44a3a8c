"""The mathematical checks: the reference always, and every installed framework (all of them in CI)."""

from __future__ import annotations

from convtx.harness.analysis.checks import SAMPLES, pair, reference_checks, round_trip, shape_table


def test_reference_checks_pass():
    results = reference_checks()
    assert len(results) == len(SAMPLES) + len(shape_table()) + 1
    assert all(r.status == "pass" for r in results), [r for r in results if r.status != "pass"]


def test_pairs_have_matching_sizes():
    for sample in SAMPLES:
        fwd, tr = pair(sample)
        assert tr.out_size == fwd.in_size and tr.in_size == fwd.out_size and tr.weight_shape == fwd.weight_shape


def test_round_trip_rule():
    (result,) = round_trip()
    assert result.status == "pass" and "combinations" in result.detail


def test_shape_table_is_dumoulin_visin():
    rels = {r["relationship"]: r for r in shape_table()}
    assert sorted(rels) == [8, 9, 10, 11, 12, 13, 14]
    assert rels[14]["expected"] == 2 * (3 - 1) + 1 + 3 - 2 * 1
