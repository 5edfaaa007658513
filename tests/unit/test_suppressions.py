"""Suppression comments: per line, per code, file-level, multi-line statements, unused ones."""

from __future__ import annotations

import pytest

from ems.core import Config, analyse
from ems.core.suppressions import parse_suppressions

CONFIG = Config(select=("F401", "F541", "RUF100"))


def codes(source: str, config: Config = CONFIG) -> list[tuple[str, int]]:
    return [(f.code, f.line) for f in analyse(source, "m.py", config).findings]


def test_noqa_on_the_first_line_of_a_parenthesised_import_covers_every_name() -> None:
    source = "from os import (  # noqa: F401\n    path,\n    sep,\n)\n"
    assert codes(source) == []


def test_noqa_on_the_names_line_still_works_and_other_names_are_reported() -> None:
    source = "from os import (\n    path,  # noqa: F401\n    sep,\n)\n"
    assert codes(source) == [("F401", 3)]


def test_coded_noqa_suppresses_only_its_codes() -> None:
    assert codes('import os; x = f"a"  # noqa: F541\n') == [("F401", 1)]


def test_unused_coded_suppression_is_reported_but_foreign_codes_are_not() -> None:
    assert codes("x = 1  # noqa: F541\n") == [("RUF100", 1)]
    assert codes("x = 1  # noqa: E501\n") == []


def test_hash_inside_a_string_is_not_a_suppression() -> None:
    assert codes('x = f"# noqa: F541"\n') == [("F541", 1)]


def test_skip_file_skips_everything() -> None:
    assert codes('# ems: skip-file\nimport os\nx = f"a"\n') == []


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_directive_applies_to_its_own_line_whatever_the_line_ends(newline: str) -> None:
    """A lone "\\r" ends a line for the parser: the directive's line must count it too
    (found by the property test: a noqa on line 2 was placed on line 1)."""
    text = newline.join(["import x", "x = x == None  # noqa: E711", ""])
    assert [f.code for f in analyse(text, "cr.py").findings] == []
    assert parse_suppressions(text).keys() == {2}
