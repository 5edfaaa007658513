"""B007's "is `_name` a word of the module?" looks for the name with ``str.find``: it must
answer what the regular expression it replaced answered."""

from __future__ import annotations

import random
import re

from ems.rules.b007_unused_loop_control_variable import _DIGIT, _WORD_CHAR, _find_word


def _by_regex(name: str, text: str) -> bool:
    for match in re.finditer(re.escape(name) + r"(?!\w)", text):
        start = match.start()
        while start and _DIGIT.match(text, start - 1):
            start -= 1
        if not start or not _WORD_CHAR.match(text, start - 1):
            return True
    return False


def test_the_word_search_answers_as_the_regular_expression() -> None:
    pieces = ["_i", "_i_i", "__", "x", "9", "1_i", "é", " ", ".", "\n", "_", "i", "(", "_ii"]
    rng = random.Random(18)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        name = rng.choice(["_i", "__", "_ii", "_i_i", "_x9"])
        assert _find_word(name, text) == _by_regex(name, text), (name, text)


def test_words_and_non_words() -> None:
    assert _find_word("_i", "x = _i")
    assert _find_word("_i", "9_i")  # leading digits are not part of a word
    assert not _find_word("_i", "a_i")
    assert not _find_word("_i", "_ix")
    assert not _find_word("__", "___")
