"""Verification analyses a fixed text changed only inside function bodies a body at a time.

``ems.fixes.verifybody.in_bodies`` must give ``analyse``'s report exactly (findings,
places, messages, fingerprints) or decline (None: the engine then takes another way), and
verification through it must refuse what it always refused: a new finding anywhere in the
file, a target still reported.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest

from ems.core import Config, load_rules
from ems.core.analyse import analyse
from ems.core.model import Report
from ems.core.registry import RuleSet
from ems.core.rule import FactLog
from ems.fixes import engine, reanalyse
from ems.fixes.reanalyse import Original
from ems.fixes.verifybody import Judged, in_bodies
from judging import judged_text, report_key

SRC = Path(__file__).resolve().parents[2] / "src" / "ems"
STDLIB = Path(sys.modules["ast"].__file__ or "").parent


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules()


def _body_lines(text: str) -> list[int]:
    """Lines (0-based) of statements directly in function bodies, spread over the file."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and len(node.body) > 1:
            statement = node.body[-1]
            if statement.lineno == statement.end_lineno and statement.lineno > node.body[0].lineno:
                found.append(statement.lineno - 1)
    found.sort()
    return found[:: max(1, len(found) // 6)]


def _edits(text: str) -> list[str]:
    """Texts a fix inside a function could leave: a statement removed, emptied to ``pass``,
    a statement added above it, a builtin or an undefined name read, two bodies at once."""
    lines = text.split("\n")
    at_lines = _body_lines(text)
    edited = []
    for at in at_lines:
        line = lines[at]
        indent = line[: len(line) - len(line.lstrip())]
        edited.append("\n".join(lines[:at] + lines[at + 1 :]))
        edited.append("\n".join([*lines[:at], indent + "pass", *lines[at + 1 :]]))
        edited.append("\n".join([*lines[:at], indent + "unused = 1", *lines[at:]]))
        edited.append("\n".join([*lines[:at], indent + "len(())", *lines[at:]]))
        edited.append("\n".join([*lines[:at], indent + "undefined_name_here", *lines[at:]]))
    if len(at_lines) >= 2:
        a, b = at_lines[0], at_lines[-1]
        edited.append("\n".join(lines[:a] + lines[a + 1 : b] + lines[b + 1 :]))
    return edited


FILES = [
    *sorted(SRC.rglob("*.py"))[::11],
    *(STDLIB / name for name in ("email/message.py", "asyncio/streams.py", "tarfile.py", "argparse.py")),
]


@pytest.mark.parametrize("select", [("ALL",), ("F", "E9")])
def test_the_report_is_analyse_s_or_none(rules: RuleSet, select: tuple[str, ...]) -> None:
    config = Config(select=select)
    taken = declined = 0
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        judged = judged_text(text, config, rules)
        for edited in _edits(text):
            got = in_bodies(judged, edited, "m.py", config, rules)
            if got is None:
                declined += 1
                continue
            taken += 1
            assert report_key(got) == report_key(analyse(edited, "m.py", config, rules)), (path, edited)
    assert taken * 2 > declined  # the path is really taken (an undefined name read is declined)


HEAD = "import os\nimport json\n\n\nclass C:\n    def m(self):\n        a = 1\n        b = 2\n"


@pytest.mark.parametrize(
    ("fixed", "taken"),
    [
        # a finding at a read outside the body (an undefined name) moves with the read
        (HEAD + "        return a, b, nowhere\n", True),
        # a read of a builtin added: the outline judges the same
        (HEAD + "        return a, len(b), nowhere\n", True),
        # a read of a module name added: `json` is used now (F401 goes): declined
        (HEAD + "        return a, json, nowhere\n", False),
    ],
)
def test_reads_from_outside(rules: RuleSet, fixed: str, taken: bool) -> None:
    config = Config(select=("ALL",))
    text = HEAD + "        x = None\n        return a, b, nowhere\n"
    judged = judged_text(text, config, rules)
    got = in_bodies(judged, fixed, "m.py", config, rules)
    assert (got is not None) == taken
    if got is not None:
        assert report_key(got) == report_key(analyse(fixed, "m.py", config, rules))


BODY = "".join(f"\n\ndef f{n}(x):\n    y = x\n    return os.path.join(x, '{n}')\n" for n in range(20))
TEXT = "import os\n" + BODY


@pytest.fixture
def whole_analyses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the fix engine analyses whole or through the original's tree."""
    seen: list[str] = []
    real, parsed = engine.analyse, reanalyse.analyse_parsed

    def counting(text: str, *args: Any, **kwargs: Any) -> Report:
        seen.append(text)
        return real(text, *args, **kwargs)

    def counting_parsed(tree: ast.Module, text: str, *args: Any, **kwargs: Any) -> Report:
        seen.append(text)
        return parsed(tree, text, *args, **kwargs)

    monkeypatch.setattr(engine, "analyse", counting)
    monkeypatch.setattr(reanalyse, "analyse_parsed", counting_parsed)
    return seen


def test_verification_refuses_a_new_finding_far_from_the_body(
    rules: RuleSet, whole_analyses: list[str]
) -> None:
    """The last read of `os` removed inside the last function: F401 appears 100 lines above."""
    text = (
        "import os\n" + BODY.replace("os.path.join(x, ", "(x, ") + "\n\ndef g(x):\n    y = x\n    return os\n"
    )
    config = Config(select=("F", "E9"))
    before = analyse(text, "m.py", config, rules)
    (target,) = [f for f in before.findings if f.code == "F841" and f.range.start.line > 100]
    fixed = text.replace("    y = x\n    return os\n", "    return os\n").replace("return os\n", "return 1\n")
    judged = judged_text(text, config, rules)
    memo = engine.FixMemo(Original(text, judged.tree, judged.report, judged.facts))
    got = engine.verify(before, fixed, [target], "m.py", config, rules, memo)
    assert got == "the fix introduces F401: `os` imported but unused"
    assert got == engine.verify(before, fixed, [target], "m.py", config, rules)


def test_with_fixability_analyses_no_whole_text_for_fixes_in_bodies(
    rules: RuleSet, whole_analyses: list[str]
) -> None:
    """Twenty unused variables in twenty functions: every fixed text is analysed a body at a
    time (a work count: no whole analysis, no analysis of a tree rebuilt from the original)."""
    config = Config(select=("ALL",))
    judged = judged_text(TEXT, config, rules)
    assert sum(f.fixable for f in judged.report.findings) == 20
    got = engine.with_fixability(TEXT, "m.py", config, rules, judged.report, judged.tree, judged.facts)
    assert whole_analyses == []
    assert got == engine.with_fixability(TEXT, "m.py", config, rules, judged.report)
    assert whole_analyses  # (the count sees whole analyses)
    assert all(f.fixability is not None for f in got.findings if f.fixable)


SIGNATURE = "import os\n\n\ndef f(x=[], y=nowhere):\n    return x, y\n\n\ndef g():\n    return os\n"


@pytest.mark.parametrize(
    ("fixed", "taken"),
    [
        # B006's fix: the default and the body change; a finding at a default's read moves
        (
            SIGNATURE.replace(
                "def f(x=[], y=nowhere):\n    return x, y\n",
                "def f(x=None, y=nowhere):\n    if x is None:\n        x = []\n    return x, y\n",
            ),
            True,
        ),
        # the signature now reads `os`: F401 would change: declined
        (SIGNATURE.replace("def f(x=[], y=nowhere):", "def f(x=os, y=nowhere):"), False),
    ],
)
def test_a_changed_signature(rules: RuleSet, fixed: str, taken: bool) -> None:
    config = Config(select=("ALL",))
    judged = judged_text(SIGNATURE, config, rules)
    got = in_bodies(judged, fixed, "m.py", config, rules)
    assert (got is not None) == taken
    if got is not None:
        assert report_key(got) == report_key(analyse(fixed, "m.py", config, rules))


IMPORTS = "import os\nimport sys, json\nfrom collections import (\n    OrderedDict,\n    deque,\n)\n\n\ndef f():\n    return sys.argv, deque\n"


@pytest.mark.parametrize(
    ("fixed", "taken"),
    [
        (IMPORTS.replace("import os\n", ""), True),  # an unused import removed
        (IMPORTS.replace("import sys, json\n", "import sys\n"), True),  # one name of two
        (IMPORTS.replace("    OrderedDict,\n", ""), True),  # a line of a parenthesised import
        (IMPORTS.replace("import sys, json\n", "import json\n"), False),  # `sys` is still read
        (IMPORTS.replace("import os\n", "import os as system\n"), False),  # not a removal
    ],
)
def test_imports_removed(rules: RuleSet, fixed: str, taken: bool) -> None:
    config = Config(select=("F", "E9"))
    judged = judged_text(IMPORTS, config, rules)
    got = in_bodies(judged, fixed, "m.py", config, rules)
    assert (got is not None) == taken
    if got is not None:
        assert report_key(got) == report_key(analyse(fixed, "m.py", config, rules))


GUARDED = (
    "try:\n    import readline\nexcept ImportError:\n    pass\n"
    "from os.path import *\n\n\ndef f(x):\n    y = 1\n    return x, len(x)\n"
)


@pytest.mark.parametrize(
    ("fixed", "taken"),
    [
        # an unused import in a top-level `try` removed (a star import in the module)
        # `pass` in place of the block's only import: the `try` is judged whole again
        (GUARDED.replace("try:\n    import readline\n", "try:\n    pass\n"), True),
        # ... and with a change elsewhere in the same top-level statement: declined
        (
            GUARDED.replace("try:\n    import readline\n", "try:\n    pass\n").replace(
                "except ImportError:\n    pass\n", "except ImportError:\n    x = 1\n"
            ),
            False,
        ),
        (GUARDED.replace("    import readline\n", "    import readline\n    import rlcompleter\n"), False),
        (GUARDED.replace("    y = 1\n", ""), True),
    ],
)
def test_blocks_and_star_imports(rules: RuleSet, fixed: str, taken: bool) -> None:
    config = Config(select=("ALL",))
    judged = judged_text(GUARDED, config, rules)
    got = in_bodies(judged, fixed, "m.py", config, rules)
    assert (got is not None) == taken
    if got is not None:
        assert report_key(got) == report_key(analyse(fixed, "m.py", config, rules))


def test_an_import_removed_from_a_try_block(rules: RuleSet) -> None:
    text = "try:\n    import readline\n    import json\nexcept ImportError:\n    pass\n\nVALUE = json\n"
    config = Config(select=("F", "E9"))
    judged = judged_text(text, config, rules)
    fixed = text.replace("    import readline\n", "")
    got = in_bodies(judged, fixed, "m.py", config, rules)
    assert got is not None
    assert report_key(got) == report_key(analyse(fixed, "m.py", config, rules))
    # the block's only import removed with nothing in its place: not valid Python, declined
    alone = "try:\n    import readline\nexcept ImportError:\n    pass\n"
    assert (
        in_bodies(
            judged_text(alone, config, rules),
            alone.replace("    import readline\n", ""),
            "m.py",
            config,
            rules,
        )
        is None
    )


LOOPS = (
    "def f(rows):\n    for i in rows:\n        print('row')\n\n\n"
    "def g(cols):\n    for i in cols:\n        print('col')\n\n\n"
    "def h(cells):\n    for j in cells:\n        print('cell')\n"
)


@pytest.mark.parametrize(
    ("fixed", "taken"),
    [
        # B007's rename: "is `_j` a word?" changes, and only `j`'s finding asked it
        (LOOPS.replace("for j in", "for _j in"), True),
        # both loops over `i` renamed: every asker of "is `_i` a word?" is checked again
        (LOOPS.replace("for i in", "for _i in"), True),
        # one of the two renamed: `g`'s finding (not checked again) asked it too: declined
        (LOOPS.replace("for i in rows", "for _i in rows"), False),
    ],
)
def test_a_changed_fact_asked_only_inside_the_changed_bodies(rules: RuleSet, fixed: str, taken: bool) -> None:
    config = Config(select=("ALL",))
    judged = judged_text(LOOPS, config, rules)
    assert isinstance(judged.facts, FactLog)
    assert judged.facts.places[("b007.word", "_i")] == {2, 7}
    got = in_bodies(judged, fixed, "m.py", config, rules)
    assert (got is not None) == taken
    if got is not None:
        assert report_key(got) == report_key(analyse(fixed, "m.py", config, rules))


def test_a_fact_asked_without_a_place_is_asked_by_the_whole_module(rules: RuleSet) -> None:
    """An asker that names no node (a plug-in's, EMS103's): the fact's places are unknown."""
    log = FactLog()
    log.asked_at(("k",), ast.parse("x").body[0])
    assert log.places[("k",)] == {1}
    log.asked_at(("k",), None)
    log.asked_at(("k",), ast.parse("\n\ny").body[0])
    assert log.places[("k",)] is None


ADJACENT = (
    "def f(args, opts=[]):\n    return args, opts\ndef g(args, opts=[]):\n    return args, opts\nX = 1\n"
)
B006 = "def {0}(args, opts=None):\n    if opts is None:\n        opts = []\n    return args, opts\n"


@pytest.mark.parametrize(
    ("fixed", "taken"),
    [
        # two adjacent defs both changed: the first ends where the indentation says
        ("".join(B006.format(n) for n in "fg") + "X = 1\n", True),
        # the first def's body holds a string at column 0: the guess is wrong, and declined
        (
            B006.format("f").replace("    return", '    """\nat column 0\n"""\n    return')
            + B006.format("g")
            + "X = 1\n",
            False,
        ),
    ],
)
def test_adjacent_defs_changed(rules: RuleSet, fixed: str, taken: bool) -> None:
    config = Config(select=("ALL",))
    text = ADJACENT
    if not taken:  # the judged text holds the string too
        text = text.replace(
            "    return args, opts\ndef g", '    """\nat column 0\n"""\n    return args, opts\ndef g'
        )
    judged = judged_text(text, config, rules)
    got = in_bodies(judged, fixed, "m.py", config, rules)
    assert (got is not None) == taken
    if got is not None:
        assert report_key(got) == report_key(analyse(fixed, "m.py", config, rules))


WORDS = (
    '"""Uses os and json (a docstring)."""\nimport os  # os, in a comment\nimport json\n'
    "from typing import (\n    Any,\n    List,\n    Dict,\n)\n\n\n"
    'def f(x):\n    """Returns x: not json."""\n    y = 1\n    return x.json, Dict\n'
)


@pytest.mark.parametrize(
    ("fixed", "taken"),
    [
        # removed names still words of the text, but only in docstrings, comments and
        # attribute names: nothing there binds or reads them
        (WORDS.replace("import os  # os, in a comment\n", "# os, in a comment\n"), True),
        (WORDS.replace("import json\n", ""), True),
        # one name of a parenthesised import: the other unused name's finding (and its
        # related "statement" place) moves with it
        (WORDS.replace("    Any,\n", ""), True),
        (WORDS.replace("    Any,\n    List,\n", ""), True),
    ],
)
def test_imports_removed_whose_names_are_still_words(rules: RuleSet, fixed: str, taken: bool) -> None:
    config = Config(select=("F", "E9"))
    judged = judged_text(WORDS, config, rules)
    got = in_bodies(judged, fixed, "m.py", config, rules)
    assert (got is not None) == taken
    if got is not None:
        assert report_key(got) == report_key(analyse(fixed, "m.py", config, rules))


@pytest.mark.parametrize(
    "text",
    [
        # the name is an entry of `__all__` (a string that is no statement of its own)
        "import json\n\n__all__ = ['json']\n",
        # ... or an annotation in a string
        "import json\n\n\ndef f(x: 'json.Thing'):\n    return x\n",
        # ... or bound again elsewhere
        "import json\n\n\ndef f():\n    json = 1\n    return json\n",
    ],
)
def test_a_removed_import_still_named_elsewhere_is_declined(rules: RuleSet, text: str) -> None:
    config = Config(select=("F", "E9"))
    fixed = text.replace("import json\n", "")
    assert in_bodies(judged_text(text, config, rules), fixed, "m.py", config, rules) is None


NOQA = (
    "import os\n\nX = os  # noqa: F841\n\n\ndef f(x):\n    y = 1\n    return x\n\n\n"
    "def g(x):\n    y = 1  # noqa: F841\n    return x\n"
)


@pytest.mark.parametrize(
    ("fixed", "taken"),
    [
        # suppression comments outside the changed body: their judgement (RUF100) holds
        (NOQA.replace("    y = 1\n    return x\n", "    return x\n"), True),
        # ... and in the changed body: declined (RUF100 judges it anew)
        (NOQA.replace("    y = 1  # noqa: F841\n", ""), False),
        # a comment in the new body that suppresses nothing
        (NOQA.replace("    y = 1\n    return x\n", "    # no directive\n    return x\n"), True),
        # ... and one that does: declined
        (NOQA.replace("    y = 1\n    return x\n", "    y = 2  # noqa: F841\n    return x\n"), False),
    ],
)
def test_suppression_comments(rules: RuleSet, fixed: str, taken: bool) -> None:
    config = Config(select=("ALL",))
    judged = judged_text(NOQA, config, rules)
    got = in_bodies(judged, fixed, "m.py", config, rules)
    assert (got is not None) == taken
    if got is not None:
        assert report_key(got) == report_key(analyse(fixed, "m.py", config, rules))


def test_a_fixed_text_with_no_comment_in_its_changes_is_not_searched_for_suppressions(
    rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fixed text's suppression comments are looked for only when a changed part holds
    a comment (a file with a `# noqa` anywhere was tokenized whole for every fixed text)."""
    import ems.fixes.verifybody as verifybody

    config = Config(select=("ALL",))
    judged = judged_text(NOQA, config, rules)
    judged.suppressed  # noqa: B018 - the judged text's, found once per file

    def refused(text: str) -> dict:
        raise AssertionError("the whole fixed text was searched")

    monkeypatch.setattr(verifybody, "parse_suppressions", refused)
    fixed = NOQA.replace("    y = 1\n    return x\n", "    return x\n")
    got = in_bodies(judged, fixed, "m.py", config, rules)
    assert got is not None
    assert report_key(got) == report_key(analyse(fixed, "m.py", config, rules))


NESTED = (
    "import sys\n\nif sys.platform == 'win32':\n    def f(x):\n        y = 1\n        return x\n\n"
    "    def g(x):\n        y = 2\n        return x\nelse:\n    def f(x):\n        return x\n\n\n"
    "class Outer:\n    class Inner:\n        def m(self):\n            z = 3\n            return self\n"
)


@pytest.mark.parametrize(
    ("fixed", "taken"),
    [
        # a def in a top-level `if`: the chunk-local rules run over the whole `if`
        (NESTED.replace("        y = 1\n", ""), True),
        # a method of a nested class
        (NESTED.replace("            z = 3\n", ""), True),
        # two defs of the same top-level statement changed: declined
        (NESTED.replace("        y = 1\n", "").replace("        y = 2\n", ""), False),
    ],
)
def test_defs_nested_deeper(rules: RuleSet, fixed: str, taken: bool) -> None:
    config = Config(select=("ALL",))
    judged = judged_text(NESTED, config, rules)
    got = in_bodies(judged, fixed, "m.py", config, rules)
    assert (got is not None) == taken
    if got is not None:
        assert report_key(got) == report_key(analyse(fixed, "m.py", config, rules))


BLOCK = (
    "import sys\n\ntry:\n    from os import *\nexcept ImportError:\n    pass\nelse:\n"
    "    # the module's own docstring\n    del sep\n    from os import __doc__\n\n\n"
    "def f():\n    return sys.argv\n"
)


@pytest.mark.parametrize(
    ("text", "fixed", "taken"),
    [
        # a block's last import run removed whole (datetime's `from _datetime import
        # __doc__` after a `del`): nothing is left to parse there
        (BLOCK, BLOCK.replace("    from os import __doc__\n", ""), True),
        (
            BLOCK.replace("from os import *", "import json"),
            BLOCK.replace("from os import *", "import json").replace("    from os import __doc__\n", ""),
            True,
        ),
        # ... but not when the removed name is still read
        (
            BLOCK + "\nVALUE = __doc__\n",
            BLOCK.replace("    from os import __doc__\n", "") + "\nVALUE = __doc__\n",
            False,
        ),
    ],
)
def test_a_run_removed_whole_from_a_block_that_keeps_other_statements(
    rules: RuleSet, text: str, fixed: str, taken: bool
) -> None:
    config = Config(select=("F", "E9"))
    got = in_bodies(judged_text(text, config, rules), fixed, "m.py", config, rules)
    assert (got is not None) == taken
    if got is not None:
        assert report_key(got) == report_key(analyse(fixed, "m.py", config, rules))


_IMPORTS_PROBE = """
import json, sys
from ems.core import Config, load_rules
from ems.core.analyse import analyse
from ems.core.rule import FactLog
from ems.fixes import engine
text = "import os\\n\\n\\ndef f():\\n    x = 1\\n    return 2\\n"
config, rules, trees, facts = Config(select=("F", "E9")), load_rules(), [], FactLog()
report = analyse(text, "m.py", config, rules, on_tree=lambda tree, _: trees.append(tree), fact_log=facts)
taken = []
real = engine.in_bodies
engine.in_bodies = lambda *a: taken.append(real(*a)) or taken[-1]
judged = engine.with_fixability(text, "m.py", config, rules, report, trees[0], facts)
print(json.dumps({
    "taken": sum(r is not None for r in taken),
    "loaded": sorted(m for m in sys.modules if m.startswith("ems.core.incremental")),
}))
"""


def test_judging_imports_only_the_incremental_modules_verification_uses() -> None:
    """Verification a body at a time uses ``incremental.stubs`` and ``state``; the language
    server's incremental analysis (``chunks``, ``edits``, ``report``) is not imported by
    every ``ems check`` that judges a fix (13 ms of its CPU)."""
    import json
    import subprocess

    done = subprocess.run([sys.executable, "-c", _IMPORTS_PROBE], capture_output=True, text=True, check=True)
    out = json.loads(done.stdout)
    assert out["taken"] >= 2  # the safe fix (F401) and the unsafe one (F841) verified there
    assert "ems.core.incremental.stubs" in out["loaded"]
    assert not {"ems.core.incremental.chunks", "ems.core.incremental.edits"} & set(out["loaded"])


_NAMED_SHAPES = [
    # (text, name, how often the tree names it)
    ('x = "r" "e"\n', "re", 1),  # literals side by side: one string "re"
    ('x = ("r"  # a comment\n     "e")\n', "re", 1),
    ('x = """r""" f"e"\n', "re", 1),
    ('x = "r" "" "e"\n', "re", 1),
    ('x = "\\x72e"\n', "re", 1),  # an escape sequence spells it
    ('x = "r\\\ne"\n', "re", 1),  # a backslash continues the literal
    ("\uff52\uff45 = 1\n", "re", 1),  # NFKC: the fullwidth identifier is `re`
    ("class C:\n    if re: y = 1\n", "re", 1),  # a one-line suite: the header is counted
    ("try:\n    pass\nexcept E as re: pass\n", "re", 1),
    ("class C:\n    @re.deco\n    def f(self):\n        pass\n", "re", 1),
    ("def f(a=re):\n    return [re for re in a]\n", "re", 3),
    ("x = 'a 1re b'; y = 're_' + '_re' + 'area'\n", "re", 1),  # words after digits too
    ("x = f'{re}re'\n", "re", 2),
    ('def f():\n    """re: a docstring"""\n    return 1\n', "re", 0),
    ("# re in a comment\nx = it.re\n", "re", 0),  # a comment, an attribute
]


@pytest.mark.parametrize(("text", "name", "count"), _NAMED_SHAPES)
def test_named_walks_only_what_may_name_a_word(text: str, name: str, count: int) -> None:
    """``Judged.named`` walks only the statements that may name the word (the whole walk
    cost 10 ms of a large file for one removed import) and counts what the whole walk
    counts, through every way a word is named without being spelled on its line."""
    tree = ast.parse(text)
    judged = Judged(text, tree, Report("m.py", (), False, (), {}), FactLog())
    assert judged.named(name) == count
    assert Judged(text, tree, Report("m.py", (), False, (), {}), FactLog()).identifiers[name] == count


def test_named_skips_the_statements_that_cannot_name_a_word() -> None:
    text = (STDLIB / "tarfile.py").read_text(encoding="utf-8")
    tree = ast.parse(text)
    every = Judged(text, tree, Report("m.py", (), False, (), {}), FactLog()).identifiers
    judged = Judged(text, tree, Report("m.py", (), False, (), {}), FactLog())
    words = [*sorted({w for w in every if w.isidentifier()})[::7], "re", "os", "sys", "nowhere_at_all"]
    partial = 0
    for word in words:
        roots = judged._may_name(word)
        if roots is not None:
            partial += 1
        assert judged.named(word) == every[word], word
    assert partial * 10 > len(words) * 9  # most words walk a few statements only
    assert "identifiers" not in judged.__dict__
