"""``cst``: libcst, imported on first attribute access.

Why: ``import libcst`` costs about 0.2-0.25 s here, more than the whole of
``ems check one_file.py`` should. Detection never needs it; only fixes do. Rule modules
write ``from ems.fixes.lazy import cst`` instead of ``import libcst as cst`` and use
``cst.Name`` etc. inside ``fix`` code as usual; the real import happens the first time a
fix runs. Module-level expressions such as ``_T = (cst.Return, cst.Raise)`` would import
libcst at once: keep ``cst.`` uses inside functions. ``tests/integration/test_startup.py``
guards the property.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ems.core.config import Config
    from ems.core.registry import RuleSet


class _LazyModule(types.ModuleType):
    """A module stand-in that imports the real module when an attribute is first read."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.__target = target

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        module = importlib.import_module(self.__target)
        # Copy the real namespace in: later lookups are plain attribute reads.
        self.__dict__.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
        return getattr(module, name)


if TYPE_CHECKING:
    import libcst as cst
else:
    cst = _LazyModule("libcst")

__all__ = ["cst", "fix_modules"]

# What judging a file's fixes imports (``ems.fixes.engine`` imports libcst).
FIX_MODULES = ("ems.fixes.engine",)


def fix_modules(configs: Iterable[Config], ruleset: RuleSet) -> tuple[str, ...]:
    """``FIX_MODULES`` when a rule with a fix is selected under one of ``configs`` (a scan
    of many files will then most likely judge a fix), else nothing: what a process pool
    imports once before its workers start (``ems.runtime.pool.ordered_map(preload=)``)."""
    fixers = [rule.code for rule in ruleset.rules if rule.has_fix()]
    if any(config.selected(fixers) for config in configs):
        return FIX_MODULES
    return ()
