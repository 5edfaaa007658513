"""`fixable` / `extend-fixable` / `unfixable`: which rules' fixes may be applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from ems.core.analyse import analyse
from ems.core.config import Config, ConfigError, effective_settings, parse_table

KNOWN = ("E711", "E712", "F401", "F541", "F841")


def parse(table: dict[str, object]) -> Config:
    return parse_table(table, KNOWN, Path("ems.toml"), Path("."))


def test_every_rule_is_fixable_by_default() -> None:
    config = Config()
    assert all(config.can_fix(code) for code in KNOWN)


def test_unfixable_takes_codes_and_prefixes_over_fixable() -> None:
    config = parse({"unfixable": ["F4", "e711"]})
    assert config.unfixable == ("F4", "E711")
    assert [config.can_fix(c) for c in KNOWN] == [False, True, False, True, True]
    config = parse({"fixable": ["F"], "extend-fixable": ["E712"], "unfixable": ["F401"]})
    assert [config.can_fix(c) for c in KNOWN] == [False, True, False, True, True]


def test_a_wrong_code_is_an_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"ems.toml: key 'unfixable': unknown rule code or prefix 'X9'"):
        parse({"unfixable": ["X9"]})
    with pytest.raises(ConfigError, match="'fixable'"):
        parse({"fixable": 401})  # not a list of codes


def test_the_settings_change_the_cache_key_only_when_set() -> None:
    assert Config().fingerprint() == Config(fixable=("ALL",), unfixable=()).fingerprint()
    assert Config().fingerprint() != Config(unfixable=("F401",)).fingerprint()
    assert Config(fixable=("F",)).fingerprint() != Config(fixable=("E",)).fingerprint()


def test_command_line_overrides_layer_as_ruff_does() -> None:
    base = Config(unfixable=("F401",))
    assert base.with_overrides(unfixable=["F541"]).unfixable == ("F401", "F541")  # added
    assert base.with_overrides(fixable=["E"]).fixable == ("E",)  # replaced
    assert base.with_overrides(extend_fixable=["F841"]).extend_fixable == ("F841",)


def test_an_unfixable_rules_findings_are_reported_without_a_fix() -> None:
    text = 'import os\nprint(f"x")\n# noqa\n'
    findings = {f.code: f for f in analyse(text, "a.py", Config(unfixable=("F401",))).findings}
    assert not findings["F401"].fixable
    assert findings["F541"].fixable
    assert findings.keys() == {f.code for f in analyse(text, "a.py", Config()).findings}


def test_effective_settings_show_them() -> None:
    settings = effective_settings(parse({"unfixable": ["F401"]}), KNOWN)
    assert settings["fixable"] == ["ALL"] and settings["unfixable"] == ["F401"]
    assert settings["extend-fixable"] == []
