"""Properties over generated and mutated real source (hypothesis).

For any input: ``analyse`` never raises, every position lies inside the document, every
offered fix applies and parses, and ``fix_all`` reaches a fixed point (running it
again changes nothing). Inputs are stdlib modules mutated the way editing and broken
files mutate them (lines deleted, duplicated, swapped; characters inserted; the file
truncated) and small programs generated from templates that trigger the fixable rules.

Bounded for ``make test`` (about 50 examples each); ``scripts/fuzz.py`` runs the same
properties for longer.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ems.core import Report, analyse
from ems.core.invariants import document_of, parses, position_problems
from ems.fixes import apply_edits, fix_all, fixes_for

STDLIB = Path(sysconfig.get_paths()["stdlib"])
# Small and mid-sized modules keep libcst (used by fixes) fast enough for a unit test.
MODULES = tuple(
    sorted(p for p in STDLIB.glob("*.py") if 1_500 <= p.stat().st_size <= 12_000 and "test" not in p.name)
)
INSERTABLE = [
    "\n",
    "\r",
    "\r\n",
    "\t",
    "\x0c",
    " ",
    "(",
    ")",
    "[",
    ":",
    '"',
    "'",
    "#",
    "\\",
    "é",
    "中",
    "🙂",
    "\x00",
    "\ufeff",
    "None",
    "== None",
    "f'x'",
]
FIX_LIMIT = 4  # fixes checked one by one per example (each costs an analysis)

PROPERTY_SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def mutated_module(draw: st.DrawFn) -> str:
    """A stdlib module after a few random edits."""
    path = draw(st.sampled_from(MODULES))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 6))):
        if not lines:
            break
        index = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "indent", "dedent"]))
        if kind == "delete":
            del lines[index]
        elif kind == "duplicate":
            lines.insert(index, lines[index])
        elif kind == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        elif kind == "insert":
            line = lines[index]
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + draw(st.sampled_from(INSERTABLE)) + line[at:]
        elif kind == "indent":
            lines[index] = "    " + lines[index]
        else:
            lines[index] = lines[index].lstrip(" ")
    text = "".join(lines)
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    return text


NAMES = st.sampled_from(["x", "y", "value", "é", "中文", "os", "data", "_tmp"])
EXPRESSIONS = st.one_of(
    st.builds(lambda a: f"{a} == None", NAMES),
    st.builds(lambda a: f"None != {a}", NAMES),
    st.builds(lambda a: f"f'{a}'", NAMES),
    st.builds(lambda a, b: f"{a} + {b}", NAMES, NAMES),
    st.builds(lambda a: f"[{a} for {a} in range(3)]", NAMES),
    st.builds(lambda a: f"lambda: {a}", NAMES),
    st.just("'s = é中🙂'"),
)


@st.composite
def generated_program(draw: st.DrawFn) -> str:
    """A small program from templates that exercise imports, scopes and fixable rules."""
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    out: list[str] = []
    for _ in range(draw(st.integers(1, 12))):
        indent = "    " * draw(st.integers(0, 2))
        name, expr = draw(NAMES), draw(EXPRESSIONS)
        template = draw(
            st.sampled_from(
                [
                    "import {name}",
                    "from os import path as {name}",
                    "{name} = {expr}",
                    "if {expr}:{nl}{indent}    pass",
                    "def f_{n}({name}=None):{nl}{indent}    return {expr}",
                    "class C_{n}:{nl}{indent}    {name} = {expr}",
                    "try:{nl}{indent}    {name} = 1{nl}{indent}except:{nl}{indent}    pass",
                    "for {name} in range(2):{nl}{indent}    print({expr})",
                    "{name} = {expr}  # noqa: E711",
                    "{name} = {expr}  # comment é",
                    "print({expr})",
                ]
            )
        )
        out.append(indent + template.format(name=name, expr=expr, nl=newline, indent=indent, n=len(out)))
    return newline.join(out) + draw(st.sampled_from(["", newline]))


def _assert_positions_inside(report: Report, source: str | bytes) -> None:
    assert position_problems(report, source) == [], report.findings[:3]


def check_properties(text: str) -> None:
    """The properties every input must have (shared with scripts/fuzz.py)."""
    report = analyse(text, "fuzz.py")
    _assert_positions_inside(report, text)
    for finding in report.fixable[:FIX_LIMIT]:
        fix = fixes_for(text, finding, "fuzz.py", report=report)
        if fix is not None:
            for edit in fix.edits:
                assert 1 <= edit.range.start.line <= max(len(document_of(text).lines), 1)
            fixed = apply_edits(text, fix.edits)
            assert parses(fixed), (finding, fixed)
    once = fix_all(text, "fuzz.py", unsafe=True)
    if not report.syntax_error:
        assert parses(once.text)
    twice = fix_all(once.text, "fuzz.py", unsafe=True)
    assert twice.text == once.text, "fix_all is not idempotent"
    assert not twice.applied


@PROPERTY_SETTINGS
@given(mutated_module())
def test_mutated_stdlib_modules(text: str) -> None:
    check_properties(text)


@PROPERTY_SETTINGS
@given(generated_program())
def test_generated_programs(text: str) -> None:
    check_properties(text)


@PROPERTY_SETTINGS
@given(st.binary(max_size=400) | mutated_module().map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_bytes_never_crash_the_engine(data: bytes) -> None:
    report = analyse(data, "fuzz.py")
    _assert_positions_inside(report, data)


@PROPERTY_SETTINGS
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes_the_engine(text: str) -> None:
    report = analyse(text, "fuzz.py")
    _assert_positions_inside(report, text)
