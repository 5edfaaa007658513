"""Fix-all on real files (the standard library and the demo project): the result parses,
compiles, reaches a fixed point, and a second run changes nothing."""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

import pytest

from ems.core import Config, analyse
from ems.fixes import fix_all

STDLIB = Path(sysconfig.get_paths()["stdlib"])
ROOT = Path(__file__).resolve().parents[2]


def _sample() -> list[Path]:
    """Modest-sized stdlib modules, a deterministic spread across the library."""
    files = sorted(p for p in STDLIB.glob("*.py") if 2_000 < p.stat().st_size < 20_000)
    step = max(1, len(files) // 24)
    return files[::step][:24]


def _demo() -> list[Path]:
    return sorted((ROOT / "examples" / "demo").rglob("*.py"))


@pytest.mark.parametrize("path", _sample() + _demo(), ids=lambda p: p.name)
def test_fix_all_on_a_real_file_parses_and_is_idempotent(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    config = Config()
    result = fix_all(text, path.name, config, unsafe=True)
    ast.parse(result.text)
    compile(result.text, path.name, "exec")
    again = fix_all(result.text, path.name, config, unsafe=True)
    assert again.applied == ()
    assert again.text == result.text
    if result.applied:
        before = {(f.code, f.message) for f in analyse(text, path.name, config).findings}
        after = {(f.code, f.message) for f in analyse(result.text, path.name, config).findings}
        assert after <= before, "fixing must not introduce findings"


def test_the_demo_project_has_real_mistakes_to_fix() -> None:
    applied = []
    for path in _demo():
        applied.extend(fix_all(path.read_text(encoding="utf-8"), path.name, Config(), unsafe=True).applied)
    assert len(applied) >= 3
