"""Package names resolved on first use (PEP 562), for ``ems.core`` and ``ems.fixes``.

Why: importing any submodule runs its package's ``__init__``; if that imported every
public name, a warm ``ems check`` would pay for the analysis engine and a rule module for
libcst. The packages instead map each public name to the module that defines it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package`` importing each name from ``homes[name]``."""

    def __getattr__(name: str) -> object:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(home), name)

    return __getattr__
