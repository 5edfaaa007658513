"""Message parameterisation: the variable parts of an error message replaced by placeholders.

Two failures are the same problem when they differ only in values: ``KeyError: 'user-17'``
and ``KeyError: 'user-18'``, ``list index out of range at 0x7f3a…``. The order of the
patterns matters: quoted values and paths first (they may contain numbers), numbers last.
Captured exceptions store only the parameterised text, so a program's data never reaches
the store.
"""

from __future__ import annotations

import re

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
        "<uuid>",
    ),
    (re.compile(r"'(?:[^'\\\n]|\\.)*'"), "<str>"),
    (re.compile(r'"(?:[^"\\\n]|\\.)*"'), "<str>"),
    (re.compile(r"\b0[xX][0-9a-fA-F]+\b"), "<hex>"),
    (
        re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.@+~-]+){2,}[\\/]?|(?<![\w.])\.{1,2}(?:[\\/][\w.@+~-]+)+"),
        "<path>",
    ),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"), "<hex>"),
    (re.compile(r"\b(?=\w*\d)(?=\w*[A-Za-z])\w{8,}\b"), "<id>"),
    (re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])"), "<n>"),
    (re.compile(r"\b\d+\b"), "<n>"),
)
MAX_LENGTH = 500


def parameterise(message: str) -> str:
    """The message with its values replaced; one line (the first), at most ``MAX_LENGTH``."""
    first = message.strip().split("\n", 1)[0]
    for pattern, placeholder in _PATTERNS:
        first = pattern.sub(placeholder, first)
    return first[:MAX_LENGTH]


def normalise_source(line: str) -> str:
    """A source line with whitespace collapsed, so re-indenting does not split a group."""
    return " ".join(line.split())
