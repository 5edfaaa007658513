"""The scope model's subtleties, one behaviour per test (F401, F811, F821, F841, B007)."""

from __future__ import annotations

import ast
import textwrap

from ems.core import Config, analyse
from ems.core.rule import AnalysisContext
from ems.core.scope import ScopeModel, build_scope_model
from ems.core.source import SourceText
from ems.fixes import fix_all

SCOPE_CODES = ("F401", "F402", "F811", "F821", "F841", "B007")


def model(source: str, path: str = "module.py") -> ScopeModel:
    text = textwrap.dedent(source)
    ctx = AnalysisContext(path=path, source=SourceText(text), tree=ast.parse(text))
    return build_scope_model(ctx.tree, ctx)


def undefined(source: str, path: str = "module.py") -> list[str]:
    return [u.name for u in model(source, path).undefined_names]


def unused_imports(source: str, path: str = "module.py") -> list[str]:
    return [u.name for u in model(source, path).unused_imports]


def unused_variables(source: str) -> list[str]:
    return [u.name for u in model(source).unused_variables]


def redefined(source: str) -> list[tuple[str, int]]:
    return [(r.name, r.node.lineno) for r in model(source).redefinitions]  # type: ignore[attr-defined]


def findings(source: str, path: str = "module.py", codes: tuple[str, ...] = SCOPE_CODES):
    return analyse(textwrap.dedent(source), path, Config(select=codes)).findings


# --------------------------------------------------------------------------- builtins


def test_builtins_and_module_dunders_are_defined() -> None:
    source = """
    print(len([]), __file__, __name__, __doc__, __spec__, __loader__, __package__)
    print(__debug__, __builtins__, __annotations__, WindowsError, __import__)
    """
    assert undefined(source) == []


def test_dunder_path_is_defined_only_in_a_package_init() -> None:
    assert undefined("print(__path__)\n", "pkg/__init__.py") == []
    assert undefined("print(__path__)\n", "pkg/mod.py") == ["__path__"]


def test_module_and_qualname_are_defined_in_a_class_body() -> None:
    assert undefined("class C:\n    where = __module__, __qualname__\n") == []


def test_dunder_class_is_defined_in_methods() -> None:
    assert undefined("class C:\n    def m(self):\n        return __class__\n") == []


def test_a_builtin_read_before_an_import_of_its_name_makes_that_import_used() -> None:
    # pyflakes' rule: the import rebinds a used name (the builtin) and inherits its use
    assert unused_imports("print(1)\nfrom pprint import pprint as print\n") == []
    assert unused_imports("from pprint import pprint as print\nprint(1)\n") == []


def test_a_builtin_read_in_one_module_is_not_read_in_the_next() -> None:
    # The builtins' bindings are shared by every module: whether one was read is the
    # module's own (a read leaking into the next module would hide its unused import).
    assert unused_imports("print(1)\nfrom pprint import pprint as print\n") == []
    assert unused_imports("from pprint import pprint as print\n") == ["print"]
    assert unused_imports("print(1)\nfrom pprint import pprint as print\n") == []


def test_deleting_a_builtin_at_module_level_leaves_it_unbound() -> None:
    assert undefined("del print\n") == []
    assert undefined("del print\nprint(1)\n") == ["print"]


def test_a_name_no_scope_binds_uses_the_star_imports_bound_before_it() -> None:
    source = """
    from os import *
    from sys import *
    getcwd()
    from json import *
    """
    used = {b.name: b.used for b in model(source).bindings.values()}
    assert used == {"os.*": True, "sys.*": True, "json.*": False}


# --------------------------------------------------------------------------- scopes


def test_class_scope_is_not_visible_from_methods() -> None:
    source = """
    class C:
        size = 3
        doubled = size * 2

        def m(self):
            return size
    """
    assert undefined(source) == ["size"]


def test_function_body_sees_module_names_defined_later() -> None:
    source = """
    def f():
        return helper()

    def helper():
        return 1
    """
    assert undefined(source) == []


def test_module_code_does_not_see_names_defined_later() -> None:
    assert undefined("print(later)\nlater = 1\n") == ["later"]


def test_nested_function_sees_enclosing_variable_assigned_after_it() -> None:
    source = """
    def outer():
        def inner():
            return value
        value = 1
        return inner
    """
    assert undefined(source) == []
    assert unused_variables(source) == []


def test_comprehension_variable_does_not_leak() -> None:
    assert undefined("squares = [n * n for n in range(3)]\nprint(n)\n") == ["n"]


def test_comprehension_first_iterable_is_evaluated_in_enclosing_scope() -> None:
    source = """
    class C:
        names = ["a", "b"]
        upper = [n.upper() for n in names]
    """
    assert undefined(source) == []


def test_walrus_in_comprehension_binds_in_enclosing_scope() -> None:
    assert undefined("if any((hit := n) > 1 for n in range(3)):\n    print(hit)\n") == []


def test_lambda_arguments_and_defaults() -> None:
    assert undefined("f = lambda x, y=2: x + y\n") == []
    assert undefined("f = lambda x=missing: x\n") == ["missing"]


def test_default_arguments_are_evaluated_in_enclosing_scope() -> None:
    assert undefined("def f(a, b=a):\n    return b\n") == ["a"]


def test_decorators_are_evaluated_in_enclosing_scope() -> None:
    source = """
    import functools

    @functools.cache
    @unknown_decorator
    def f():
        pass
    """
    assert undefined(source) == ["unknown_decorator"]
    assert unused_imports(source) == []


# --------------------------------------------------------------------------- global, nonlocal, del


def test_global_declaration_defines_the_module_name() -> None:
    source = """
    def setup():
        global registry
        registry = {}

    def use():
        return registry
    """
    assert undefined(source) == []
    assert unused_variables(source) == []


def test_nonlocal_assignment_is_not_an_unused_local() -> None:
    source = """
    def counter():
        count = 0

        def bump():
            nonlocal count
            count += 1

        return bump
    """
    assert unused_variables(source) == []


def test_del_unbinds_the_name() -> None:
    assert undefined("def f():\n    x = 1\n    del x\n    return x\n") == ["x"]


def test_del_of_an_unbound_name_is_undefined() -> None:
    assert undefined("del nothing\n") == ["nothing"]


def test_conditional_del_keeps_the_binding() -> None:
    assert undefined("def f(flag):\n    x = 1\n    if flag:\n        del x\n    return x\n") == []


def test_del_counts_as_a_use() -> None:
    assert unused_variables("def f():\n    x = 1\n    del x\n") == []


# --------------------------------------------------------------------------- try / except


def test_except_name_is_unbound_after_its_handler() -> None:
    source = """
    def f():
        try:
            pass
        except ValueError as error:
            print(error)
        return error
    """
    assert undefined(source) == ["error"]


def test_except_name_restores_a_previous_binding() -> None:
    source = """
    def f():
        error = None
        try:
            pass
        except ValueError as error:
            print(error)
        return error
    """
    assert undefined(source) == []


def test_unused_except_name_is_reported() -> None:
    assert unused_variables("try:\n    pass\nexcept ValueError as exc:\n    pass\n") == ["exc"]


def test_except_name_read_by_a_closure_is_used() -> None:
    source = """
    try:
        pass
    except ValueError as exc:
        def show():
            return exc
    """
    assert unused_variables(source) == []


def test_name_error_guard_suppresses_undefined_name() -> None:
    assert undefined("try:\n    unicode\nexcept NameError:\n    unicode = str\n") == []
    assert undefined("try:\n    unicode\nexcept (ImportError, NameError):\n    pass\n") == []


def test_try_except_import_error_fallback_is_not_a_redefinition() -> None:
    source = """
    try:
        from json import loads
    except ImportError:
        from simplejson import loads
    loads("1")
    """
    assert redefined(source) == []
    assert unused_imports(source) == []


# --------------------------------------------------------------------------- imports


def test_unused_import_is_reported_by_name() -> None:
    assert unused_imports("import os\nimport sys\nprint(sys)\n") == ["os"]


def test_future_imports_are_never_unused() -> None:
    assert unused_imports("from __future__ import annotations, division\n") == []


def test_submodule_import_is_used_through_its_package() -> None:
    assert unused_imports("import os.path\nos.getcwd()\n") == []


def test_alias_import_reports_qualified_name() -> None:
    [finding] = findings("import os.path as osp\n", codes=("F401",))
    assert finding.message == "`os.path` imported but unused"


def test_redundant_alias_is_an_explicit_reexport() -> None:
    assert unused_imports("import os as os\nfrom json import loads as loads\n") == []


def test_all_list_and_tuple_mark_imports_used() -> None:
    assert unused_imports("from m import a, b\n__all__ = ['a', 'b']\n") == []
    assert unused_imports("from m import a, b\n__all__ = ('a',)\n") == ["b"]


def test_all_augmented_assignment_extends_exports() -> None:
    assert unused_imports("from m import a, b\n__all__ = ['a']\n__all__ += ['b']\n") == []


def test_all_extend_and_append_extend_exports() -> None:
    source = "from m import a, b, c\n__all__ = []\n__all__.extend(['a'])\n__all__.append('b')\n"
    assert unused_imports(source) == ["c"]


def test_import_in_class_body_is_a_public_attribute() -> None:
    assert unused_imports("class C:\n    from os import sep\n") == []


def test_unused_import_in_function_is_reported() -> None:
    assert unused_imports("def f():\n    import json\n") == ["json"]


def test_star_import_disables_undefined_names() -> None:
    assert undefined("from os.path import *\nprint(join('a'), anything)\n") == []


def test_package_init_unused_import_fix_is_unsafe() -> None:
    source = "from .impl import helper\n"
    [finding] = findings(source, "pkg/__init__.py", ("F401",))
    assert finding.fixable
    assert fix_all(source, "pkg/__init__.py", Config(select=("F401",)), unsafe=False).text == source
    assert fix_all(source, "pkg/__init__.py", Config(select=("F401",)), unsafe=True).text == ""


def test_removing_one_of_several_names_keeps_the_rest() -> None:
    result = fix_all("from m import a, b, c\nprint(a, c)\n", config=Config(select=("F401",)))
    assert result.text == "from m import a, c\nprint(a, c)\n"


# --------------------------------------------------------------------------- annotations


def test_string_annotation_names_are_checked() -> None:
    assert undefined("def f(x: 'Missing') -> 'list[Missing]':\n    pass\n") == ["Missing", "Missing"]


def test_import_used_only_in_a_string_annotation_is_used() -> None:
    assert unused_imports("from pathlib import Path\n\n\ndef f(p: 'Path') -> None:\n    pass\n") == []


def test_type_checking_import_used_only_in_annotations_is_used() -> None:
    source = """
    from typing import TYPE_CHECKING
    if TYPE_CHECKING:
        from collections.abc import Iterator

    def f() -> "Iterator[int]":
        yield 1
    """
    assert unused_imports(source) == []


def test_future_annotations_are_resolved_at_end_of_module() -> None:
    source = """
    from __future__ import annotations

    def f(x: Later) -> Later:
        return x

    class Later:
        pass
    """
    assert undefined(source) == []


def test_annotations_without_future_import_are_evaluated_in_place() -> None:
    assert undefined("def f(x: Later):\n    pass\n\n\nclass Later:\n    pass\n") == ["Later"]


def test_literal_strings_are_not_annotations() -> None:
    source = "from typing import Literal\n\n\ndef f(mode: Literal['read', 'write']):\n    pass\n"
    assert undefined(source) == []


def test_annotated_metadata_is_not_an_annotation() -> None:
    source = "from typing import Annotated\n\nx: Annotated[int, 'some text'] = 1\n"
    assert undefined(source) == []


def test_typing_cast_first_argument_is_an_annotation() -> None:
    source = "from typing import cast\n\nvalue = cast('Missing', 1)\nother = cast(int, 'not a type')\n"
    assert undefined(source) == ["Missing"]


def test_call_arguments_inside_annotations_are_values() -> None:
    source = "from typing import List, ForwardRef\n\nx: List[ForwardRef('int', module='mod')] = []\n"
    assert undefined(source) == []


def test_annotation_without_value_leaves_local_unbound() -> None:
    assert undefined("def f():\n    x: int\n    return x\n") == ["x"]


def test_annotated_module_name_with_value_is_defined() -> None:
    assert undefined("x: int = 1\nprint(x)\n") == []


# --------------------------------------------------------------------------- unused variables


def test_unused_local_is_reported_only_in_functions() -> None:
    assert unused_variables("x = 1\n\n\ndef f():\n    y = 2\n") == ["y"]


def test_tuple_unpacking_is_not_reported() -> None:
    assert unused_variables("def f(pair):\n    a, b = pair\n") == []


def test_literal_tuple_assignment_is_reported() -> None:
    assert unused_variables("def f():\n    (a, b) = (1, 2)\n") == ["a", "b"]


def test_augmented_assignment_counts_as_use() -> None:
    assert unused_variables("def f():\n    total = 0\n    total += 1\n") == []


def test_locals_call_disables_unused_variables() -> None:
    assert unused_variables("def f():\n    x = 1\n    return locals()\n") == []


def test_underscore_names_are_deliberately_unused() -> None:
    assert unused_variables("def f():\n    _ = g()\n    _ignored = g()\n    __tracebackhide__ = True\n") == []


def test_unused_with_target_is_reported() -> None:
    assert unused_variables("def f():\n    with open('p') as handle:\n        pass\n") == ["handle"]


def test_rebinding_after_use_is_not_reported() -> None:
    assert unused_variables("def f():\n    x = 1\n    print(x)\n    x = 2\n") == []


def test_match_capture_binds_the_name() -> None:
    source = """
    def f(command):
        match command:
            case [name, *rest]:
                return name, rest
            case {"key": value, **others}:
                return value, others
    """
    assert undefined(source) == []
    assert unused_variables(source) == []


# --------------------------------------------------------------------------- redefinitions


def test_redefined_unused_function_is_reported() -> None:
    assert redefined("def f():\n    pass\n\n\ndef f():\n    pass\n") == [("f", 5)]


def test_redefinition_points_at_the_first_definition() -> None:
    [finding] = findings("import os\nimport os\nos.sep\n", codes=("F811",))
    assert finding.message == "redefinition of unused `os` from line 1"
    assert finding.range.start.line == 2
    assert finding.related[0].range.start.line == 1


def test_redefinition_range_is_the_function_name() -> None:
    [finding] = findings("def café():\n    pass\n\n\nasync  def café():\n    pass\n", codes=("F811",))
    assert (finding.range.start.column, finding.range.end.column) == (11, 15)


def test_used_definition_may_be_redefined() -> None:
    assert redefined("def f():\n    pass\n\n\nf()\n\n\ndef f():\n    pass\n") == []


def test_if_else_definitions_are_not_redefinitions() -> None:
    assert redefined("if flag:\n    def f():\n        pass\nelse:\n    def f():\n        pass\n") == []


def test_overloads_are_not_redefinitions() -> None:
    source = """
    from typing import overload

    @overload
    def f(x: int) -> int: ...
    @overload
    def f(x: str) -> str: ...
    def f(x):
        return x
    """
    assert redefined(source) == []


def test_property_setter_is_not_a_redefinition() -> None:
    source = """
    class C:
        @property
        def x(self):
            return 1

        @x.setter
        def x(self, value):
            pass
    """
    assert redefined(source) == []


def test_plain_reassignment_is_not_a_redefinition() -> None:
    assert redefined("x = 1\nx = 2\n") == []


def test_loop_variable_shadowing_import_is_f402_not_f811() -> None:
    source = "import path\nfor path in paths:\n    print(path)\n"
    assert redefined(source) == []
    assert [f.code for f in findings(source, codes=("F402", "F811"))] == ["F402"]


# --------------------------------------------------------------------------- loops


def test_unused_loop_variable_fix_is_withheld_when_read_after_the_loop() -> None:
    [finding] = findings("for i in range(3):\n    pass\nprint(i)\n", codes=("B007",))
    assert not finding.fixable


# --------------------------------------------------------------------------- robustness


def test_deep_expression_does_not_overflow() -> None:
    source = "x = " + " + ".join(["1"] * 900) + "\ndef f():\n    return " + " + ".join(["y"] * 900) + "\n"
    assert undefined(source) == ["y"] * 900


def test_deeply_nested_functions_do_not_overflow() -> None:
    depth = 60
    lines = [f"{'    ' * i}def f{i}():" for i in range(depth)]
    lines.append(f"{'    ' * depth}return missing")
    assert undefined("\n".join(lines) + "\n") == ["missing"]


def test_columns_are_code_points_on_non_ascii_lines() -> None:
    [finding] = findings("s = 'é中🙂'; import os\n", codes=("F401",))
    assert (finding.range.start.column, finding.range.end.column) == (18, 20)
    [finding] = findings("s = 'é中🙂' + missing\n", codes=("F821",))
    assert (finding.range.start.column, finding.range.end.column) == (12, 19)


def test_one_scope_pass_serves_every_rule() -> None:
    text = "import os\n"
    ctx = AnalysisContext(path="m.py", source=SourceText(text), tree=ast.parse(text))
    assert ctx.scopes is ctx.scopes


def test_match_capture_findings_point_at_the_captured_name() -> None:
    source = """
    def f(command):
        match command:
            case [first, *rest] as whole:
                pass
            case {"k": value, **others}:
                pass
    """
    spans = {f.message.split("`")[1]: (f.range.start.column, f.range.end.column) for f in findings(source)}
    assert spans == {
        "first": (14, 19),
        "rest": (22, 26),
        "whole": (31, 36),
        "value": (19, 24),
        "others": (28, 34),
    }
