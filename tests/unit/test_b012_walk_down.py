"""B012 walks each `finally:` block down; it must report exactly the jumps that, walked up,
reach a `finally:` block holding them before a scope (or, for `break`/`continue`, before a
loop's body): the rule's definition, checked on real modules and tricky nestings."""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

import pytest

from ems.core.analyse import analyse
from ems.core.config import Config
from ems.core.registry import load_rules

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
LOOPS = (ast.For, ast.AsyncFor, ast.While)
TRIES = (ast.Try, ast.TryStar)

TRICKY = """
def f():
    try:
        pass
    finally:
        try:
            return 1
        finally:
            return 2
        for x in y:
            try:
                break
            finally:
                continue
        else:
            break
        while z:
            if a:
                continue
            def g():
                return 3
            class C:
                return 4
        with w:
            return 5
        match v:
            case 1:
                return 6
        try:
            pass
        except E:
            return 7
        else:
            return 8
for q in r:
    try:
        pass
    finally:
        for s in t:
            pass
        else:
            continue
"""


def walked_up(text: str) -> list[tuple[int, int]]:
    tree = ast.parse(text)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Return, ast.Break, ast.Continue)):
            continue
        child, parent = node, parents.get(node)
        while parent is not None:
            if isinstance(parent, SCOPES):
                break
            if not isinstance(node, ast.Return) and isinstance(parent, LOOPS) and child not in parent.orelse:
                break
            if isinstance(parent, TRIES) and any(s is child for s in parent.finalbody):
                found.append((node.lineno, node.col_offset))
                break
            child, parent = parent, parents.get(parent)
    return sorted(found)


MODULES = [
    "asyncio/base_events.py",
    "subprocess.py",
    "tempfile.py",
    "threading.py",
    "shutil.py",
    "zipfile.py",
]


@pytest.mark.parametrize("name", ["tricky", *MODULES])
def test_the_jumps_reported_are_those_walking_up_finds(name: str) -> None:
    text = TRICKY if name == "tricky" else (STDLIB / name).read_text(encoding="utf-8")
    report = analyse(text, "m.py", Config(select=("B012",)), load_rules())
    got = sorted((f.range.start.line, f.range.start.column) for f in report.findings)
    assert got == walked_up(text)
    if name == "tricky":
        assert len(got) == 9
