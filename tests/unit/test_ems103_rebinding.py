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
