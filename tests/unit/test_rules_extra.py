"""Edge cases of the built-in rules beyond their own VALID/INVALID examples.

Positions on non-ASCII lines, scopes that `break`/`return`/`await` cannot see through,
fixes that must keep comments, and fixable flags that must tell the truth.
"""

from __future__ import annotations

import ast

import pytest

from ems.core import Config, Finding, analyse
from ems.fixes import fix_all, fixes_for


def _findings(code: str, source: str, path: str = "example.py") -> list[Finding]:
    report = analyse(source, path, Config(select=(code,)))
    assert not report.syntax_error
    assert report.rule_errors == ()
    return [f for f in report.findings if f.code == code]


def _fix(code: str, source: str, *, unsafe: bool = True) -> str:
    result = fix_all(source, "example.py", Config(select=(code,)), unsafe=unsafe)
    assert result.failures == ()
    ast.parse(result.text)
    return result.text


# --- positions: code points, not UTF-8 bytes -------------------------------------------------

NON_ASCII = 's = "é中🙂"; '


@pytest.mark.parametrize(
    ("code", "statement", "marker"),
    [
        ("F632", "y = x is 'a'", "x is 'a'"),
        ("E712", "y = x == True", "x == True"),
        ("E713", "y = not x in z", "not x in z"),
        ("E714", "y = not x is z", "not x is z"),
        ("E721", "y = type(x) == int", "type(x) == int"),
        ("B009", "y = getattr(o, 'attr')", "getattr(o, 'attr')"),
        ("B010", "setattr(o, 'attr', 1)", "setattr(o, 'attr', 1)"),
        ("B015", "x == 1", "x == 1"),
        ("B018", "o.attr", "o.attr"),
        ("EMS103", "d = open('f').read()", "open('f')"),
        ("PLE1142", "y = await g()", "await g()"),
        ("F601", "d = {'a': 1, 'a': 2}", "'a': 2"),
    ],
)
def test_range_columns_are_code_points_after_non_ascii_text(code: str, statement: str, marker: str) -> None:
    line = NON_ASCII + statement
    [finding] = _findings(code, line + "\n")
    start = line.index(marker)
    assert finding.range.start.line == 1
    assert finding.range.start.column == start
    if code == "F601":
        marker = "'a'"
    assert finding.range.end.column == start + len(marker)


@pytest.mark.parametrize(
    ("code", "source", "fixed"),
    [
        ("F632", NON_ASCII + "y = x is 'é'\n", NON_ASCII + "y = x == 'é'\n"),
        ("E712", NON_ASCII + "y = x == True\n", NON_ASCII + "y = x is True\n"),
        ("E713", NON_ASCII + "y = not x in '中'\n", NON_ASCII + "y = x not in '中'\n"),
        ("E714", NON_ASCII + "y = not x is z\n", NON_ASCII + "y = x is not z\n"),
        ("B009", NON_ASCII + "y = getattr(o, 'é')\n", NON_ASCII + "y = o.é\n"),
        ("B010", NON_ASCII + "setattr(o, 'é', 1)\n", NON_ASCII + "o.é = 1\n"),
        ("B011", "if x: assert False, '🙂'\n", "if x: raise AssertionError('🙂')\n"),
        ("F601", "d = {'é': 1, '中': 2, 'é': 1}\n", "d = {'é': 1, '中': 2}\n"),
        (
            "F901",
            "def f():\n    s = '🙂'; raise NotImplemented\n",
            "def f():\n    s = '🙂'; raise NotImplementedError\n",
        ),
    ],
)
def test_fixes_land_in_the_right_place_on_non_ascii_lines(code: str, source: str, fixed: str) -> None:
    assert _fix(code, source) == fixed


def test_multi_line_finding_ends_on_the_right_code_point() -> None:
    source = "def f():\n    return 1\n    x = 'é中'\n    y = '🙂'  # last\n"
    [finding] = _findings("EMS102", source)
    assert (finding.range.start.line, finding.range.start.column) == (3, 4)
    assert (finding.range.end.line, finding.range.end.column) == (4, len("    y = '🙂'"))


# --- scopes: loops, functions and classes ----------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "for x in y:\n    def f():\n        break\n",
        "while x:\n    class A:\n        break\n",
        "for x in y:\n    pass\nelse:\n    break\n",
        "def f():\n    while x:\n        pass\n    else:\n        break\n",
        "async def f():\n    async for x in y:\n        pass\n    else:\n        break\n",
    ],
)
def test_break_outside_any_loop_of_its_own_scope_is_reported(source: str) -> None:
    assert [f.code for f in _findings("F701", source)] == ["F701"]


@pytest.mark.parametrize(
    "source",
    [
        "for x in y:\n    for z in x:\n        pass\n    else:\n        break\n",
        "def f():\n    for x in y:\n        def g():\n            pass\n        break\n",
        "while x:\n    try:\n        pass\n    finally:\n        break\n",
        "for x in y:\n    with z:\n        if x:\n            break\n",
    ],
)
def test_break_inside_a_loop_is_fine(source: str) -> None:
    assert _findings("F701", source) == []


def test_continue_in_nested_function_inside_loop_is_reported() -> None:
    source = "for x in y:\n    def f():\n        continue\n    continue\n"
    [finding] = _findings("F702", source)
    assert finding.line == 3


@pytest.mark.parametrize(
    ("source", "lines"),
    [
        ("def f():\n    class A:\n        return 1\n    return 2\n", [3]),
        ("class A:\n    def f(self):\n        return 1\n    return 2\n", [4]),
        ("def f():\n    g = lambda: 0\n    return g\n", []),
        ("if x:\n    return\n", [2]),
        ("async def f():\n    class B:\n        async def g(self):\n            return 1\n", []),
    ],
)
def test_return_outside_function_follows_scopes(source: str, lines: list[int]) -> None:
    assert [f.line for f in _findings("F706", source)] == lines


def test_break_outside_loop_is_an_error() -> None:
    [finding] = _findings("F701", "break\n")
    assert finding.severity.value == "error"


@pytest.mark.parametrize(
    ("source", "count"),
    [
        ("async def f():\n    class A:\n        x = await g()\n", 1),
        ("async def f():\n    return (await x for x in y)\n", 0),
        ("def f():\n    async def g():\n        await h()\n", 0),
        ("async def f():\n    def g():\n        return [await x for x in y]\n", 1),
    ],
)
def test_await_belongs_to_the_nearest_function(source: str, count: int) -> None:
    assert len(_findings("PLE1142", source)) == count


@pytest.mark.parametrize(
    ("source", "count"),
    [
        (
            "for x in y:\n    try:\n        pass\n    finally:\n        for z in x:\n            pass\n        else:\n            break\n",
            1,
        ),
        ("try:\n    pass\nfinally:\n    while x:\n        continue\n", 0),
        ("def f():\n    try:\n        pass\n    finally:\n        g = lambda: 1\n        return g\n", 1),
        ("def f():\n    try:\n        pass\n    except ValueError:\n        return 1\n", 0),
    ],
)
def test_jumps_out_of_finally(source: str, count: int) -> None:
    assert len(_findings("B012", source)) == count


def test_reraise_by_name_is_not_reported_in_a_nested_function() -> None:
    source = "try:\n    run()\nexcept OSError as e:\n    def later():\n        raise e\n"
    assert _findings("EMS105", source) == []


def test_reraise_by_name_inside_loop_in_handler_is_fixed() -> None:
    source = (
        "try:\n    run()\nexcept OSError as e:\n    for i in range(3):\n        if i:\n            raise e\n"
    )
    assert _fix("EMS105", source, unsafe=False) == source.replace("raise e", "raise")


# --- fixes keep comments and formatting ------------------------------------------------------


def test_lambda_to_def_keeps_comments_around_it() -> None:
    source = "class A:\n    # sort key\n    key = lambda self: self.x  # by x\n\n    other = 1\n"
    expected = (
        "class A:\n    # sort key\n    def key(self):  # by x\n        return self.x\n\n    other = 1\n"
    )
    assert _fix("E731", source) == expected


def test_lambda_assignment_is_not_fixable_when_it_shares_a_line_or_holds_a_comment() -> None:
    for source in (
        "f = lambda: 0; g = 1\n",
        "f = (lambda x:  # why\n     x)\n",
        "if x: f = lambda: 0\n",
        "f: Callable = lambda: 0\n",
    ):
        [finding] = _findings("E731", source)
        assert not finding.fixable, source
        assert _fix("E731", source) == source


def test_mutable_default_fix_keeps_docstring_comments_and_indentation() -> None:
    source = (
        "class A:\n"
        "  def f(self, a, b={}):  # header\n"
        "    '''Doc.'''\n"
        "    # first comment\n"
        "    return b  # tail\n"
    )
    expected = (
        "class A:\n"
        "  def f(self, a, b=None):  # header\n"
        "    '''Doc.'''\n"
        "    if b is None:\n"
        "      b = {}\n"
        "    # first comment\n"
        "    return b  # tail\n"
    )
    assert _fix("B006", source) == expected


def test_mutable_default_fix_leaves_annotation_alone_without_pep604_context() -> None:
    source = "def f(x: list = []):\n    return x\n"
    assert _fix("B006", source) == "def f(x: list = None):\n    if x is None:\n        x = []\n    return x\n"


def test_unreachable_code_fix_keeps_comments_above_and_drops_blank_lines() -> None:
    source = (
        "def f(x):\n"
        "    if x:\n"
        "        return 1  # early\n"
        "\n"
        "        # TODO: restore\n"
        "        print(x)\n"
        "    return 2\n"
    )
    expected = "def f(x):\n    if x:\n        return 1  # early\n\n        # TODO: restore\n    return 2\n"
    assert _fix("EMS102", source) == expected


def test_unreachable_code_with_yield_is_reported_but_not_fixable() -> None:
    source = "def f():\n    return 1\n    x = yield\n"
    [finding] = _findings("EMS102", source)
    assert not finding.fixable
    assert _fix("EMS102", source) == source


def test_bare_except_fix_keeps_the_comment_and_body() -> None:
    source = "try:\n    run()\nexcept :  # broad\n    log()  # note\n"
    assert _fix("E722", source) == "try:\n    run()\nexcept Exception:  # broad\n    log()  # note\n"


def test_bare_except_fix_is_unsafe_only() -> None:
    source = "try:\n    run()\nexcept:\n    log()\n"
    assert _fix("E722", source, unsafe=False) == source


def test_not_in_fix_keeps_parentheses_holding_a_comment() -> None:
    source = "ok = not (x  # item\n    in y)\n"
    assert _fix("E713", source) == "ok = (x  # item\n    not in y)\n"


def test_getattr_fix_parenthesises_when_needed() -> None:
    assert _fix("B009", "v = getattr(1, 'real')\n") == "v = (1).real\n"
    assert _fix("B009", "v = getattr(x or y, 'z')\n") == "v = (x or y).z\n"
    assert _fix("B009", "v = getattr(f(\n    1), 'z')\n") == "v = f(\n    1).z\n"


def test_getattr_with_a_comment_inside_is_reported_but_not_fixable() -> None:
    source = "v = getattr(\n    obj,  # which one\n    'name',\n)\n"
    [finding] = _findings("B009", source)
    assert not finding.fixable


def test_setattr_used_as_a_value_is_not_reported() -> None:
    assert _findings("B010", "x = [setattr(o, 'a', 1)]\n") == []


def test_repeated_key_fix_keeps_comments_on_multiline_dict() -> None:
    source = "d = {\n    'k': 1,  # first\n    'k': 1  # again\n}\n"
    assert _fix("F601", source) == "d = {\n    'k': 1,  # first\n    # again\n}\n"


def test_assert_false_fix_keeps_multiline_message_valid() -> None:
    source = "assert False, (\n    'a'\n    'b')\n"
    assert _fix("B011", source) == "raise AssertionError((\n    'a'\n    'b'))\n"


def test_utcnow_fix_uses_the_imported_utc_and_is_unsafe() -> None:
    source = "from datetime import UTC, datetime\n\nnow = datetime.utcnow()\n"
    assert _fix("EMS104", source, unsafe=False) == source
    assert _fix("EMS104", source) == "from datetime import UTC, datetime\n\nnow = datetime.now(UTC)\n"


def test_utcnow_without_a_utc_spelling_is_reported_but_not_fixable() -> None:
    [finding] = _findings("EMS104", "from datetime import datetime\nnow = datetime.utcnow()\n")
    assert not finding.fixable
    assert "deprecated" in finding.message
    assert {t.value for t in finding.tags} == {"deprecated"}


def test_every_fixable_flag_yields_a_verified_fix() -> None:
    """`fixable` must not promise a fix the fixer then refuses."""
    cases = {
        "F632": "y = x is 'a'\n",
        "F601": "d = {'a': 1, 'b': 2, 'a': 1}\n",
        "F901": "raise NotImplemented\n",
        "E712": "y = x != False\n",
        "E713": "y = not x in z\n",
        "E714": "y = not x is z\n",
        "E722": "try:\n    pass\nexcept:\n    pass\n",
        "E731": "f = lambda: 0\n",
        "B006": "def f(x=list()):\n    pass\n",
        "B009": "y = getattr(o, 'a')\n",
        "B010": "setattr(o, 'a', 1)\n",
        "B011": "assert False\n",
        "EMS102": "def f():\n    return\n    print()\n",
        "EMS104": "import datetime\nx = datetime.datetime.utcfromtimestamp(0)\n",
        "EMS105": "try:\n    pass\nexcept OSError as e:\n    raise e\n",
    }
    for code, source in cases.items():
        [finding] = _findings(code, source)
        assert finding.fixable, code
        assert fixes_for(source, finding, "example.py", Config(select=(code,))) is not None, code


# --- detection details -----------------------------------------------------------------------


def test_repeated_keys_agree_with_pyflakes() -> None:
    from pyflakes import checker, messages

    sources = [
        "d = {'a': 1, 'a': 2}\n",
        "d = {'a': 1, 'a': 1}\n",
        "d = {'a': 1, 'a': 1, 'a': 2}\n",
        "d = {1: 'x', 1.0: 'y', True: 'z'}\n",
        "d = {x: 1, x: 2, 'x': 3}\n",
        "d = {(1, 2): 'a', (1, 2): 'b'}\n",
        "d = {a.b: 1, a.b: 2}\n",
        "d = {'a': f(), 'a': f()}\n",
        "d = {b'a': 1, 'a': 1}\n",
    ]
    kinds = (messages.MultiValueRepeatedKeyLiteral, messages.MultiValueRepeatedKeyVariable)
    for source in sources:
        flagged = {
            (m.lineno, m.col) for m in checker.Checker(ast.parse(source)).messages if isinstance(m, kinds)
        }
        ours = {(f.line, f.column) for f in _findings("F601", source) if "different values" in f.message}
        # pyflakes reports every occurrence; ems the later ones only.
        assert ours <= flagged, source
        assert bool(ours) == bool(flagged), source


def test_exact_repeat_is_reported_beyond_pyflakes_as_removable() -> None:
    [finding] = _findings("F601", "d = {'a': 1, 'a': 1}\n")
    assert "same value" in finding.message
    assert finding.fixable


def test_swallowed_exception_needs_a_body_that_does_nothing() -> None:
    assert len(_findings("EMS101", "try:\n    x()\nexcept Exception:\n    pass\n    ...\n")) == 1
    assert _findings("EMS101", "try:\n    x()\nexcept Exception:\n    pass\n    log()\n") == []


def test_swallowed_exception_is_only_a_broad_unexplained_handler() -> None:
    """Narrow handlers and explained ones are deliberate (click's try-first patterns)."""
    assert _findings("EMS101", "try:\n    x()\nexcept ValueError:\n    pass\n") == []
    assert len(_findings("EMS101", "try:\n    x()\nexcept (KeyError, Exception):\n    pass\n")) == 1
    assert len(_findings("EMS101", "try:\n    x()\nexcept builtins.BaseException:\n    pass\n")) == 1
    assert _findings("EMS101", "try:\n    x()\nexcept Exception:\n    # the probe may fail\n    pass\n") == []
    documented = 'def quiet():\n    """Ignore errors."""\n    try:\n        x()\n    except:\n        pass\n'
    assert _findings("EMS101", documented) == []


def test_open_rebound_in_module_is_not_the_builtin() -> None:
    assert _findings("EMS103", "from os import open\nfd = open('f', 0)\n") == []
    assert len(_findings("EMS103", "import io\nf = io.open('f')\n")) == 1


def test_bare_except_that_reraises_is_not_reported() -> None:
    assert _findings("E722", "try:\n    x()\nexcept:\n    undo()\n    raise\n") == []


def test_pointless_comparison_is_b015_not_b018() -> None:
    source = "x == 1\n"
    assert len(_findings("B015", source)) == 1
    assert _findings("B018", source) == []


def test_deep_expressions_do_not_break_rules() -> None:
    source = " + ".join(["1"] * 900) + "\n" + "y = " + "not " * 100 + "x in z\n"
    report = analyse(source, "deep.py")
    assert report.rule_errors == ()
    assert {"B018", "E713"} <= {f.code for f in report.findings}


def test_bare_except_fix_is_not_blocked_by_the_swallowed_exception_rule() -> None:
    source = "try:\n    run()\nexcept:\n    pass\n"
    result = fix_all(source, "example.py", Config(select=("E722", "EMS101")), unsafe=True)
    assert result.failures == ()
    assert result.text == "try:\n    run()\nexcept Exception:\n    pass\n"


def test_repeated_key_after_a_spread_is_not_removable() -> None:
    source = "d = {'a': 1, **other, 'a': 1}\n"
    assert _findings("F601", source) == []
    assert _fix("F601", source) == source


@pytest.mark.parametrize(
    ("source", "count"),
    [
        ("class Log:\n    def __init__(self, path):\n        self.file = open(path, 'a')\n", 0),
        ("def f(p):\n    fh = open(p)\n    with fh:\n        return fh.read()\n", 0),
        ("def f(p):\n    fh = open(p)\n    return fh\n", 0),
        ("def f(p):\n    fh = open(p)\n    data = fh.read()\n    fh.close()\n    return data\n", 1),
        (
            "def f(p):\n    fh = open(p)\n    def g():\n        with other:\n            pass\n    return g\n",
            1,
        ),
    ],
)
def test_open_ownership(source: str, count: int) -> None:
    assert len(_findings("EMS103", source)) == count


def test_mutable_default_with_docstring_sharing_a_line_is_not_fixable() -> None:
    source = "def f(x=[]):\n    'Doc.'; return x\n"
    [finding] = _findings("B006", source)
    assert not finding.fixable
    assert _fix("B006", source) == source


def test_utcnow_reference_is_reported_without_a_fix() -> None:
    source = "import datetime\nfield = Field(default_factory=datetime.datetime.utcnow)\n"
    [finding] = _findings("EMS104", source)
    assert not finding.fixable
    assert finding.range.start.column == source.splitlines()[1].index("datetime.datetime")
