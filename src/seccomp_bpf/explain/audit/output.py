"""An audit report printed: one line per finding, a JSON object, or a SARIF 2.1.0 log."""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Final

from seccomp_bpf.__about__ import __version__
from seccomp_bpf.explain.audit.findings import CHECKS, AuditReport, Finding, Severity


def _where(report: AuditReport, finding: Finding) -> str:
    if finding.location is not None:
        return str(finding.location)
    return report.source or f"<{report.subject}>"


def _summary(report: AuditReport) -> str:
    if not report.findings:
        return "no findings"
    counts = ", ".join(f"{n} {s.label}" for s, n in report.counts().items() if n)
    total = len(report.findings)
    return f"{total} finding{'' if total == 1 else 's'}: {counts}"


def format_text(report: AuditReport) -> str:
    """One line per finding (``FILE[:LINE:COL]: SEVERITY ID NAME: MESSAGE [ARCHES]``), the
    notes, and a summary line."""
    lines = [f"{_where(report, finding)}: {finding.describe()}" for finding in report.findings]
    lines.extend(f"note: {note}" for note in report.notes)
    what = report.source or report.subject
    lines.append(f"{what}: {_summary(report)} ({report.subject}; {', '.join(report.arches)})")
    return "\n".join(lines) + "\n"


def _finding_json(finding: Finding) -> dict[str, object]:
    location = finding.location
    return {
        "id": finding.check,
        "name": finding.name,
        "severity": finding.severity.label,
        "message": finding.message,
        "arches": list(finding.arches),
        "syscall": finding.syscall,
        "rule": None if finding.rule is None else finding.rule + 1,
        "file": location.file if location else None,
        "line": location.line if location else None,
        "column": location.column if location else None,
    }


def format_json(report: AuditReport) -> str:
    """The report as a JSON object (rules numbered from 1, as in the messages)."""
    document = {
        "subject": report.subject,
        "source": report.source,
        "arches": list(report.arches),
        "summary": {s.label: n for s, n in report.counts().items()},
        "findings": [_finding_json(f) for f in report.findings],
        "notes": list(report.notes),
    }
    return json.dumps(document, indent=2) + "\n"


_SARIF_LEVEL: Final = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


SARIF_SCHEMA: Final = "https://json.schemastore.org/sarif-2.1.0.json"


def _artifact_uri(path: str) -> str:
    """A URI reference for a file: ``file:`` for an absolute path, else the relative path."""
    from urllib.parse import quote

    pure = PurePath(path)
    if pure.is_absolute():
        return pure.as_uri()
    return quote(pure.as_posix())


def to_sarif(report: AuditReport) -> dict[str, object]:
    """The report as a SARIF 2.1.0 log: one run, every check as a rule, a result per finding."""
    check_ids = list(CHECKS)
    rules = [
        {
            "id": check.id,
            "name": check.name,
            "shortDescription": {"text": check.summary},
            "fullDescription": {"text": check.description},
            "help": {"text": check.description},
            "properties": {"tags": ["security", "seccomp"]},
        }
        for check in CHECKS.values()
    ]
    results = []
    for finding in report.findings:
        result: dict[str, object] = {
            "ruleId": finding.check,
            "ruleIndex": check_ids.index(finding.check),
            "level": _SARIF_LEVEL[finding.severity],
            "message": {"text": finding.message},
            "properties": {
                "severity": finding.severity.label,
                "arches": list(finding.arches),
                **({"syscall": finding.syscall} if finding.syscall else {}),
            },
        }
        location: dict[str, object] = {}
        path = finding.location.file if finding.location else report.source
        if path and not path.startswith("<"):
            physical: dict[str, object] = {"artifactLocation": {"uri": _artifact_uri(path)}}
            if finding.location is not None:
                physical["region"] = {
                    "startLine": finding.location.line,
                    "startColumn": finding.location.column,
                }
            location["physicalLocation"] = physical
        if finding.syscall:
            location["logicalLocations"] = [
                {"name": finding.syscall, "fullyQualifiedName": f"{arch}/{finding.syscall}",
                 "kind": "function"}
                for arch in finding.arches or ("",)
            ]  # fmt: skip
        if location:
            result["locations"] = [location]
        results.append(result)
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": "seccomp-bpf",
                "version": __version__,
                "informationUri": "https://pypi.org/project/seccomp-bpf/",
                "rules": rules,
            }
        },
        "results": results,
    }
    if report.source and not report.source.startswith("<"):
        run["artifacts"] = [{"location": {"uri": _artifact_uri(report.source)}}]
    if report.notes:
        run["invocations"] = [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {"level": "note", "message": {"text": note}} for note in report.notes
                ],
            }
        ]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def format_sarif(report: AuditReport) -> str:
    return json.dumps(to_sarif(report), indent=2) + "\n"
