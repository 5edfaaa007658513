"""Fixes cost what their edit touches, and say exactly what a whole-module rewrite says.

``ems.fixes.cstindex`` replaces libcst's position/parent providers and the per-fix
``Module.deep_replace`` + ``Module.code`` + whole-text diff: these tests hold it to the
libcst originals, node by node, on tricky layouts and on ems's own sources.
"""

from __future__ import annotations

import logging
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider

from ems.core import Config, analyse
from ems.core.model import Finding, Range, Safety
from ems.fixes import fix_all
from ems.fixes.context import FixContext, minimal_edit
from ems.fixes.cstindex import ModuleIndex

SAMPLES = {
    "nested": (
        "import os\n\n\nclass A:\n    # c\n    x = 1\n\n    def f(self):\n        if x:\n"
        "            y = 2  # t\n        else:\n            pass\n        for i in x:\n"
        "            pass\n        else:\n            z = 3\n        return y\n"
    ),
    "tabs_crlf": "def f():\r\n\tif a:\r\n\t\tb = 1\r\n\treturn b\r\n",
    "mixed_indent": "if a:\n  b = 1\n  if c:\n        d = 2\nelse:\n e = 3\n",
    "no_trailing_newline": "x = 1\ny = 2",
    "semicolons": "a = 1; b = 2\nif a: c = 3; d = 4\n",
    "form_feed": "x = 1\n\x0c\ndef f():\n    return x\n",
    "elif": "if a:\n    pass\nelif b:\n    x = 1\nelif c:\n    y = 2\nelse:\n    z = 3\n",
    "decorated": "@d\n# between\n@e(1)\nclass C:\n    @property\n    def p(self): return 1\n",
    "lone_statement_blocks": "def f():\n    x = 1\n\ndef g():\n    pass\n",
    "brackets": (
        "class C:\n    def f(self, a):\n        if (a ==\n                None) and not a in (1,\n"
        "                2):\n            return [\n                a,  # c\n                self.b(\n"
        "                    a, None),\n            ]\n        for i, (j,\n                k) in a:\n"
        "            pass\n"
    ),
}


def _provider_view(module: cst.Module) -> tuple[dict, dict]:
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = {
        node: ((r.start.line, r.start.column), (r.end.line, r.end.column))
        for node, r in wrapper.resolve(PositionProvider).items()
    }
    return positions, dict(wrapper.resolve(ParentNodeProvider))


def _own_sources() -> list[Path]:
    root = Path(__file__).resolve().parents[2] / "src" / "ems" / "fixes"
    return sorted(root.glob("*.py"))


@pytest.mark.parametrize("name", [*SAMPLES, *(p.name for p in _own_sources())])
def test_index_equals_libcst_providers(name: str) -> None:
    text = SAMPLES[name] if name in SAMPLES else next(p for p in _own_sources() if p.name == name).read_text()
    module = cst.parse_module(text)
    positions, parents = _provider_view(module)
    index = ModuleIndex(module)
    assert index.code == module.code
    assert index.parents == parents
    mine = {node: index.range_of(node) for node in index.syntactic}
    assert list(mine) == list(positions)  # same order: ``find`` breaks ties by it
    assert mine == positions


def _replacements(module: cst.Module, parents: dict) -> list[tuple[cst.CSTNode, object]]:
    """Per node: a same-type copy with changed content where that is easy, and removal or
    flattening for statements (what the rules' fixes do)."""
    cases: list[tuple[cst.CSTNode, object]] = []
    for node in parents:
        if isinstance(node, cst.Name):
            cases.append((node, node.with_changes(value=node.value + "_x")))
        elif isinstance(node, cst.Integer):
            cases.append((node, cst.Name("n")))
        elif isinstance(node, cst.Comparison):  # E711/E713's kind of fix: same type, new operator
            cases.append(
                (
                    node,
                    node.with_changes(
                        comparisons=[c.with_changes(operator=cst.Is()) for c in node.comparisons]
                    ),
                )
            )
        elif isinstance(node, (cst.List, cst.Tuple, cst.Call)):  # spanning lines: indented by the block
            cases.append((node, node.deep_clone()))
        elif isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            cases.append((node, cst.RemovalSentinel.REMOVE))
            cases.append((node, cst.FlattenSentinel([node, cst.SimpleStatementLine([cst.Pass()])])))
            cases.append((node, cst.SimpleStatementLine([cst.Expr(cst.Name("moved"))])))
        elif isinstance(node, cst.BaseSmallStatement):
            cases.append((node, cst.Pass()))
        elif isinstance(node, (cst.IndentedBlock, cst.Module)):
            body = list(node.body)
            if len(body) > 1:
                cases.append((node, node.with_changes(body=body[1:])))
                cases.append(
                    (node, node.with_changes(body=[*body[:1], cst.SimpleStatementLine([cst.Pass()])]))
                )
    return cases


@pytest.mark.parametrize("name", list(SAMPLES))
def test_local_replacement_equals_whole_module_rewrite(name: str) -> None:
    text = SAMPLES[name]
    ctx = FixContext(text, "sample.py")
    finding = Finding("X1", "x", None, Range.of(1, 0, 1, 0), "m", "sample.py")  # type: ignore[arg-type]
    cases = _replacements(ctx.module, ctx.parents)
    assert cases
    local = 0
    for old, new in cases:
        try:
            expected_module = ctx.module.deep_replace(old, new)  # type: ignore[arg-type]
            expected_text = expected_module.code  # type: ignore[union-attr]
        except (cst.CSTValidationError, TypeError):
            continue  # a replacement libcst itself refuses
        expected = minimal_edit(ctx.source, expected_text + ctx._lost_tail)
        fix = ctx.replace(old, new, "t", Safety.SAFE, finding)  # type: ignore[arg-type]
        assert fix.edits == (expected,), (type(old).__name__, new)
        local += ctx.index.local_replacement(old, new) is not None  # type: ignore[arg-type]
    if name != "no_trailing_newline":
        assert local > len(cases) // 2  # the fast path is the usual one


def test_find_picks_the_outermost_node_at_a_position() -> None:
    ctx = FixContext("x = (a.b)(c)\n", "t.py")
    call = ctx.find(cst.Call, Range.of(1, 4, 1, 4))
    assert isinstance(call, cst.Call)
    assert ctx.find(cst.Attribute, Range.of(1, 5, 1, 5)) is not None
    assert ctx.find(cst.Call, Range.of(1, 40, 1, 40)) is None  # beyond the line: nothing
    assert ctx.range_of(call) == Range.of(1, 4, 1, 12)


@pytest.mark.parametrize(
    ("source", "fixed"),
    [
        ("import os, os\n", ""),  # raised CSTValidationError (trailing comma) before
        ("import a, b\nprint(a)\n", "import a\nprint(a)\n"),
        ("import os, sys, os\nprint(sys)\n", "import sys\nprint(sys)\n"),
        ("from m import (a,\n    b)\nprint(a)\n", "from m import (a,\n)\nprint(a)\n"),
    ],
)
def test_removing_the_last_import_name(source: str, fixed: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="ems.fixes"):
        result = fix_all(source, "example.py", Config(select=("F401", "F811")))
    assert result.text == fixed
    assert not [r for r in caplog.records if "raised" in r.getMessage()]
    assert analyse(result.text, "example.py", Config(select=("F401",))).findings == ()
