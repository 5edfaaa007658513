"""Typing that leaves the outline as it was reuses the module-scoped rules' results (no
scope pass over the outline), and the report still equals a full analysis; typing that
changes what the outline holds (a new read, a moved line, a byte-for-byte equal but
differently wide character before a read) runs them again."""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path

import pytest

from ems.core.analyse import analyse
from ems.core.config import Config
from ems.core.incremental import IncrementalAnalyser
from ems.core.model import Report
from ems.core.registry import load_rules

RULES = load_rules()
CONFIG = Config()
STDLIB = Path(sysconfig.get_paths()["stdlib"])

SOURCE = """import os


class Stubbed:
    size = 1

    def method(self):
        label = "é" + undefined_one
        return label


class Whole:
    kind = os.name

    def method(self):
        global counter
        counter = 1
        return counter


def other():
    return os.sep
"""


def comparable(report: Report) -> list[tuple[object, ...]]:
    return sorted((f.code, f.range, f.message, f.related, f.data, f.fingerprint) for f in report.findings)


def prepared(text: str) -> IncrementalAnalyser:
    analyser = IncrementalAnalyser()
    analyser.analyse(text, "m.py", CONFIG, RULES)
    analyser.prepare()
    return analyser


def step(analyser: IncrementalAnalyser, lines: list[str]) -> bool:
    """Analyse the edited lines; assert the report equals a full analysis; whether the
    module-scoped results were reused."""
    text = "\n".join(lines)
    report = analyser.analyse(text, "m.py", CONFIG, RULES)
    assert comparable(report) == comparable(analyse(text, "m.py", CONFIG, RULES))
    return analyser.last_scoped_reused


def line_of(lines: list[str], fragment: str) -> int:
    return next(i for i, line in enumerate(lines) if fragment in line)


@pytest.mark.parametrize(
    ("fragment", "typed", "reused"),
    [
        ("return label", "  # a comment", True),  # in a method of a stubbed class
        ("size = 1", "  # a comment", True),  # a class attribute of a stubbed class
        ("kind = os.name", "  # a comment", True),  # a class attribute of a class kept whole
        ("return counter", "  # a comment", True),  # in a method of a class kept whole
        ("return label", " or undefined_two", False),  # a new read from outside
        ("size = 1", "; other_name = 2", False),  # a new class attribute
        ("kind = os.name", ".upper()", False),
        ("return counter", " + 1", False),  # a method of a class kept whole changed
        ("return os.sep", "  # a comment", False),  # a top-level function: its chunk re-parsed
    ],
)
def test_what_the_outline_holds_decides_the_reuse(fragment: str, typed: str, reused: bool) -> None:
    lines = SOURCE.split("\n")
    analyser = prepared(SOURCE)
    at = line_of(lines, fragment)
    lines[at] += typed
    assert step(analyser, lines) is reused
    lines[at] += typed  # again, on the edited line (equal to a full analysis either way)
    assert step(analyser, lines) or not reused


def test_a_character_of_another_width_but_the_same_bytes_before_a_read_runs_them_again() -> None:
    """``"é"`` and ``"ab"`` are both two bytes: the read of ``undefined_one`` after it keeps
    its ``ast`` position, but its finding's column (code points) moves."""
    lines = SOURCE.split("\n")
    analyser = prepared(SOURCE)
    at = line_of(lines, "undefined_one")
    lines[at] = lines[at].replace('"é"', '"ab"')
    assert step(analyser, lines) is False
    lines[at] = lines[at].replace('"ab"', '"cd"')  # ASCII both sides: reused, still equal
    assert step(analyser, lines) is True


def test_lines_added_or_removed_in_a_method_run_them_again() -> None:
    lines = SOURCE.split("\n")
    analyser = prepared(SOURCE)
    at = line_of(lines, "return label")
    lines.insert(at, "        extra = 1")
    assert step(analyser, lines) is False
    del lines[at]
    assert step(analyser, lines) is False
    lines[at] += "  # now typing"
    assert step(analyser, lines) is True


def test_typing_in_the_methods_of_a_large_real_module_reuses_them() -> None:
    text = (STDLIB / "tkinter/__init__.py").read_text(encoding="utf-8")
    lines = text.split("\n")
    analyser = prepared(text)
    reused = []
    for fragment in (
        "        return self.tk.call('wm', 'withdraw', self._w)",
        "    _w = '.'",
        "def _flatten(",
    ):
        at = line_of(lines, fragment)
        for typed in ("  # t", "1", "2"):
            lines[at] += typed
            reused.append(step(analyser, lines))
    # a method of a stubbed class and a class attribute of a class kept whole reuse them;
    # a top-level function's chunk is re-parsed (a new chunk: they run again)
    assert reused == [True, True, True, True, True, True, False, False, False]


def same_line_edit(lines: list[str], rng: random.Random, step: int) -> None:
    """An edit of one line inside a top-level class that adds no line: what typing in a
    method or on a class's own line does most of the time."""
    import ast

    tree = ast.parse("\n".join(lines))
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.end_lineno > n.lineno]
    owner = rng.choice(classes)
    at = rng.randrange(owner.lineno, owner.end_lineno)  # 0-based: a line after the header
    line = lines[at]
    if not line.strip() or line.rstrip().endswith(("\\", ",", "(", "[", "{", ":")) or '"""' in line:
        lines[at] = line + "  # note" if line.strip() and not line.rstrip().endswith("\\") else line
        return
    choice = rng.random()
    if choice < 0.3:
        lines[at] = line + f"  # typed {step} é"
    elif choice < 0.5:
        lines[at] = line + f"; _x{step} = undefined_{step % 3}"
    elif choice < 0.6:
        lines[at] = line + f"; _y{step} = os"  # reads an import, maybe
    elif choice < 0.7:
        lines[at] = line.replace("self", "self_", 1)  # a read of a name from outside, maybe
    elif choice < 0.8:
        lines[at] = line.replace("e", "é", 1)  # a wider character (in a string or a name)
    elif choice < 0.9:
        lines[at] = line.replace("é", "ab", 1) if "é" in line else line + "  # ab"
    else:
        lines[at] = line + f"; global _g{step}"


@pytest.mark.parametrize("module", ["tkinter/__init__.py", "argparse.py", "dataclasses.py", "enum.py"])
def test_same_line_edits_in_classes_match_a_full_analysis(module: str) -> None:
    text = (STDLIB / module).read_text(encoding="utf-8")
    lines = text.split("\n")
    analyser = prepared(text)
    rng = random.Random(f"same line {module}")
    reused = 0
    for step_number in range(14):
        before = list(lines)
        same_line_edit(lines, rng, step_number)
        edited = "\n".join(lines)
        report = analyser.analyse(edited, "m.py", CONFIG, RULES)
        assert comparable(report) == comparable(analyse(edited, "m.py", CONFIG, RULES)), step_number
        reused += analyser.last_scoped_reused
        if any(f.code == "E999" for f in report.findings):
            lines = before
            analyser.analyse("\n".join(lines), "m.py", CONFIG, RULES)
    assert reused >= 2  # the path under test was taken
