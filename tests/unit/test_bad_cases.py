"""The bad-input corpus: every malformed case gives one positioned line, exit code 2, no traceback.

Each `tests/bad_cases/NAME.yaml` has a `NAME.expect` holding a piece of the message it must produce.
"""

from __future__ import annotations

import os
import re

import pytest

from convtx.harness.caseformat.casefile import load_suite
from support import BAD_CASES

HERE = BAD_CASES
FILES = sorted(f[:-5] for f in os.listdir(HERE) if f.endswith(".yaml"))
LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (case '(?P<id>[^']+)': )?(?P<rest>.+)$")


def test_corpus_is_large_enough():
    assert len(FILES) >= 40


@pytest.mark.parametrize("name", FILES)
def test_bad_case_message(name, cli):
    path = os.path.join(HERE, f"{name}.yaml")
    with open(os.path.join(HERE, f"{name}.expect"), encoding="utf-8") as fh:
        expected = fh.read().strip().splitlines()  # one line per mistake of the case, in file order
    suite = load_suite([path])
    assert suite.entries == [] and len(suite.errors) == len(expected), [str(e) for e in suite.errors]
    messages = [str(e) for e in suite.errors]
    for message, fragment in zip(messages, expected):
        match = LINE.match(message)
        assert match and match["path"] == path, message
        assert fragment in message, f"{message!r} does not contain {fragment!r}"
    code, out, err = cli("validate", path)
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines() == messages


def test_positions_point_at_the_offending_value():
    err = load_suite([os.path.join(HERE, "misspelt-arg.yaml")]).errors[0]
    assert (err.mark.line, err.mark.col) == (3, 17) and err.case_id == "a" and err.field == "args.strides"
    err = load_suite([os.path.join(HERE, "ragged-list.yaml")]).errors[0]
    assert (err.mark.line, err.mark.col) == (3, 18) and err.field == "input[0][1]"


def test_unsafe_yaml_runs_nothing():
    marker = "/tmp/convtx-pwned"
    if os.path.exists(marker):
        os.unlink(marker)
    load_suite([os.path.join(HERE, "unsafe-tag-apply.yaml")])
    assert not os.path.exists(marker)


def test_duplicate_ids_across_files(write_case):
    body = "id: same\nframework: torch\ninput: [[[1]]]\nweight: [[[1]]]\nexpected: [[[1]]]\n"
    first, second = write_case(body, "one.yaml"), write_case(body, "two.yaml")
    suite = load_suite([first, second])
    assert len(suite.entries) == 1 and len(suite.errors) == 1
    assert str(suite.errors[0]).startswith(f"{second}:1:5: case 'same': id: duplicate id (first defined at {first}:1:5)")


def test_declared_invalid_case_is_accepted(write_case):
    body = ("id: refused\nframework: torch\nargs: {padding: 2}\ninput: {shape: [1, 1, 2, 2], fill: 1}\n"
            "weight: {shape: [1, 1, 3, 3], fill: 1}\nexpected: {invalid: crops everything}\n")
    suite = load_suite([write_case(body)])
    assert not suite.errors and suite.entries[0].refusal is not None


def test_nonfinite_values_are_allowed_where_declared(cli, write_case):
    body = ("id: nan-ok\nframework: torch\nallow_nonfinite: true\ninput: [[[1, .nan, 2]]]\nweight: [[[1, 1]]]\n"
            "expected: [[[1, .nan, .nan, 2]]]\n")
    path = write_case(body)
    code, out, err = cli("run", path, "--frameworks", "numpy")
    assert code == 0, out + err
