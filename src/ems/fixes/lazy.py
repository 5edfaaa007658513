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

# What judging a file's fixes imports: the engine (no libcst) ...
FIX_MODULES = ("ems.fixes.engine",)
# ... and libcst with the fix helpers on it, when a selected rule's fix has no text route
# (``text_fix``, ``ems.fixes.textedit``): most files with offers will then need it.
CST_MODULES = ("libcst", "ems.fixes.cstindex")


def fix_modules(configs: Iterable[Config], ruleset: RuleSet) -> tuple[str, ...]:
    """What a process pool imports once before its workers start (``ems.runtime.pool.
    ordered_map(preload=)``), given the rules selected under ``configs``: nothing when no
    rule with a fix is selected; the fix engine when every such rule computes its fixes as
    text edits (libcst is then imported by a worker only for a shape the text route
    leaves: rare, and cheaper than every worker paying for it); the engine and libcst
    when some selected rule's fix always needs libcst."""
    fixers = [rule for rule in ruleset.rules if rule.has_fix()]
    codes = frozenset().union(*(config.selected(rule.code for rule in fixers) for config in configs))
    selected = [rule for rule in fixers if rule.code in codes]
    if not selected:
        return ()
    if all(rule.has_text_fix() for rule in selected):
        return FIX_MODULES
    return FIX_MODULES + CST_MODULES
