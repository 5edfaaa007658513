"""Fingerprinting stays linear in a file's definitions (issue 13).

A finding's fingerprint names its enclosing definition. Walking back over every earlier
definition for each finding made a generated file of 28,500 functions take minutes; the
walk now goes up the nesting. Counted here, not timed, so the pin holds on a loaded machine.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import pytest

from ems.core import Config, analyse
from ems.core.fingerprint import DefinitionSpan


class _Counting(list):  # type: ignore[type-arg]
    reads = 0

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        _Counting.reads += 1
        return super().__getitem__(index)


def test_enclosing_definition_reads_a_bounded_number_of_spans_per_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    methods = 1_000
    # A finding in each method and one in the class body after it: a walk back from a
    # class-level finding visited every earlier method (each holds a finding, so each is a
    # definition span) before reaching the class.
    source = "class C:\n" + "".join(
        f"    def m{i}(self):\n        return f'c'\n    x{i} = f'c'\n" for i in range(methods)
    )
    analyse_module = importlib.import_module("ems.core.analyse")  # the module, not the function
    real = analyse_module.enclosing_definition
    queries = 0

    def counting(spans: Sequence[DefinitionSpan], *args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal queries
        queries += 1
        return real(_Counting(spans), *args, **kwargs)

    monkeypatch.setattr(analyse_module, "enclosing_definition", counting)
    _Counting.reads = 0
    report = analyse(source, "gen.py", Config(select=("F541",)))
    assert len(report.findings) == 2 * methods
    assert queries >= 2 * methods
    assert _Counting.reads <= 3 * queries  # a walk back reads ~methods / 2 per query
