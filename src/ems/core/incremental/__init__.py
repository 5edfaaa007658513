"""Incremental analysis: after an edit, re-parse and re-check only what the edit touched.

The language server analyses a document on every keystroke; a whole-module analysis of a
5,000-line file costs ~130 ms (``ast.parse`` alone ~45 ms). Instead, a document is kept as
*chunks*: each top-level statement with the blank and comment lines before it. An edit is
located by comparing the old and new lines; only the chunks it overlaps are re-parsed (as
one region, on their own) and re-checked. The result equals ``analyse(text)`` exactly; the
tests compare the two over real files and random edits.

Two kinds of rules:

* **chunk-local** rules (the default) only look at one statement's subtree, so their
  findings are cached per chunk, in the chunk's own line numbers, and shifted on output;
* **module-scoped** rules (``Rule.module_scoped``: unused imports, undefined names,
  redefinitions) depend on names bound and read anywhere in the module. They run on every
  change over an *outline* of the module: every statement, except that the bodies of
  outermost functions are replaced by a stub that reads exactly the names the body reads
  from outside (found once per chunk by analysing the bodies with no enclosing scope and
  no builtins, ``build_scope_model(free_loads=...)``). What such a rule finds *inside* a
  body (an unused local import, say) comes from that same per-chunk analysis. A body is
  kept whole in the outline when a stub could not stand in for it exactly: it declares
  ``global``/``nonlocal``, reads a name inside an annotation or under an ``except
  NameError`` guard, binds a name that the module imports (a parameter too: F811), or
  reads a name bound to ``typing`` (``cast("T", x)``: the string is an annotation only
  with the module's bindings) — ``stubs.stands_in``.

After a top-level edit that replaces chunks no other part of the text names, the
module-scoped results are patched instead of found again over the whole outline: the
findings elsewhere kept, the new chunks' own from a scope pass over them alone
(``isolated``).

Anything unusual (a syntax error, ``\\r`` line ends, ``# ems: skip-file``) takes the plain
``analyse`` path, and the previous chunks are kept for the next edit.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from ems.core.analyse import analyse
from ems.core.config import Config
from ems.core.model import Report
from ems.core.registry import RuleSet, load_rules
from ems.core.suppressions import skips_file

if TYPE_CHECKING:
    from ems.core.incremental.state import _State


class IncrementalAnalyser:
    """``analyse`` for documents that change a little at a time; one state per path."""

    def __init__(self, max_documents: int = 32) -> None:
        self._states: OrderedDict[str, _State] = OrderedDict()
        self._max = max_documents
        # Lines parsed by the last call (the whole text, or only the re-parsed region):
        # what tests and ``ems.status`` read to see that an edit stayed incremental.
        self.last_reparsed_lines = 0
        # Whether the last call reused the module-scoped rules' results (its outline was the
        # one they were found over): what tests read to see typing stayed cheap.
        self.last_scoped_reused = False
        # Documents answered by a plain analysis whose state is still to be built, in order:
        # building costs a few whole analyses, so an opened file gets its diagnostics first
        # and the state is built when the worker is idle (``prepare``).
        self._pending: OrderedDict[str, tuple[str, Config, RuleSet]] = OrderedDict()

    def has_pending(self) -> bool:
        return bool(self._pending)

    def prepare(self) -> None:
        """Build the state of the oldest document answered without one (idle-time work)."""
        if not self._pending:
            return
        path, (text, config, ruleset) = next(iter(self._pending.items()))
        self.analyse(text, path, config, ruleset)  # pending: builds, and leaves the queue

    def analyse(
        self,
        text: str,
        path: str = "<stdin>",
        config: Config | None = None,
        ruleset: RuleSet | None = None,
    ) -> Report:
        # Imported here, not above: judging fixability imports ``stubs`` and ``state`` of
        # this package in every ``ems check`` and has no use for the rest (13 ms).
        from ems.core.incremental.chunks import _build
        from ems.core.incremental.edits import _refresh, _update, spliced_lines
        from ems.core.incremental.report import _report

        config = config or Config()
        ruleset = ruleset or load_rules()
        if "\r" in text or "\0" in text or skips_file(text, config):
            self._states.pop(path, None)
            self.last_reparsed_lines = text.count("\n") + 1
            return analyse(text, path, config, ruleset)
        started = time.perf_counter()
        key = (config.fingerprint(), tuple(ruleset.codes))
        state = self._states.get(path)
        if state is not None and state.key == key:
            if state.text == text and state.report is not None:
                self.last_reparsed_lines = 0
                return state.report
            lines = spliced_lines(state.lines, state.text, text)
            reparsed = _update(state, lines, text, path)
            if reparsed is not None and not _refresh(state, text, lines, path):
                reparsed = None
        else:
            lines = text.split("\n")
            state = None
            reparsed = None
            pending = self._pending.get(path)
            if pending is None or pending[0] != text:  # new: answer now, build when idle
                self._pending[path] = (text, config, ruleset)
                self.last_reparsed_lines = len(lines)
                return analyse(text, path, config, ruleset)
        self._pending.pop(path, None)
        self.last_reparsed_lines = len(lines) if reparsed is None else reparsed
        if reparsed is None:
            state = _build(text, lines, path, config, ruleset, key)
            if state is None:  # the text does not parse: the plain path reports E999
                return analyse(text, path, config, ruleset)
        assert state is not None
        self._states[path] = state
        self._states.move_to_end(path)
        while len(self._states) > self._max:
            self._states.popitem(last=False)
        state.lines = lines
        state.text = text
        state.report = _report(state, text, path, config, ruleset, started)
        self.last_scoped_reused = state.scoped_reused
        self.last_scoped_patched = state.scoped_patched
        return state.report


__all__ = ["IncrementalAnalyser"]
