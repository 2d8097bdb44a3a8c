"""JUnit XML of a run (or a merged one) for CI dashboards: one testsuite per system, one testcase per case.

`mismatch`/`shape_mismatch` are failures, `error`/`timeout` errors, `invalid` an error too; `skipped`,
`not_expressible`, `unsupported` and `xfail` are skipped with their reason; a pass is a plain testcase.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from convtx.harness.engine.results import Result, RunResults

_FAILURE = ("mismatch", "shape_mismatch")
_ERROR = ("error", "timeout", "invalid")
_SKIPPED = ("skipped", "not_expressible", "unsupported", "xfail")


def junit_xml(run: RunResults) -> str:
    root = ET.Element("testsuites", name=f"convtx{(' ' + run.label) if run.label else ''}")
    by_system: dict[str, list[Result]] = {}
    for r in run.results:
        by_system.setdefault(r.framework, []).append(r)
    for system, results in by_system.items():
        suite = ET.SubElement(root, "testsuite", name=system, tests=str(len(results)),
                              failures=str(sum(r.status in _FAILURE for r in results)),
                              errors=str(sum(r.status in _ERROR for r in results)),
                              skipped=str(sum(r.status in _SKIPPED for r in results)))
        version = run.frameworks.get(system)
        if version:
            props = ET.SubElement(suite, "properties")
            ET.SubElement(props, "property", name="version", value=str(version))
        for r in results:
            _testcase(suite, system, r)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _testcase(suite: ET.Element, system: str, r: Result) -> None:
    case = ET.SubElement(suite, "testcase", classname=f"convtx.{system}", name=r.case)
    text = "\n".join(t for t in (r.diagnosis, r.note, r.call or "", r.naive_port) if t)
    if r.status in _FAILURE:
        ET.SubElement(case, "failure", type=r.status, message=(r.diagnosis or r.note)[:500]).text = text
    elif r.status in _ERROR:
        ET.SubElement(case, "error", type=r.status, message=r.note[:500]).text = text
    elif r.status in _SKIPPED:
        ET.SubElement(case, "skipped", type=r.status, message=r.note[:500])
