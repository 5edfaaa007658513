"""The analysis core: knows nothing of LSP, Streamlit or terminals.

Public API: ``analyse``, ``Finding``, ``Report``, ``Config``, ``load_rules``.

The names are loaded on first use (PEP 562): a warm ``ems check`` imports the cache and
the configuration but, when nothing changed, neither the analysis engine nor a rule.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING

from ems.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from ems.core.analyse import analyse
    from ems.core.config import Config, ConfigError, ConfigResolver
    from ems.core.model import Finding, Fix, Position, Range, Report, Safety, Severity, Tag, TextEdit
    from ems.core.registry import RuleSet, load_rules
    from ems.core.rule import Invalid, Rule, Valid

__all__ = [
    "Config",
    "ConfigError",
    "ConfigResolver",
    "Finding",
    "Fix",
    "Invalid",
    "Position",
    "Range",
    "Report",
    "Rule",
    "RuleSet",
    "Safety",
    "Severity",
    "Tag",
    "TextEdit",
    "Valid",
    "analyse",
    "load_rules",
]

_HOMES = {
    "analyse": "ems.core.analyse",
    "Config": "ems.core.config",
    "ConfigError": "ems.core.config",
    "ConfigResolver": "ems.core.config",
    "Finding": "ems.core.model",
    "Fix": "ems.core.model",
    "Position": "ems.core.model",
    "Range": "ems.core.model",
    "Report": "ems.core.model",
    "Safety": "ems.core.model",
    "Severity": "ems.core.model",
    "Tag": "ems.core.model",
    "TextEdit": "ems.core.model",
    "RuleSet": "ems.core.registry",
    "load_rules": "ems.core.registry",
    "Invalid": "ems.core.rule",
    "Rule": "ems.core.rule",
    "Valid": "ems.core.rule",
}


__getattr__ = lazy_exports(__name__, _HOMES)


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


class _Core(ModuleType):
    """Keeps ``ems.core.analyse`` the function the public API names.

    Importing the submodule ``ems.core.analyse`` sets this package's attribute of the same
    name to the module; when everything was imported eagerly, this package re-bound it to
    the function right after. Now the import may happen any time, so the re-binding
    happens here, whenever the import system sets it.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name == "analyse" and isinstance(value, ModuleType) and value.__name__ == "ems.core.analyse":
            value = value.analyse
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Core
