"""Fix generation with libcst: lazy, verified, comment-preserving.

Public API: ``fixes_for`` (one finding), ``fix_all`` (fixed point), ``apply_edits``,
``atomic_write``.

The names are resolved on first use (PEP 562) so that importing ``ems.fixes.context``
or ``ems.fixes.lazy`` from a rule module does not import libcst (see ``ems.fixes.lazy``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ems.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from ems.fixes.apply import FileChanged, apply_edits, atomic_write
    from ems.fixes.context import FixContext, minimal_edit
    from ems.fixes.engine import FixAllResult, FixFailure, fix_all, fixes_for, verify, with_fixability

_HOMES = {
    "FileChanged": "ems.fixes.apply",
    "apply_edits": "ems.fixes.apply",
    "atomic_write": "ems.fixes.apply",
    "FixContext": "ems.fixes.context",
    "minimal_edit": "ems.fixes.context",
    "FixAllResult": "ems.fixes.engine",
    "FixFailure": "ems.fixes.engine",
    "fix_all": "ems.fixes.engine",
    "fixes_for": "ems.fixes.engine",
    "verify": "ems.fixes.engine",
    "with_fixability": "ems.fixes.engine",
}


__getattr__ = lazy_exports(__name__, _HOMES)


__all__ = [
    "FileChanged",
    "FixAllResult",
    "FixContext",
    "FixFailure",
    "apply_edits",
    "atomic_write",
    "fix_all",
    "fixes_for",
    "minimal_edit",
    "verify",
    "with_fixability",
]
