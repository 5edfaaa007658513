"""EMS903: the analysis worker died while analysing this file (reported by the guard)."""

from __future__ import annotations

from ems.core.model import Severity
from ems.core.rule import Rule


class AnalysisCrash(Rule):
    code = "EMS903"
    name = "analysis-worker-crash"
    severity = Severity.ERROR
    summary = "the analysis worker crashed on this file; a new worker took over"
    explanation = (
        "A crash of the analysis process (a stack overflow in a C extension, a segmentation "
        "fault in a plug-in, the process killed for memory) costs this one document's findings, "
        "never the server: the crash is reported here with the signal, counted in `ems.status`, "
        "and a fresh worker analyses the next request. The result is never cached."
    )
