"""A huge module analysed a piece at a time (``ems.core.piecewise``, issue 13's memory):
the same findings as the whole analysis, every field, and never the whole tree alive."""

from __future__ import annotations

import ast
import gc
import sysconfig
import time
from pathlib import Path

import pytest

import ems.core.parsing as parsing
import ems.core.piecewise as piecewise
from ems.core.analyse import analyse
from ems.core.config import Config
from ems.core.model import Report
from ems.core.registry import load_rules
from ems.core.source import SourceText

STDLIB = Path(sysconfig.get_paths()["stdlib"])
MODULES = (
    "argparse.py",
    "ctypes/__init__.py",  # a parameter named like an unused import: F811 (a stub hides it)
    "typing.py",
    "inspect.py",
    "tarfile.py",
    "pydoc.py",
    "email/_header_value_parser.py",
    "asyncio/base_events.py",
    "collections/__init__.py",
)

# One block of module code touching what the module-scoped rules and the pieces meet: an
# import used only inside a function of another piece, one redefined by a parameter, one
# rebound in a body, imports read only through `cast("T", x)` strings (in a function and in
# a class), reads of undefined names from many bodies (one finding each), a
# global, a class with methods, nested defs, an unused import in a body, suppressions used
# and unused, and the node-local rules' usual findings.
BLOCK = """\
import os
import json
from collections import OrderedDict  # noqa: F401
import re  # noqa: E711
from typing import cast
from decimal import Decimal
from fractions import Fraction
from numbers import Number

def reads_{i}(value):
    name = f"constant"
    if value == None:
        return missing_{m}
    return os.path.join(value, undefined_name)

def shadows_{i}(json, other=len):
    return json

def casts_{i}(value):
    return cast("Decimal", value)  # a string the module's `cast` makes an annotation

class Casts_{i}:
    alias = cast("Fraction", None)

class Methods_{i}:
    def method(self):
        return cast("Number", self)  # a method kept whole keeps its class whole

def rebinds_{i}():
    global counter
    counter = 1
    import sys
    return OrderedDict

class Holder_{i}(Base_{m}):
    attribute = undefined_name
    def method(self, x=json):
        def inner():
            return x == None
        return inner

try:
    import yaml_{i}
except ImportError:
    yaml_{i} = None

handle_{i} = open("f")
for item_{i} in range(3):
    pass
"""


def _module(blocks: int) -> str:
    return "".join(BLOCK.format(i=i, m=i % 3) for i in range(blocks))


def _pieces(text: str, size: int, path: str = "m.py", config: Config | None = None) -> Report | None:
    return piecewise.analyse_in_pieces(
        text, path, config or Config(), load_rules(), SourceText(text), time.perf_counter(), size
    )


def _same(piecewise_report: Report | None, whole: Report) -> None:
    assert piecewise_report is not None, "the piecewise path refused the module"
    assert piecewise_report.findings == whole.findings
    assert [f.fingerprint for f in piecewise_report.findings] == [f.fingerprint for f in whole.findings]
    assert piecewise_report.rule_errors == whole.rule_errors


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("size", [200, 5_000])
def test_stdlib_modules_analysed_in_pieces_equal_the_whole_analysis(name: str, size: int) -> None:
    path = STDLIB / name
    if not path.exists():
        pytest.fail(f"{path} is missing from this interpreter's standard library")
    text = path.read_text(encoding="utf-8")
    _same(_pieces(text, size, name), analyse(text, name, Config(), load_rules()))


@pytest.mark.parametrize("size", [400, 4_000])
@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
@pytest.mark.parametrize("select", ["", "F,E9", "E711,F541,EMS103"])  # the last: no module-scoped rule
def test_a_generated_module_analysed_in_pieces_equals_the_whole_analysis(
    size: int, line_end: str, select: str
) -> None:
    text = _module(12).replace("\n", line_end)
    config = Config(select=tuple(select.split(","))) if select else Config()
    whole = analyse(text, "m.py", config, load_rules())
    codes = {f.code for f in whole.findings}
    if not select:
        assert {"F401", "F811", "F821", "F541", "E711", "EMS103", "RUF100"} <= codes, codes
    _same(_pieces(text, size, config=config), whole)


LATE = {
    "an import below a body that imports its name": (  # F811: bodies run after the module
        "def early():\n    import pickle\n    return pickle\n",
        "import pickle\n",
    ),
    "a watched name bound below its use": (
        'def early():\n    handle = open("f")\n    return handle\n',
        "def open(name):\n    return name\n",
    ),
    "a typing import below a body that casts": (  # else a false F401 for Integral
        'def early(value):\n    return cast("Integral", value)\n',
        "from typing import cast\nfrom numbers import Integral\n",
    ),
}


@pytest.mark.parametrize("case", LATE, ids=list(LATE))
def test_a_fact_met_late_checks_every_piece_again(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each piece is checked knowing the pieces up to itself; when a later piece changes
    what an earlier one was checked under, every piece is checked again knowing the whole
    module, and the findings are the whole analysis's."""
    early, late = LATE[case]
    filler = "".join(f"x_{k} = {k}\n" for k in range(100))  # `early` alone in the first piece
    text = early + filler + _module(6) + late
    runs: list[bool] = []
    real = piecewise._check_pieces
    monkeypatch.setattr(piecewise, "_check_pieces", lambda *a, **k: runs.append(k["learn"]) or real(*a, **k))
    _same(_pieces(text, 400), analyse(text, "m.py"))
    assert runs == [True, False]
    runs.clear()
    text = late + early + filler + _module(6)
    _same(_pieces(text, 400), analyse(text, "m.py"))
    assert runs == [True]  # known in time: one run


def test_a_module_level_raise_followed_by_code_is_analysed_whole() -> None:
    """The statements after it are one unreachable block (EMS102): pieces would cut it."""
    text = _module(3) + "raise SystemExit\n" + _module(2)
    assert _pieces(text, 300) is None
    assert _pieces(_module(3) + "raise SystemExit\n", 300) is not None  # last: nothing cut


@pytest.mark.parametrize(
    "tail",
    ["def broken(:\n    pass\n", "x = 1\ry = 2\n", "z = '\x00'\n"],
    ids=["syntax-error", "lone-cr", "nul"],
)
def test_what_pieces_cannot_take_goes_the_usual_way(tail: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _module(4) + tail
    whole = analyse(text, "m.py")
    assert _pieces(text, 300) is None
    monkeypatch.setattr(parsing, "PIECEWISE_MIN_CHARS", 1)
    assert analyse(text, "m.py") == whole


def test_analyse_takes_the_piecewise_path_from_the_threshold_on(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _module(20)
    whole = analyse(text, "m.py")
    checked: list[int] = []
    real = piecewise._check_piece
    monkeypatch.setattr(piecewise, "_check_piece", lambda *a, **k: checked.append(1) or real(*a, **k))
    assert analyse(text, "m.py") == whole and not checked  # below the threshold: whole
    monkeypatch.setattr(parsing, "PIECEWISE_MIN_CHARS", len(text))
    monkeypatch.setattr(piecewise, "PIECE_CHARS", 1_000)
    monkeypatch.setattr(piecewise, "analyse_in_pieces", _with_piece_chars(piecewise.analyse_in_pieces, 1_000))
    report = analyse(text, "m.py")
    assert len(checked) > 5
    _same(report, whole)


def _with_piece_chars(function, size: int):  # type: ignore[no-untyped-def]
    return lambda *args, **kwargs: function(*args, **{**kwargs, "piece_chars": size})


def _live_nodes() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, ast.AST))


def test_only_one_piece_tree_is_alive_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bound the memory rests on, counted (not timed): while each piece is checked,
    and while the module-scoped rules run over the outline, the ``ast`` nodes alive are a
    small part of the module's tree: each piece's tree is dropped, and the outline holds
    only the statements around function bodies, which stubs stand in for."""
    body = "".join(f"    value_{k} = [item * {k} for item in argument if item]\n" for k in range(25))
    text = "import os\n" + "".join(
        f"def function_{i}(argument):\n{body}    return os.sep\n\n" for i in range(300)
    )
    whole_nodes = sum(1 for _ in ast.walk(ast.parse(text)))
    before = _live_nodes()
    alive: list[int] = []
    real_check, real_outline = piecewise._check_piece, piecewise._outline_pass

    def check(tree, *args, **kwargs):  # type: ignore[no-untyped-def]
        alive.append(_live_nodes() - before)  # this piece's tree, the outline so far
        return real_check(tree, *args, **kwargs)

    def outline(*args, **kwargs):  # type: ignore[no-untyped-def]
        alive.append(_live_nodes() - before)
        return real_outline(*args, **kwargs)

    monkeypatch.setattr(piecewise, "_check_piece", check)
    monkeypatch.setattr(piecewise, "_outline_pass", outline)
    report = _pieces(text, len(text) // 20)
    assert report is not None and len(alive) > 15
    assert max(alive) < whole_nodes // 10, (max(alive), whole_nodes)
    _same(report, analyse(text, "m.py"))
