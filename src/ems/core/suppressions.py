"""``# noqa`` / ``# ems: ignore[...]`` comments, ``# ems: skip-file``, and unused ones.

Codes follow flake8/ruff so one comment serves every tool. A blanket ``# noqa`` may be
meant for another tool, so only an unused *coded* suppression (or a blanket
``# ems: ignore``) is reported as unused (RUF100).
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ems.core.config import Config

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_EMS_IGNORE = re.compile(r"#\s*ems:\s*ignore(?:\[(?P<codes>[A-Za-z0-9,\s]*)\])?")
_SKIP_FILE = re.compile(r"^\s*#\s*ems:\s*skip-file\b", re.MULTILINE)
_CODE = re.compile(r"[A-Z]+[0-9]+")


@dataclass(frozen=True)
class Suppression:
    line: int
    column: int  # code points, where the directive starts
    end_column: int  # where the directive ends
    codes: tuple[str, ...]  # empty: blanket
    kind: str  # "noqa" | "ems"

    @property
    def blanket(self) -> bool:
        return not self.codes

    def covers(self, code: str) -> bool:
        return self.blanket or code in self.codes


def skips_file(text: str, config: Config | None = None) -> bool:
    """Whether ``text`` asks to be left out (``# ems: skip-file``), unless ``config`` reads
    suppression comments as plain ones (``ignore-noqa``)."""
    if config is not None and config.ignore_noqa:
        return False
    return "skip-file" in text and bool(_SKIP_FILE.search(text))


def suppressions_in(text: str, config: Config) -> dict[int, list[Suppression]]:
    """The suppressions that apply to ``text`` under ``config``: none with ``ignore-noqa``
    (nothing suppressed, and no suppression judged unused), else ``parse_suppressions``."""
    return {} if config.ignore_noqa else parse_suppressions(text)


def _comments(text: str) -> Iterable[tuple[int, int, str]]:
    """(line, column, comment text) for every real comment; falls back to a line scan."""
    try:
        # Universal newlines: a lone "\r" ends a line for the parser, so it must here too.
        for tok in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if tok.type == tokenize.COMMENT:
                yield tok.start[0], tok.start[1], tok.string
        return
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    for number, line in enumerate(text.splitlines(), 1):
        index = line.find("#")
        if index >= 0:
            yield number, index, line[index:]


def parse_suppressions(text: str) -> dict[int, list[Suppression]]:
    # A directive in a comment matches in the whole text too, so most files are done after
    # two regex scans; tokenizing costs far more (a plain "ems:" test let every file with
    # an `items:` through: 48 files of the stdlib instead of 7, ~1 s of a cold scan).
    if _NOQA.search(text) is None and _EMS_IGNORE.search(text) is None:
        return {}
    found: dict[int, list[Suppression]] = {}
    for line, column, comment in _comments(text):
        for match in _NOQA.finditer(comment):
            codes = tuple(_CODE.findall((match.group("codes") or "").upper()))
            found.setdefault(line, []).append(
                Suppression(line, column + match.start(), column + match.end(), codes, "noqa")
            )
        for match in _EMS_IGNORE.finditer(comment):
            codes = tuple(_CODE.findall((match.group("codes") or "").upper()))
            found.setdefault(line, []).append(
                Suppression(line, column + match.start(), column + match.end(), codes, "ems")
            )
    return found
