"""convtx fuzz end to end on a real framework."""

from __future__ import annotations

import json

from support.frameworks import require


def test_fuzz_command_end_to_end(cli, tmp_path):
    require("torch")
    out = tmp_path / "fuzz.json"
    code, text, err = cli("fuzz", "--n", "12", "--seed", "4", "--frameworks", "torch", "--out", str(tmp_path / "found"),
                          "--json", str(out))
    data = json.loads(out.read_text())
    assert code == 0 and data["n"] == 12 and data["findings"] == [], text + err
    assert data["counts"]["torch"].get("pass", 0) + data["counts"]["torch"].get("not_expressible", 0) == 12
    assert "configurations/s" in text
