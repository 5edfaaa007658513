"""F841's "another unused binding" check walks each function once, not once per finding.

``test/test_exceptions.py`` of the standard library has ``a1 = a2 = … = a800 = None`` in
one function: walking the function again for each of its 800 findings made one analysis of
that file take over a second (and ``ems check`` judges fixability by re-analysing it)."""

from __future__ import annotations

from ems.core.analyse import analyse
from ems.core.config import Config
from ems.rules import f841_unused_variable


def test_a_function_with_hundreds_of_unused_names_is_walked_once(monkeypatch) -> None:
    walks: list[str] = []
    real = f841_unused_variable._rebinding

    def counted(function, model):
        walks.append(function.name)
        return real(function, model)

    monkeypatch.setattr(f841_unused_variable, "_rebinding", counted)
    names = " = ".join(f"a{i}" for i in range(300))
    source = f"def f():\n    {names} = None\n\n\ndef g(make):\n    x = make()\n    x = None\n"
    findings = [f for f in analyse(source, "m.py", Config(select=("F841",))).findings]
    assert len(findings) == 301
    assert sorted(walks) == ["f", "g"]
    # the answers are the same as before: a1..a300 each have their own fix; g's last `x` has none
    fixable = {(f.line, f.fixable) for f in findings}
    assert fixable == {(2, True), (7, False)}
