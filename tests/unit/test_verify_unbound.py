"""A changed def whose only change took out an unused binding is judged without analysing it
again (``ems.fixes.verifybody.unbound``): the report must be ``analyse``'s exactly.

The real fixes of real files are compared with the full analysis, one at a time and all
together (the ``--unsafe-fixes`` run's batch), and the shortcut must really be taken on
them; the shapes it must leave to the full checks are compared too.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ems.core import Config, load_rules
from ems.core.analyse import analyse
from ems.core.registry import RuleSet
from ems.fixes.apply import apply_edits
from ems.fixes.context import FixContext
from ems.fixes.engine import compute_fix
from ems.fixes.verifybody import Judged, in_bodies
from ems.fixes.verifybody.parts import changes_in
from ems.fixes.verifybody.unbound import all_known, removed_binding
from judging import judged_text, report_key

STDLIB = Path(sys.modules["ast"].__file__ or "").parent
FILES = [
    STDLIB / name
    for name in (
        "tokenize.py",
        "enum.py",
        "pickle.py",
        "aifc.py",
        "inspect.py",
        "tempfile.py",
        "email/_header_value_parser.py",
        "test/support/os_helper.py",
        "urllib/parse.py",
        "dataclasses.py",
        "code.py",
        "ast.py",
    )
]
F_E9 = Config(select=("F", "E9"))


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules()


def _proven(judged: Judged, fixed: str) -> int:
    """How many of the fixed text's changed defs ``unbound`` proves."""
    lines = fixed.split("\n")
    changes = changes_in(judged, lines) or []
    return sum(removed_binding(judged, change, lines, frozenset()) is not None for change in changes)


def _fixed(text: str, judged: Judged, rules: RuleSet) -> list[str]:
    """Each F841, F401 and F541 fix alone, then all of them together."""
    ctx = FixContext(text, "m.py")
    fixes = []
    for finding in judged.report.findings:
        if finding.code in ("F841", "F401", "F541") and finding.fixable:
            fix = compute_fix(finding, ctx, rules)
            if fix is not None:
                fixes.append(fix)
    texts = [apply_edits(text, fix.edits) for fix in fixes]
    if len(fixes) > 1:
        texts.append(apply_edits(text, [edit for fix in fixes for edit in fix.edits]))
    return texts


def test_removed_bindings_are_judged_as_analyse_judges_them(rules: RuleSet) -> None:
    proven = taken = 0
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        judged = judged_text(text, F_E9, rules)
        for fixed in _fixed(text, judged, rules):
            got = in_bodies(judged, fixed, "m.py", F_E9, rules)
            proven += _proven(judged, fixed)
            if got is None:
                continue
            taken += 1
            assert report_key(got) == report_key(analyse(fixed, "m.py", F_E9, rules)), (path, fixed)
    # the shortcut is really taken (tokenize, enum, pickle and aifc alone have ten)
    assert proven >= 15
    assert taken >= 15


HEAD = "import os\n\n\ndef f(a):\n"


@pytest.mark.parametrize(
    ("text", "fixed", "proven"),
    [
        # `x = value` made `value`: the findings after it on its line move left
        (
            HEAD + "    x = g(f'{a}', f'no', a is 1)\n    return a\n",
            HEAD + "    g(f'{a}', f'no', a is 1)\n    return a\n",
            True,
        ),
        # a constant's assignment removed: the lines below move up
        (
            HEAD + "    x = (1, -2)\n    y = f'no'\n    return a\n",
            HEAD + "    y = f'no'\n    return a\n",
            True,
        ),
        # `as name` dropped from an `except` and a `with`
        (
            HEAD + "    try:\n        pass\n    except ValueError as exc:\n        pass\n    return f'no'\n",
            HEAD + "    try:\n        pass\n    except ValueError:\n        pass\n    return f'no'\n",
            True,
        ),
        (
            HEAD + "    with open(a) as handle:\n        pass\n    return f'no'\n",
            HEAD + "    with open(a):\n        pass\n    return f'no'\n",
            True,
        ),
        # the name is a word elsewhere in the def (here a string): not proven
        (
            HEAD + "    x = g()\n    return 'x'\n",
            HEAD + "    g()\n    return 'x'\n",
            False,
        ),
        # a finding inside the removed text (a repeated key): not proven
        (
            HEAD + "    x = {1: 1, 1: 2}\n    return a\n",
            HEAD + "    return a\n",
            True,  # (proven, but the finding in it sends the text to the full checks)
        ),
        # the removed value read a name: the module's `os` becomes unused, not proven
        (
            HEAD + "    x = os.sep\n    return a\n",
            HEAD + "    return a\n",
            False,
        ),
        # the last statement of its block: `pass` takes its place
        (
            HEAD + "    if a:\n        x = 1  # one\n    return f'no'\n",
            HEAD + "    if a:\n        pass  # one\n    return f'no'\n",
            True,
        ),
        # an import in the def: removed, `pass` in its place, one name of several
        (
            HEAD + "    import json\n    return f'no'\n",
            HEAD + "    return f'no'\n",
            True,
        ),
        (
            HEAD + "    try:\n        import json.tool\n    except ImportError:\n        pass\n",
            HEAD + "    try:\n        pass\n    except ImportError:\n        pass\n",
            True,
        ),
        (
            HEAD + "    from json import dumps, loads, load\n    return dumps, load, f'no'\n",
            HEAD + "    from json import dumps, load\n    return dumps, load, f'no'\n",
            True,
        ),
        (
            HEAD + "    from json import dumps, loads\n    return dumps, f'no'\n",
            HEAD + "    from json import dumps\n    return dumps, f'no'\n",
            True,
        ),
        # the name in the docstring or a comment is no identifier: proven; in another
        # string it may be an annotation: not proven
        (
            HEAD + '    """Not json."""\n    import json  # json\n    return f"no"\n',
            HEAD + '    """Not json."""\n    return f"no"\n',
            True,
        ),
        (
            HEAD + "    import json\n    return 'json'\n",
            HEAD + "    return 'json'\n",
            False,
        ),
        # a value that reads only the def's own parameters (never reported unused)
        (
            HEAD + "    x = a.memo['k'][1:]\n    return f'no'\n",
            HEAD + "    return f'no'\n",
            True,
        ),
        # ... but not one bound again in the def, nor a module name, nor in a nested scope
        (
            HEAD + "    a = 2\n    x = a.memo\n    return f'no'\n",
            HEAD + "    a = 2\n    return f'no'\n",
            False,
        ),
        (
            HEAD + "    x = os.sep\n    return os\n",
            HEAD + "    return os\n",
            False,
        ),
        (
            HEAD + "    def g():\n        x = a\n        return 1\n\n    return g\n",
            HEAD + "    def g():\n        return 1\n\n    return g\n",
            False,
        ),
        # an f-string's `f` dropped (F541): the findings after it on its line move left
        (
            HEAD + "    raise ValueError(f'no', a is 1)\n",
            HEAD + "    raise ValueError('no', a is 1)\n",
            True,
        ),
        # ... not in a concatenation: `f'' '' f''` made `'' '' f''` is an f-string still
        (
            HEAD + "    return f'no' '' f'no'\n",
            HEAD + "    return 'no' '' f'no'\n",
            False,
        ),
        # ... not where a plain string is read otherwise: an `is` operand (F632), a dict
        # key (F601), a typing call's argument or a subscript (an annotation)
        (
            HEAD + "    return a is f'no'\n",
            HEAD + "    return a is 'no'\n",
            False,
        ),
        (
            HEAD + "    return {f'k': 1, 'k': 2}\n",
            HEAD + "    return {'k': 1, 'k': 2}\n",
            False,
        ),
        (
            HEAD + "    return cast(f'os', a)\n",
            HEAD + "    return cast('os', a)\n",
            False,
        ),
        # the name bound again in a nested def: not proven
        (
            HEAD + "    x = 1\n\n    def g():\n        x = 2\n        return x\n\n    return g\n",
            HEAD + "\n    def g():\n        x = 2\n        return x\n\n    return g\n",
            False,
        ),
    ],
)
def test_shapes(rules: RuleSet, text: str, fixed: str, proven: bool) -> None:
    judged = judged_text(text, F_E9, rules)
    assert any(f.code in ("F841", "F401", "F541") and f.fixable for f in judged.report.findings)
    assert _proven(judged, fixed) == int(proven)
    got = in_bodies(judged, fixed, "m.py", F_E9, rules)
    if got is not None:
        assert report_key(got) == report_key(analyse(fixed, "m.py", F_E9, rules))


def test_a_rule_it_does_not_know_leaves_the_def_to_the_full_checks(rules: RuleSet) -> None:
    judged = judged_text(HEAD + "    x = g()\n    return a\n", Config(select=("ALL",)), rules)
    assert not all_known(judged.split(rules, Config(select=("ALL",)), "m.py"))
    assert all_known(judged.split(rules, F_E9, "m.py"))
    assert not all_known(judged.split(rules, Config(select=("F", "E9", "B")), "m.py"))
