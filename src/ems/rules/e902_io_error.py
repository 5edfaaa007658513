"""E902: a file named for analysis cannot be read (reported by the project scan)."""

from __future__ import annotations

from ems.core.model import Severity
from ems.core.rule import Rule


class IOErrorRule(Rule):
    code = "E902"
    name = "io-error"
    severity = Severity.ERROR
    summary = "the file cannot be read"
    explanation = (
        "The path does not exist, is not readable, is not a regular file (a FIFO, socket or "
        "device, which would block a naive reader forever), or is larger than the 50 MB limit. "
        "The rest of the scan goes on; fix the path or exclude it with `exclude` in the config."
    )
