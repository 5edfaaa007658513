"""Fixes computed as text edits (``ems.fixes.textedit``, the rules' ``text_fix``) give the
text libcst's fix gives, and leave to libcst every shape they do not handle.

The whole-stdlib differential is in ``docs/implementation/performance.md``; these cases
keep a representative set of each rule's shapes. Each case says whether the text route
must handle it (``True``) or hand it to libcst (``False``, e.g. a comment would be lost).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ems.core import Config, analyse, load_rules
from ems.core.registry import RuleSet
from ems.fixes import engine
from ems.fixes.apply import apply_edits
from ems.fixes.context import FixContext
from ems.fixes.engine import compute_fix, context_for, fix_all, text_fix, with_fixability
from ems.fixes.textedit import CstNeeded

CASES: list[tuple[str, str, bool]] = [
    # F401: whole statements, names of a list, bracketed lists
    ("F401", "import os\nimport sys\nsys.exit()\n", True),
    ("F401", "import os  # why\n", True),
    ("F401", "import os, sys\nprint(sys)\n", True),
    ("F401", "import sys , os\nprint(sys)\n", True),
    ("F401", "import a.b as c, d\nprint(d)\n", True),
    ("F401", "from m import a, b, c\nprint(a, c)\n", True),
    ("F401", "from m import (a, b, c)\nprint(a, b)\n", True),
    ("F401", "from m import (a, b, c, )\nprint(a, b)\n", True),
    ("F401", "from m import (\n    a,\n    b,\n)\nprint(a)\n", True),
    ("F401", "from m import (\n    a,  # keep a\n\n    b,\n)\nprint(a)\n", True),
    ("F401", "from m import (a,\n    b)\nprint(b)\n", True),
    ("F401", "from m import (\n    a,\n    b,  # about b\n)\nprint(a)\n", False),
    ("F401", "from m import (\n    a,  # about a\n    b,\n)\nprint(b)\n", False),
    ("F401", "from m import (a,\n    b)\nprint(a)\n", False),
    ("F401", "def f():\n    import json\n", True),
    ("F401", "def f():\n    import json\n    return 1\n", True),
    ("F401", "if x:\n    import json  # c\nelse:\n    pass\n", True),
    ("F401", "import os; import sys\nprint(sys)\n", False),
    ("F401", "import sys; import os\nprint(sys)\n", False),
    ("F401", "if x: import os\n", False),
    ("F401", "from m import \\\n    a\n", True),
    ("F401", "x = 'é'; import os\n", False),
    ("F401", "é = 1\nfrom m import a, é2\nprint(a)\n", True),
    # F841
    ("F841", "def f():\n    x = 1\n    return 2\n", True),
    ("F841", "def f():\n    x = 1\n", True),
    ("F841", "def f():\n    x = g()\n", True),
    ("F841", "def f():\n    x = (\n        g()\n    )\n", True),
    ("F841", "def f():\n    x = y = g()\n    return y\n", True),
    ("F841", "def f():\n    y = x = g()\n    return y\n", True),
    ("F841", "def f():\n    x = [1,\n         2]  # c\n    return 3\n", True),
    ("F841", "def f():\n    x = 1; y = 2\n    return y\n", False),
    ("F841", "def f():\n    try:\n        pass\n    except E as e:\n        pass\n", True),
    ("F841", "def f():\n    try:\n        pass\n    except (A, B)  as  e :\n        pass\n", True),
    ("F841", "def f():\n    try:\n        pass\n    except* E as e:\n        pass\n", False),
    ("F841", "def f():\n    with open(p) as fh:\n        pass\n", True),
    ("F841", "def f():\n    with open(p) \\\n            as fh:\n        pass\n", False),
    ("F841", "def f():\n    with open(p) as fh, open(q) as gh:\n        return gh\n", True),
    ("F841", "def f():\n    x: int = 1\n", False),
    ("F841", "def f():\n    x = \\\n        g()\n", False),
    ("F841", "def f():\n    x = lambda: g()\n", True),
    # B007, E722, E713, E711, E712, F541, F632, F901, F811, F601
    ("B007", "for i in range(3):\n    print('x')\n", True),
    ("B007", "for k, (v, w) in items:\n    print(v, w)\n", True),
    ("E722", "try:\n    run()\nexcept:  # ignore\n    log()\n", True),
    ("E722", "try:\n    run()\nexcept :\n    log()\n", True),
    ("E722", "try:\n    run()\nexcept: return None\n", True),
    ("E713", "if not x in y:\n    pass\n", True),
    ("E713", "z = a and not (x in y)\n", True),
    ("E713", "if not(x in y):\n    pass\n", True),
    ("E713", "z = not é.get('中') in y\n", True),
    ("E713", "z = not (x) in (y)\n", True),
    ("E713", "z = not (x\n    in y)\n", False),
    ("E711", "if x == None:  # check\n    pass\n", True),
    ("E711", "y = None != x\n", True),
    ("E711", "y = a == b == None\n", True),
    ("E711", "y = (x)==None\n", False),
    ("E713", "z = not (x)in(y)\n", False),
    ("E712", "if x == True:\n    pass\n", True),
    ("E712", "if x != False:\n    pass\n", True),
    ("F541", 'print(f"hello")  # greet\n', True),
    ("F541", "x = F'value'\n", True),
    ("F541", 'x = rf"a\\d"\n', True),
    ("F541", 'x = f"{{braces}}"\n', True),
    ("F541", 'x = f"""multi\nline"""\n', True),
    ("F541", 'x = f"a" "b"\n', False),
    ("F632", "if x is 'a':\n    pass\n", True),
    ("F632", "if x is not 1:\n    pass\n", True),
    ("F901", "def f():\n    raise NotImplemented\n", True),
    ("F901", "def f():\n    raise NotImplemented('x')\n", True),
    ("F811", "import os\nimport os\nos.sep\n", True),
    ("F811", "from m import a, b\nfrom n import a\nprint(a, b)\n", True),
    ("F601", "d = {'a': x, 'b': 2, 'a': x}  # c\n", True),
    ("F601", "d = {'a': x, 'a': x, 'b': 2}\n", True),
    ("F601", "d = {'a': x , 'a': x}\n", True),
    ("F601", "d = {\n    'k': (1, 'one'),  # first\n    'k': (1, 'one'),  # again\n    'z': 2,\n}\n", False),
    ("F601", "d = {'a': (x), 'a': (x)}\n", False),
    # line ends other than "\n"
    ("F401", "import os\r\nimport sys\r\nsys.exit()\r\n", True),
    ("F401", "def f():\r\n    import json\r\n", True),
    ("F401", "from m import (\r\n    a,\r\n    b,\r\n)\r\nprint(a)\r\n", False),
    ("F841", "def f():\r\n    x = g()\r\n    y = 1\r\n    return 2\r\n", True),
    ("E722", "try:\r\n    run()\r\nexcept:\r\n    log()\r\n", True),
    ("E714", "if not x is None:\n    pass\n", True),
    ("E714", "z = not (a) is (b)\n", True),
    ("EMS105", "try:\n    run()\nexcept OSError as e:\n    raise e  # again\n", True),
    ("EMS105", "try:\n    run()\nexcept OSError as e:\n    raise (e)\n", False),
    ("B011", "def f():\n    assert False  # never\n", True),
    ("B011", "assert False, 'unreachable: ' + x\n", True),
    ("B011", "if x: assert (False), f'{x}'\n", True),
    ("B011", "assert False ,(\n    'two lines')\n", False),
    ("RUF100", "x = 1  # noqa: E711\n", True),
    ("E731", "double = lambda x: 2 * x  # twice\n", True),
    ("E731", "f = lambda: 0\n", True),
    ("E731", "class A:\n    k = lambda self, *a, k=1, **kw: (a, k)\n", True),
    ("E731", "def g():\n    f = lambda x={'a': 1}: x\n    return f\n", True),
    ("E731", "if 1:\n  f = lambda : 0\n", True),
    ("E731", "class A:\n    key = lambda self: (1,\n        2)\n", False),
    ("E731", "f = lambda x:(x)\n", False),
    ("B009", "v = getattr(obj, 'name')  # keep\n", True),
    ("B009", 'v = getattr(a + b, "real")\n', True),
    ("B009", "v = getattr(f(x), 'é')\n", True),
    ("B009", "v = getattr(1, 'real')\n", True),
    ("B009", "v = getattr('s', 'upper')\n", True),
    ("B009", "v = getattr((a, b), 'count')\n", True),
    ("B009", "v = getattr((a), 'b')\n", False),
    ("B009", "v = getattr(o, 'a' 'b')\n", False),
    ("B010", "setattr(obj, 'name', 1)  # keep\n", True),
    ("B010", 'def f(self):\n    setattr(self, "é", [1, 2])\n', True),
    ("B010", "x = 1; setattr(a or b, 'y', x)\n", True),
    ("B010", "if x: setattr(a or b, 'y', x)\n", False),
]


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules()


def _cst_text(text: str, finding: object, rules: RuleSet) -> str | None:
    """What the engine's libcst route gives (the sliced context, as ``fix_all`` makes it)."""
    ctx = context_for(text, "t.py", [finding], rules)  # type: ignore[list-item]
    fix = compute_fix(finding, ctx, rules, lambda: FixContext(text, "t.py"), text_route=False)  # type: ignore[arg-type]
    return None if fix is None else apply_edits(text, fix.edits)


@pytest.mark.parametrize(("code", "text", "handled"), CASES)
def test_the_text_route_gives_libcst_s_text(code: str, text: str, handled: bool, rules: RuleSet) -> None:
    config = Config(select=(code, "E711"), extend_select=())  # RUF100 judges E711's noqa
    report = analyse(text, "t.py", config, rules)
    offers = [f for f in report.findings if f.code == code and f.fixable]
    assert offers, f"no {code} offer in the case"
    outcomes = []
    for finding in offers:
        by_text = text_fix(finding, FixContext(text, "t.py"), rules)
        if isinstance(by_text, CstNeeded):
            outcomes.append(False)
            continue
        outcomes.append(True)
        fixed = None if by_text is None else apply_edits(text, by_text.edits)
        assert fixed == _cst_text(text, finding, rules)
        assert by_text is None or by_text.safety is not None
    assert any(outcomes) is handled, "handled by the text route" if handled else "left to libcst"


def test_fix_all_is_the_same_with_and_without_the_text_routes(
    rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop ``ems fix --unsafe-fixes`` runs, on every case together with libcst alone."""
    texts = [text for _, text, _ in CASES]
    config = Config(unsafe_fixes=True)
    with_text = [fix_all(text, "t.py", config, ruleset=rules) for text in texts]
    monkeypatch.setattr(engine, "_text_fix", lambda rule, finding, ctx: CstNeeded())
    without = [fix_all(text, "t.py", config, ruleset=rules) for text in texts]
    for one, other in zip(with_text, without, strict=True):
        assert (one.text, one.applied, one.fixed) == (other.text, other.applied, other.fixed)


_PROBE = textwrap.dedent(
    """
    import json, sys
    from ems.core import Config, analyse, load_rules
    from ems.fixes.engine import with_fixability
    text = sys.stdin.read()
    rules = load_rules()
    config = Config()
    report = with_fixability(text, "m.py", config, rules, analyse(text, "m.py", config, rules))
    print(json.dumps({
        "libcst": "libcst" in sys.modules,
        "fixability": [f.fixability.value if f.fixability else None for f in report.findings],
    }))
    """
)


def _probe(text: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], input=text, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_judging_text_fixable_offers_never_imports_libcst() -> None:
    out = _probe("import os, sys\nprint(sys)\n\n\ndef f(items):\n    for i in items:\n        x = 1\n")
    assert out["libcst"] is False
    assert out["fixability"] and all(out["fixability"])


def test_an_offer_the_text_route_leaves_imports_libcst() -> None:
    out = _probe("import os\n\n\ndef f(x=[]):\n    return x\n")  # B006 has no text route
    assert out["libcst"] is True
    assert "safe" in out["fixability"] and "hidden" in out["fixability"]


def test_with_fixability_is_the_same_through_either_route(
    rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = Config()
    texts = [text for _, text, _ in CASES]

    def judged() -> list[tuple[object, ...]]:
        return [
            tuple(
                f.fixability
                for f in with_fixability(t, "t.py", config, rules, analyse(t, "t.py", config, rules)).findings
            )
            for t in texts
        ]

    first = judged()
    monkeypatch.setattr(engine, "_text_fix", lambda rule, finding, ctx: CstNeeded())
    assert judged() == first


def test_the_stdlib_modules_fix_the_same_through_either_route(
    rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A few real modules with many offers (whichever this interpreter has)."""
    folder = Path(json.__file__).parent.parent
    names = ["imp.py", "webbrowser.py", "netrc.py", "ssl.py", "logging/__init__.py", "email/utils.py"]
    found = [n for n in names if (folder / n).is_file()]
    texts = [(folder / n).read_text(encoding="utf-8") for n in found]
    assert len(texts) >= 3
    config = Config(unsafe_fixes=True)
    with_text = [fix_all(t, "m.py", config, ruleset=rules).text for t in texts]
    monkeypatch.setattr(engine, "_text_fix", lambda rule, finding, ctx: CstNeeded())
    without = [fix_all(t, "m.py", config, ruleset=rules).text for t in texts]
    assert with_text == without
