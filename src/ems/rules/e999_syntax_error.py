"""E999: the file does not parse (reported by the engine, documented here)."""

from __future__ import annotations

from ems.core.model import Severity
from ems.core.rule import Invalid, Rule, Valid


class SyntaxErrorRule(Rule):
    code = "E999"
    name = "syntax-error"
    severity = Severity.ERROR
    summary = "the file is not valid Python"
    explanation = (
        "The interpreter would refuse to run or import this file. ems reports the error where "
        "Python does, with Python's own message, and runs no other rule on the file until it "
        "parses. Bytes that are not valid in the file's declared encoding (UTF-8 unless a "
        "`# -*- coding: ... -*-` line says otherwise) are reported here too, even inside comments, "
        "because `python3 FILE` rejects them."
    )
    valid = (Valid("x = (1 +\n     2)\n"),)
    invalid = (
        Invalid("x = (1 +\n", at="1:4-1:4", message="SyntaxError: '(' was never closed"),
        Invalid("def f(:\n    pass\n", at="1:6-1:7", message="SyntaxError: invalid syntax"),
        Invalid(
            "print 'hello'\n",
            at="1:0-1:13",
            message="SyntaxError: Missing parentheses in call to 'print'. Did you mean print(...)?",
        ),
    )
