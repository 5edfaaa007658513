"""``json.dumps(..., indent=2)`` of a long list, one item at a time, as a stream of pieces.

Why: with an indent, ``json`` uses its pure-Python encoder, which holds every item's dict and
every chunk of the output at once: ``--format json`` of the generated 5 MB file's 95,000
findings peaked at 395 MiB and SARIF at 741 MiB (performance.md, issue 13's memory section).
Each item dumped alone and shifted to its depth gives the same bytes: a JSON string never
holds a raw newline, so every newline of an item's text is one of its own line breaks.
The pieces are handed out as they are made, so the caller can write them before the next
item is built and the whole text is never held at once (SARIF of the same file: 522 MiB
when joined first).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

_INDENT = "  "


def json_array(items: Iterable[object], level: int = 0) -> str:
    """The text ``json.dumps(list(items), indent=2)`` gives for a list whose opening bracket
    is ``level`` indents deep."""
    return "".join(json_array_pieces(items, level))


def json_array_pieces(items: Iterable[object], level: int = 0) -> Iterator[str]:
    """``json_array``'s text, one item's piece at a time."""
    inner = "\n" + _INDENT * (level + 1)
    first = True
    for item in items:
        yield (
            ("[" if first else ",")
            + inner
            + json.dumps(item, indent=2, ensure_ascii=False).replace("\n", inner)
        )
        first = False
    yield "[]" if first else "\n" + _INDENT * level + "]"


def with_array(document: dict[str, object], path: tuple[str | int, ...], items: Iterable[object]) -> str:
    """``json.dumps(document, indent=2)`` with ``items`` as the list at ``path`` (keys and
    list indexes from the top), the list dumped by ``json_array``."""
    return "".join(with_array_pieces(document, path, items))


def with_array_pieces(
    document: dict[str, object], path: tuple[str | int, ...], items: Iterable[object]
) -> Iterator[str]:
    """``with_array``'s text as pieces: the document before the list, the list's items one
    at a time, the rest. The document holds a marker while it is dumped; it is left as it
    was found."""
    marker = "\x00ems-array\x00"
    holder: object = document
    for step in path[:-1]:
        holder = holder[step]  # type: ignore[index]
    last = path[-1]
    previous = holder[last]  # type: ignore[index]
    holder[last] = marker  # type: ignore[index]
    try:
        text = json.dumps(document, indent=2, ensure_ascii=False)
    finally:
        holder[last] = previous  # type: ignore[index]
    quoted = json.dumps(marker)
    at = text.index(quoted)
    line_start = text.rfind("\n", 0, at) + 1
    depth = (len(text[line_start:at]) - len(text[line_start:at].lstrip(" "))) // len(_INDENT)
    yield text[:at]
    yield from json_array_pieces(items, depth)
    yield text[at + len(quoted) :]
