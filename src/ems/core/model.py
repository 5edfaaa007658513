"""The plain data that flows from the core to every face.

Positions convention (used everywhere inside ems): lines are 1-based, columns are
0-based and counted in Unicode code points of the decoded line. Faces convert at the
edge (LSP: UTF-16 or UTF-8 code units; JSON/text output: 1-based characters).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    HINT = "hint"

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls(value.lower())
        except ValueError:
            choices = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {value!r} (choose from {choices})") from None


class Safety(enum.Enum):
    """How far a fix can be trusted: safe fixes never change meaning."""

    SAFE = "safe"
    UNSAFE = "unsafe"


class Fixability(enum.Enum):
    """What ``ems fix`` does for one finding: one fact, computed by running the fix engine
    on the file (``ems.fixes.engine.with_fixability``: the fixes it would apply, after
    verification) and shown alike by every output. A finding with no fix has None.

    SAFE: ``ems fix`` fixes it. UNSAFE: ``ems fix`` fixes it with an unsafe fix because
    the file's settings turn unsafe fixes on. HIDDEN: only ``ems fix --unsafe-fixes`` fixes
    it (the "hidden fixes" of the summary).
    """

    SAFE = "safe"
    UNSAFE = "unsafe"
    HIDDEN = "hidden"
    # Not computed: the file is too big for it to be worth it (``MAX_FIXABILITY_*`` in
    # ``ems.runtime.scan``). Shown as no fix; ``ems fix`` still tries the rule's offer.
    UNKNOWN = "unknown"

    @property
    def applied(self) -> bool:
        """Whether ``ems fix`` (as configured) applies it: what ``[*]`` marks."""
        return self is Fixability.SAFE or self is Fixability.UNSAFE

    @property
    def known(self) -> bool:
        return self is not Fixability.UNKNOWN

    @property
    def safety(self) -> Safety:
        return Safety.SAFE if self is Fixability.SAFE else Safety.UNSAFE


class Tag(enum.Enum):
    UNNECESSARY = "unnecessary"
    DEPRECATED = "deprecated"


# The classes a report is made of are slotted: a file can have ~100,000 findings (issue
# 13's generated 5 MB module), and an instance dict per ``Finding``, ``Range`` and
# ``Position`` was most of their memory (docs/implementation/performance.md).
@dataclass(frozen=True, order=True, slots=True)
class Position:
    line: int  # 1-based
    column: int  # 0-based, code points

    def __reduce__(self) -> tuple[type[Position], tuple[int, int]]:
        # Pickled as the constructor's arguments (results travel from the scan's workers
        # pickled): the getstate/setstate dataclasses gives slotted classes is Python
        # calling ``fields()`` per object, each way.
        return Position, (self.line, self.column)


@dataclass(frozen=True, order=True, slots=True)
class Range:
    start: Position
    end: Position

    def __reduce__(self) -> tuple[type[Range], tuple[Position, Position]]:
        return Range, (self.start, self.end)  # (see ``Position.__reduce__``)

    @classmethod
    def of(cls, line: int, column: int, end_line: int, end_column: int) -> Range:
        return cls(Position(line, column), Position(end_line, end_column))

    def contains(self, other: Range) -> bool:
        return self.start <= other.start and other.end <= self.end


@dataclass(frozen=True, slots=True)
class Related:
    """Another place that matters for a finding, moved with the text like its range.

    With ``name`` empty it is shown to users (the first definition for F811: LSP related
    information, SARIF related locations, JSON ``related``). With a ``name`` it is a place
    the rule keeps for itself (the statement an F401 ``noqa`` may sit on, the ``return``
    an EMS102 fix removes), found again with ``Finding.place(name)``.
    """

    range: Range
    message: str
    name: str = ""

    def __reduce__(self) -> tuple[type[Related], tuple[Range, str, str]]:
        return Related, (self.range, self.message, self.name)  # (see ``Position.__reduce__``)


def render_message(template: str, related: tuple[Related, ...]) -> str:
    """A message from its template: ``{0}``, ``{1}``... stand for the lines of ``related``."""
    return template.format(*(r.range.start.line for r in related))


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    name: str
    severity: Severity
    range: Range
    message: str
    path: str = "<stdin>"
    fingerprint: str = ""
    fixable: bool = False
    tags: frozenset[Tag] = frozenset()
    related: tuple[Related, ...] = ()
    # Rule-private facts that the rule's fixer needs later (e.g. the unused name); places
    # go in ``related`` (named), where the engine moves them with the text.
    data: tuple[tuple[str, str], ...] = ()
    # ``fixable`` says the rule offers a fix for this hit (a candidate, unverified); this
    # says what ``ems fix`` really does with it, once computed (``Fixability``).
    fixability: Fixability | None = None
    # The message before the lines of ``related`` were written in (``render_message``):
    # what stays the same when an edit above moves them (fix verification compares it).
    template: str = field(default="", compare=False, hash=False)

    def __reduce__(self) -> tuple[type[Finding], tuple[object, ...]]:
        # (see ``Position.__reduce__``); every field, in ``__init__``'s order
        return Finding, (
            self.code,
            self.name,
            self.severity,
            self.range,
            self.message,
            self.path,
            self.fingerprint,
            self.fixable,
            self.tags,
            self.related,
            self.data,
            self.fixability,
            self.template,
        )

    @property
    def shown_related(self) -> tuple[Related, ...]:
        """The related places users see (not the rule's own named places)."""
        return tuple(r for r in self.related if not r.name)

    def place(self, name: str) -> Range | None:
        """The range of the rule's own place ``name`` (see ``Related``), if it kept one."""
        return next((r.range for r in self.related if r.name == name), None)

    @property
    def line(self) -> int:
        return self.range.start.line

    @property
    def column(self) -> int:
        return self.range.start.column

    def datum(self, key: str, default: str = "") -> str:
        return dict(self.data).get(key, default)


@dataclass(frozen=True)
class TextEdit:
    """Replace ``range`` of the document by ``new_text``."""

    range: Range
    new_text: str


@dataclass(frozen=True)
class Fix:
    title: str
    safety: Safety
    edits: tuple[TextEdit, ...]
    code: str = ""


@dataclass(frozen=True)
class RuleError:
    """A rule that raised: contained, logged and reported as EMS901."""

    code: str
    error: str


@dataclass(frozen=True)
class Report:
    path: str
    findings: tuple[Finding, ...]
    syntax_error: bool = False
    rule_errors: tuple[RuleError, ...] = ()
    timings: dict[str, float] = field(default_factory=dict, compare=False, hash=False)

    @property
    def fixable(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.fixable)
