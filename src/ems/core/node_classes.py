"""Which classes of ``ast`` field value a tree walk descends into.

Shared by the rule walk (``ems.core.analyse``) and the scope model (``ems.core.scope``):
both run once per node of every file, and a dict lookup per field value is cheaper than
the two ``isinstance`` calls it replaces.
"""

from __future__ import annotations

import ast


class WalkedClasses(dict[type, bool]):
    """``cls -> whether to descend``: AST nodes, except subclasses of ``skipped``.

    Filled on first sight of each class (``None``, strings and lists answer False).
    """

    def __init__(self, skipped: tuple[type, ...]) -> None:
        super().__init__()
        self.skipped = skipped

    def __missing__(self, cls: type) -> bool:
        walked = self[cls] = issubclass(cls, ast.AST) and not issubclass(cls, self.skipped)
        return walked
