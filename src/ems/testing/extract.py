"""From a live exception to ``Failure`` data: in-project frames, chains, groups (stdlib only).

Runs inside the test process (the pytest plugin) and inside a user's program (capture), so it
imports nothing heavy and never records a local variable: only file, line, function and the
source line of each frame. ``__tracebackhide__ = True`` frames are skipped as pytest does.
"""

from __future__ import annotations

import linecache
import sys
from pathlib import Path
from types import TracebackType

from ems.testing.model import CAUSE, CONTEXT, MEMBER, PRIMARY, Failure, Frame, RaisedException
from ems.testing.normalise import parameterise

# Folders whose files are never the project's own, even under the project root.
FOREIGN_PARTS = frozenset(
    {"site-packages", "dist-packages", ".venv", "venv", ".tox", ".nox", "__pypackages__"}
)
MAX_EXCEPTIONS = 20  # per failure: a chain or group longer than this is cut
HEAD_FRAMES, TAIL_FRAMES = 10, 40  # a deep (recursive) traceback keeps its two ends


class ProjectFiles:
    """Decides which files are the project's, remembering each answer (one stat per file)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._prefixes = tuple({Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
        self._known: dict[str, str | None] = {}

    def relative(self, filename: str) -> str | None:
        """``filename`` relative to the root with forward slashes, or None if not the project's."""
        if filename in self._known:
            return self._known[filename]
        result: str | None = None
        if filename and not filename.startswith("<"):
            try:
                path = Path(filename).resolve()
                rel = path.relative_to(self.root)
            except (OSError, ValueError):
                rel = None
            if (
                rel is not None
                and not FOREIGN_PARTS.intersection(rel.parts)
                and not any(prefix == path or prefix in path.parents for prefix in self._prefixes)
            ):
                result = rel.as_posix()
        self._known[filename] = result
        return result


def type_name(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _columns(tb: TracebackType, line: int, text: str) -> tuple[int | None, int | None, int | None]:
    """(column, end line, end column) of the failing expression, in code points (3.11+)."""
    try:
        positions = list(tb.tb_frame.f_code.co_positions())[tb.tb_lasti // 2]
    except (AttributeError, IndexError):
        return None, None, None
    start_line, end_line, col, end_col = positions
    if start_line != line or col is None or end_col is None or end_line is None:
        return None, None, None
    end_text = text if end_line == line else linecache.getline(tb.tb_frame.f_code.co_filename, end_line)

    def chars(s: str, offset: int) -> int:
        return len(s.encode("utf-8")[:offset].decode("utf-8", "replace"))

    return chars(text, col), end_line, chars(end_text, end_col)


def project_frames(tb: TracebackType | None, files: ProjectFiles) -> tuple[Frame, ...]:
    frames: list[Frame] = []
    while tb is not None:
        frame = tb.tb_frame
        code = frame.f_code
        hidden = frame.f_locals.get("__tracebackhide__", frame.f_globals.get("__tracebackhide__")) is True
        rel = None if hidden else files.relative(code.co_filename)
        if rel is not None:
            line = tb.tb_lineno
            text = linecache.getline(code.co_filename, line)
            column, end_line, end_column = _columns(tb, line, text)
            frames.append(Frame(rel, line, code.co_qualname, text.strip(), column, end_line, end_column))
        tb = tb.tb_next
    if len(frames) > HEAD_FRAMES + TAIL_FRAMES:
        frames = frames[:HEAD_FRAMES] + frames[-TAIL_FRAMES:]
    return tuple(frames)


def raised_exceptions(
    exc: BaseException, files: ProjectFiles, *, parameterised: bool = False
) -> tuple[RaisedException, ...]:
    """The exception, then what it is chained to (cause/context) and its group members."""
    out: list[RaisedException] = []
    seen: set[int] = set()
    queue: list[tuple[BaseException, str, int | None]] = [(exc, PRIMARY, None)]
    while queue and len(out) < MAX_EXCEPTIONS:
        current, relation, parent = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        index = len(out)
        try:
            message = str(current)
        except Exception as err:  # a broken __str__ must not lose the failure
            message = f"<unprintable {type_name(current)}: {type(err).__name__}>"
        if parameterised:
            message = parameterise(message)
        out.append(
            RaisedException(
                type_name(current), message, project_frames(current.__traceback__, files), relation, parent
            )
        )
        if isinstance(current, BaseExceptionGroup):
            queue.extend((member, MEMBER, index) for member in current.exceptions)
        if current.__cause__ is not None:
            queue.append((current.__cause__, CAUSE, index))
        elif current.__context__ is not None and not current.__suppress_context__:
            queue.append((current.__context__, CONTEXT, index))
    return tuple(out)


def crash_frame(exceptions: tuple[RaisedException, ...]) -> Frame | None:
    """Where it raised: the primary's deepest project frame, else the first that has one."""
    for exc in exceptions:
        if exc.frames:
            return exc.frames[-1]
    return None


def failure_of(
    exc: BaseException,
    nodeid: str,
    when: str,
    files: ProjectFiles,
    *,
    parameterised: bool = False,
    logger: str | None = None,
) -> Failure:
    exceptions = raised_exceptions(exc, files, parameterised=parameterised)
    return Failure(nodeid, when, exceptions, crash_frame(exceptions), logger)
