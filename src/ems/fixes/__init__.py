"""Fix generation with libcst: lazy, verified, comment-preserving.

Public API: ``fixes_for`` (one finding), ``fix_all`` (fixed point), ``apply_edits``,
``atomic_write``.
"""

from ems.fixes.apply import FileChanged, apply_edits, atomic_write
from ems.fixes.context import FixContext, minimal_edit
from ems.fixes.engine import FixAllResult, FixFailure, fix_all, fixes_for, verify

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
]
