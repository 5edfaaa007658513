"""The keystroke path's shortcuts give exactly what the long way gives: the line index
updated by an edit equals one made from the new text, and the diagnostics JSON built
directly equals pygls's unstructuring of the lsprotocol objects."""

from __future__ import annotations

import random

import pytest
from lsprotocol import types as lsp
from pygls.protocol import default_converter

from ems.core import analyse, load_rules
from ems.core.config import Config
from ems.server.diagnostics import diagnostic_json, to_diagnostic
from ems.server.positions import UTF8, UTF16, UTF32, LineIndex, PositionMapper, apply_change

PIECES = ["", "a", "\n", "\n\n", "é", "𝔘", "x = 1\n", "\r\n", "\r", "  ", "\nb"]


@pytest.mark.parametrize("seed", range(40))
def test_an_edited_index_equals_a_fresh_one(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(rng.choice(PIECES[:8]) for _ in range(rng.randint(0, 30)))
    index = LineIndex(text)
    for _ in range(25):
        start = rng.randint(0, len(text))
        end = rng.randint(start, min(len(text), start + rng.randint(0, 8)))
        new = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 3)))
        index = index.replaced(start, end, new)
        text = text[:start] + new + text[end:]
        assert index.text == text
        assert index.starts == LineIndex(text).starts, (text, start, end, new)


def test_apply_change_keeps_the_index_of_the_new_text() -> None:
    text = "a = 1\nb = 'é'\n\nc = 3\n"
    index = None
    for line, char, end_char, new in [(1, 5, 8, "x\ny"), (0, 0, 0, "# top\n"), (3, 0, 1, ""), (9, 0, 0, "z")]:
        change = lsp.TextDocumentContentChangePartial(
            range=lsp.Range(lsp.Position(line, char), lsp.Position(line, end_char)), text=new
        )
        text, index = apply_change(text, change, UTF16, index)
        assert index is not None and index.text == text
        assert index.starts == LineIndex(text).starts
    whole = lsp.TextDocumentContentChangeWholeDocument(text="new\n")
    assert apply_change(text, whole, UTF16, index) == ("new\n", None)


SOURCE = """import os
import sys, json
from typing import List

def f(é="ü"):
    x = 1
    return undefined_name + "𝔘" + y

def f():
    pass

class C:
    a: List[int] = 1
    def m(self):  # 中文
        for i in range(3): pass
        return f"no placeholders"
"""


@pytest.mark.parametrize("encoding", [UTF16, UTF8, UTF32])
@pytest.mark.parametrize(
    "source", [SOURCE, SOURCE.replace("\n", "\r\n"), "def broken(:\n    pass\n", "x = (\n"]
)
def test_direct_json_equals_the_unstructured_diagnostic(encoding: str, source: str) -> None:
    ruleset = load_rules()
    report = analyse(source, "m.py", Config(), ruleset)
    assert report.findings
    mapper = PositionMapper(source, encoding)
    converter = default_converter()
    urls: dict[str, str] = {}
    for finding in report.findings:
        for version in (None, 7):
            made = diagnostic_json(finding, mapper, "file:///m.py", urls, ruleset, version, converter)
            expected = converter.unstructure(to_diagnostic(finding, mapper, "file:///m.py", ruleset, version))
            assert made == expected


def test_the_sample_exercises_related_places_tags_and_wide_characters() -> None:
    report = analyse(SOURCE, "m.py", Config(), load_rules())
    assert any(f.shown_related for f in report.findings)
    assert any(f.tags for f in report.findings)
    assert any(not SOURCE.splitlines()[f.line - 1].isascii() for f in report.findings)
