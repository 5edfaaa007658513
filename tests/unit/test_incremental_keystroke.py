"""The smaller costs of a keystroke cut, with the same answers: the new version's lines
spliced from the old ones, a method's class not analysed again when the method's stub is
the same, the text scanned for ``global`` only when a function body needs it."""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path

import pytest

from ems.core import scope
from ems.core.analyse import analyse
from ems.core.config import Config
from ems.core.incremental import IncrementalAnalyser, edits
from ems.core.incremental.edits import spliced_lines
from ems.core.registry import load_rules

RULES = load_rules()
CONFIG = Config()
FUNCTOOLS = (Path(sysconfig.get_paths()["stdlib"]) / "functools.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("text", [FUNCTOOLS, "", "\n", "a", "a\n", "\n\n\n", "x\ny\nz"])
def test_spliced_lines_are_the_new_texts_lines(text: str) -> None:
    rng = random.Random(len(text))
    for _ in range(400):
        start = rng.randint(0, len(text))
        end = rng.randint(start, min(len(text), start + rng.choice([0, 1, 5, 40])))
        new = text[:start] + rng.choice(["", "\n", "x", "\n\n", "ab\ncd", "q\n", "\nq"]) + text[end:]
        assert spliced_lines(text.split("\n"), text, new) == new.split("\n")


CLASS = """import os


class Window:
    size = os.sep

    def show(self, label=os.name):
        shown = self.size + label
        return shown

    def hide(self):
        return undefined_here
"""


def test_typing_in_a_method_keeps_its_class_analysis_while_the_stub_is_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A comment or a new read in ``show``'s body: the class is not analysed again (its reads
    and findings kept); a body no stub stands in for, or a changed default (the stub
    differs): it is. Every report equals a full analysis."""
    analyser = IncrementalAnalyser()
    analyser.analyse(CLASS, "m.py", CONFIG, RULES)
    analyser.prepare()
    calls = []
    real = edits.analyse_classes
    monkeypatch.setattr(edits, "analyse_classes", lambda *a: calls.append(1) or real(*a))
    lines = CLASS.split("\n")
    body = lines.index("        shown = self.size + label")
    for new, again in [
        ("        shown = self.size + label  # typed", False),
        ("        shown = self.size + label + undefined_too", False),
        ("        shown = os.path", False),
        ("        global shown", True),  # no stub can stand in for the body any more
        ("        shown = 2", True),  # (and back: the class analysed again)
    ]:
        calls.clear()
        text = "\n".join([*lines[:body], new, *lines[body + 1 :]])
        assert analyser.analyse(text, "m.py", CONFIG, RULES) == analyse(text, "m.py", CONFIG, RULES)
        assert bool(calls) == again, new
    calls.clear()
    header = lines.index("    def show(self, label=os.name):")
    text = "\n".join([*lines[:header], "    def show(self, label=os.sep):", *lines[header + 1 :]])
    assert analyser.analyse(text, "m.py", CONFIG, RULES) == analyse(text, "m.py", CONFIG, RULES)
    assert calls  # the stub changed: the class is analysed again


def test_the_text_is_scanned_for_global_only_when_a_function_body_is_met(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scanned: list[str] = []
    real = scope._word_lines
    monkeypatch.setattr(scope, "_word_lines", lambda text, word: scanned.append(word) or real(text, word))
    assert analyse("x = 1\ny = x\n", "m.py", CONFIG, RULES).findings == ()
    assert scanned == []
    text = "counter = 0\n\n\ndef bump():\n    global counter\n    counter += 1\n"
    assert analyse(text, "m.py", CONFIG, RULES).findings == ()
    assert scanned == ["global"]
