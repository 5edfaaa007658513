"""A libcst fix changes only the lines it fixes, even where libcst does not give the file's
text back: ``except (A, B) :`` regenerates as ``except (A, B):``, and diffing libcst's code
against the file used to rewrite that line too, far from the finding."""

from __future__ import annotations

from pathlib import Path

from ems.core.model import Finding, Range, Safety
from ems.fixes.apply import apply_edits
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst

TEXT = (
    "def f(x):\n"
    "    try:\n"
    "        y = 1\n"
    "    except (ValueError, TypeError) :\n"
    "        pass\n"
    "    if (x ==  # why\n"
    "            None):\n"
    "        return y\n"
)


def _swap_comparison(ctx: FixContext) -> str:
    compare = ctx.find(cst.Comparison, Range.of(6, 8, 6, 8))
    assert isinstance(compare, cst.Comparison)
    target = compare.comparisons[0]
    equal = target.operator
    assert isinstance(equal, cst.Equal)
    is_ = cst.Is(whitespace_before=equal.whitespace_before, whitespace_after=equal.whitespace_after)
    new = compare.with_changes(comparisons=[target.with_changes(operator=is_)])
    finding = Finding("E711", "x", None, Range.of(6, 8, 6, 8), "m", "t.py")  # type: ignore[arg-type]
    fix = ctx.replace(compare, new, "use is", Safety.UNSAFE, finding)
    return apply_edits(TEXT, fix.edits)


def test_libcst_does_not_give_this_text_back() -> None:
    # The premise: if libcst ever round-trips it, this file no longer tests the mapping.
    assert cst.parse_module(TEXT).code != TEXT


def test_a_fix_leaves_the_lines_libcst_regenerates_differently() -> None:
    fixed = _swap_comparison(FixContext(TEXT, "t.py"))
    assert fixed == TEXT.replace("(x ==  # why", "(x is  # why")


def test_ems_fix_keeps_the_unrelated_line(tmp_path: Path) -> None:
    from ems.cli.main import main

    path = tmp_path / "t.py"
    path.write_text(TEXT)
    assert main(["fix", str(path), "--unsafe-fixes", "--no-cache", "--select", "E711"]) == 0
    assert path.read_text() == TEXT.replace("(x ==  # why", "(x is  # why")
