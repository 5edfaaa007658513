"""Findings cross process boundaries pickled (the scan's forked workers send their reports
to the parent): each slotted report class pickles as its constructor's arguments, and
comes back whole, the fields that equality ignores (``Finding.template``) included."""

from __future__ import annotations

import copy
import pickle
from dataclasses import fields

from ems.core.model import Finding, Fixability, Position, Range, Related, Report, Severity, Tag


def _finding() -> Finding:
    return Finding(
        "F811",
        "redefined-while-unused",
        Severity.WARNING,
        Range.of(3, 4, 3, 9),
        "redefinition of unused 'x' from line 1",
        "pkg/mod.py",
        "abc123",
        True,
        frozenset({Tag.UNNECESSARY}),
        (Related(Range.of(1, 0, 1, 5), "first defined here"), Related(Range.of(2, 0, 2, 1), "", "stmt")),
        (("name", "x"),),
        Fixability.HIDDEN,
        "redefinition of unused 'x' from line {0}",
    )


def test_every_field_survives_pickling_and_copying() -> None:
    finding = _finding()
    report = Report("pkg/mod.py", (finding,), rule_errors=())
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(report, protocol=protocol)).findings[0]
        assert back == finding
        assert all(getattr(back, f.name) == getattr(finding, f.name) for f in fields(Finding))
    for clone in (copy.copy(finding), copy.deepcopy(finding)):
        assert all(getattr(clone, f.name) == getattr(finding, f.name) for f in fields(Finding))


def test_the_reduction_names_every_field_in_the_constructor_s_order() -> None:
    """A field added to a class without its ``__reduce__`` would be lost in transit."""
    finding = _finding()
    for value in (finding, finding.range, finding.range.start, finding.related[1]):
        cls, args = value.__reduce__()
        assert cls is type(value)
        assert args == tuple(getattr(value, f.name) for f in fields(value))
    assert Position(1, 2).__reduce__() == (Position, (1, 2))
