"""Change which rules run, their severities and whether their fixes are applied in a
project's config file, keeping the rest.

The dashboard's control panel writes through here. tomlkit round-trips the file, so
comments, key order and formatting survive; the result is validated like any config
file before it is written (atomically, and only if the file did not change meanwhile).
In ``pyproject.toml`` the table is ``[tool.ems]``; in ``ems.toml`` it is the whole file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ems.core.config import Config, ConfigError, parse_table


@dataclass(frozen=True)
class RuleSetting:
    code: str
    enabled: bool
    severity: str | None  # the configured override, None: the rule's default
    fixable: bool = True  # ``fixable``/``unfixable`` let its fixes be applied


def config_file_for(root: Path) -> Path:
    """The file the control panel edits: ``ems.toml`` at the root if there is one, else
    ``pyproject.toml`` (created if missing), the first one ems reads at the root."""
    ems_toml = root / "ems.toml"
    return ems_toml if ems_toml.is_file() else root / "pyproject.toml"


def _table(document, path: Path, create: bool):  # -> tomlkit Table | None
    import tomlkit

    if path.name != "pyproject.toml":
        return document
    tool = document.get("tool")
    if tool is None:
        if not create:
            return None
        tool = tomlkit.table(is_super_table=True)
        document["tool"] = tool
    ems = tool.get("ems")
    if ems is None:
        if not create:
            return None
        ems = tomlkit.table()
        tool["ems"] = ems
    return ems


def _load(path: Path):  # -> (bytes, tomlkit document)
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    data = path.read_bytes() if path.exists() else b""
    try:
        return data, tomlkit.parse(data.decode("utf-8"))
    except (TOMLKitError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def rule_settings(path: Path, known_codes: Iterable[str]) -> dict[str, RuleSetting]:
    """Each known rule's state under the config in ``path`` (defaults if it has none)."""
    codes = tuple(known_codes)
    _, document = _load(path)
    table = _table(document, path, create=False)
    config = parse_table(dict(table.unwrap()) if table is not None else {}, codes, path, path.parent)
    selected = config.selected(codes)
    overrides = {code: sev.value for code, sev in config.severity}
    return {c: RuleSetting(c, c in selected, overrides.get(c), config.can_fix(c)) for c in codes}


def write_rule_settings(
    path: Path,
    known_codes: Iterable[str],
    *,
    enabled: Mapping[str, bool] | None = None,
    severities: Mapping[str, str | None] | None = None,
    fixable: Mapping[str, bool] | None = None,
) -> bool:
    """Apply the changes to ``path``; returns whether the file changed. Raises ConfigError."""
    import tomlkit

    from ems.fixes.apply import atomic_write

    codes = tuple(known_codes)
    original, document = _load(path)
    table = _table(document, path, create=True)

    def codes_list(key: str) -> list[str]:
        value = table.get(key)
        return [str(v) for v in value] if value is not None else []

    def current() -> Config:
        """The table as edited so far, validated: what each change is checked against."""
        return parse_table(dict(table.unwrap()), codes, path, path.parent)

    def set_list(key: str, values: list[str]) -> None:
        if key in table:
            current = table[key]
            current.clear()
            current.extend(values)
        else:
            array = tomlkit.array()
            array.extend(values)
            table[key] = array

    for code, on in (enabled or {}).items():
        if (code in current().selected(codes)) == on:
            continue
        if not on:
            set_list("ignore", [*codes_list("ignore"), code])
            continue
        for key in ("ignore", "extend-ignore"):
            if code in codes_list(key):
                set_list(key, [c for c in codes_list(key) if c != code])
        if code not in current().selected(codes):
            set_list("extend-select", [*codes_list("extend-select"), code])
        if code not in current().selected(codes):
            raise ConfigError(
                f"{path}: {code} stays disabled by a prefix in ignore or per-file-ignores; edit the file"
            )
    for code, on in (fixable or {}).items():
        if current().can_fix(code) == on:
            continue
        if not on:
            if code in codes_list("extend-fixable"):
                set_list("extend-fixable", [c for c in codes_list("extend-fixable") if c != code])
            if current().can_fix(code):
                set_list("unfixable", [*codes_list("unfixable"), code])
            continue
        if code in codes_list("unfixable"):
            set_list("unfixable", [c for c in codes_list("unfixable") if c != code])
        if not current().can_fix(code):
            set_list("extend-fixable", [*codes_list("extend-fixable"), code])
        if not current().can_fix(code):
            raise ConfigError(f"{path}: {code} stays unfixable by a prefix in unfixable; edit the file")
    for code, level in (severities or {}).items():
        sev = table.get("severity")
        if level is None:
            if sev is not None and code in sev:
                del sev[code]
            continue
        if sev is None:
            sev = tomlkit.table()
            table["severity"] = sev
        sev[code] = level
    text = tomlkit.dumps(document)
    parse_table(dict(_table(tomlkit.parse(text), path, create=True).unwrap()), codes, path, path.parent)
    data = text.encode("utf-8")
    if data == original:
        return False
    atomic_write(path, data, expected=original if path.exists() else None)
    return True
