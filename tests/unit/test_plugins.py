"""``ems.core.plugins`` reads entry points without importing ``importlib.metadata``; it must
find exactly what ``importlib.metadata`` finds, on this interpreter's real installs and on
distributions made in ``tmp_path``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ems.core.plugins import EntryPoint, _from_importlib_metadata, _read_directly, entry_points


@pytest.mark.parametrize("group", ["ems.rules", "console_scripts", "pytest11"])
def test_the_installed_distributions_give_what_importlib_metadata_gives(group: str) -> None:
    direct = _read_directly(group)
    assert direct is not None
    assert sorted(direct) == sorted(_from_importlib_metadata(group))


def make_distribution(root: Path, folder: str, name: str, version: str, entry_points_txt: str) -> None:
    info = root / folder
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nbody\n")
    (info / "entry_points.txt").write_text(entry_points_txt)


def test_order_duplicates_comments_and_other_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    make_distribution(
        first,
        "Demo_Rules-1.0.dist-info",
        "demo-rules",
        "1.0",
        "# comment\n[console_scripts]\ndemo = demo:main\n\n[ems.rules]\nrules = demo_rules.pack\none = demo_rules.one:Rule [extra]\n",
    )
    # the same distribution again, later on sys.path: importlib.metadata ignores it
    make_distribution(
        second, "demo_rules-2.0.dist-info", "demo-rules", "2.0", "[ems.rules]\nold = demo_rules.old\n"
    )
    make_distribution(second, "other-3.egg-info", "other", "3", "[ems.rules]\nx = other:X\n")
    monkeypatch.setattr(sys, "path", [str(first), str(second)])
    direct = _read_directly("ems.rules")
    assert direct is not None
    assert sorted(direct) == sorted(_from_importlib_metadata("ems.rules"))
    assert {(p.name, p.distribution, p.version) for p in direct} == {
        ("rules", "demo-rules", "1.0"),
        ("one", "demo-rules", "1.0"),
        ("x", "other", "3"),
    }


def test_a_zip_on_sys_path_is_left_to_importlib_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "bundle.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip archive
    monkeypatch.setattr(sys, "path", [str(archive)])
    assert _read_directly("ems.rules") is None
    assert entry_points("ems.rules") == _from_importlib_metadata("ems.rules")


def test_load_follows_module_and_attribute() -> None:
    assert EntryPoint("x", "os.path:join", "d").load() is __import__("os").path.join
    assert EntryPoint("x", "json", "d").load() is __import__("json")


def test_a_rule_set_error_found_late_is_a_clear_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rules load on first use now: a broken plug-in found mid-scan must still exit 2 with
    the registry's message, not a traceback."""
    from ems.cli.main import main
    from ems.core import registry

    def broken() -> tuple[tuple, tuple, tuple]:
        raise registry.RegistryError("cannot load rule plug-in 'broken' (broken:Rule): boom")

    monkeypatch.setattr(registry, "lazy_rules", lambda: registry.RuleSet(identity="test", loader=broken))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("import os\n", encoding="utf-8")
    assert main(["check", "--no-cache", "a.py"]) == 2
    assert "cannot load rule plug-in 'broken'" in capsys.readouterr().err


def test_the_lazy_and_the_loaded_rule_set_share_one_fingerprint() -> None:
    from ems.core import registry

    lazy = registry.RuleSet(identity="same", loader=lambda: (registry.load_rules().rules, (), ()))
    assert lazy.fingerprint == registry.RuleSet(identity="same").fingerprint
    assert lazy.rules == registry.load_rules().rules  # loaded on first use
    assert registry.load_rules() is registry.lazy_rules()


def test_a_rule_without_a_fix_never_reports_a_fixable_finding() -> None:
    """Text output marks ``[*]`` from ``Finding.fixable`` alone (no rule import on a warm
    run), so the analysis must not let a rule claim a fix it does not have."""
    import ast
    from collections.abc import Iterator

    from ems.core.analyse import analyse
    from ems.core.config import Config
    from ems.core.registry import RuleSet
    from ems.core.rule import AnalysisContext, Hit, Rule

    class Boastful(Rule):
        code = "XBO001"
        name = "boastful"
        message = "claims a fix"
        node_types = (ast.Assign,)

        def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
            yield ctx.hit(node, self.message)

        @classmethod
        def is_fixable(cls, hit: Hit) -> bool:
            return True

    report = analyse("x = 1\n", "b.py", Config(), RuleSet((Boastful,), (("XBO001", "tests"),)))
    assert [(f.code, f.fixable) for f in report.findings] == [("XBO001", False)]
