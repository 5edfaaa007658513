"""``# noqa`` edits for many findings at once (``ems check --add-noqa``) and for one (the
editor's Suppress action): every edited text re-analysed silences what it claims to."""

from __future__ import annotations

from ems.core import Config, analyse
from ems.fixes.apply import apply_edits
from ems.fixes.noqa import LineFacts, noqa_edit, noqa_edits, noqa_patch

CONFIG = Config(select=("F", "E7", "E9", "RUF100"))


def silenced(text: str) -> tuple[str, list[tuple[str, int]], list[tuple[str, int]]]:
    """(the text with noqa added, the findings left in it, the findings refused)."""
    findings = analyse(text, "m.py", CONFIG).findings
    result = noqa_edits(LineFacts(text), findings)
    new = apply_edits(text, result.edits)
    left = [(f.code, f.line) for f in analyse(new, "m.py", CONFIG).findings]
    return new, left, [(f.code, f.line) for f in result.refused]


def test_every_code_of_a_line_goes_in_one_comment() -> None:
    new, left, refused = silenced("import os, sys\nif os == None: pass\n")
    assert new == "import os, sys  # noqa: F401\nif os == None: pass  # noqa: E711\n"
    assert left == [] and refused == []


def test_an_existing_coded_noqa_is_extended_and_other_comments_kept() -> None:
    new, left, _ = silenced("import os  # noqa: E501\nimport re  # keep this\n")
    assert new == "import os  # noqa: E501, F401\nimport re  # keep this  # noqa: F401\n"
    assert left == []


def test_a_line_ending_after_a_backslash_uses_its_statements_first_line() -> None:
    text = "from os import (path,\n    sep); from sys import \\\n    argv\n"
    new, left, refused = silenced(text)
    assert (
        new == "from os import (path,  # noqa: F401\n    sep); from sys import \\\n    argv  # noqa: F401\n"
    )
    assert left == [] and refused == []


def test_a_line_inside_a_string_without_a_statement_place_is_refused() -> None:
    text = 'value = (\n    undefined_name + """\ntext\n""")\n'
    new, left, refused = silenced(text)
    assert new == text
    assert refused == [("F821", 2)] and left == [("F821", 2)]


def test_a_syntax_error_is_refused_and_the_file_left_alone() -> None:
    patch = noqa_patch(b"def (:\n", analyse("def (:\n", "m.py", CONFIG).findings)
    assert patch.new is None and [f.code for f in patch.suppressing.refused] == ["E999"]


def test_the_patch_keeps_bom_and_line_endings() -> None:
    data = b"\xef\xbb\xbfimport json\r\nx = 1\r\n"
    patch = noqa_patch(data, analyse(data, "m.py", CONFIG).findings)
    assert patch.new == b"\xef\xbb\xbfimport json  # noqa: F401\r\nx = 1\r\n"


def test_one_finding_gets_the_same_comment_as_many() -> None:
    text = "import os\n"
    finding = analyse(text, "m.py", CONFIG).findings[0]
    edit = noqa_edit(LineFacts(text), finding)
    assert edit is not None and apply_edits(text, [edit]) == "import os  # noqa: F401\n"
