"""``name_bound_in_module`` walks only the lines where the name is a word: it must answer
what ``names_bound`` answers over the whole tree (EMS103's and EMS106's question)."""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

import pytest

from ems.core.watched import name_bound_in_module, names_bound

NAMES = ("open", "field", "dataclasses", "x", "self", "name", "i", "value", "e", "cls", "_")

SNIPPETS = [
    "@(open := deco)\ndef f():\n    pass\n",
    "@deco(\n    open := 1\n)\nclass C:\n    pass\n",
    'x = f"{(open := 1)}"\n',
    'y = f"""\n{\n(open := 1)\n}\n"""\n',
    "from io import (\n    BytesIO,\n    open,\n)\n",
    "import os.open\n",
    "def f():\n    global open\n    open = 1\n",
    "def f(open):\n    return open\n",
    "match v:\n    case {**open}:\n        pass\n    case [*open]:\n        pass\n",
    "try:\n    pass\nexcept E as \\\n    open:\n    pass\n",
    "x = 1\r\nopen = 2\r\n",
    "x = 1\ropen = 2\rprint(open)\n",
    "é = 1\nopen = 2\n",
    "ｏｐｅｎ = 1\nprint(open)\n",
    "class A:\n    def b(self):\n        for open in c:\n            pass\n",
    "# open\nprint(open)\n",
]


def _modules() -> list[str]:
    import email.message
    import json.decoder
    import tarfile
    import urllib.request

    return [
        Path(inspect.getfile(m)).read_text(encoding="utf-8")
        for m in (email.message, json.decoder, tarfile, urllib.request, ast)
    ]


@pytest.mark.parametrize("text", SNIPPETS + _modules())
def test_only_the_lines_holding_the_name_say_whether_the_module_binds_it(text: str) -> None:
    tree = ast.parse(text)
    for name in NAMES:
        assert name_bound_in_module(tree, name, text) == (
            name in names_bound([tree], frozenset({name}), text)
        )


def test_bindings_above_a_definition_and_inside_f_strings_are_found() -> None:
    for text in SNIPPETS[:5]:
        assert name_bound_in_module(ast.parse(text), "open", text), text
    text = textwrap.dedent(
        """
        def f():
            return open(p)
        """
    )
    assert not name_bound_in_module(ast.parse(text), "open", text)
