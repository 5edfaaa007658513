"""EMS901: a rule raised on this file (contained by the engine, documented here)."""

from __future__ import annotations

from ems.core.model import Severity
from ems.core.rule import Rule


class InternalRuleError(Rule):
    code = "EMS901"
    name = "internal-rule-error"
    severity = Severity.ERROR
    summary = "a rule failed on this file; the other rules still ran"
    explanation = (
        "A bug in a rule (built-in or from a plug-in) must not cost you the rest of the report. "
        "The engine catches the rule's exception, reports it here with the rule's code and the "
        "exception type, and logs the traceback (never the source text). Please report it with "
        "`ems --version` and, if you can share it, the smallest file that triggers it."
    )
