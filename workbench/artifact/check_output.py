"""A check's report for people and for CI: text, JSON, JUnit XML and a GitHub step summary.

- text: the report line by line (:func:`text_lines`).
- JSON: every number (:func:`as_json`), valid against ``check.schema.json`` beside this module
  (:func:`json_schema`).
- JUnit XML (:func:`as_junit`): one ``<testsuite>`` per prompt, one ``<testcase>`` per scorer;
  a regression is a ``<failure type="regression">``, an inconclusive gate a
  ``<skipped type="inconclusive">`` (the evidence was not enough to decide: not a pass, not a
  failure), calls that failed an ``<error type="provider-error">``, a scorer that could not be
  rebuilt ``<skipped type="not-checked">``.
- GitHub (:func:`as_github`): a Markdown step summary and the workflow commands that annotate
  the run (``::error`` on a regression, ``::warning`` when inconclusive or broken).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import resources
from typing import Any

from workbench.artifact.check_report import (
    JSON_SCHEMA_VERSION,
    CheckReport,
    ScorerCheck,
    as_json_data,
    headline,
    level,
    text_lines,
)

__all__ = [
    "JSON_SCHEMA_VERSION",
    "as_github",
    "as_json",
    "as_json_data",
    "as_junit",
    "json_schema",
    "text_lines",
]

_VERDICT = {
    "pass": "OK",
    "regression": "REGRESSED",
    "inconclusive": "INCONCLUSIVE",
    "error": "ERROR",
}
_ICON = {
    "pass": "✅",
    "regression": "❌",
    "inconclusive": "⚠️",
    "error": "🛑",
    "skipped": "➖",
    "info": "ℹ️",
}


def as_json(report: CheckReport) -> str:
    """``--format json``."""
    return json.dumps(as_json_data(report), indent=2, ensure_ascii=False) + "\n"


def json_schema() -> dict[str, Any]:
    """The JSON Schema (Draft 2020-12) of :func:`as_json`."""
    text = resources.files("workbench.artifact").joinpath("check.schema.json").read_text("utf-8")
    schema = json.loads(text)
    assert isinstance(schema, dict)
    return schema


def _testcase(report: CheckReport, check: ScorerCheck) -> ET.Element:
    case = ET.Element(
        "testcase",
        {"classname": f"workbench.check.{report.prompt}", "name": check.scorer, "time": "0"},
    )
    if report.status == "error" and check.status not in ("skipped", "info"):
        error = ET.SubElement(
            case, "error", {"type": "provider-error", "message": headline(report)}
        )
        error.text = "\n".join(report.errors)
    elif check.status == "regression":
        failure = ET.SubElement(case, "failure", {"type": "regression", "message": check.reason})
        failure.text = check.reason
    elif check.status == "inconclusive":
        ET.SubElement(case, "skipped", {"type": "inconclusive", "message": check.reason})
    elif check.status == "skipped":
        ET.SubElement(case, "skipped", {"type": "not-checked", "message": check.reason})
    out = ET.SubElement(case, "system-out")
    out.text = check.reason
    return case


def as_junit(report: CheckReport) -> str:
    """``--format junit``: JUnit XML as CI systems read it."""
    cases = [_testcase(report, c) for c in report.scorers]
    failures = sum(1 for c in cases if c.find("failure") is not None)
    errors = sum(1 for c in cases if c.find("error") is not None)
    skipped = sum(1 for c in cases if c.find("skipped") is not None)
    counts = {
        "tests": str(len(cases)),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": str(skipped),
        "time": "0",
    }
    root = ET.Element("testsuites", {"name": "workbench check", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": report.prompt, **counts})
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("status", report.status),
        ("rule", report.rule),
        ("margin", report.margin),
        ("min_pass_rate", report.min_pass_rate),
        ("alpha", report.alpha),
        ("model", report.model),
        ("rows", report.rows),
        ("repeats", report.repeats),
    ):
        if value is not None:
            ET.SubElement(props, "property", {"name": name, "value": str(value)})
    suite.extend(cases)
    out = ET.SubElement(suite, "system-out")
    out.text = "\n".join(text_lines(report))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def as_github(report: CheckReport) -> tuple[str, list[str]]:
    """``--format github``: the Markdown step summary, and the workflow command lines."""
    status = report.status
    md = [
        f"### {_ICON[status]} workbench check `{report.prompt}`: {status}",
        "",
        f"{_cell(headline(report))}",
        "",
        "| scorer | result | recorded → now | difference (interval) | p | rows |",
        "|---|---|---|---|---|---|",
    ]
    for c in report.scorers:
        t = c.test
        if t is None:
            md.append(f"| {c.scorer} | {_ICON[c.status]} {c.status} | | | | |")
            continue
        scale = 100.0 if t.kind != "mean" else 1.0
        unit = " pts" if t.kind != "mean" else ""
        fmt = ".0f" if t.kind != "mean" else ".3g"
        old = "–" if t.recorded is None else f"{t.recorded * scale:{fmt}}"
        diff = (
            f"{t.effect * scale:+{fmt}}{unit} ({level(t.confidence)} CI {t.ci_low * scale:+{fmt}} "
            f"to {t.ci_high * scale:+{fmt}})"
        )
        p = t.p_regression if c.status == "regression" else t.p_pass
        md.append(
            f"| {c.scorer} | {_ICON[c.status]} {c.status} | {old} → {t.new * scale:{fmt}} | "
            f"{_cell(diff)} | {p:.3g} | {t.n} |"
        )
    md += ["", f"Rule: {_cell(report.rule)}."]
    if report.sequential is not None:
        s = report.sequential
        md.append(f"Sequential: look {s.look} of {s.looks}, {s.rows_seen} of {s.rows} rows.")
    md += [f"- note: {_cell(n)}" for n in report.notes]
    md += [f"- error: {_cell(e)}" for e in report.errors[:10]]
    commands = []
    title = f"workbench check {report.prompt}"
    line = headline(report).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if status == "regression":
        commands.append(f"::error title={title}::{line}")
    elif status in ("inconclusive", "error"):
        commands.append(f"::warning title={title}::{line}")
    else:
        commands.append(f"::notice title={title}::{line}")
    return "\n".join(md) + "\n", commands
