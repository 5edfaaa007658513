"""What verification computes once per judged file and reuses: a changed def's checks
(``verifybody.redone``), whether a name is bound anywhere (``Judged.binds_anywhere``), and
``watched.is_word``. Each must give the answer computed afresh would give."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from ems.core import Config, load_rules
from ems.core.analyse import analyse
from ems.core.model import Report
from ems.core.registry import RuleSet
from ems.core.rule import IMPORTS
from ems.core.watched import every_name_bound, is_word
from ems.fixes import verifybody
from ems.fixes.verifybody import in_bodies
from ems.fixes.verifybody.redone import Redone
from judging import judged_text

STDLIB = Path(sys.modules["ast"].__file__ or "").parent


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules()


def _same(got: Report | None, text: str, config: Config, rules: RuleSet) -> bool:
    assert got is not None
    return got.findings == analyse(text, "m.py", config, rules).findings


JUDGED = """\
def f(items):
    for i in items:
        print()
    return 1


def g():
    return 2
"""


def test_a_changed_def_is_parsed_and_checked_once_for_the_texts_that_hold_it(
    rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later pass's text holds the first pass's change again (verification compares with
    the judged text): the def is not parsed again, and the report is still ``analyse``'s."""
    config = Config()
    judged = judged_text(JUDGED, config, rules)
    parsed: list[int] = []
    parse_def = verifybody.parse_def

    def counted(*args: Any) -> Any:
        parsed.append(1)
        return parse_def(*args)

    monkeypatch.setattr(verifybody, "parse_def", counted)
    first = JUDGED.replace("return 1", "return 3")
    second = first.replace("return 2", "return 4")
    assert _same(in_bodies(judged, first, "m.py", config, rules), first, config, rules)
    assert _same(in_bodies(judged, second, "m.py", config, rules), second, config, rules)
    assert len(parsed) == 2  # f once, g once


def test_a_def_whose_fact_changed_elsewhere_is_checked_again(rules: RuleSet) -> None:
    """B007 offers `i` -> `_i` only while `_i` is no word of the module: a second text that
    holds the same change to ``f`` and spells `_i` in ``g`` must not reuse ``f``'s checks."""
    config = Config()
    judged = judged_text(JUDGED, config, rules)
    first = JUDGED.replace("return 1", "return 3")
    second = first.replace("return 2", "_i = 2\n    return _i")
    b007 = [
        [f.fixable for f in analyse(t, "m.py", config, rules).findings if f.code == "B007"]
        for t in (first, second)
    ]
    assert b007 == [[True], [False]]
    assert _same(in_bodies(judged, first, "m.py", config, rules), first, config, rules)
    assert _same(in_bodies(judged, second, "m.py", config, rules), second, config, rules)


def test_a_kept_def_holds_only_while_every_answer_is_the_same(rules: RuleSet) -> None:
    judged = judged_text(JUDGED, Config(), rules)
    node = ast.parse("def f(): pass").body[0]
    assert isinstance(node, ast.FunctionDef)
    imports: list[ast.stmt] = list(ast.parse("import os").body)
    has_x = ("x", lambda text: "x" in text, False)  # (word, compute, answer) as logged
    done = Redone(node, local_asked={("x",): has_x, ("i",): (IMPORTS, len, 1)})
    assert done.holds(judged, "y", imports, {})
    assert not done.holds(judged, "x", imports, {})  # the text's answer changed
    assert done.holds(judged, "x", imports, {("x",): False})  # ... but the seed answers first
    assert not done.holds(judged, "y", [*imports, *imports], {})  # the imports' answer changed
    assert done.holds(judged, "y", imports, {("binds", "z"): True})
    bound = Redone(node, after_asked={("binds", "z"): ("z", None, False)})
    assert not bound.holds(judged, "y", imports, {})  # the body alone reads the text's spelling


def test_bound_anywhere_from_the_statements_that_name_it(rules: RuleSet) -> None:
    """``binds_anywhere`` walks only the statements that may name the name, and answers as
    the walk of the whole tree does, for every word of the file."""
    text = (STDLIB / "argparse.py").read_text(encoding="utf-8")
    judged = judged_text(text, Config(select=("F",)), rules)
    judged.facts.clear()  # (answered from the tree, not from the analysis's log)
    whole = every_name_bound([judged.tree])
    words = sorted(set(re.findall(r"[^\W\d]\w*", text)))
    assert len(words) > 1000
    for word in words:
        assert judged.binds_anywhere(word) == (word in whole), word
    assert "every_bound" not in judged.__dict__


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("open", "x = open(p)"),
        ("open", "reopen(p); opened"),
        ("open", "open"),
        ("open", "_open open_"),
        ("open", "é open"),
        ("open", "éopen"),
        ("aa", "aaa aa"),
        ("aa", "aaaa"),
        ("x1", "x12 x1"),
        ("é", "café é"),
        ("a\u0300", "a\u0300b"),
        ("_i", "for _i in x"),
    ],
)
def test_is_word_is_the_pattern_s_answer(name: str, text: str) -> None:
    assert is_word(name, text) == bool(re.search(rf"\b{re.escape(name)}\b", text))


def _shared_one_by_one(old: str | list[str], new: str | list[str]) -> tuple[int, int]:
    limit = min(len(old), len(new))
    head = 0
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return head, tail


def test_shared_ends_compared_by_slices_is_the_item_by_item_answer() -> None:
    import random

    from ems.fixes.context import shared_ends

    rng = random.Random(18)
    for _ in range(3000):
        a = "".join(rng.choice("ab") for _ in range(rng.randint(0, 70)))
        b = a[: rng.randint(0, len(a))] + "".join(rng.choice("ab") for _ in range(rng.randint(0, 3)))
        b += a[rng.randint(0, len(a)) :]
        for old, new in ((a, b), (b, a), (list(a), list(b)), (a, a), (a, a + "a"), ("a" + a, a)):
            assert shared_ends(old, new) == _shared_one_by_one(old, new), (old, new)


SHAPES = """\
import os


@decorator
def top(a):
    return a


class C:
    x = 1

    def method(self):
        def inner():
            return 2
        return inner

    def one_line(self): return 3

    class Nested:
        def deep(self):
            pass


if os.name:
    def in_if():
        pass
else:
    import sys
try:
    pass
except ImportError:
    def in_handler():
        pass
match os.sep:
    case "/":
        def in_case():
            pass
    case _:
        pass
with open(os.devnull) as f:
    def in_with():
        return f
"""


def _outermost_defs(tree: ast.Module) -> list[tuple[int, int, ast.AST]]:
    """The defs not inside another def, with their first (decorators included) and last lines."""
    inner: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner.update(id(n) for n in ast.walk(node) if n is not node)
    return [
        (min([node.lineno, *(d.lineno for d in node.decorator_list)]), node.end_lineno or 0, node)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and id(node) not in inner
    ]


@pytest.mark.parametrize("name", ["SHAPES", "argparse.py", "email/message.py", "asyncio/base_events.py"])
def test_the_part_at_a_line_is_the_outermost_def_holding_it(rules: RuleSet, name: str) -> None:
    """``Judged.body_at`` descends only into the statements holding the line; it finds the
    outermost def every walk of the tree finds (none when its body shares the header's
    line), the same part object for every line of it, and the import runs."""
    text = SHAPES if name == "SHAPES" else (STDLIB / name).read_text(encoding="utf-8")
    judged = judged_text(text, Config(select=("F",)), rules)
    runs = {line: run for run in judged.import_runs for line in range(run.first, run.end + 1)}
    defs = {
        line: node for first, last, node in _outermost_defs(judged.tree) for line in range(first, last + 1)
    }
    seen: dict[int, object] = {}
    for line in range(1, len(text.split("\n")) + 1):
        part = judged.body_at(line)
        if line in runs:
            assert part is runs[line]
            continue
        node = defs.get(line)
        if part is None:
            assert node is None or node.body[0].lineno == node.lineno, line  # type: ignore[attr-defined]
            continue
        assert part.node is node, line
        assert seen.setdefault(id(node), part) is part
    if name == "SHAPES":
        assert {judged.body_at(line).node.name for line in (6, 13, 21, 26, 33, 37, 42)} == {  # type: ignore[union-attr]
            "top", "method", "deep", "in_if", "in_handler", "in_case", "in_with"
        }  # fmt: skip
        assert judged.body_at(17) is None  # `def one_line(self): return 3`
        assert judged.body_at(28) is runs[28]  # `import sys` in the `else:` block
