"""EMS902: analysis of this file ran past its time budget (reported by the guard)."""

from __future__ import annotations

from ems.core.model import Severity
from ems.core.rule import Rule


class AnalysisTimeout(Rule):
    code = "EMS902"
    name = "analysis-timeout"
    severity = Severity.ERROR
    summary = "analysis of this file took longer than its time budget and was stopped"
    explanation = (
        "The language server analyses each document in a worker process under a time budget "
        "(20 s). A file that takes longer — usually many megabytes of generated code, or a "
        "plug-in rule stuck in a loop — is stopped, reported here, and the worker is replaced so "
        "every other file keeps getting diagnostics. Exclude generated files with `exclude`, or "
        "report the plug-in rule with `ems.status` output. The result is never cached: the next "
        "edit tries again."
    )
