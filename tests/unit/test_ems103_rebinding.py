"""EMS103 skips its whole-tree walk for `open` rebindings only when no spelling could bind
`open`; every real rebinding must still switch the rule off for the builtin."""

from __future__ import annotations

import pytest

from ems.core import Config, analyse

CONFIG = Config(select=("EMS103",))
CALL = "f = open('x')\n"


@pytest.mark.parametrize(
    "binding",
    [
        "def open(p):\n    pass\n",
        "class open:\n    pass\n",
        "from io import open\n",
        "import io as open\n",
        "open = print\n",
        "open: object = print\n",
        "a, open = 1, print\n",
        "[open] = [print]\n",
        "a, *open = 1, 2\n",
        "(open) = print\n",
        "for open in []:\n    pass\n",
        "with ctx() as open:\n    pass\n",
        "if (open := print):\n    pass\n",
    ],
)
def test_a_module_that_binds_open_is_not_about_the_builtin(binding: str) -> None:
    assert analyse(binding + CALL, "m.py", CONFIG).findings == ()


@pytest.mark.parametrize(
    "source", [CALL, "print(open('x').read())\n", "x = open('x') == 1\n", "opener = 1\n" + CALL]
)
def test_the_builtin_open_outside_with_is_reported(source: str) -> None:
    assert [f.code for f in analyse(source, "m.py", CONFIG).findings] == ["EMS103"]


@pytest.mark.parametrize(
    "binding",
    [
        "for a, open in pairs:\n    pass\n",
        "with ctx() as (a, open):\n    pass\n",
        "x = [1 for open in y]\n",
        "(a,\n open) = 1, print\n",
        "try:\n    pass\nexcept E as open:\n    pass\n",
        "match x:\n    case [open]:\n        pass\n",
    ],
)
def test_less_common_bindings_of_open_are_recognised(binding: str) -> None:
    # The rule stays quiet whenever the module binds the name `open` anywhere.
    assert analyse(binding + CALL, "m.py", CONFIG).findings == ()


@pytest.mark.parametrize("local", ["def f(open):\n    return open\n", "g = lambda open: open\n"])
def test_a_parameter_named_open_leaves_the_module_level_builtin_reported(local: str) -> None:
    assert [f.code for f in analyse(local + CALL, "m.py", CONFIG).findings] == ["EMS103"]
