"""One walk per file: the scope pass hands the rules the same nodes, with the same
ancestors, as the engine's own walk (issue 18)."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from ems.core.analyse import _NOT_IN_SCOPE_PASS, _walk, analyse, scope_plan, select_rules
from ems.core.config import Config
from ems.core.registry import RuleSet, load_rules
from ems.core.rule import AnalysisContext, Hit, ParentChain, Rule
from ems.core.scope import build_scope_model
from ems.core.source import SourceText

TRICKY = textwrap.dedent(
    """
    from __future__ import annotations
    from typing import Annotated, Literal, cast
    import os.path as osp

    def f(a: "Literal['x', 'y']" = g(1), *args: Annotated[int, h(2)], k=lambda q=m(): q, **kw) -> "os.Path":
        global counter
        try:
            return [osp.join(x).y.z() for x in args if await_it(x)]
        except (ValueError, KeyError) as err:
            raise RuntimeError(f"{err!r:>{width}}") from None
        finally:
            del kw

    class C(Base, metaclass=Meta):
        x: int = field(default_factory=list)
        y = cast("dict[str, int]", {})
        def m(self) -> None:
            while True:
                if self.a.b.c == None:
                    break
            else:
                continue
            match self.v:
                case {"k": [1, *rest]} | P(a=1) as whole if rest:
                    print(whole)
    async def co():
        async with open_it() as (a, b):
            async for i in agen():
                await i
        return {k: v async for k, v in pairs()}
    """
)


def _node_types() -> list[type[ast.AST]]:
    leaves = [
        c
        for c in vars(ast).values()
        if inspect.isclass(c) and issubclass(c, ast.AST) and not c.__subclasses__()
    ]
    return [c for c in leaves if not issubclass(c, _NOT_IN_SCOPE_PASS)]


class _Recorder(Rule):
    code = "X900"

    def __init__(self) -> None:
        self.seen: list[tuple[ast.AST, list[ast.AST]]] = []

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        self.seen.append((node, list(ctx.ancestors)))
        return iter(())


def _both_ways(text: str) -> tuple[dict[int, list[int]], dict[int, list[int]], int]:
    tree = ast.parse(text)
    ctx = AnalysisContext(path="m.py", source=SourceText(text), tree=tree)
    recorder = _Recorder()
    dispatch = {t: (recorder,) for t in _node_types()}
    _walk(tree, ctx, dispatch, [], set(), lambda rule, exc: None)  # type: ignore[arg-type]
    walked = {id(n): [id(a) for a in chain] for n, chain in recorder.seen}
    model = build_scope_model(tree, ctx, visit=dispatch)
    chain = ParentChain(model.parents)
    passed: dict[int, list[int]] = {}
    for node in model.visited:
        chain.node = node
        passed[id(node)] = [id(a) for a in chain]
    return walked, passed, len(model.visited)


def _sources() -> list[tuple[str, str]]:
    import email.message
    import json as json_module
    import tkinter

    modules = (json_module.decoder, email.message, tkinter, ast, inspect)
    found = [("tricky", TRICKY)]
    found += [(m.__name__, Path(m.__file__ or "").read_text(encoding="utf-8")) for m in modules]
    return found


@pytest.mark.parametrize(("name", "text"), _sources(), ids=[n for n, _ in _sources()])
def test_the_scope_pass_visits_each_node_once_with_the_walks_ancestors(name: str, text: str) -> None:
    walked, passed, count = _both_ways(text)
    assert count == len(passed)  # no node twice
    assert passed == walked  # the same nodes (string annotations' nodes excluded), same ancestors
    assert len(walked) > 50


def test_parent_chain_reads_like_the_ancestor_list() -> None:
    tree = ast.parse("def f():\n    return g(x)\n")
    model = build_scope_model(tree, visit=(ast.Call,))
    (call,) = model.visited
    chain = ParentChain(model.parents)
    chain.node = call
    ret = tree.body[0].body[0]  # type: ignore[attr-defined]
    assert list(chain) == [tree, tree.body[0], ret]
    assert chain[-1] is ret and chain[0] is tree and chain[-3] is tree and len(chain) == 3
    assert list(reversed(chain)) == [ret, tree.body[0], tree]
    assert bool(chain)
    chain.node = tree
    assert not chain and len(chain) == 0
    with pytest.raises(IndexError):
        chain[-1]


def _findings_of(texts: list[str], ruleset: RuleSet) -> list[str]:
    """Each text's findings under the default settings, as one comparable string per text."""
    reports = [analyse(t, "m.py", Config(), ruleset) for t in texts]
    return [
        json.dumps([(f.code, str(f.range), f.message, f.fingerprint) for f in r.findings]) for r in reports
    ]


def test_findings_are_the_same_with_and_without_the_shared_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rule over real modules: the one-walk path and the two-walk path agree."""
    ruleset = load_rules()
    texts = [text for _, text in _sources()]

    one_walk = _findings_of(texts, ruleset)
    engine = importlib.import_module("ems.core.analyse")
    monkeypatch.setattr(engine, "_scope_pass", lambda ctx, plan: None)
    assert _findings_of(texts, ruleset) == one_walk
    assert any(json.loads(r) for r in one_walk)


def test_nodes_visited_only_outside_functions_are_not_handed_over_from_inside_one() -> None:
    source = textwrap.dedent(
        """
        return 0
        def f():
            class A:
                return 1
            def g():
                return 2
            return lambda: [3 for _ in ()]
        class B:
            return 4
        """
    )
    tree = ast.parse(source)
    ctx = AnalysisContext(path="m.py", source=SourceText(source), tree=tree)
    every = build_scope_model(tree, ctx, visit=[ast.Return])
    outside = build_scope_model(tree, ctx, visit=[ast.Return], outside_functions=[ast.Return])
    assert sorted(n.lineno for n in every.visited) == [2, 5, 7, 8, 10]  # type: ignore[attr-defined]
    assert sorted(n.lineno for n in outside.visited) == [2, 5, 10]  # type: ignore[attr-defined]
    # F706 says so, and finds the same returns as without the shortcut
    found = [f.line for f in analyse(source, "m.py", Config(select=("F706", "F401"))).findings]
    assert found == [2, 5, 10]


def test_calls_and_attributes_are_handed_over_only_by_the_names_the_rules_look_for() -> None:
    source = "open(p)\nio.open(p)\nprint(x.utcnow, a.b.utcnow(), f().utcnow, c.d)\ngetattr(o, 'k')\n"
    tree = ast.parse(source)
    ctx = AnalysisContext(path="m.py", source=SourceText(source), tree=tree)
    every = build_scope_model(tree, ctx, visit=[ast.Call, ast.Attribute])
    named = build_scope_model(
        tree,
        ctx,
        visit=[ast.Call, ast.Attribute],
        call_names=frozenset({"open"}),
        attribute_names=frozenset({"utcnow"}),
    )
    assert len(every.visited) == 12  # 6 calls, 6 attributes
    shown = [ast.unparse(n) for n in named.visited]
    assert shown == ["open(p)", "io.open(p)", "x.utcnow", "a.b.utcnow", "f().utcnow"]


def test_the_plan_names_calls_and_attributes_only_when_every_rule_visiting_them_does() -> None:
    from ems.core.analyse import select_rules

    ruleset = load_rules()
    plan = select_rules(ruleset, Config(), "m.py")[0].plan
    assert plan is not None
    assert plan.call_names == {"getattr", "open", "setattr"}
    assert plan.attribute_names == {"utcnow", "utcfromtimestamp"}

    class AnyCall(Rule):
        code = "X901"
        node_types = (ast.Call,)
        uses_scopes = True

    rules = (AnyCall(), *select_rules(ruleset, Config(), "m.py")[0].rules)
    dispatch: dict[type[ast.AST], list[Rule]] = {}
    for rule in rules:
        for node_type in rule.node_types:
            dispatch.setdefault(node_type, []).append(rule)
    wider = scope_plan(rules, {k: tuple(v) for k, v in dispatch.items()})
    assert wider is not None and wider.call_names is None
    assert wider.attribute_names == {"utcnow", "utcfromtimestamp"}


def test_findings_are_the_same_when_every_call_and_attribute_is_handed_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ruleset = load_rules()
    texts = [text for _, text in _sources()] + [
        "import datetime, io\nf = open('x')\ng = io.open('y')\nd = datetime.datetime.utcnow()\n"
        "h = getattr(o, 'name')\nk = datetime.datetime.utcfromtimestamp\n"
    ]

    named = _findings_of(texts, ruleset)
    engine = importlib.import_module("ems.core.analyse")
    monkeypatch.setattr(engine, "_visit_names", lambda rules: None)
    ruleset.selections.clear()  # the plans were kept per configuration
    assert _findings_of(texts, ruleset) == named
    codes = {code for report in named for code, *_ in json.loads(report)}
    assert {"EMS103", "EMS104", "B009"} <= codes


def test_findings_are_the_same_when_every_node_is_handed_over_whatever_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``Rule.visit_values``: the scope pass hands over an `Expr` or an `Assign` only when
    its value is one a rule visiting it can report; each rule must say so truthfully."""
    ruleset = load_rules()
    texts = [text for _, text in _sources()] + [
        "x == 1\nsetattr(o, 'name', 1)\nf = lambda: 0\ng: object = lambda: 1\no.attr\nname\n1\n"
        "[1, 2]\n(a, b)\n{1}\n{1: 2}\na or b\n1 + 2\n-1\n'doc'\n...\nprint(x)\n"
        "y = setattr(o, 'name', 1)\nh = (lambda: 0)\n",
    ]

    plan = select_rules(ruleset, Config(), "m.py")[0].plan
    assert plan is not None and {t for t, _ in plan.values} == {ast.Expr, ast.Assign, ast.AnnAssign}
    by_value = _findings_of(texts, ruleset)
    engine = importlib.import_module("ems.core.analyse")
    monkeypatch.setattr(engine, "_visit_values", lambda rules: None)
    ruleset.selections.clear()  # the plans were kept per configuration
    assert select_rules(ruleset, Config(), "m.py")[0].plan.values == ()  # type: ignore[union-attr]
    assert _findings_of(texts, ruleset) == by_value
    codes = {code for report in by_value for code, *_ in json.loads(report)}
    assert {"B010", "B015", "B018", "E731"} <= codes


def test_returns_inside_functions_are_not_visited_by_a_rule_that_reports_outside_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``ScopePlan.split``: under all rules every `return` is collected (B012, EMS102), but
    those inside a function body apart, which F706 does not visit: the same findings."""
    ruleset = load_rules()
    texts = [text for _, text in _sources()] + [
        "return 1\nclass A:\n    return\ndef f():\n    class B:\n        return 2\n"
        "    try:\n        pass\n    finally:\n        return 3\n    return 4\n    x = 1\n"
        "for x in y:\n    try:\n        pass\n    finally:\n        return x\n"
        "g = lambda: 0\nasync def h():\n    return 5\n",
    ]

    plan = select_rules(ruleset, Config(), "m.py")[0].plan
    assert plan is not None and plan.split == {ast.Return}
    split = _findings_of(texts, ruleset)
    engine = importlib.import_module("ems.core.analyse")
    original = engine.scope_plan
    monkeypatch.setattr(
        engine, "scope_plan", lambda *args: dataclasses.replace(original(*args), split=frozenset())
    )
    ruleset.selections.clear()  # the plans were kept per configuration
    assert select_rules(ruleset, Config(), "m.py")[0].plan.split == frozenset()  # type: ignore[union-attr]
    assert _findings_of(texts, ruleset) == split
    codes = {code for report in split for code, *_ in json.loads(report)}
    assert {"F706", "B012", "EMS102"} <= codes


def test_a_rule_that_raises_is_left_out_of_the_returns_met_inside_functions_too() -> None:
    """Returns inside functions are visited apart (F706 is for returns outside them); a rule
    that broke on an earlier node is contained once, and not called again there."""
    from ems.core.registry import RuleSet

    visited: list[str] = []

    class RaisesOnCallsAndReturns(Rule):
        code = "XRB001"
        name = "raises-on-calls-and-returns"
        summary = "raises"
        explanation = "A rule with a bug."
        node_types = (ast.Call, ast.Return)

        def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
            visited.append(node.__class__.__name__)
            raise RuntimeError("boom")

    ruleset = load_rules()
    rules = RuleSet((*ruleset.rules, RaisesOnCallsAndReturns), (*ruleset.origins, ("XRB001", "tests")))
    report = analyse("g()\n\n\ndef f():\n    return 1\n", "m.py", Config(), rules)
    assert [e.code for e in report.rule_errors] == ["XRB001"]
    assert [f.code for f in report.findings].count("EMS901") == 1
    assert visited == ["Call"]
