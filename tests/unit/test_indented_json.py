"""A long list dumped one item at a time gives ``json.dumps(..., indent=2)``'s exact text."""

from __future__ import annotations

import json

import pytest

from ems.cli.indented_json import json_array, with_array

ITEMS: list[object] = [
    {"code": "F401", "message": "`os` imported\nbut unused", "range": [1, 2, 3, 4], "fix": None},
    {"nested": {"edits": [{"text": "é\r\n\t\u2028", "empty": []}, {}], "flag": True}},
    "a string",
    3.5,
    [],
    [[1, [2, {"x": []}]]],
]


@pytest.mark.parametrize("count", [0, 1, len(ITEMS)])
def test_a_top_level_array_is_json_dumps(count: int) -> None:
    items = ITEMS[:count]
    assert json_array(iter(items)) == json.dumps(items, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("count", [0, 1, len(ITEMS)])
def test_an_array_deep_in_a_document_is_json_dumps(count: int) -> None:
    document: dict[str, object] = {
        "$schema": "s",
        "runs": [{"tool": {"rules": [{"id": "X"}]}, "results": [], "after": {"k": [1]}}],
    }
    expected = json.loads(json.dumps(document))
    expected["runs"][0]["results"] = ITEMS[:count]
    text = with_array(document, ("runs", 0, "results"), iter(ITEMS[:count]))
    assert text == json.dumps(expected, indent=2, ensure_ascii=False)
    assert document["runs"][0]["results"] == []  # type: ignore[index]  # left as it was


def test_an_array_that_is_itself_a_list_element() -> None:
    document: dict[str, object] = {"outer": [[0], "placeholder"]}
    text = with_array(document, ("outer", 1), iter(ITEMS))
    assert text == json.dumps({"outer": [[0], ITEMS]}, indent=2, ensure_ascii=False)
