"""A changed def whose only change took out a binding nothing reads (F841's fix), judged
without analysing it again: every other finding in it is the judged one, moved.

Why: under ``--select F,E9`` most changed defs are the ``--unsafe-fixes`` run's F841
fixes, and each cost three scope passes (the judged def alone, the fixed def alone, the
chunk-local rules over it) and a parse.

The argument, for rules that see a function only through its scopes' bindings and reads
and the nodes of its expressions (``_KNOWN``: pyflakes' rules): the fixed def is the
judged one with the binding of ``x`` gone (``x = value`` made ``value``, ``x = <constant>``
removed, ``as x`` dropped from an ``except`` or ``with``), and the word ``x`` occurs
nowhere else in the def, so nothing read, declared (``global``, ``nonlocal``), deleted or
bound it again there. Every binding and read of the module but that one is the same, so
every finding but its F841 is the same, at a place the removed text moved. What the rules
asked of the rest of the module is re-checked by the caller (``facts_now``), and a
selected rule outside ``_KNOWN`` (a plug-in, any other built-in) leaves the def to the
full checks. Anything else — a finding in or across the removed text, a related place, a
name a rule watches, a non-ASCII def (a name may be spelt other ways) — is not proven
here.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace

from ems.core.incremental.state import _STATEMENT_LISTS, Rules
from ems.core.model import Finding, Range
from ems.core.watched import every_name_bound
from ems.fixes.textedit import one_string
from ems.fixes.verifybody.parts import Change, Judged, _lines_of, _names_in

# The built-in rules (module and class) the argument holds for: their findings in a def
# are a function of its scopes' bindings and reads and of its expressions' own nodes.
_KNOWN = frozenset(
    {
        "ems.rules.e902_io_error.IOErrorRule",
        "ems.rules.e999_syntax_error.SyntaxErrorRule",
        "ems.rules.f401_unused_import.UnusedImport",
        "ems.rules.f402_import_shadowed_by_loop_var.ImportShadowedByLoopVar",
        "ems.rules.f541_fstring_missing_placeholders.FStringMissingPlaceholders",
        "ems.rules.f601_multi_value_repeated_key.MultiValueRepeatedKey",
        "ems.rules.f631_assert_tuple.AssertTuple",
        "ems.rules.f632_is_literal.IsLiteral",
        "ems.rules.f701_break_outside_loop.BreakOutsideLoop",
        "ems.rules.f702_continue_outside_loop.ContinueOutsideLoop",
        "ems.rules.f706_return_outside_function.ReturnOutsideFunction",
        "ems.rules.f811_redefined_while_unused.RedefinedWhileUnused",
        "ems.rules.f821_undefined_name.UndefinedName",
        "ems.rules.f841_unused_variable.UnusedVariable",
        "ems.rules.f901_raise_not_implemented.RaiseNotImplemented",
    }
)

_F841 = "ems.rules.f841_unused_variable"
_EQUALS = re.compile(r"[ \t]*=(?!=)[ \t]*")
_AS = re.compile(r"[ \t]+as[ \t]+$")
# what a value removed with its line may hold: no name is read, no scope opened
_INERT = (ast.Constant, ast.Tuple, ast.List, ast.Set, ast.Dict, ast.UnaryOp, ast.BinOp)
_INERT_PARTS = (ast.expr_context, ast.operator, ast.unaryop)
_READS = (ast.Attribute, ast.Subscript, ast.Slice)  # reads only what their names read


def all_known(rules: Rules) -> bool:
    """Whether every selected rule is one the argument holds for."""
    return all(
        f"{type(rule).__module__}.{type(rule).__qualname__}" in _KNOWN
        for group in (rules.local_rules, rules.scoped_rules)
        for rule in group
    )


class Removed:
    """The text a fix took out of a changed def: columns ``start``..``end`` of judged line
    ``line`` (``lines`` 0; ``added`` characters in their place: ``pass``), or ``lines``
    whole lines from ``line`` on; ``target`` is the finding of the binding that went. (A
    plain class: a dataclass cost 0.6 ms to create at import, on every cold check that
    judges a file.)"""

    __slots__ = ("added", "end", "line", "lines", "name", "start", "target")

    def __init__(self, target: Finding, line: int, start: int, end: int, lines: int, added: int = 0) -> None:
        self.target, self.line, self.start, self.end, self.lines = target, line, start, end, lines
        self.added = added
        self.name = ""  # the name whose binding went

    def judged_line(self, line: int) -> int:
        """The judged line of the def's line ``line`` of the fixed text, counted as if no
        line had gone (the fixed line less how far the def moved)."""
        return line + self.lines if self.lines and line >= self.line else line

    def moved(self, finding: Finding, offset: int) -> Finding | None:
        """A judged finding of the def at its place in the fixed text (``offset``: how far
        the def moved); None when it lies in or across the removed text or names a
        related place."""
        if finding.related:
            return None
        at = finding.range
        a = (at.start.line, at.start.column)
        b = (at.end.line, at.end.column)
        if self.lines:
            gone, back = (self.line, 0), (self.line + self.lines, 0)
        else:
            gone, back = (self.line, self.start), (self.line, self.end)
        if b <= gone:
            shift_line, shift_column = 0, 0
        elif a >= back:
            shift_line, shift_column = -self.lines, self.start + self.added - self.end
        else:
            return None

        def column(line: int, value: int) -> int:
            return value + shift_column if not self.lines and line == self.line else value

        return replace(
            finding,
            range=Range.of(
                at.start.line + shift_line + offset,
                column(at.start.line, at.start.column),
                at.end.line + shift_line + offset,
                column(at.end.line, at.end.column),
            ),
            fingerprint="",
        )


def removed_binding(
    judged: Judged, change: Change, new: list[str], watched: frozenset[str]
) -> Removed | None:
    """What the fixed def at ``change`` lost when that is one unused binding, as the module
    docstring says (the caller checks the rules with ``all_known``); else None."""
    body = change.body
    node = body.node
    if node is None or change.header:
        return None
    old = judged.lines[body.first - 1 : body.end]
    fixed = new[change.new_first - 1 : change.new_end]
    if not 0 <= len(old) - len(fixed) < len(old):
        return None
    if body.end < len(judged.lines) and (
        change.new_end >= len(new) or new[change.new_end] != judged.lines[body.end]
    ):
        return None  # the line after the def changed too: its end was guessed
    region = "\n".join(old)
    if not region.isascii():
        return None
    for finding in judged.report.findings:
        line = finding.range.start.line
        if line > body.end:
            break
        if line < body.start or finding.code not in ("F841", "F401", "F541") or not finding.fixable:
            continue
        if finding.code == "F541":
            found = _prefix_removed(node, finding, old, fixed, body.first)
            if found is not None:
                return found
            continue
        if finding.code == "F401":
            found = _import_removed(node, finding, old, fixed, body.first, watched)
        else:
            found = _removed(node, finding, old, fixed, body.first, watched)
        if found is not None and _once(found.name, node, region):
            return found
    return None


def _removed(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    finding: Finding,
    old: list[str],
    fixed: list[str],
    first: int,
    watched: frozenset[str],
) -> Removed | None:
    """``removed_binding`` for the F841 ``finding``: its binding's text taken out, and the
    fixed def exactly the judged one without it."""
    name = finding.datum("name")
    if not _plain(name, watched):
        return None
    line, column = finding.range.start.line, finding.range.start.column
    index = line - first
    text = old[index]
    if text[column : column + len(name)] != name:
        return None
    path = _path_to(node, line)
    kind = finding.datum("kind")
    if kind == "assign":
        statement = next(
            (s for s in path if isinstance(s, ast.Assign) and s.lineno == line and s.col_offset == column),
            None,
        )
        target = statement.targets[0] if statement is not None and len(statement.targets) == 1 else None
        if statement is None or not isinstance(target, ast.Name) or target.id != name:
            return None
        equals = _EQUALS.match(text, column + len(name))
        if (
            equals is not None
            and equals.end() < len(text)
            and text[equals.end()] not in "\\#"
            and statement.value.lineno == line
        ):  # `x = value` made `value`?
            found = _inline(finding, old, fixed, index, column, equals.end(), line)
            if found is not None:
                return _named(found, name)
        found = _whole(finding, statement, [node, *path], old, fixed, index, line)
        if found is None or not _reads_nothing_else(statement.value, node, path, "\n".join(old)):
            return None
        return _named(found, name)
    if kind in ("except", "with"):
        if kind == "except":
            holder: ast.AST | None = next(
                (s for s in path if isinstance(s, ast.ExceptHandler) and s.lineno == line and s.name == name),
                None,
            )
        else:
            holder = next(
                (
                    s
                    for s in path
                    if isinstance(s, (ast.With, ast.AsyncWith))
                    and any(
                        isinstance(i.optional_vars, ast.Name)
                        and i.optional_vars.lineno == line
                        and i.optional_vars.col_offset == column
                        for i in s.items
                    )
                ),
                None,
            )
        if holder is None or len(fixed) != len(old):
            return None
        before = _AS.search(text, 0, column)
        end = column + len(name)
        after = text[end:].lstrip(" \t")
        if before is None or not (
            after.startswith(":") or (after.startswith(",") and "(" not in text[:column])
        ):
            return None
        return _named(_inline(finding, old, fixed, index, before.start(), end, line), name)
    return None


def _import_removed(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    finding: Finding,
    old: list[str],
    fixed: list[str],
    first: int,
    watched: frozenset[str],
) -> Removed | None:
    """``removed_binding`` for the F401 ``finding`` of an import of one name inside the
    def: its lines taken out, and the fixed def exactly the judged one without them."""
    line, column = finding.range.start.line, finding.range.start.column
    path = _path_to(node, line)
    statement = next(
        (s for s in path if isinstance(s, (ast.Import, ast.ImportFrom)) and s.lineno == line),
        None,
    )
    if statement is None:
        return None
    names = statement.names
    at = next((i for i, a in enumerate(names) if a.lineno == line and a.col_offset == column), None)
    if at is None:
        return None
    alias = names[at]
    name = alias.asname or (alias.name.partition(".")[0] if isinstance(statement, ast.Import) else alias.name)
    if name == "*" or not _plain(name, watched):
        return None
    if len(names) == 1:
        return _named(_whole(finding, statement, [node, *path], old, fixed, line - first, line), name)
    # one name of several goes with the comma after it (the last: before it), on one line
    if statement.end_lineno != line or any(a.lineno != line or a.end_lineno != line for a in names):
        return None
    text = old[line - first]
    if at + 1 < len(names):
        start, end = alias.col_offset, names[at + 1].col_offset
        between = text[alias.end_col_offset or 0 : end]
    else:
        start, end = names[at - 1].end_col_offset or 0, alias.end_col_offset or 0
        between = text[start : alias.col_offset]
    if between.strip(" \t") != ",":
        return None
    return _named(_inline(finding, old, fixed, line - first, start, end, line), name)


def _prefix_removed(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    finding: Finding,
    old: list[str],
    fixed: list[str],
    first: int,
) -> Removed | None:
    """``removed_binding`` for the F541 ``finding``: the ``f`` of an f-string without
    placeholders or braces taken out (``f"text"`` made ``"text"``), where no rule reads a
    string other than an f-string (``_plain_context``); the fixed def exactly the judged
    one without it. Its value is the same string: only F541's own finding goes."""
    at = finding.range
    line = at.start.line
    if at.end.line != line:
        return None
    index = line - first
    token = old[index][at.start.column : at.end.column]
    prefix = token[: len(token) - len(token.lstrip("rRbBuUfF"))]
    if prefix.count("f") + prefix.count("F") != 1 or "{" in token or "}" in token or not one_string(token):
        return None  # (`f'' f''` made `'' f''` is an f-string still)
    start = at.start.column + max(prefix.find("f"), prefix.find("F"))
    found = _inline(finding, old, fixed, index, start, start + 1, line)
    if found is None or not _plain_context(node, line, at.start.column):
        return None
    return found


# Where a string constant is no f-string's like: an operand of `is` (F632), a dict's key or
# value (F601), an annotation (a subscript, a typing call's argument: ``scope``'s
# ``_TYPING_CALLS``), inside another f-string (whose parts' places 3.11 misreports).
_NOT_PLAIN = (ast.Compare, ast.Dict, ast.Subscript, ast.JoinedStr, ast.FormattedValue, ast.arg, ast.AnnAssign)
_TYPING_CALLS = frozenset({"cast", "TypeVar", "ParamSpec", "TypeVarTuple", "NewType"})


def _plain_context(node: ast.FunctionDef | ast.AsyncFunctionDef, line: int, column: int) -> bool:
    """Whether the f-string at ``line``/``column`` of the def ``node`` sits where a plain
    string would be judged alike by every known rule: none of its holders is in
    ``_NOT_PLAIN`` or a call of a typing name, nor is it in an annotation field."""
    stack: list[tuple[ast.AST, bool]] = [(s, True) for s in _path_to(node, line)]
    found = False
    while stack:
        holder, plain = stack.pop()
        if isinstance(holder, ast.JoinedStr) and holder.lineno == line and holder.col_offset == column:
            if not plain:
                return False
            found = True
            plain = False  # (an f-string inside it is another one's)
        if isinstance(holder, _NOT_PLAIN):
            plain = False
        elif isinstance(holder, ast.Call):
            func = holder.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if name in _TYPING_CALLS:
                plain = False
        for field in holder._fields:
            if field in _STATEMENT_LISTS:
                continue  # (the statements in it have their own places in the path)
            value = getattr(holder, field, None)
            inner = plain and field not in ("annotation", "returns")
            for child in value if value.__class__ is list else (value,):
                if isinstance(child, ast.AST) and not isinstance(child, _INERT_PARTS):
                    stack.append((child, inner))
    return found


def _named(removed: Removed | None, name: str) -> Removed | None:
    if removed is not None:
        removed.name = name
    return removed


def _plain(name: str, watched: frozenset[str]) -> bool:
    """Not a name a rule watches, nor a dunder (``__class__``: the compiler's own).

    (A name the module imports needs no test: a binding that redefines an unused import
    has its F811 at the binding, in the removed text, and then nothing is proven.)"""
    return name.isidentifier() and name not in watched and not (name.startswith("__") and name.endswith("__"))


def _once(name: str, node: ast.AST, region: str) -> bool:
    """Whether the binding of ``name`` is the def ``node``'s only mention of it (``region``:
    its text): nothing declares, deletes or binds it again there (and no read uses the
    binding, which the finding says). The word once in the text says so at once; else
    the def's identifiers are counted (``parts._names_in``: the word in a docstring or a
    comment is no identifier; in another string it counts, as it may be an annotation)."""
    return _occurrences(name, region) == 1 or _names_in([node])[name] == 1


def _inline(
    finding: Finding,
    old: list[str],
    fixed: list[str],
    index: int,
    start: int,
    end: int,
    line: int,
    put: str = "",
) -> Removed | None:
    """The removal of columns ``start``..``end`` of the def's line ``index`` (``put`` in
    their place), if that is all the fixed def differs by."""
    text = old[index]
    if (
        len(fixed) != len(old)
        or fixed[index] != text[:start] + put + text[end:]
        or fixed[:index] != old[:index]
        or fixed[index + 1 :] != old[index + 1 :]
    ):
        return None
    return Removed(finding, line, start, end, 0, len(put))


def _whole(
    finding: Finding,
    statement: ast.stmt,
    holders: list[ast.AST],
    old: list[str],
    fixed: list[str],
    index: int,
    line: int,
) -> Removed | None:
    """The removal of the lines of ``statement`` (alone on them; ``holders``: the def and
    the statements holding it), or ``pass`` in its place when it is its block's only
    statement, if that is all the fixed def differs by."""
    count = (statement.end_lineno or line) - line + 1
    head = old[index][: statement.col_offset]
    tail = old[index + count - 1][statement.end_col_offset :].strip(" \t")
    if head.strip(" \t") or (tail and not tail.startswith("#")) or "\\" in tail:
        return None
    block = next((b for s in holders for b in _blocks(s) if any(c is statement for c in b)), None)
    if block is None:
        return None
    if len(block) == 1:
        if count != 1:
            return None
        return _inline(
            finding, old, fixed, index, statement.col_offset, statement.end_col_offset or 0, line, "pass"
        )
    if len(old) - len(fixed) != count or fixed != old[:index] + old[index + count :]:
        return None
    return Removed(finding, line, 0, 0, count)


def _occurrences(name: str, region: str) -> int:
    """How often the identifier ``name`` occurs as a word of the ASCII ``region`` (not
    after a dot: an attribute), up to 2. A word inside a string or a comment counts too.
    (``str.find``: a pattern per name cost a compilation each.)"""
    found = 0
    at = region.find(name)
    while at >= 0:
        before = region[at - 1] if at else " "
        end = at + len(name)
        after = region[end] if end < len(region) else " "
        if not (before.isalnum() or before in "_.") and not (after.isalnum() or after == "_"):
            found += 1
            if found > 1:
                break
        at = region.find(name, end)
    return found


def _reads_nothing_else(
    value: ast.expr, node: ast.FunctionDef | ast.AsyncFunctionDef, path: list[ast.AST], region: str
) -> bool:
    """Whether a value removed with its statement reads nothing whose removal another
    finding could see: constants, or the def's own parameters (``self.memo``,
    ``results["key"]``) read in its own scope, none of them bound again in the def. A
    parameter is never reported unused, and its read uses nothing of the module."""
    params: set[str] = set()
    for part in ast.walk(value):
        if isinstance(part, ast.Name):
            if part.ctx.__class__ is not ast.Load:
                return False
            params.add(part.id)
        elif not isinstance(part, _INERT + _INERT_PARTS + _READS):
            return False
    if not params:
        return True
    args = node.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    if not params <= {a.arg for a in every if a is not None}:
        return False
    if any(isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for s in path):
        return False  # (read in a nested scope)
    if _occurrences("match", region):
        return False  # (a mapping pattern's ``**rest`` binds a name ``every_name_bound`` skips)
    return every_name_bound(node.body).isdisjoint(params)


def _blocks(node: ast.AST) -> list[list[ast.stmt]]:
    lists = [getattr(node, name, None) for name in _STATEMENT_LISTS]
    return [value for value in lists if value.__class__ is list]


def _path_to(node: ast.AST, line: int) -> list[ast.AST]:
    """The statements, ``except`` clauses and ``case`` blocks holding ``line`` inside the
    def ``node``, outermost first (several on one line: each of them)."""
    path: list[ast.AST] = []
    level: list[ast.AST] = [node]
    while level:
        holding: list[ast.AST] = []
        for parent in level:
            for block in _blocks(parent):
                for child in block:
                    low, high = _lines_of(child)
                    if low > line:
                        break
                    if high >= line:
                        holding.append(child)
        path += holding
        level = holding
    return path
