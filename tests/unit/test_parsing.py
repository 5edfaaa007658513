"""A large module parsed in pieces gives exactly ``ast.parse``'s tree (issue 13's memory),
and anything odd falls back to one whole parse."""

from __future__ import annotations

import ast
import sys
import sysconfig
from pathlib import Path

import pytest

import ems.core.parsing as parsing
from ems.core.analyse import analyse
from ems.core.config import Config
from ems.core.parsing import parse_module
from ems.core.registry import load_rules

STDLIB = Path(sysconfig.get_paths()["stdlib"])
MODULES = (
    "argparse.py",
    "typing.py",
    "inspect.py",
    "dataclasses.py",
    "tarfile.py",
    "asyncio/base_events.py",
    "email/_header_value_parser.py",
    "json/decoder.py",
    "re/_parser.py",
    "pydoc.py",
    "_pydecimal.py",
)

# Column-0 lines that do not start a statement of their own, and clauses that continue one.
AWKWARD = (
    '"""A docstring\n'
    "with a line at column 0\n"
    '"""\n'
    "import os, \\\n"
    "sys\n"
    "@decorator(\n"
    "1)\n"
    "def f(x):\n"
    "    return x\n"
    "if a:\n    pass\nelif b:\n    pass\nelse:\n    pass\n"
    "try:\n    pass\nexcept ValueError:\n    pass\nelse:\n    pass\nfinally:\n    pass\n"
    "for i in x:\n    pass\nelse:\n    pass\n"
    "while x:\n    break\nelse:\n    pass\n"
    "value = [\n1, 2,\n]  # trailing\n"
    "# a comment at column 0\n"
    'text = f"""{\nx}\n"""\n'
    "match command:\n    case [x]:\n        pass\n"
    "\x0cform_feed = 1\n"
    "class C: pass; x = 1\n"
    "elsewhere = lambda: (yield)\n"
    "finally_ = 2\n"
)


def _dump(tree: ast.AST) -> str:
    return ast.dump(tree, include_attributes=True)


def _whole(text: str) -> str:
    try:
        return _dump(ast.parse(text))
    except (SyntaxError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"


def _pieces(text: str, size: int) -> str:
    try:
        return _dump(parse_module(text, "<unknown>", size))
    except (SyntaxError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("size", [1, 700, 20_000])
def test_stdlib_modules_parse_in_pieces_to_the_same_tree(name: str, size: int) -> None:
    path = STDLIB / name
    if not path.exists():
        pytest.fail(f"{path} is missing from this interpreter's standard library")
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    assert _pieces(text, size) == _whole(text)


@pytest.mark.parametrize("size", [1, 5, 40, 120])
def test_awkward_column_zero_lines_parse_to_the_same_tree(size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    ast.parse(AWKWARD)  # valid on its own
    parsed: list[str] = []
    real = ast.parse
    monkeypatch.setattr(
        parsing.ast, "parse", lambda source, *a, **k: parsed.append(source) or real(source, *a, **k)
    )
    assert _pieces(AWKWARD, size) == _whole(AWKWARD)
    # In pieces indeed (no fall back to the whole parse): a clause at column 0 is never
    # cut from its statement, a piece never starts inside a string or brackets.
    assert AWKWARD not in parsed[:-1] and len(parsed) >= 3
    crlf = AWKWARD.replace("\n", "\r\n")
    assert _pieces(crlf, size) == _whole(crlf)


@pytest.mark.parametrize(
    "text",
    [
        "a = 1\rb = 2\nc = 3\n",  # a lone "\r" ends a line for the parser: whole parse
        "x = 1\ny = (\n2\n",  # unclosed bracket: the whole parse's own error
        "x = 1\n  y = 2\n",  # unexpected indent
        "x = 1\nz = '\x00'\n",  # a NUL
        "from __future__ import barry_as_FLUFL\nx = 1 <> 2\n",
        "def f():\n    pass\nelse:\n    pass\n",
        "x = 1\n" * 50 + "def broken(:\n" + "y = 2\n" * 50,
    ],
)
def test_odd_sources_give_what_the_whole_parse_gives(text: str) -> None:
    for size in (1, 10, 100):
        assert _pieces(text, size) == _whole(text)


def test_a_string_full_of_column_zero_lines_gives_up_on_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cut falls inside one huge string: the pieces grow, and past the work budget
    the module is parsed whole, so the cost stays a small multiple of one parse."""
    text = 'x = """\n' + "line at column zero\n" * 20_000 + '"""\ny = 1\n'
    parsed: list[int] = []
    real = ast.parse

    def counting(source: str, *args: object, **kwargs: object) -> ast.AST:
        parsed.append(len(source))
        return real(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(parsing.ast, "parse", counting)
    tree = parse_module(text, "<unknown>", 64)
    assert _dump(tree) == _dump(real(text))
    assert sum(parsed) <= (parsing._MAX_WORK + 1) * len(text) + len(text)
    assert parsed[-1] == len(text)  # the last parse is the whole module


def test_small_sources_are_parsed_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = ast.parse
    monkeypatch.setattr(
        parsing.ast, "parse", lambda source, *a, **k: calls.append(1) or real(source, *a, **k)
    )
    parse_module("x = 1\ny = 2\n")
    assert calls == [1]
    calls.clear()
    parse_module("x = 1\ny = 2\n" * 10, "<unknown>", 1)
    assert len(calls) == 20


def test_analyse_of_a_large_module_equals_the_whole_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """``analyse`` parses sources over the threshold in pieces: every finding, with its
    fingerprint, is what the whole parse gives."""
    rules, config = load_rules(), Config()
    sources = [(STDLIB / name).read_bytes() for name in ("argparse.py", "inspect.py", "tarfile.py")]
    sources.append(AWKWARD.replace("match command", "import json\nmatch command").encode())
    whole = [analyse(data, "m.py", config, rules) for data in sources]
    monkeypatch.setattr(parsing, "PIECEWISE_MIN_CHARS", 1)
    monkeypatch.setattr(parsing, "PIECE_CHARS", 2_000)
    pieces = [analyse(data, "m.py", config, rules) for data in sources]
    assert [r.findings for r in pieces] == [r.findings for r in whole]
    assert [[f.fingerprint for f in r.findings] for r in pieces] == [
        [f.fingerprint for f in r.findings] for r in whole
    ]
    assert any(r.findings for r in whole)


def test_the_threshold_is_above_every_ordinary_module() -> None:
    """Ordinary modules keep CPython's one parse: only generated giants are cut."""
    largest = max((p.stat().st_size for p in STDLIB.glob("*.py")), default=0)
    assert largest < parsing.PIECEWISE_MIN_CHARS, sys.version
