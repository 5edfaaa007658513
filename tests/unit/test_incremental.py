"""Incremental analysis (``ems.core.incremental``) gives exactly what ``analyse`` gives.

The language server re-checks only the top-level statements an edit touched and runs the
module-scoped rules over an outline with stubbed function bodies. Every test here compares
the incremental report with a full analysis of the same text, finding for finding
(ranges, messages, related locations, data and fingerprints), after each edit of a
sequence: edits of real standard-library modules, and generated programs built from the
constructs where stubbing a body could go wrong (``global``, ``nonlocal``, loop variables
shadowing imports, ``except NameError`` guards, ``__all__``, annotations, redefinitions,
star imports, ``__class__``).
"""

from __future__ import annotations

import itertools
import random
import sysconfig
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ems.core.analyse import analyse
from ems.core.config import Config
from ems.core.incremental import IncrementalAnalyser
from ems.core.model import Finding, Report
from ems.core.registry import load_rules
from ems.core.rule import Rule

STDLIB = Path(sysconfig.get_paths()["stdlib"])
RULES = load_rules()
CONFIG = Config()


def comparable(report: Report) -> list[tuple[object, ...]]:
    return sorted(
        (f.code, f.range, f.message, f.related, f.data, f.fingerprint, f.severity, f.fixable, f.tags)
        for f in report.findings
    )


def assert_same(incremental: Report, text: str, path: str = "module.py") -> None:
    full = analyse(text, path, CONFIG, RULES)
    assert comparable(incremental) == comparable(full), _difference(incremental.findings, full.findings)


def _difference(mine: tuple[Finding, ...], theirs: tuple[Finding, ...]) -> str:
    a = {(f.code, f.range.start.line, f.range.start.column, f.message) for f in mine}
    b = {(f.code, f.range.start.line, f.range.start.column, f.message) for f in theirs}
    return f"only incremental: {sorted(a - b)[:5]}; only full: {sorted(b - a)[:5]}"


# --------------------------------------------------------------------------- real modules


def edit_lines(lines: list[str], rng: random.Random, step: int) -> None:
    """One edit of the kinds typing makes: a new line, a changed line, lines removed."""
    index = rng.randrange(len(lines))
    choice = rng.random()
    if choice < 0.3:
        lines.insert(index, f"_edit_{step} = undefined_{step % 3} + os")
    elif choice < 0.45:
        lines.insert(index, "")
    elif choice < 0.65 and lines[index].strip():
        lines[index] += "  # edited"
    elif choice < 0.75:
        lines.insert(index, "    indented = os")  # joins the statement above, or breaks the file
    elif choice < 0.85 and lines[index].startswith("        ") and not lines[index].startswith("         "):
        lines.insert(index, f"        _in_method_{step} = undefined_{step % 2}")  # a line inside a method
    else:
        del lines[index : index + rng.randrange(1, 4)]


@pytest.mark.parametrize("module", ["tkinter/__init__.py", "argparse.py", "inspect.py", "typing.py"])
def test_edits_of_real_modules_match_a_full_analysis(module: str) -> None:
    text = (STDLIB / module).read_text(encoding="utf-8")
    analyser = IncrementalAnalyser()
    assert_same(analyser.analyse(text, "module.py", CONFIG, RULES), text)
    analyser.prepare()  # what the server's worker does when idle after an open
    lines = text.split("\n")
    rng = random.Random(module)
    for step in range(12):
        edit_lines(lines, rng, step)
        edited = "\n".join(lines)
        assert_same(analyser.analyse(edited, "module.py", CONFIG, RULES), edited)


# --------------------------------------------------------------------------- generated programs

SNIPPETS = [
    "import os",
    "import os.path",
    "from typing import List",
    "from json import *",
    "import sys as system",
    "def f(a, b=os.sep):\n    return a + b + undefined_thing",
    "def f():\n    pass",
    "def shadow():\n    for os in range(3):\n        pass",
    "def rebinds():\n    List = 1\n    return List",
    "def counts():\n    global counter\n    counter = 1",
    "print(counter)",
    "class C:\n    x = 1\n\n    def m(self):\n        return x + List\n\n    def m(self):\n        return __class__",
    "try:\n    import json\nexcept ImportError:\n    json = None",
    "__all__ = ['f', 'missing', 'C']",
    "__all__ += ['shadow']",
    "def guarded():\n    try:\n        unicode\n    except NameError:\n        pass",
    "def annotated(x: 'List') -> None:\n    y: system = 0\n    import os\n    return x",
    "del later",
    "later = 1",
    "if later:\n    def q():\n        return os, system\nelse:\n    def q():\n        return None",
    "@decorator\ndef d():\n    return d",
    "xs = [os for os in range(2)]",
    "async def co():\n    await thing\n    async for item in aiter_():\n        yield item",
    "def outer():\n    v = 1\n\n    def inner():\n        nonlocal v\n        v = 2\n    return inner",
    "def early():\n    print(late_local)\n    late_local = 1",
    "def uses_all():\n    return __all__, __name__, __file__",
    "def lam():\n    return lambda q: q + zz",
    "def unused():\n    import re\n    value = 1",
    "x: int",
    "def reads_annotation_only():\n    return x",
    "def deletes():\n    del os",
    "with open('f') as handle:\n    data = handle.read()",
    "for k in range(3):\n    pass\nelse:\n    k = 0",
    "# a comment line",
    "",
    "def one(): return os; pass",
    "a = 1; b = a",
    "if True:\n    import re\n\n    def uses_re():\n        return re.compile('x')",
    # rules whose findings in one statement depend on the rest of the text (module facts)
    "f = open('x')",
    "def open(p):\n    return p",
    "def reads():\n    data = open('f').read()\n    return data",
    "for i in range(3):\n    pass",
    "_i = 0",
    "def loops():\n    for j in range(2):\n        pass\n    return _j",
    "from datetime import datetime",
    "import datetime as dt",
    "def now():\n    return datetime.utcnow(), dt.datetime.utcnow()",
    "from dataclasses import dataclass, field",
    "@dataclass\nclass D:\n    items: list = []",
    # class bodies: attributes between methods, a def nested in a class-level block
    "class K(List):\n    attr = os.sep\n    other: int\n\n    def a(self):\n        return attr\n    b = a\n"
    "\n    if attr:\n        def c(self):\n            import re\n            return re\n    d = 1; e = d",
    "    attr = later",
    "    def added(self):\n        return os",
]

programs = st.lists(st.sampled_from(SNIPPETS), min_size=1, max_size=10)
edits = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete", "replace", "indent", "append"]),
        st.integers(0, 40),
        st.sampled_from(SNIPPETS),
    ),
    min_size=1,
    max_size=8,
)


def apply_edit(lines: list[str], edit: tuple[str, int, str]) -> list[str]:
    kind, where, snippet = edit
    lines = list(lines)
    index = where % (len(lines) + 1)
    if kind == "insert":
        lines[index:index] = snippet.split("\n")
    elif kind == "delete" and lines:
        del lines[min(index, len(lines) - 1)]
    elif kind == "replace" and lines:
        lines[min(index, len(lines) - 1)] = snippet.split("\n")[0]
    elif kind == "indent":
        lines.insert(index, "    " + snippet.split("\n")[0])
    elif lines:
        lines[min(index, len(lines) - 1)] += " + os"
    return lines


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs, edits)
def test_generated_programs_and_edits_match_a_full_analysis(
    program: list[str], changes: list[tuple[str, int, str]]
) -> None:
    text = "\n".join(program) + "\n"
    analyser = IncrementalAnalyser()
    assert_same(analyser.analyse(text, "module.py", CONFIG, RULES), text)
    analyser.prepare()
    lines = text.split("\n")
    for change in changes:
        lines = apply_edit(lines, change)
        text = "\n".join(lines)
        assert_same(analyser.analyse(text, "module.py", CONFIG, RULES), text)


# --------------------------------------------------------------------------- behaviour


def test_a_one_line_edit_reparses_only_its_statement() -> None:
    text = (STDLIB / "tkinter/__init__.py").read_text(encoding="utf-8")
    analyser = IncrementalAnalyser()
    analyser.analyse(text, "tk.py", CONFIG, RULES)
    assert analyser.last_reparsed_lines == len(text.split("\n"))
    analyser.prepare()
    lines = text.split("\n")
    at = next(i for i in range(len(lines) // 2, len(lines)) if lines[i].startswith("class "))
    lines.insert(at, '_new = f"x"')
    analyser.analyse("\n".join(lines), "tk.py", CONFIG, RULES)
    lines[at] = '_renamed = f"y"'
    report = analyser.analyse("\n".join(lines), "tk.py", CONFIG, RULES)
    # the statement and the blank lines before it (a chunk owns the gap above it)
    assert 1 <= analyser.last_reparsed_lines <= 3
    assert any(f.code == "F541" and f.line == at + 1 for f in report.findings)
    assert_same(report, "\n".join(lines), "tk.py")


def test_typing_inside_a_method_of_a_large_class_reparses_only_that_method() -> None:
    text = (STDLIB / "tkinter/__init__.py").read_text(encoding="utf-8")
    tree = __import__("ast").parse(text)
    misc = next(n for n in tree.body if getattr(n, "name", "") == "Misc")  # ~1,260 lines
    method = misc.body[len(misc.body) // 2]
    analyser = IncrementalAnalyser()
    analyser.analyse(text, "tk.py", CONFIG, RULES)
    analyser.prepare()
    lines = text.split("\n")
    line = method.body[-1].lineno - 1
    for typed in ("  # note", " or undefined_here", " == None"):
        lines[line] += typed
        edited = "\n".join(lines)
        report = analyser.analyse(edited, "tk.py", CONFIG, RULES)
        assert analyser.last_reparsed_lines <= method.end_lineno - method.lineno + 1
        assert_same(report, edited, "tk.py")
    # Enter, a new statement, and a line deleted again: the rest of the class moves
    indent = " " * method.body[0].col_offset
    size = method.end_lineno - method.lineno + 1
    for change in ("blank", "statement", "delete", "delete"):
        if change == "blank":
            lines.insert(line, "")
        elif change == "statement":
            lines.insert(line, indent + "unused_here = undefined_there")
        else:
            del lines[line]
        edited = "\n".join(lines)
        report = analyser.analyse(edited, "tk.py", CONFIG, RULES)
        assert analyser.last_reparsed_lines <= size + 2
        assert_same(report, edited, "tk.py")


def class_body_edit(lines: list[str], rng: random.Random, step: int) -> tuple[str, int]:
    """One edit in the body of a top-level class, outside any one method: what it did and
    how many lines an analysis of only what it touched parses at most (the touched class
    statements, the lines between them and the one before, the lines added)."""
    import ast

    tree = ast.parse("\n".join(lines))
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and len(n.body) > 2]
    owner = rng.choice(classes)
    size = owner.end_lineno - owner.lineno + 1
    index = rng.choice(  # a statement that starts its line (not the second of `a; b`)
        [i for i in range(1, len(owner.body)) if owner.body[i].lineno > owner.body[i - 1].end_lineno]
    )
    statement = owner.body[index]
    before = owner.body[index - 1]
    indent = " " * owner.body[0].col_offset
    at = statement.lineno - 1 - len(getattr(statement, "decorator_list", []))
    gap = at - before.end_lineno  # lines between the two statements
    # a statement is parsed again with the lines between it and its neighbours
    earlier = owner.body[index - 2].end_lineno if index >= 2 else owner.lineno
    later = owner.body[index + 1] if index + 1 < len(owner.body) else None
    after = later.lineno - 1 - len(getattr(later, "decorator_list", [])) if later else statement.end_lineno
    choice = rng.random()
    if choice < 0.2:
        lines.insert(at, f"{indent}_attr_{step} = undefined_{step % 2} + len(os.sep)")
        return "attribute", 1 + gap
    if choice < 0.3:
        lines.insert(at, "")
        return "blank", 1 + gap
    if choice < 0.45 and not isinstance(before, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        lines[before.end_lineno - 1] += "  # typed"
        return "typing", at - earlier
    if choice < 0.6 and isinstance(before, (ast.FunctionDef, ast.AsyncFunctionDef)):
        # one change over two definitions: the end of one method to the start of the next
        first, last = before.end_lineno - 1, statement.lineno - 1
        lines[first : last + 1] = [
            lines[first] + "  # end",
            *lines[first + 1 : last],
            lines[last] + "  # start",
        ]
        return "two definitions", after - earlier
    if choice < 0.7:
        body = indent + "    "
        lines[at:at] = [
            f"{indent}def _added_{step}(self, value=os.sep):",
            f"{body}return value, os_{step}",
            "",
        ]
        return "method", 3 + gap
    if choice < 0.74:  # a method typed below the class's last statement
        end = owner.end_lineno
        below = len(
            list(itertools.takewhile(lambda line: not line.strip() or line.startswith("#"), lines[end:]))
        )
        lines[end:end] = ["", f"{indent}def _last_{step}(self):", f"{indent}    return self, os_{step}"]
        return "method at the end", 3 + below
    if choice < 0.78 and not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        del lines[statement.lineno - 1 : statement.end_lineno]
        return "deleted", 0
    if choice < 0.84:
        lines.insert(at, f"{indent}import json as _json_{step}")  # the module's imports change
        return "import", 0
    if choice < 0.88:
        lines.insert(at, f"{indent}if os.sep:")
        lines.insert(at + 1, f"{indent}    def _nested_{step}(self):")
        lines.insert(at + 2, f"{indent}        return undefined_nested")
        return "nested", 3 + gap
    if choice < 0.92:
        lines.insert(at, f"{indent}raise_ = 1; other_{step} = raise_")  # two statements on one line
        return "semicolon", 1 + gap
    lines.insert(at, f"{indent}    dangling = 1")  # joins the statement above, or breaks the file
    return "indented", 0


@pytest.mark.parametrize("module", ["tkinter/__init__.py", "argparse.py", "typing.py", "dataclasses.py"])
def test_edits_in_class_bodies_match_a_full_analysis(module: str) -> None:
    """Edits in a class body outside its methods, and edits spanning two methods, re-parse
    only the class-level statements they touch (not the class), and give what a full
    analysis gives."""
    text = (STDLIB / module).read_text(encoding="utf-8")
    analyser = IncrementalAnalyser()
    assert_same(analyser.analyse(text, "module.py", CONFIG, RULES), text)
    analyser.prepare()
    lines = text.split("\n")
    rng = random.Random(f"class bodies {module}")
    local = 0
    for step in range(16):
        before = list(lines)
        kind, most = class_body_edit(lines, rng, step)
        edited = "\n".join(lines)
        report = analyser.analyse(edited, "module.py", CONFIG, RULES)
        assert_same(report, edited)
        broken = any(f.code == "E999" for f in report.findings)
        if most and not broken:  # only what the edit touched was parsed, not the class
            assert analyser.last_reparsed_lines <= most, (kind, analyser.last_reparsed_lines, most)
            local += 1
        if broken:  # typed into a broken file: undo
            lines = before
            assert_same(analyser.analyse("\n".join(lines), "module.py", CONFIG, RULES), "\n".join(lines))
    assert local >= 3


def test_a_class_level_raise_rechecks_the_whole_class() -> None:
    """EMS102 judges a class body as one block: after a class-level ``raise`` every later
    statement is unreachable, so an edit below it cannot be checked alone."""
    text = "class A:\n    x = 1\n    raise ValueError\n\n    def m(self):\n        return 1\n\n    y = 2\n"
    analyser = IncrementalAnalyser()
    assert_same(analyser.analyse(text, "module.py", CONFIG, RULES), text)
    analyser.prepare()
    for edited in (
        text.replace("y = 2", "y = 3"),
        text.replace("return 1", "return 2"),
        text.replace("    raise ValueError\n", ""),
        text.replace("x = 1", "x = 1\n    raise TypeError"),
    ):
        report = analyser.analyse(edited, "module.py", CONFIG, RULES)
        assert_same(report, edited)


@pytest.mark.parametrize(
    ("text", "edited"),
    [
        # a `def open` in another statement: `open` is not the builtin any more (EMS103)
        ("def open(p):\n    return p\n\n\nx = 1\n", "def open(p):\n    return p\n\n\nx = open('f').read()\n"),
        (
            "def open(p):\n    return p\n\n\nx = open('f').read()\n",
            "def opened(p):\n    return p\n\n\nx = open('f').read()\n",
        ),
        # renaming `i` to `_i` would collide with a name of another statement (B007's fix)
        (
            "def f():\n    for i in range(3):\n        pass\n\n\ny = 1\n",
            "def f():\n    for i in range(3):\n        pass\n\n\n_i = 1\n",
        ),
        # a module-level loop variable read in another statement: renaming it is no fix (B007)
        (
            "if True:\n    for item in range(3):\n        pass\n\n\ndef f():\n    return 1\n",
            "if True:\n    for item in range(3):\n        pass\n\n\ndef f():\n    return item\n",
        ),
        # how `datetime` is imported, in another statement, decides EMS104
        (
            "import os\n\n\ndef f():\n    return dt.datetime.utcnow()\n",
            "import datetime as dt\n\n\ndef f():\n    return dt.datetime.utcnow()\n",
        ),
    ],
)
def test_facts_about_other_statements_are_rechecked(text: str, edited: str) -> None:
    analyser = IncrementalAnalyser()
    assert_same(analyser.analyse(text, "module.py", CONFIG, RULES), text)
    analyser.prepare()
    assert_same(analyser.analyse(edited, "module.py", CONFIG, RULES), edited)
    assert_same(analyser.analyse(text, "module.py", CONFIG, RULES), text)


def test_syntax_errors_while_typing_then_recovery() -> None:
    analyser = IncrementalAnalyser()
    base = "import os\n\n\ndef f():\n    return os.sep\n"
    assert_same(analyser.analyse(base, "module.py", CONFIG, RULES), base)
    analyser.prepare()
    broken = base + "def g(:\n"
    report = analyser.analyse(broken, "module.py", CONFIG, RULES)
    assert [f.code for f in report.findings] == ["E999"]
    fixed = base + "def g():\n    return undefined\n"
    assert_same(analyser.analyse(fixed, "module.py", CONFIG, RULES), fixed)


def test_an_indented_line_after_a_statement_joins_it() -> None:
    analyser = IncrementalAnalyser()
    text = "import os\n\n\ndef f():\n    pass\nx = 1\n"
    analyser.analyse(text, "module.py", CONFIG, RULES)
    analyser.prepare()
    joined = "import os\n\n\ndef f():\n    pass\n    return os\nx = 1\n"
    report = analyser.analyse(joined, "module.py", CONFIG, RULES)
    assert not [f for f in report.findings if f.code == "F401"]  # `os` is now used in f
    assert_same(report, joined)


def test_crlf_skip_file_and_config_changes_take_the_plain_path() -> None:
    analyser = IncrementalAnalyser()
    crlf = "import os\r\nx = undefined\r\n"
    assert_same(analyser.analyse(crlf, "module.py", CONFIG, RULES), crlf)
    skipped = "# ems: skip-file\nimport os\n"
    assert analyser.analyse(skipped, "module.py", CONFIG, RULES).findings == ()
    text = "import os\nx = undefined\n"
    assert {f.code for f in analyser.analyse(text, "module.py", CONFIG, RULES).findings} == {"F401", "F821"}
    only_f821 = Config(select=("F821",))
    assert {f.code for f in analyser.analyse(text, "module.py", only_f821, RULES).findings} == {"F821"}


class _Raises(Rule):
    code = "XRA001"
    name = "raises"
    summary = "raises on every call"
    explanation = "A rule with a bug."
    node_types = (__import__("ast").Call,)

    def visit(self, node, ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")


def test_a_rule_that_raises_is_contained_and_reported_after_edits() -> None:
    from ems.core.registry import RuleSet

    rules = RuleSet((*RULES.rules, _Raises), (*RULES.origins, ("XRA001", "tests")))
    analyser = IncrementalAnalyser()
    text = "import os\nprint(os)\n"
    analyser.analyse(text, "module.py", CONFIG, rules)
    analyser.prepare()
    edited = "import os\n\nprint(os)\nx = undefined\n"
    report = analyser.analyse(edited, "module.py", CONFIG, rules)
    codes = [f.code for f in report.findings]
    assert "EMS901" in codes and "F821" in codes
    assert [e.code for e in report.rule_errors] == ["XRA001"]
