"""The rule strategy: what every rule, built-in or plug-in, looks like.

A rule is one class in one file. It carries its documentation and its examples
(``valid`` and ``invalid``), which are run as tests and rendered into
``docs/user/rules.md``. Detection works on the stdlib ``ast`` (fast); fixes are
written with libcst and only computed on demand (see ``ems.fixes``).

Two detection styles are available and may be mixed:

* ``node_types`` + ``visit(node, ctx)``: the engine walks the tree once and calls
  each rule only for the node types it asked for, with ``ctx.ancestors`` set.
* ``check(ctx)``: a whole-module pass, for rules that need the scope model.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ems.core.model import Finding, Fix, Range, Related, Safety, Severity, Tag, render_message
from ems.core.source import SourceText

if TYPE_CHECKING:
    from ems.fixes.context import FixContext


class CstNeeded(Exception):
    """Raised by a rule's ``text_fix`` for a shape its text route does not handle: the
    engine then computes the fix with libcst (``fix``)."""


@dataclass(frozen=True)
class Invalid:
    """An example the rule must flag; ``fixed`` is the expected result of its fixes.

    ``at`` and ``message`` pin what it reports, as Fixit's ``InvalidTestCase`` does: the
    span of each finding, ``"line:column-end_line:end_column"`` (lines from 1, columns from 0
    in code points, as ``ems.core.model.Range``; ``ems check`` prints column + 1), and its
    message; one of each per finding (a tuple when there are several), in report order.
    """

    code: str
    fixed: str | None = None
    count: int = 1  # how many findings of this rule the example yields
    unsafe: bool = False  # whether producing ``fixed`` needs unsafe fixes
    path: str = "example.py"
    also: tuple[str, ...] = ()  # other rule codes enabled alongside (e.g. for RUF100)
    at: str | tuple[str, ...] = ()
    message: str | tuple[str, ...] = ()

    @property
    def spans(self) -> tuple[tuple[int, int, int, int], ...]:
        """``at`` as (line, column, end line, end column) per finding."""
        return tuple(_span(text) for text in ((self.at,) if isinstance(self.at, str) else self.at))

    @property
    def messages(self) -> tuple[str, ...]:
        return (self.message,) if isinstance(self.message, str) else self.message


def _span(text: str) -> tuple[int, int, int, int]:
    """``"3:4-3:9"`` as (3, 4, 3, 9); raises ValueError on another shape."""
    start, end = text.split("-")
    line, column = start.split(":")
    end_line, end_column = end.split(":")
    return int(line), int(column), int(end_line), int(end_column)


@dataclass(frozen=True)
class Valid:
    code: str
    path: str = "example.py"
    also: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Hit:
    """What a rule reports; the engine turns it into a full ``Finding``."""

    line: int
    column: int  # code points
    end_line: int
    end_column: int
    message: str
    related: tuple[Related, ...] = ()
    data: tuple[tuple[str, str], ...] = ()
    # ``message`` with ``{0}``... for the lines of ``related`` (``render_message``): set it
    # when the message names a related place's line, so the engine can move that line.
    template: str = ""


# The "word" of a fact about the module's imports: re-checked when they change.
IMPORTS = "\0imports"
# The first part of the key of a fact about the module's statements (``AnalysisContext.
# statements_fact``): re-checked when an edit touches a top-level statement that holds its
# word, not only when the edited lines hold it.
STATEMENTS = "\0statements"

FactKey = tuple[str, ...]
# What a rule asked of the whole module: (the word only whose occurrences can change it, or
# ``IMPORTS``; how it is computed, None for "is NAME bound anywhere?"; its answer).
FactEntry = tuple[str, Callable[[Any], object] | None, object]


class FactLog(dict[FactKey, FactEntry]):
    """``AnalysisContext.fact_log``: each fact the rules asked, and where it was asked.

    ``places``: per fact, the lines of the nodes its askers named (``module_fact(at=)``),
    None when one asker named none. Verification of a fixed text (``ems.fixes.
    verifybody``) re-checks only some parts of the module: a fact that changed can then
    leave every finding elsewhere alone, provided all its askers are in those parts (B007's
    rename to `_i` changes "is `_i` a word?" for the loops over `i` only)."""

    places: dict[FactKey, set[int] | None]

    def __init__(self) -> None:
        super().__init__()
        self.places = {}

    def asked_at(self, key: FactKey, at: ast.AST | None) -> None:
        places = self.places.get(key, set())
        if places is None:
            return
        if at is None or not hasattr(at, "lineno"):
            self.places[key] = None
        else:
            places.add(at.lineno)
            self.places[key] = places


def module_imports(ctx: AnalysisContext) -> list[ast.stmt]:
    if ctx.module_imports is not None:
        return ctx.module_imports()
    return [s for s in ctx.tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]


@dataclass
class AnalysisContext:
    """Everything a rule may look at for one document. Built once per analysis."""

    path: str
    source: SourceText
    tree: ast.Module
    # The path from the module down to the node being visited (not the node itself): a
    # list during the engine's own walk, a view of the scope pass's parent links when the
    # nodes came from that pass (``ParentChain``). Read it; never change it.
    ancestors: Sequence[ast.AST] = field(default_factory=list)
    _cache: dict[str, object] = field(default_factory=dict)
    # The answers of ``module_fact``/``imports_fact`` known so far, by key: a caller that
    # checks part of a module may seed it with the whole module's answers that still hold
    # (``ems.fixes.verifybody``), which are then not computed again.
    module_facts: dict[FactKey, object] = field(default_factory=dict)
    # The whole document's text when ``tree``/``source`` are only part of it (incremental
    # analysis checks one top-level statement at a time), and where the facts rules read
    # from it are logged, so that a cached result is redone when one of its facts changes.
    module_text: str | None = None
    fact_log: dict[FactKey, FactEntry] | None = None
    # Incremental analysis answers "is NAME bound anywhere in the module?" from every
    # statement's names (``Rule.watched_names``); a whole-module analysis walks its tree.
    bound_anywhere: Callable[[str], bool] | None = None
    # ... and the module's top-level import statements, in order, from every statement
    module_imports: Callable[[], list[ast.stmt]] | None = None

    @property
    def is_init_module(self) -> bool:
        return self.path.replace("\\", "/").rsplit("/", 1)[-1] == "__init__.py"

    @property
    def is_stub(self) -> bool:
        return self.path.endswith(".pyi")

    def memo(self, key: str, build: object) -> object:
        """Compute a shared, per-document model once (e.g. the scope model)."""
        if key not in self._cache:
            self._cache[key] = build() if callable(build) else build
        return self._cache[key]

    def module_fact(
        self, key: FactKey, word: str, compute: Callable[[str], object], *, at: ast.AST | None = None
    ) -> object:
        """A fact about the whole document's text that only ``word`` can change (e.g. "is
        `_i` a word of it?", word ``_i``).

        A rule whose findings in one statement depend on the rest of the document must ask
        here, not read ``source.text``: the incremental analysis re-checks a statement when
        an edit touches ``word`` and the fact it was checked under changed. ``compute`` must
        depend on the text alone, and only on the places where ``word`` occurs. ``at``: the
        node the finding the answer feeds is reported at, when only that finding reads it
        (``FactLog.places``).
        """
        cache = self.module_facts
        if key not in cache:
            cache[key] = compute(self.source.text if self.module_text is None else self.module_text)
        value = cache[key]
        if self.fact_log is not None:
            self.fact_log[key] = (word, compute, value)
            if isinstance(self.fact_log, FactLog):
                self.fact_log.asked_at(key, at)
        return value

    def statements_fact(
        self,
        key: FactKey,
        word: str,
        compute: Callable[[str], object],
        of_tree: Callable[[ast.Module], object],
        *,
        at: ast.AST | None = None,
    ) -> object:
        """A fact about the whole module that only the top-level statements holding
        ``word`` can change, wherever in them (EMS103: is the file bound to `fh` at the top
        level closed by a `with fh:` anywhere in the module?). ``compute`` gives it from the
        whole text, ``of_tree`` from the whole module's tree: a whole-module analysis has that
        parsed already. The incremental analysis re-checks it when an edit touches such a
        statement (``module_fact`` facts: only when the edited lines hold the word); fix
        judging when a changed function body holds the word (a change inside a body can only
        change the nodes in it). The key is ``key`` after ``STATEMENTS``."""
        key = (STATEMENTS, *key)
        if self.module_text is None and key not in self.module_facts:  # the tree is the whole text's
            self.module_facts[key] = of_tree(self.tree)
        return self.module_fact(key, word, compute, at=at)

    def imports_fact(self, key: FactKey, compute: Callable[[list[ast.stmt]], object]) -> object:
        """A fact about the module's top-level ``import`` statements (e.g. the name under
        which `datetime` is imported), computed from them alone, in order."""
        cache = self.module_facts
        if key not in cache:
            cache[key] = compute(module_imports(self))
        value = cache[key]
        if self.fact_log is not None:
            self.fact_log[key] = (IMPORTS, compute, value)
            if isinstance(self.fact_log, FactLog):
                self.fact_log.asked_at(key, None)
        return value

    def binds_anywhere(self, name: str) -> bool:
        """Whether ``name`` is bound anywhere in the document (a def, class, import or any
        assignment target, in any scope; parameters excepted). Rules that ask must list the
        name in ``watched_names``."""
        if self.bound_anywhere is not None:
            value = self.bound_anywhere(name)
        else:
            from ems.core.watched import name_bound_in_module, names_bound

            cache: dict[str, bool] = self.memo("binds-anywhere", dict)  # type: ignore[assignment]
            if name not in cache:
                if self.module_text is None:  # the tree is the whole text's
                    cache[name] = name_bound_in_module(self.tree, name, self.source.text)
                else:
                    cache[name] = name in names_bound([self.tree], frozenset({name}), self.source.text)
            value = cache[name]
        if self.fact_log is not None:
            self.fact_log[("binds", name)] = (name, None, value)
            if isinstance(self.fact_log, FactLog):
                self.fact_log.asked_at(("binds", name), None)
        return value

    @property
    def scopes(self):
        model = self._cache.get("scopes")  # built by the engine's pass, most often
        if model is not None:
            return model
        from ems.core.scope import build_scope_model

        return self.memo("scopes", lambda: build_scope_model(self.tree, self))

    def hit(
        self,
        node: ast.AST,
        message: str,
        *,
        end_node: ast.AST | None = None,
        related: Iterable[Related] = (),
        data: Iterable[tuple[str, str]] = (),
        template: str = "",
    ) -> Hit:
        """A hit spanning ``node`` (to ``end_node`` if given), columns converted to chars.

        With ``template``, ``message`` is rendered from it and the lines of ``related``."""
        related = tuple(related)
        if template:
            message = render_message(template, related)
        last = end_node or node
        line = node.lineno  # type: ignore[attr-defined]
        end_line = getattr(last, "end_lineno", None) or line
        end_col = getattr(last, "end_col_offset", None)
        col = node.col_offset  # type: ignore[attr-defined]
        return Hit(
            line,
            self.source.char_column(line, col),
            end_line,
            self.source.char_column(end_line, end_col if end_col is not None else col),
            message,
            related,
            tuple(data),
            template,
        )

    def related(self, node: ast.AST, message: str = "", *, name: str = "") -> Related:
        """The place of ``node``: shown with ``message``, or the rule's own place ``name``."""
        hit = self.hit(node, message)
        return Related(Range.of(hit.line, hit.column, hit.end_line, hit.end_column), message, name)


class ParentChain(Sequence[ast.AST]):
    """``ctx.ancestors`` for a node, read from a child -> parent map, lazily.

    Rules mostly look at the parent (``[-1]``) or walk up (``reversed``): both follow the
    links from the node without building the list, which a walk would pay per node.
    """

    __slots__ = ("node", "parents")

    def __init__(self, parents: dict[ast.AST, ast.AST]) -> None:
        self.parents = parents
        self.node: ast.AST | None = None

    def __reversed__(self) -> Iterator[ast.AST]:
        parents = self.parents
        current = parents.get(self.node)  # type: ignore[arg-type]
        while current is not None:
            yield current
            current = parents.get(current)

    def __bool__(self) -> bool:
        return self.node in self.parents

    def __len__(self) -> int:
        return sum(1 for _ in reversed(self))

    def __iter__(self) -> Iterator[ast.AST]:
        return iter(self._list())

    def __getitem__(self, index):
        if index == -1:  # the parent: what rules ask most, one lookup
            parent = self.parents.get(self.node)
            if parent is None:
                raise IndexError(index)
            return parent
        if isinstance(index, int) and index < 0:
            for count, node in enumerate(reversed(self), 1):
                if count == -index:
                    return node
            raise IndexError(index)
        return self._list()[index]

    def _list(self) -> list[ast.AST]:
        chain = list(reversed(self))
        chain.reverse()
        return chain


class Rule:
    """Base strategy. Subclasses set the class attributes and override hooks.

    One instance serves every document analysed under a configuration (the engine selects
    and builds the rules once per configuration): per-document state goes in ``ctx.memo``."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity] = Severity.WARNING
    summary: ClassVar[str]  # one line: what is wrong
    explanation: ClassVar[str]  # why it matters, in a few sentences
    tags: ClassVar[frozenset[Tag]] = frozenset()
    fix_safety: ClassVar[Safety | None] = None  # None: the rule has no fix
    fix_title: ClassVar[str] = ""
    # Codes this rule's fix may legitimately bring to light (e.g. code after a new `raise`
    # becomes unreachable); verification accepts new findings of these codes only.
    fix_may_reveal: ClassVar[frozenset[str]] = frozenset()
    # True when the fix reads nothing of the libcst tree beyond the innermost function (or
    # top-level statement) holding the finding and its related places (``ctx.text`` is
    # always the whole file): libcst then parses only those statements (``ems.fixes.
    # slices``), the largest saving of a cold check. False (the default, for plug-ins):
    # the fix sees the whole module.
    local_fix: ClassVar[bool] = False
    valid: ClassVar[tuple[Valid, ...]] = ()
    invalid: ClassVar[tuple[Invalid, ...]] = ()
    node_types: ClassVar[tuple[type[ast.AST], ...]] = ()
    docs_url: ClassVar[str] = ""
    # True when a finding can depend on names bound or read in *other* top-level
    # statements (unused imports, undefined names): the language server's incremental
    # analysis re-runs such rules over the whole module's outline on every change, and
    # caches every other rule's findings per top-level statement (ems.core.incremental).
    module_scoped: ClassVar[bool] = False
    # Names whose binding anywhere in the module changes this rule's findings (asked with
    # ``ctx.binds_anywhere``): EMS103 leaves `open` alone in a module with its own `open`.
    watched_names: ClassVar[frozenset[str]] = frozenset()
    # True when ``check`` reads ``ctx.scopes``: the engine then builds the scope model in
    # the same pass that collects the nodes for every rule's ``visit`` (one walk per file).
    # A rule that reads it without saying so still works (the model is built on demand).
    uses_scopes: ClassVar[bool] = False
    # True when ``visit`` reports only nodes met outside every function body (F706's
    # ``return``): the scope pass, which knows the innermost scope of each node it meets,
    # then hands it only those (the standard library's 13,000 returns are all in functions).
    outside_functions_only: ClassVar[bool] = False
    # When set: ``visit`` reports nothing for a ``Call`` whose called name (``f`` of
    # ``f(...)`` or ``x.f(...)``) is not one of these, nor for an ``Attribute`` whose
    # ``attr`` is not one. The scope pass then hands over only the calls and attributes so
    # named (the standard library has 57,000 calls and 75,000 attributes; the rules that
    # visit them look for a few names).
    visit_names: ClassVar[frozenset[str] | None] = None
    # When set: ``visit`` reports nothing for a node (an ``Expr``, an ``Assign``...) whose
    # ``value`` is not of one of these classes (exactly: no subclass). The scope pass then
    # hands over only the nodes whose value is (the standard library has 34,000
    # assignments, a few dozen of them lambdas: E731 looks at those).
    visit_values: ClassVar[frozenset[type[ast.AST]] | None] = None
    # True when a finding of this rule that a fix brings means the fix broke the code (a
    # name left undefined, one shadowed): verification runs the rule on every fixed text
    # whatever the user selected, and refuses such a fix (``ems.fixes.engine.verifying``).
    # Its findings are reported only when it is selected.
    guards_fixes: ClassVar[bool] = False

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        return iter(())

    def check(self, ctx: AnalysisContext) -> Iterator[Hit]:
        return iter(())

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        return None

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` computed as a text edit from ``ast`` positions and ``ctx.text``, without
        libcst (``ems.fixes.textedit``): the very fix ``fix`` gives, or ``CstNeeded`` for a
        shape the text route leaves to ``fix``. The default is no text route: every offer
        goes to ``fix`` (libcst)."""
        raise CstNeeded

    @classmethod
    def has_text_fix(cls) -> bool:
        """Whether the rule has a text route (overrides ``text_fix``): when every selected
        rule with a fix has one, a scan's workers need not import libcst ahead."""
        return cls.text_fix is not Rule.text_fix

    @classmethod
    def finding(
        cls, path: str, message: str, range: Range | None = None, severity: Severity | None = None
    ) -> Finding:
        """A finding of this rule made outside the rule walk: how the engine, the project scan
        and the guard emit the internal codes (E999, E902, EMS901-903) with the code, name and
        severity their rule class documents. Default range: the start of the file."""
        return Finding(
            code=cls.code,
            name=cls.name,
            severity=cls.severity if severity is None else severity,
            range=Range.of(1, 0, 1, 0) if range is None else range,
            message=message,
            path=path,
        )

    @classmethod
    def has_fix(cls) -> bool:
        return cls.fix_safety is not None

    @classmethod
    def is_fixable(cls, hit: Hit) -> bool:
        """Whether this particular hit can be fixed (some hits of a fixable rule cannot)."""
        return cls.has_fix()

    @classmethod
    def url(cls) -> str:
        if cls.docs_url:
            return cls.docs_url
        return f"https://ems.readthedocs.io/en/latest/user/rules/#{cls.code.lower()}"


def explain(rule: type[Rule], *, heading: str = "#") -> str:
    """Markdown explanation of a rule: the same text for `ems rule`, hovers and the docs."""
    fix = (
        f"**Fix** ({rule.fix_safety.value}): {rule.fix_title}."
        if rule.fix_safety is not None
        else "**Fix**: none; the change needs a human decision."
    )
    parts = [
        f"{heading} {rule.code} {rule.name}",
        "",
        f"*{rule.summary}* — severity: {rule.severity.value}",
        "",
        rule.explanation,
        "",
        fix,
    ]
    for example in rule.invalid[:3]:
        parts += ["", "Flagged:", "", "```python", example.code.rstrip("\n"), "```"]
        reported = [  # as `ems check` prints them (columns from 1), from the example's own pins
            f"{example.path}:{line}:{column + 1}: {rule.code} {message}"
            for (line, column, _, _), message in zip(example.spans, example.messages, strict=False)
        ]
        if reported:
            parts += ["", "Reported:", "", "```text", *reported, "```"]
        if example.fixed is not None:
            label = "After `ems fix --unsafe-fixes`:" if example.unsafe else "After `ems fix`:"
            parts += ["", label, "", "```python", example.fixed.rstrip("\n") or "# (empty)", "```"]
    for fine in rule.valid[:2]:
        parts += ["", "Fine:", "", "```python", fine.code.rstrip("\n"), "```"]
    return "\n".join(parts)
